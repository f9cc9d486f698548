using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Encoding;
using Kernel.Persist.Location;
using Kernel.Persist.PubSub;
using Kernel.Runtime;

namespace Kernel.Persist.Shard;

/// <summary>
/// What every persist component of one client shares: the two locations, the node's clock and random stream,
/// the configuration and the codecs. Owned by one node loop.
/// </summary>
public sealed class PersistContext
{
    public PersistContext(IBlob blob, IConsensus consensus, IClock clock, IRandom random, PersistConfig? config = null, PartCodec? parts = null, StateCodec? states = null)
    {
        Blob = blob;
        Consensus = consensus;
        Clock = clock;
        Random = random;
        Config = config ?? PersistConfig.Default;
        Parts = parts ?? PartCodec.Default;
        States = states ?? StateCodec.Default;
        Notifier = new PollingNotifier(clock);
    }

    public IBlob Blob { get; }

    /// <summary>Wakes readers when a shard changes; without a hub, readers poll every <see cref="PersistConfig.PollInterval"/>.</summary>
    public IShardNotifier Notifier { get; init; }

    public IConsensus Consensus { get; }

    public IClock Clock { get; }

    public IRandom Random { get; }

    public PersistConfig Config { get; }

    public PartCodec Parts { get; }

    /// <summary>
    /// Where compaction, rollups and garbage collection encode, decode and merge (<see cref="INodeContext.Compute"/>
    /// on a node); in line by default.
    /// </summary>
    public ICompute Compute { get; init; } = InlineCompute.Instance;

    public StateCodec States { get; }

    /// <summary>Wall time in ms: leases and heartbeats are compared across processes, so they use wall time.</summary>
    public long NowMs => Clock.WallNow.ToUnixTimeMilliseconds();

    /// <summary>Exponential backoff with full jitter, on the node's clock.</summary>
    public Task BackoffAsync(int attempt, CancellationToken cancellationToken = default)
    {
        double ceilingMs = Math.Min(Config.RetryBackoffMax.TotalMilliseconds, Config.RetryBackoffMin.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20)));
        double delayMs = Math.Max(Config.RetryBackoffMin.TotalMilliseconds, Random.NextDouble() * ceilingMs);
        return Clock.Delay(TimeSpan.FromMilliseconds(delayMs), cancellationToken);
    }

    internal string NewId(string prefix) => prefix + FileNames.RandomId(Random);

    /// <summary>
    /// The newest decoded state of each shard any handle of this client has seen (Materialize keeps one such cache
    /// per process). States are immutable and every one here was committed to Consensus, so handles share them: a
    /// listen woken for a version another handle already decoded takes it from here instead of decoding it again.
    /// Keyed lookups only; never enumerated.
    /// </summary>
    internal Dictionary<ShardId, StateVersion> LatestStates { get; } = [];
}
