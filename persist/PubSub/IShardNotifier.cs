using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist.PubSub;

/// <summary>
/// Hints that a shard's state changed, so readers waiting for progress wake at once instead of at their next poll.
/// A hint may carry the committed version's bytes (as Materialize's pubsub pushes state diffs): a listener whose
/// newest state is the version before decodes it and skips the Consensus read. Such bytes were committed before
/// they were sent (one version per seqno), so they are as good as Consensus's; anything else about a hint is only
/// a wake-up, and a reader that cannot use the bytes re-reads Consensus. Lost or late hints only cost latency.
/// </summary>
/// <remarks>Owned by one node loop, like the <see cref="PersistContext"/> that holds it.</remarks>
public interface IShardNotifier
{
    /// <summary>
    /// Announces that this process committed state <paramref name="seqNo"/> of <paramref name="shard"/>, whose encoded
    /// version is <paramref name="version"/> (null: announce only).
    /// </summary>
    void Published(ShardId shard, ulong seqNo, byte[]? version);

    /// <summary>The newest version of <paramref name="shard"/> that arrived with its bytes, or null.</summary>
    VersionedData? Pushed(ShardId shard);

    /// <summary>Whether announcements can arrive now (a hub is connected); without them every wait is a poll.</summary>
    bool Announces { get; }

    /// <summary>
    /// Completes when a state of <paramref name="shard"/> newer than <paramref name="seenSeqNo"/> is announced, or after
    /// <paramref name="pollInterval"/>, whichever is first; canceled with <paramref name="cancellationToken"/>.
    /// </summary>
    Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken);
}

/// <summary>No hints: every wait is a poll interval on the clock.</summary>
public sealed class PollingNotifier(IClock clock) : IShardNotifier
{
    public void Published(ShardId shard, ulong seqNo, byte[]? version)
    {
    }

    public VersionedData? Pushed(ShardId shard) => null;

    public bool Announces => false;

    public Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken) =>
        clock.Delay(pollInterval, cancellationToken);
}
