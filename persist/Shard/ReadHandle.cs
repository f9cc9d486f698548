using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;

namespace Kernel.Persist.Shard;

/// <summary>
/// A leased reader of one shard: it holds the shard's since at <see cref="Since"/> (compaction never passes it)
/// and holds garbage collection back at the states it may still read. Reads are snapshots at a time, listens
/// from a time, and subscribes (both). Owned by one node loop; heartbeat it within the lease.
/// </summary>
public sealed class ReadHandle
{
    private readonly PersistContext _context;
    private readonly ShardMachine _machine;
    private readonly Upkeep _upkeep;
    private long? _lastDowngradeNanos; // when MaybeDowngradeSinceAsync last wrote

    internal ReadHandle(PersistContext context, ShardMachine machine, string readerId, Frontier since)
    {
        _context = context;
        _machine = machine;
        _upkeep = new Upkeep(context, machine);
        ReaderId = readerId;
        Since = since;
    }

    public ShardId Shard => _machine.Shard;

    public string ReaderId { get; }

    /// <summary>This reader's since as of its last transition.</summary>
    public Frontier Since { get; private set; }

    internal PersistContext Context => _context;

    /// <summary>
    /// The shard's contents at <paramref name="asOf"/>: every update at a time up to it, moved to it, consolidated
    /// (sorted by row). Errors: <see cref="PersistErrorKind.AsOfNotYetAvailable"/> when <paramref name="asOf"/> is
    /// at or beyond the upper (wait with <see cref="WaitForUpperPastAsync"/>), and
    /// <see cref="PersistErrorKind.AsOfCompactedAway"/> when it is before the since, unless it is the last complete
    /// time (upper − 1).
    /// </summary>
    /// <remarks>
    /// The last complete time stays readable when the since has moved past it (a reader may hold the since ahead of a
    /// lagging writer): every update below the upper is already written, so the contents there are the accumulation
    /// of every update the shard holds, whatever times compaction advanced them to. A materialized view's sink relies
    /// on this to rebuild its correction after a restart.
    /// </remarks>
    public async Task<PersistResult<List<Update>>> SnapshotAsync(ulong asOf, CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> fetched = await FetchCheckedAsync(cancellationToken);
        if (!fetched.IsOk)
        {
            return fetched.Error!;
        }
        ShardState state = fetched.Value!;
        if (state.Upper.LessEqual(asOf))
        {
            return new PersistError(PersistErrorKind.AsOfNotYetAvailable, $"{Shard}: as of {asOf} is not yet available: the upper is {state.Upper}")
            {
                Upper = state.Upper,
            };
        }
        bool lastComplete = !state.Upper.IsEmpty && state.Upper.Time == asOf + 1;
        if (!state.Since.LessEqual(asOf) && !lastComplete)
        {
            return new PersistError(PersistErrorKind.AsOfCompactedAway, $"{Shard}: as of {asOf} has been compacted away: the since is {state.Since}")
            {
                Since = state.Since,
            };
        }
        var batches = new List<HollowBatch>();
        foreach (HollowBatch batch in state.Batches)
        {
            if (batch.Description.Lower.LessEqual(asOf))
            {
                batches.Add(batch);
            }
        }
        PersistResult<List<Update>> updates = await PartStore.FetchBatchesAsync(
            _context, batches, update => lastComplete || update.Time <= asOf, cancellationToken);
        if (!updates.IsOk)
        {
            return await ExplainMissingAsync(updates.Error!, cancellationToken);
        }
        List<Update> result = updates.Value!;
        for (int i = 0; i < result.Count; i++)
        {
            result[i] = result[i] with { Time = asOf };
        }
        return Consolidation.ConsolidateInPlace(result);
    }

