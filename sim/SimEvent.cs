using System;

namespace Kernel.Sim;

/// <summary>
/// Something that happens at a virtual time: a timer firing, a frame arriving, a disk operation completing,
/// a fault. It runs on its node's loop (or on the world, for <see cref="Node"/> null) once the strategy picks it.
/// </summary>
/// <remarks>An event belongs to one incarnation of its node: after a crash it is stale and silently dropped.</remarks>
public sealed class SimEvent
{
    internal SimEvent(long dueNanos, long sequence, SimNode? node, long epoch, string label, Action action)
    {
        DueNanos = dueNanos;
        Sequence = sequence;
        Node = node;
        Epoch = epoch;
        Label = label;
        Action = action;
    }

    public long DueNanos { get; internal set; }

    internal long Sequence { get; }

    public SimNode? Node { get; }

    internal long Epoch { get; }

    /// <summary>A constant describing the kind of event, for the readable log.</summary>
    public string Label { get; }

    internal Action Action { get; }

    public bool IsCanceled { get; private set; }

    internal bool IsStale => IsCanceled || (Node is not null && Node.Epoch != Epoch);

    public void Cancel() => IsCanceled = true;
}
