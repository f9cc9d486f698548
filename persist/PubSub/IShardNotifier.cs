using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist.PubSub;

/// <summary>
/// Hints that a shard's state changed, so readers waiting for progress wake at once instead of at their next poll.
/// A hint is never trusted as data: the woken reader re-reads Consensus. Lost or late hints only cost latency, so
/// correctness never depends on this channel.
/// </summary>
/// <remarks>Owned by one node loop, like the <see cref="PersistContext"/> that holds it.</remarks>
public interface IShardNotifier
{
    /// <summary>Announces that this process committed state <paramref name="seqNo"/> of <paramref name="shard"/>.</summary>
    void Published(ShardId shard, ulong seqNo);

    /// <summary>
    /// Completes when a state of <paramref name="shard"/> newer than <paramref name="seenSeqNo"/> is announced, or after
    /// <paramref name="pollInterval"/>, whichever is first; canceled with <paramref name="cancellationToken"/>.
    /// </summary>
    Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken);
}

/// <summary>No hints: every wait is a poll interval on the clock.</summary>
public sealed class PollingNotifier(IClock clock) : IShardNotifier
{
    public void Published(ShardId shard, ulong seqNo)
    {
    }

    public Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken) =>
        clock.Delay(pollInterval, cancellationToken);
}