    /// <summary>Polls (on the node's clock, woken early by the notifier) until the shard's upper is beyond <paramref name="time"/>; the value is that upper.</summary>
    public async Task<PersistResult<Frontier>> WaitForUpperPastAsync(ulong time, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        long deadline = _context.Clock.MonotonicNanos + (long)(timeout.TotalMilliseconds * 1_000_000);
        // Bounded by the deadline: each round waits one poll interval of virtual or real time.
        while (true)
        {
            PersistResult<ShardState> fetched = await FetchCheckedAsync(cancellationToken);
            if (!fetched.IsOk)
            {
                return fetched.Error!;
            }
            if (!fetched.Value!.Upper.LessEqual(time))
            {
                return fetched.Value.Upper;
            }
            if (_context.Clock.MonotonicNanos >= deadline || cancellationToken.IsCancellationRequested)
            {
                return new PersistError(PersistErrorKind.TimedOut, $"{Shard}: the upper {fetched.Value.Upper} did not pass {time} within {timeout}")
                {
                    Upper = fetched.Value.Upper,
                };
            }
            // A commit announced through the notifier ends the wait early; otherwise this is one poll interval.
            await _context.Notifier.WaitForChangeAsync(Shard, fetched.Value.SeqNo, _context.Config.PollInterval, cancellationToken);
        }
    }

    /// <summary>
    /// Starts a listen after <paramref name="asOf"/>: its events carry the updates at times beyond
    /// <paramref name="asOf"/>, in order, with progress. <paramref name="asOf"/> must not be before the since.
    /// </summary>
    public async Task<PersistResult<Listen>> ListenAsync(ulong asOf, CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> fetched = await FetchCheckedAsync(cancellationToken);
        if (!fetched.IsOk)
        {
            return fetched.Error!;
        }
        if (!fetched.Value!.Since.LessEqual(asOf))
        {
            return new PersistError(PersistErrorKind.AsOfCompactedAway, $"{Shard}: cannot listen from {asOf}: the since is {fetched.Value.Since}")
            {
                Since = fetched.Value.Since,
            };
        }
        return new Listen(this, asOf == ulong.MaxValue ? Frontier.Empty : Frontier.At(asOf + 1));
    }

    /// <summary>Waits for <paramref name="asOf"/> to be readable, snapshots it, and listens after it.</summary>
    public async Task<PersistResult<Subscription>> SubscribeAsync(ulong asOf, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        PersistResult<Frontier> ready = await WaitForUpperPastAsync(asOf, timeout, cancellationToken);
        if (!ready.IsOk)
        {
            return ready.Error!;
        }
        PersistResult<List<Update>> snapshot = await SnapshotAsync(asOf, cancellationToken);
        if (!snapshot.IsOk)
        {
            return snapshot.Error!;
        }
        PersistResult<Listen> listen = await ListenAsync(asOf, cancellationToken);
        return listen.IsOk ? new Subscription(asOf, snapshot.Value!, listen.Value!) : listen.Error!;
    }

    /// <summary>Moves this reader's since forward (never back) and renews its lease; compaction may then pass the old since.</summary>
    public async Task<PersistResult<Frontier>> DowngradeSinceAsync(Frontier newSince, CancellationToken cancellationToken = default)
    {
        ulong seen = _machine.Cached?.SeqNo ?? 0;
        PersistResult<Applied<Frontier?>> applied = await _machine.ApplyAsync(
            "downgrade since", (state, nowMs) => StateTransitions.DowngradeSince(state, ReaderId, newSince, seen, nowMs), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        if (applied.Value.Outcome is not Frontier since)
        {
            return Expired(applied.Value.State);
        }
        Since = since;
        if (applied.Value.Changed)
        {
            await _upkeep.RequestAsync([], applied.Value.State, cancellationToken);
        }
        return since;
    }

    /// <summary>
    /// <see cref="DowngradeSinceAsync"/> (a heartbeat when <paramref name="newSince"/> is not ahead of the since), at most
    /// once per <see cref="PersistConfig.SinceDowngradeIntervalMs"/>; calls in between change nothing and return the
    /// since as it stands. Holding the since back longer than asked is always safe, and a reader that follows a busy
    /// shard would otherwise write the shard's state once per event it reads.
    /// </summary>
    public async Task<PersistResult<Frontier>> MaybeDowngradeSinceAsync(Frontier newSince, CancellationToken cancellationToken = default)
    {
        long intervalMs = Math.Max(1, Math.Min(_context.Config.SinceDowngradeIntervalMs, _context.Config.ReaderLeaseDurationMs / 4));
        long now = _context.Clock.MonotonicNanos;
        if (_lastDowngradeNanos is long last && now - last < intervalMs * 1_000_000)
        {
            return Since;
        }
        _lastDowngradeNanos = now;
        if (!newSince.IsEmpty && newSince > Since)
        {
            return await DowngradeSinceAsync(newSince, cancellationToken);
        }
        PersistResult<bool> renewed = await HeartbeatAsync(cancellationToken);
        return renewed.IsOk ? Since : renewed.Error!;
    }

    /// <summary>Renews the lease and moves the seqno hold up to the newest state seen; an expired reader gets <see cref="PersistErrorKind.HandleExpired"/>.</summary>
    public async Task<PersistResult<bool>> HeartbeatAsync(CancellationToken cancellationToken = default)
    {
        ulong seen = _machine.Cached?.SeqNo ?? 0;
        PersistResult<Applied<bool>> applied = await _machine.ApplyAsync(
            "heartbeat reader", (state, nowMs) => StateTransitions.HeartbeatLeasedReader(state, ReaderId, seen, nowMs), cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        return applied.Value.Outcome ? true : Expired(applied.Value.State);
    }

    /// <summary>Unregisters this reader, releasing its since and seqno holds.</summary>
    public async Task<PersistResult<bool>> ExpireAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<bool>> applied = await _machine.ApplyAsync(
            "expire reader", (state, _) => StateTransitions.ExpireLeasedReader(state, ReaderId), cancellationToken);
        return applied.IsOk ? applied.Value.Outcome : applied.Error!;
    }

    public async Task<PersistResult<Frontier>> FetchRecentUpperAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> state = await FetchCheckedAsync(cancellationToken);
        return state.IsOk ? state.Value!.Upper : state.Error!;
    }

