using System.Collections.Generic;
using System.Globalization;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>
/// The run's fingerprint and, when asked for, its readable event log. The hash covers every scheduling step
/// (which owner ran what kind of item at which virtual time) and every semantic event; it never covers
/// anything that may differ between processes (object identity, hash-code order, absolute paths).
/// </summary>
public sealed class SimTrace(bool keepLog)
{
    private readonly List<string> _log = [];

    public ulong Hash { get; private set; } = StableHash.Offset;

    public long EventCount { get; private set; }

    public bool KeepsLog => keepLog;

    public IReadOnlyList<string> Log => _log;

    internal void Step(int kind, int owner, long nowNanos)
    {
        // Cheap: three integers per step, no strings on the hot path.
        Hash = StableHash.Add(StableHash.Add(Hash, ((ulong)(uint)kind << 32) | (uint)owner), (ulong)nowNanos);
    }

    public void Record(long nowNanos, string node, string eventName, string detail)
    {
        EventCount++;
        Hash = StableHash.Add(StableHash.Add(StableHash.Add(StableHash.Add(Hash, (ulong)nowNanos), node), eventName), detail);
        if (keepLog)
        {
            _log.Add(Format(nowNanos, node, eventName, detail));
        }
    }

    /// <summary>A log line that is not part of the hash (step-level detail shown only with tracing on).</summary>
    public void Note(long nowNanos, string node, string eventName, string detail)
    {
        if (keepLog)
        {
            _log.Add(Format(nowNanos, node, eventName, detail));
        }
    }

    private static string Format(long nowNanos, string node, string eventName, string detail) =>
        string.Create(CultureInfo.InvariantCulture, $"{nowNanos / 1e9,12:0.000000}s  {node,-14} {eventName,-18} {detail}");
}
