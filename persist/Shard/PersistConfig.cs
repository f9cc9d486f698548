using System;

namespace Kernel.Persist.Shard;

/// <summary>Tunables of a persist client. The defaults suit production; tests shrink the thresholds.</summary>
public sealed record PersistConfig
{
    /// <summary>A leased reader that has not heartbeated for this long may be expired by anyone (Materialize: 15 minutes).</summary>
    public long ReaderLeaseDurationMs { get; init; } = 15 * 60 * 1000;

    /// <summary>A writer that has not written or heartbeated for this long may be expired (its idempotency token is then forgotten).</summary>
    public long WriterLeaseDurationMs { get; init; } = 60 * 60 * 1000;

    /// <summary>
    /// Readers that follow a shard move their since at most this often (<see cref="ReadHandle.MaybeDowngradeSinceAsync"/>,
    /// Materialize's <c>maybe_downgrade_since</c>), and never less often than a quarter of the lease: each downgrade is
    /// a Consensus write that races the shard's writers.
    /// </summary>
    public long SinceDowngradeIntervalMs { get; init; } = 1000;

    /// <summary>
    /// Consensus versions are incremental (only the batches that changed since the version before) in chains of at
    /// most this many; then a complete version starts the next chain. A reader without a recent state decodes at most
    /// this many versions; garbage collection keeps the chain of the oldest live version. 1 writes every version complete.
    /// </summary>
    public int StateChainMax { get; init; } = 32;

    /// <summary>Write a full-state rollup to Blob every this many seqnos (Materialize: 128).</summary>
    public int RollupEverySeqNos { get; init; } = 128;

    /// <summary>How many rollups a state keeps referencing.</summary>
    public int RollupsKept { get; init; } = 2;

    /// <summary>
    /// Run maintenance (expiry, rollup, garbage collection) after a write whose seqno is a multiple of this: by default
    /// as often as rollups are written. A pass has fixed costs (two fresh reads of the head, a Consensus truncation
    /// and its fsync, a hand-off to Compute) besides the versions it scans; every 32 seqnos they took about 13% more of
    /// the CPU of a loop committing to 32 shards. The price is up to this many more retained versions per shard.
    /// </summary>
    public int MaintenanceEverySeqNos { get; init; } = 128;

    /// <summary>Whether handles do maintenance and compaction themselves, inline, after the writes that call for it.</summary>
    public bool InlineMaintenance { get; init; } = true;

    public bool CompactionEnabled { get; init; } = true;

    /// <summary>
    /// Whether the upkeep a call generates (compaction, maintenance) runs after the call returns, on the same loop,
    /// one pass at a time per handle (as Materialize's background compaction does), instead of before: a write's
    /// acknowledgement then never waits for upkeep. Off by default: in five alternating runs of a one-client pgbench
    /// UPDATE load (an indexed table and an indexed view), four were slower with it on (0.80-1.06 ms against
    /// 0.70-0.95 ms a write) and four took more kernel CPU per write; not analysed further. The <c>persist</c> simulation runs it on and <c>persist-inline-upkeep</c> off;
    /// end-to-end seeds 1 to 2,000 pass with it on, 469 (which once read a wrong view with it on) among them.
    /// </summary>
    public bool UpkeepInBackground { get; init; }

    /// <summary>A batch's updates are split into parts of at most this many.</summary>
    public int PartUpdatesMax { get; init; } = 64 * 1024;

    /// <summary>
    /// An appended batch that encodes to at most this many bytes (one part) is kept inline in the shard state
    /// instead of being written to Blob: the append is then one Consensus write. 0 turns inline writes off.
    /// </summary>
    public int InlinePartBytesMax { get; init; } = 4 * 1024;

    /// <summary>
    /// Inline appends stop (and write to Blob) while the shard state already carries this many inline bytes;
    /// compaction moves inline data into Blob parts, so state versions stay small.
    /// </summary>
    public int InlineStateBytesMax { get; init; } = 32 * 1024;

    /// <summary>Retries of a state transition or blob operation before giving up with <see cref="PersistErrorKind.Unavailable"/>.</summary>
    public int RetriesMax { get; init; } = 32;

    public TimeSpan RetryBackoffMin { get; init; } = TimeSpan.FromMilliseconds(4);

    public TimeSpan RetryBackoffMax { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>How often a listen or a wait for an upper polls Consensus for a new state.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Consensus versions scanned per page by garbage collection.</summary>
    public int ScanPageVersions { get; init; } = 256;

    public static PersistConfig Default { get; } = new();
}
