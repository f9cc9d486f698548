using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;

namespace Kernel.Persist.Shard;

/// <summary>What compare_and_append did: the status, the shard's upper afterwards, and the compaction work it generated.</summary>
public sealed record AppendResult(AppendStatus Status, Frontier CurrentUpper, ulong SeqNo, ImmutableArray<MergeRequest> Merges)
{
    /// <summary>True when the shard now holds the batch (appended now, or by an earlier attempt of this call).</summary>
    public bool Committed => Status is AppendStatus.Appended or AppendStatus.AlreadyCommitted;
}

/// <summary>
/// Appends batches to one shard. Writers are not fenced: several may write the same shard, and the upper check
/// of compare_and_append makes exactly one of them win each interval. Owned by one node loop.
/// </summary>
public sealed class WriteHandle
{
    private readonly PersistContext _context;
    private readonly ShardMachine _machine;
    private readonly string _purpose;
    private readonly Upkeep _upkeep;

    internal WriteHandle(PersistContext context, ShardMachine machine, string writerId, string purpose)
    {
        _context = context;
        _machine = machine;
        WriterId = writerId;
        _purpose = purpose;
        _upkeep = new Upkeep(context, machine);
    }

    public ShardId Shard => _machine.Shard;

    public string WriterId { get; }

    /// <summary>The shard's upper as of the newest state this handle has seen (may be stale; see <see cref="FetchRecentUpperAsync"/>).</summary>
    public Frontier Upper => _machine.Cached?.Upper ?? Frontier.Minimum;

    /// <summary>
    /// Appends <paramref name="updates"/> as the batch [<paramref name="expectedUpper"/>, <paramref name="newUpper"/>) if
    /// and only if the shard's upper is <paramref name="expectedUpper"/>. On a mismatch nothing is written and the
    /// result carries the shard's current upper.
    /// </summary>
    /// <remarks>
    /// Every update's time must lie in the batch's interval, and <paramref name="expectedUpper"/> must be below
    /// <paramref name="newUpper"/>; anything else is a caller bug and throws. The parts are written to Blob first,
    /// then one state transition publishes them with a fresh idempotency token: if Consensus fails
    /// indeterminately the transition is retried, and a retry of a write that did commit is recognised by the
    /// token and reported as <see cref="AppendStatus.AlreadyCommitted"/>. With inline maintenance on, the
    /// compaction work the append generated follows on this handle's loop after it returns (before it returns when
    /// <see cref="PersistConfig.UpkeepInBackground"/> is off).
    /// </remarks>
    public async Task<PersistResult<AppendResult>> CompareAndAppendAsync(
        IEnumerable<Update> updates, Frontier expectedUpper, Frontier newUpper, CancellationToken cancellationToken = default)
    {
        if (expectedUpper.IsEmpty || expectedUpper >= newUpper)
        {
            throw new ArgumentException($"the batch [{expectedUpper}, {newUpper}) covers no time", nameof(newUpper));
        }
        var batchUpdates = new List<Update>(updates);
        foreach (Update update in batchUpdates)
        {
            if (!expectedUpper.LessEqual(update.Time) || newUpper.LessEqual(update.Time))
            {
                throw new ArgumentException($"update {update} is outside the batch [{expectedUpper}, {newUpper})", nameof(updates));
            }
        }
        Consolidation.ConsolidateInPlace(batchUpdates);

        // A small batch travels inline in the state (one Consensus write, no Blob write) while the state's inline
        // bytes, as last seen, are under budget; compaction later moves inline data to Blob. The budget is checked
        // against the cached state, so concurrent writers can overshoot it by a batch each: a soft bound.
        int inlineBytesMax = _context.Config.InlinePartBytesMax;
        if (_machine.Cached is ShardState cachedState && cachedState.InlineBytes() >= _context.Config.InlineStateBytesMax)
        {
            inlineBytesMax = 0;
        }
        PersistResult<ImmutableArray<PartRef>> parts = await PartStore.WriteAsync(_context, Shard, WriterId, batchUpdates, cancellationToken, inlineBytesMax);
        if (!parts.IsOk)
        {
            return parts.Error!;
        }
        var batch = new HollowBatch(new BatchDescription(expectedUpper, newUpper, Frontier.Minimum), parts.Value);
        IdempotencyToken token = IdempotencyToken.New(_context.Random);
        long leaseMs = _context.Config.WriterLeaseDurationMs;
        // This handle registered its writer when it opened; if the writer is gone now, it was expired, and with it
        // the token that tells a retry of a committed attempt from a new write. Appending anyway could report an
        // upper mismatch for a batch that is in fact in the shard.
        PersistResult<Applied<AppendDecision>> applied = await _machine.ApplyAsync(
            "compare_and_append",
            (state, nowMs) => state.Writers.ContainsKey(WriterId) || state.IsTombstone
                ? StateTransitions.CompareAndAppend(state, WriterId, batch, token, _purpose, leaseMs, nowMs, _context.Config.InlineStateBytesMax / 2)
                : Transition<AppendDecision>.NoChange(new(AppendStatus.WriterExpired, state.Upper, [])),
            cancellationToken);
        if (!applied.IsOk)
        {
            // Unknown whether the batch is in: leave its parts (GC never deletes blobs no state referenced).
            return applied.Error!;
        }
        AppendDecision decision = applied.Value.Outcome;
        if (decision.Status == AppendStatus.WriterExpired)
        {
            // The parts stay: this batch may be in the shard through an earlier attempt.
            return new PersistError(PersistErrorKind.HandleExpired, $"writer {WriterId} of {Shard} has expired; whether this append committed is unknown");
        }
        if (decision.Status == AppendStatus.UpperMismatch)
        {
            // Definitely not written by this call (a committed earlier attempt would have matched the token).
            await PartStore.DeleteAllAsync(_context, parts.Value, cancellationToken);
        }
        var result = new AppendResult(decision.Status, decision.CurrentUpper, applied.Value.State.SeqNo, decision.Merges);
        if (decision.Status == AppendStatus.Appended)
        {
            // Compaction is upkeep: a failure leaves the batches uncompacted, never wrong.
            await _upkeep.RequestAsync(decision.Merges, applied.Value.State, cancellationToken);
        }
        return result;
    }

    /// <summary>The shard's upper, read from Consensus now.</summary>
    public async Task<PersistResult<Frontier>> FetchRecentUpperAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> state = await _machine.FetchAsync(cancellationToken);
        return state.IsOk ? state.Value!.Upper : state.Error!;
    }

    /// <summary>Renews this writer's lease; false when it was not registered (expired), which only loses its idempotency memory.</summary>
    public async Task<PersistResult<bool>> HeartbeatAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<bool>> applied = await _machine.ApplyAsync(
            "heartbeat writer", (state, nowMs) => StateTransitions.HeartbeatWriter(state, WriterId, nowMs), cancellationToken);
        return applied.IsOk ? applied.Value.Outcome : applied.Error!;
    }

    /// <summary>Unregisters this writer.</summary>
    public async Task<PersistResult<bool>> ExpireAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<bool>> applied = await _machine.ApplyAsync(
            "expire writer", (state, _) => StateTransitions.ExpireWriter(state, WriterId), cancellationToken);
        return applied.IsOk ? applied.Value.Outcome : applied.Error!;
    }
}