    /// <summary>The current state, checked: the shard is not dropped and this reader is still registered.</summary>
    internal async Task<PersistResult<ShardState>> FetchCheckedAsync(CancellationToken cancellationToken)
    {
        PersistResult<ShardState> fetched = await _machine.FetchAsync(cancellationToken);
        return fetched.IsOk ? Checked(fetched.Value!) : fetched;
    }

    /// <summary>
    /// A state newer than <paramref name="seqNo"/> that the client has without reading Consensus (see
    /// <see cref="ShardMachine.KnownAfter"/>), checked as <see cref="FetchCheckedAsync"/> does; false when it has none.
    /// </summary>
    internal bool TryKnownChecked(ulong seqNo, out PersistResult<ShardState> known)
    {
        ShardState? state = _machine.KnownAfter(seqNo);
        known = state is null ? default : Checked(state);
        return state is not null;
    }

    private PersistResult<ShardState> Checked(ShardState state)
    {
        if (state.IsTombstone)
        {
            return new PersistError(PersistErrorKind.ShardDropped, $"{Shard} has been dropped");
        }
        if (!state.LeasedReaders.ContainsKey(ReaderId))
        {
            return Expired(state);
        }
        return state;
    }

    /// <summary>
    /// A blob went missing while this reader fetched the parts of a state it had just read. If the reader was
    /// expired in between (its lease lapsed, for example by another node's clock), its seqno hold stopped
    /// protecting that state's blobs and GC was free to delete them: report the expiry. Only a reader that is
    /// still registered reports <see cref="PersistErrorKind.BlobMissing"/>, a broken invariant.
    /// </summary>
    internal async Task<PersistError> ExplainMissingAsync(PersistError error, CancellationToken cancellationToken)
    {
        if (error.Kind != PersistErrorKind.BlobMissing)
        {
            return error;
        }
        PersistResult<ShardState> again = await FetchCheckedAsync(cancellationToken);
        return !again.IsOk && again.Error!.Kind is PersistErrorKind.HandleExpired or PersistErrorKind.ShardDropped ? again.Error : error;
    }

    private PersistError Expired(ShardState state) => state.IsTombstone
        ? new PersistError(PersistErrorKind.ShardDropped, $"{Shard} has been dropped")
        : new PersistError(PersistErrorKind.HandleExpired, $"reader {ReaderId} of {Shard} has expired (its lease lapsed or it was expired)");
}

/// <summary>One step of a listen: the updates at times in [previous progress, <see cref="Progress"/>), consolidated.</summary>
public sealed record ListenEvent(IReadOnlyList<Update> Updates, Frontier Progress);

