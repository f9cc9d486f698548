using System.Collections.Generic;

namespace Kernel.Sim.Scenarios.EndToEnd;

public enum WriteKind
{
    Insert,
    Update,
    Delete,
}

/// <summary>
/// One write statement on one row of <c>t (id, k, v)</c>: its value of <c>v</c> (unique per row version), when it
/// started and when its acknowledgement arrived, in the world's virtual nanoseconds.
/// </summary>
/// <remarks>An unacknowledged write (error, lost connection, timeout) has an unknown outcome and <see cref="EndNanos"/> = max.</remarks>
public sealed class WriteOp(WriteKind kind, int id, int value, long startNanos, string client)
{
    public WriteKind Kind { get; } = kind;

    public int Id { get; } = id;

    public int Value { get; } = value;

    public long StartNanos { get; } = startNanos;

    public long EndNanos { get; set; } = long.MaxValue;

    public bool Acknowledged { get; set; }

    public string Client { get; } = client;

    public override string ToString() =>
        $"{Client}: {Kind} id={Id}{(Kind == WriteKind.Delete ? "" : " v=" + Value)} [{StartNanos / 1e6:0.###}ms, {(Acknowledged ? (EndNanos / 1e6).ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "ms" : "unknown")}]";
}

/// <summary>
/// The writes to one row id, in order: an insert, updates, perhaps a delete. One client owns a row and issues
/// them one at a time; after a write with an unknown outcome it never touches the row again, so every write but
/// the last is acknowledged and each one started after the previous one was acknowledged.
/// </summary>
public sealed class RowChain(int id, int k)
{
    public int Id { get; } = id;

    public int K { get; } = k;

    public List<WriteOp> Ops { get; } = [];
}

/// <summary>A SELECT (of <c>t</c> or of <c>mv</c>) that returned rows, with its interval in virtual time.</summary>
public sealed record ReadRecord(string Client, bool OfView, bool Final, long StartNanos, long EndNanos, List<string?[]> Rows);

/// <summary>One COPY (SUBSCRIBE t) TO STDOUT: when it was sent, and each data line with the time it arrived.</summary>
public sealed class SubscribeRecord(string client, long startNanos)
{
    public string Client { get; } = client;

    public long StartNanos { get; } = startNanos;

    public List<(long ReceivedNanos, string Line)> Lines { get; } = [];
}

/// <summary>Everything the clients observed in one run, for <see cref="HistoryChecker"/>.</summary>
public sealed class EndToEndHistory
{
    public SortedDictionary<int, RowChain> Rows { get; } = [];

    public List<ReadRecord> Reads { get; } = [];

    public List<SubscribeRecord> Subscribes { get; } = [];

    /// <summary>Immediate violations the clients saw (a wrong row count for a write, a bad statement accepted...).</summary>
    public List<string> Violations { get; } = [];

    public RowChain Chain(int id, int k)
    {
        if (!Rows.TryGetValue(id, out RowChain? chain))
        {
            chain = new RowChain(id, k);
            Rows.Add(id, chain);
        }
        return chain;
    }
}
