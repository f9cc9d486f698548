using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist;

/// <summary>
/// The entry point to persist: opens handles on shards stored in one Blob and one Consensus, and runs upkeep.
/// There is no persist server; every client talks to the two locations directly, and any number of clients in
/// any number of processes may work on the same shards at once.
/// </summary>
/// <remarks>Owned by one node loop, like every handle it opens.</remarks>
public sealed class PersistClient
{
    public PersistClient(PersistContext context)
    {
        Context = context;
    }

    public PersistClient(IBlob blob, IConsensus consensus, IClock clock, IRandom random, PersistConfig? config = null)
        : this(new PersistContext(blob, consensus, clock, random, config))
    {
    }

    public PersistContext Context { get; }

    /// <summary>A writer of <paramref name="shard"/>, registered in its state; the shard is created if new.</summary>
    public async Task<PersistResult<WriteHandle>> OpenWriterAsync(ShardId shard, string purpose, CancellationToken cancellationToken = default)
    {
        var machine = new ShardMachine(Context, shard);
        string writerId = Context.NewId("w");
        long leaseMs = Context.Config.WriterLeaseDurationMs;
        PersistResult<Applied<WriterState?>> applied = await machine.ApplyAsync(
            "register writer", (state, nowMs) => StateTransitions.RegisterWriter(state, writerId, purpose, leaseMs, nowMs), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        return applied.Value.Outcome is null
            ? new PersistError(PersistErrorKind.ShardDropped, $"{shard} has been dropped")
            : new WriteHandle(Context, machine, writerId, purpose);
    }

    /// <summary>A leased reader of <paramref name="shard"/>, holding the since where it is now; the shard is created if new.</summary>
    public async Task<PersistResult<ReadHandle>> OpenLeasedReaderAsync(ShardId shard, string purpose, CancellationToken cancellationToken = default)
    {
        var machine = new ShardMachine(Context, shard);
        string readerId = Context.NewId("r");
        long leaseMs = Context.Config.ReaderLeaseDurationMs;
        PersistResult<Applied<LeasedReaderState?>> applied = await machine.ApplyAsync(
            "register leased reader", (state, nowMs) => StateTransitions.RegisterLeasedReader(state, readerId, purpose, leaseMs, nowMs), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        return applied.Value.Outcome is LeasedReaderState reader
            ? new ReadHandle(Context, machine, readerId, reader.Since)
            : new PersistError(PersistErrorKind.ShardDropped, $"{shard} has been dropped");
    }

    /// <summary>
    /// The critical since holder <paramref name="readerId"/> of <paramref name="shard"/>, registered with
    /// <paramref name="initialOpaque"/> if new; an existing holder keeps its since and token (read them from the handle).
    /// </summary>
    public async Task<PersistResult<SinceHandle>> OpenCriticalSinceAsync(
        ShardId shard, string readerId, ulong initialOpaque, string purpose, CancellationToken cancellationToken = default)
    {
        var machine = new ShardMachine(Context, shard);
        PersistResult<Applied<CriticalReaderState?>> applied = await machine.ApplyAsync(
            "register critical reader", (state, _) => StateTransitions.RegisterCriticalReader(state, readerId, initialOpaque, purpose), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        return applied.Value.Outcome is CriticalReaderState reader
            ? new SinceHandle(Context, machine, readerId, reader.Opaque, reader.Since)
            : new PersistError(PersistErrorKind.ShardDropped, $"{shard} has been dropped");
    }

    /// <summary>The shard's current state, without creating it (for inspection and tests).</summary>
    public Task<PersistResult<ShardState>> FetchStateAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        new ShardMachine(Context, shard).FetchExistingAsync(cancellationToken);

    /// <summary>Every retained state version of a shard from <paramref name="fromSeqNo"/>, decoded (for inspection).</summary>
    public async Task<PersistResult<IReadOnlyList<ShardState>>> ScanStatesAsync(ShardId shard, ulong fromSeqNo, int limit, CancellationToken cancellationToken = default)
    {
        PersistResult<List<StateVersion>> read = await StateVersions.ReadAsync(Context, shard, fromSeqNo, limit, cancellationToken);
        if (!read.IsOk)
        {
            return read.Error!;
        }
        var states = new List<ShardState>(read.Value!.Count);
        foreach (StateVersion version in read.Value)
        {
            states.Add(version.State);
        }
        return PersistResult<IReadOnlyList<ShardState>>.Ok(states);
    }

    /// <summary>A rollup's state, decoded (for inspection).</summary>
    public async Task<PersistResult<ShardState>> ReadRollupAsync(string key, CancellationToken cancellationToken = default)
    {
        PersistResult<byte[]> bytes = await PartStore.GetAsync(Context, key, cancellationToken);
        if (!bytes.IsOk)
        {
            return bytes.Error!;
        }
        ShardState? state = Context.States.Decode($"rollup blob '{key}'", bytes.Value!, out string error);
        return state is null ? new PersistError(PersistErrorKind.Corrupt, error) : state;
    }

    /// <summary>The shards in Consensus (every key that parses as a shard id), sorted.</summary>
    public async Task<PersistResult<IReadOnlyList<ShardId>>> ListShardsAsync()
    {
        LocationResult<IReadOnlyList<string>> keys = await Context.Consensus.ListKeysAsync();
        if (!keys.IsOk)
        {
            return PersistError.From(keys.Error!, "listing shards");
        }
        var shards = new List<ShardId>();
        foreach (string key in keys.Value!)
        {
            if (ShardId.TryParse(key, out ShardId shard, out _))
            {
                shards.Add(shard);
            }
        }
        return PersistResult<IReadOnlyList<ShardId>>.Ok(shards);
    }

    /// <summary>One maintenance pass over <paramref name="shard"/>: expire lapsed leases, roll up if due, collect garbage.</summary>
    public Task<PersistResult<MaintenanceReport>> RunMaintenanceAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        Maintenance.RunAsync(Context, new ShardMachine(Context, shard), cancellationToken);

    public Task<PersistResult<GcReport>> CollectGarbageAsync(ShardId shard, CancellationToken cancellationToken = default) =>
        Maintenance.CollectGarbageAsync(Context, new ShardMachine(Context, shard), cancellationToken);

    /// <summary>
    /// Drops <paramref name="shard"/>: since and upper become empty, every handle on it stops working, and garbage
    /// collection deletes its blobs. The value is false when it was already dropped.
    /// </summary>
    public async Task<PersistResult<bool>> DropShardAsync(ShardId shard, CancellationToken cancellationToken = default)
    {
        var machine = new ShardMachine(Context, shard);
        PersistResult<Applied<bool>> applied = await machine.ApplyAsync("drop shard", (state, _) => StateTransitions.Drop(state), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        PersistResult<GcReport> gc = await Maintenance.CollectGarbageAsync(Context, machine, cancellationToken);
        return gc.IsOk ? applied.Value.Outcome : gc.Error!;
    }
}