/// <summary>A snapshot at <see cref="AsOf"/> and the listen that continues after it.</summary>
public sealed record Subscription(ulong AsOf, IReadOnlyList<Update> Snapshot, Listen Listen);

/// <summary>
/// Follows a shard after a time: each <see cref="NextAsync"/> returns the updates between the previous progress
/// and the shard's upper, with their exact times, and the new progress. Contiguous and non-overlapping.
/// </summary>
/// <remarks>
/// Correct as long as the shard's since stays at or below the last time already delivered (the reader's own since
/// guarantees it unless the caller downgrades past it): compaction only moves times below the since, and those
/// were delivered already. A since that passed the listen is reported, never papered over.
/// </remarks>
public sealed class Listen
{
    private readonly ReadHandle _reader;
    private ulong _looked; // the seqno of the state this listen looked at last; 0 before the first

    internal Listen(ReadHandle reader, Frontier frontier)
    {
        _reader = reader;
        Frontier = frontier;
    }

    /// <summary>Every update at a time before this has been delivered.</summary>
    public Frontier Frontier { get; private set; }

    /// <summary>Waits (polling on the node's clock, up to <paramref name="timeout"/>) for the upper to pass the frontier, then delivers.</summary>
    public async Task<PersistResult<ListenEvent>> NextAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (Frontier.IsEmpty)
        {
            return new ListenEvent([], Frontier.Empty);
        }
        PersistContext context = _reader.Context;
        long deadline = context.Clock.MonotonicNanos + (long)(timeout.TotalMilliseconds * 1_000_000);
        // A state newer than the one this listen looked at last, which the client already has (its own newest, or the
        // one pushed with the hint that woke it), spares a Consensus read. With none, and a hub to announce commits,
        // the listen first waits for a hint (up to the poll interval) and reads Consensus only after that wait: a lost
        // hint costs latency, never progress.
        bool waited = !context.Notifier.Announces;
        // Bounded by the deadline.
        while (true)
        {
            PersistResult<ShardState> fetched;
            if (_looked > 0 && _reader.TryKnownChecked(_looked, out PersistResult<ShardState> known))
            {
                fetched = known;
            }
            else if (_looked > 0 && !waited)
            {
                await context.Notifier.WaitForChangeAsync(_reader.Shard, _looked, context.Config.PollInterval, cancellationToken);
                waited = true;
                continue;
            }
            else
            {
                fetched = await _reader.FetchCheckedAsync(cancellationToken);
            }
            if (!fetched.IsOk)
            {
                return fetched.Error!;
            }
            ShardState state = fetched.Value!;
            _looked = state.SeqNo;
            ulong from = Frontier.Time;
            // from >= 1: a listen starts after some time.
            if (!state.Since.LessEqual(from - 1))
            {
                return new PersistError(PersistErrorKind.AsOfCompactedAway, $"{state.Shard}: the since {state.Since} passed the listen at {Frontier}")
                {
                    Since = state.Since,
                };
            }
            if (state.Upper > Frontier)
            {
                var batches = new List<HollowBatch>();
                foreach (HollowBatch batch in state.Batches)
                {
                    if (batch.Description.Upper > Frontier)
                    {
                        batches.Add(batch);
                    }
                }
                Frontier upper = state.Upper;
                PersistResult<List<Update>> updates = await PartStore.FetchBatchesAsync(
                    context, batches, update => update.Time >= from && !upper.LessEqual(update.Time), cancellationToken);
                if (!updates.IsOk)
                {
                    return await _reader.ExplainMissingAsync(updates.Error!, cancellationToken);
                }
                Frontier = upper;
                return new ListenEvent(Consolidation.ConsolidateInPlace(updates.Value!), upper);
            }
            if (context.Clock.MonotonicNanos >= deadline || cancellationToken.IsCancellationRequested)
            {
                return new PersistError(PersistErrorKind.TimedOut, $"{state.Shard}: no progress past {Frontier} within {timeout}") { Upper = state.Upper };
            }
            await context.Notifier.WaitForChangeAsync(state.Shard, state.SeqNo, context.Config.PollInterval, cancellationToken);
            waited = true;
        }
    }
}
