using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist.PubSub;

/// <summary>The newest seqno announced for one shard, and the waits that end when a newer one is.</summary>
/// <remarks>
/// A wait is a delay on the node's clock that an announcement cancels early. It deliberately avoids
/// <c>Task.WhenAny</c>: its internal continuation runs on the thread pool, and the await after it would then post to
/// the node loop from a foreign thread (which the simulator rejects as escaped work).
/// </remarks>
internal sealed class ShardSignal
{
    private readonly List<CancellationTokenSource> _waiters = [];

    public ulong LatestSeqNo { get; private set; }

    public bool Subscribed { get; set; }

    /// <summary>The newest announcement that carried its version's bytes (it may be older than <see cref="LatestSeqNo"/>).</summary>
    public VersionedData? Pushed { get; private set; }

    public void Advance(ulong seqNo, byte[]? version)
    {
        if (seqNo <= LatestSeqNo)
        {
            return;
        }
        LatestSeqNo = seqNo;
        if (version is not null)
        {
            Pushed = new VersionedData(seqNo, version);
        }
        foreach (CancellationTokenSource waiter in _waiters.ToArray())
        {
            waiter.Cancel();
        }
    }

    /// <summary>Returns after <paramref name="pollInterval"/>, or earlier when a seqno above <paramref name="seenSeqNo"/> is announced.</summary>
    public async Task WaitAsync(IClock clock, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        if (LatestSeqNo > seenSeqNo)
        {
            return;
        }
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _waiters.Add(wake);
        try
        {
            // Woken by an announcement (without an exception: one per commit would cost more than the wait).
            await Wakeable.DelayAsync(clock, pollInterval, wake.Token);
        }
        finally
        {
            _waiters.Remove(wake);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }
}

internal sealed class ShardIdComparer : IComparer<ShardId>
{
    public static ShardIdComparer Instance { get; } = new();

    public int Compare(ShardId x, ShardId y) => string.CompareOrdinal(x.Value, y.Value);
}
