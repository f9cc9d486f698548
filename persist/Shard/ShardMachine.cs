using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;

namespace Kernel.Persist.Shard;

/// <summary>A transition's outcome and the state it was decided on (the new state when <see cref="Changed"/>).</summary>
/// <remarks>
/// <c>Uncertain</c>: an earlier compare-and-set attempt of this application failed indeterminately, so it may
/// have committed even when the final <c>Outcome</c> says the transition no longer applied (a later change can
/// have replaced its effect before the retry looked). Whatever that attempt published may be referenced by
/// states readers still hold: it must be left to garbage collection, never deleted directly.
/// </remarks>
public readonly record struct Applied<T>(T Outcome, ShardState State, bool Changed, bool Uncertain = false);

/// <summary>
/// Applies <see cref="StateTransitions"/> to one shard through a compare-and-set retry loop on Consensus, and
/// decides on the newest state any machine of the shard in this client has seen, kept once per client in
/// <see cref="PersistContext.LatestStates"/>. One machine per handle; owned by one node loop.
/// </summary>
/// <remarks>
/// The loop: apply the transition to the newest known state; if it changes nothing, answer from that state;
/// otherwise write the next state at seqno + 1 with <c>compare_and_set(expected = seqno)</c>. A mismatch means
/// someone else wrote first: fetch the head and decide again. A location error (determinate or not) backs off,
/// fetches the head and decides again; a transition that already took effect sees its own result there (appends
/// by their idempotency token). Every state written is checked against its predecessor's invariants first:
/// since and upper never regress, batches tile [0, upper). The cached state only moves forward.
/// </remarks>
public sealed class ShardMachine
{
    private readonly PersistContext _context;

    public ShardMachine(PersistContext context, ShardId shard)
    {
        _context = context;
        Shard = shard;
    }

    public ShardId Shard { get; }

    /// <summary>
    /// The newest state any machine of this shard in this client has seen, without asking Consensus; null before the
    /// first fetch.
    /// </summary>
    public ShardState? Cached => Newest?.State;

    /// <summary>The newest known version and the complete version its chain starts from; seqnos only increase.</summary>
    private StateVersion? Newest => _context.LatestStates.TryGetValue(Shard, out StateVersion newest) ? newest : null;

    /// <summary>
    /// The version at the seqno_since of this handle's last complete garbage collection (null before one): the next
    /// collection resumes its scan there (<see cref="Maintenance.CollectGarbageAsync"/>).
    /// </summary>
    internal StateVersion? Collected { get; set; }

    /// <summary>
    /// The shard's current state from Consensus. A shard with no state yet is created (at
    /// <see cref="ShardState.InitialSeqNo"/>); <see cref="FetchExistingAsync"/> reports
    /// <see cref="PersistErrorKind.ShardDropped"/> instead (an inspector must not create shards).
    /// </summary>
    public Task<PersistResult<ShardState>> FetchAsync(CancellationToken cancellationToken = default) => FetchAsync(create: true, cancellationToken);

    /// <summary>Like <see cref="FetchAsync(CancellationToken)"/>, but a shard with no state is an error, not created.</summary>
    public Task<PersistResult<ShardState>> FetchExistingAsync(CancellationToken cancellationToken = default) => FetchAsync(create: false, cancellationToken);

    private async Task<PersistResult<ShardState>> FetchAsync(bool create, CancellationToken cancellationToken)
    {
        PersistResult<StateVersion> fetched = await FetchVersionAsync(create, cancellationToken);
        return fetched.IsOk ? fetched.Value.State : fetched.Error!;
    }

    /// <summary>
    /// The head version, decoded: a complete one alone, an incremental one on top of the cached state when that is
    /// the version before it, otherwise with the versions of its chain read after the cached state (or from the
    /// chain's complete version).
    /// </summary>
    private async Task<PersistResult<StateVersion>> FetchVersionAsync(bool create, CancellationToken cancellationToken)
    {
        LocationError? last = null;
        for (int attempt = 0; attempt < _context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await _context.BackoffAsync(attempt, cancellationToken);
            }
            LocationResult<VersionedData?> head = await _context.Consensus.HeadAsync(Shard.Value);
            if (!head.IsOk)
            {
                last = head.Error;
                continue;
            }
            if (head.Value is VersionedData version)
            {
                StateVersion? predecessor = Newest;
                if (predecessor is StateVersion known && known.State.SeqNo >= version.SeqNo)
                {
                    // One version per seqno: the known state is the head (or a newer one, seen since by another
                    // handle of this client), already decoded.
                    return known;
                }
                PersistResult<List<StateVersion>> decoded = StateVersions.Decode(_context, Shard, [version], predecessor, out int stoppedAt, out ulong chainBase);
                if (!decoded.IsOk)
                {
                    return decoded.Error!;
                }
                if (stoppedAt == 0)
                {
                    // Incremental, and the cached state is not the version before it: read the chain up to the head.
                    ulong from = predecessor is { State: ShardState older } && older.SeqNo >= chainBase ? older.SeqNo + 1 : chainBase;
                    LocationResult<IReadOnlyList<VersionedData>> chain = await _context.Consensus.ScanAsync(Shard.Value, from, (int)Math.Min(version.SeqNo - from + 1, int.MaxValue));
                    if (!chain.IsOk)
                    {
                        last = chain.Error;
                        continue;
                    }
                    StateVersion? start = from == chainBase ? null : predecessor;
                    decoded = StateVersions.Decode(_context, Shard, chain.Value!, start, out stoppedAt, out _);
                    if (!decoded.IsOk)
                    {
                        return decoded.Error!;
                    }
                    if (stoppedAt < chain.Value!.Count || decoded.Value!.Count == 0)
                    {
                        // A truncation removed part of the chain meanwhile (a newer head exists): read the head again.
                        last = LocationError.Indeterminate($"the versions of shard {Shard} from seqno {from} were truncated while being read");
                        continue;
                    }
                }
                StateVersion newest = decoded.Value![^1];
                Observe(newest.State, newest.ChainBase);
                return newest;
            }
            if (!create)
            {
                return new PersistError(PersistErrorKind.ShardDropped, $"shard {Shard} does not exist");
            }
            // No state yet: create the shard. Several processes may race; exactly one first write wins.
            ShardState initial = ShardState.Initial(Shard, _context.NowMs);
            LocationResult<CasOutcome> created = await _context.Consensus.CompareAndSetAsync(
                Shard.Value, null, new VersionedData(initial.SeqNo, _context.States.Encode(initial)));
            if (!created.IsOk)
            {
                last = created.Error;
                continue;
            }
            if (created.Value == CasOutcome.Committed)
            {
                Observe(initial, initial.SeqNo);
                return new StateVersion(initial, initial.SeqNo);
            }
        }
        return last is null
            ? new PersistError(PersistErrorKind.Unavailable, $"shard {Shard}: its first state kept losing races")
            : PersistError.From(last, $"shard {Shard}: fetching state");
    }

    /// <summary>Applies <paramref name="transition"/> (given a state and the wall time in ms) until it commits or changes nothing.</summary>
    public async Task<PersistResult<Applied<T>>> ApplyAsync<T>(string what, Func<ShardState, long, Transition<T>> transition, CancellationToken cancellationToken = default)
    {
        ShardState state;
        ulong chainBase;
        // A cached state may be stale. A transition that changes it is checked by the compare-and-set anyway, but one
        // that decides "no change" from it would answer from the past (a merge whose inputs look gone, an upper that
        // looks different): such an answer is only taken from a freshly read state.
        bool fresh = false;
        // The newest version any handle of this client saw (its own write, or a fetch): deciding on it spares a
        // compare-and-set that would fail on an older one.
        if (Newest is StateVersion cached)
        {
            (state, chainBase) = cached;
        }
        else
        {
            PersistResult<StateVersion> fetched = await FetchVersionAsync(create: true, cancellationToken);
            if (!fetched.IsOk)
            {
                return fetched.Error!;
            }
            (state, chainBase) = fetched.Value;
            fresh = true;
        }
        LocationError? last = null;
        for (int attempt = 0; attempt < _context.Config.RetriesMax; attempt++)
        {
            Transition<T> decided = transition(state, _context.NowMs);
            if (decided.Next is not ShardState proposed)
            {
                if (!fresh)
                {
                    PersistResult<StateVersion> current = await FetchVersionAsync(create: true, cancellationToken);
                    if (!current.IsOk)
                    {
                        return current.Error!;
                    }
                    (state, chainBase) = current.Value;
                    fresh = true;
                    attempt--;
                    continue;
                }
                return new Applied<T>(decided.Outcome, state, false, last is { IsIndeterminate: true });
            }
            ShardState next = proposed with { SeqNo = state.SeqNo + 1, WalltimeMs = _context.NowMs };
            if (state.CheckSuccessor(next) is string broken)
            {
                throw new InvalidOperationException($"{what} on {Shard} would break an invariant: {broken}");
            }
            // Incremental while the chain is short; a complete version starts the next chain.
            bool incremental = next.SeqNo - chainBase < (ulong)Math.Max(1, _context.Config.StateChainMax);
            ulong nextChainBase = incremental ? chainBase : next.SeqNo;
            byte[] encoded = incremental ? _context.States.EncodeIncremental(next, state, chainBase) : _context.States.Encode(next);
            LocationResult<CasOutcome> written = await _context.Consensus.CompareAndSetAsync(
                Shard.Value, state.SeqNo, new VersionedData(next.SeqNo, encoded));
            if (written.IsOk && written.Value == CasOutcome.Committed)
            {
                Observe(next, nextChainBase);
                _context.Notifier.Published(Shard, next.SeqNo, encoded);
                return new Applied<T>(decided.Outcome, next, true, last is { IsIndeterminate: true });
            }
            if (!written.IsOk)
            {
                // Keep the first indeterminate error: it is what makes the outcome uncertain.
                last = last is { IsIndeterminate: true } ? last : written.Error;
                await _context.BackoffAsync(attempt, cancellationToken);
            }
            else if (Newest is StateVersion newer && newer.State.SeqNo > state.SeqNo)
            {
                // Lost to a version this client already holds (typically another operation of this client: a
                // compaction racing its writer): decide again on it at once, with no read and no backoff. It is
                // committed and newer, so every retry of this kind follows progress; a "no change" decided on it is
                // still re-read first. A race lost to another process leaves this client's newest version behind
                // and takes the path below.
                (state, chainBase) = newer;
                fresh = false;
                attempt--;
                continue;
            }
            else if (attempt >= 2)
            {
                // Repeated lost races: back off so that contending writers spread out.
                await _context.BackoffAsync(attempt - 2, cancellationToken);
            }
            PersistResult<StateVersion> refreshed = await FetchVersionAsync(create: true, cancellationToken);
            if (!refreshed.IsOk)
            {
                return refreshed.Error!;
            }
            (state, chainBase) = refreshed.Value;
            fresh = true;
        }
        return last is null
            ? new PersistError(PersistErrorKind.Unavailable, $"{what} on {Shard}: lost {_context.Config.RetriesMax} races in a row")
            : PersistError.From(last, $"{what} on {Shard}");
    }

    /// <summary>
    /// A state newer than <paramref name="seqNo"/> that this client has without reading Consensus, or null: the version
    /// the pubsub hub pushed, decoded on top of the newest state when it is the next one, else that newest state. Only
    /// for readers that need some committed state, not the head (a listen); never for deciding a transition.
    /// </summary>
    public ShardState? KnownAfter(ulong seqNo)
    {
        if (Newest is StateVersion known && _context.Notifier.Pushed(Shard) is VersionedData pushed && pushed.SeqNo == known.State.SeqNo + 1)
        {
            // Bytes that do not decode on top of the newest state are left for Consensus to settle.
            PersistResult<List<StateVersion>> decoded = StateVersions.Decode(_context, Shard, [pushed], known, out int stoppedAt, out _);
            if (decoded.IsOk && stoppedAt == 1)
            {
                Observe(decoded.Value![0].State, decoded.Value[0].ChainBase);
            }
        }
        return Newest is StateVersion newest && newest.State.SeqNo > seqNo ? newest.State : null;
    }

    private void Observe(ShardState state, ulong chainBase)
    {
        if (Newest is not StateVersion known || state.SeqNo > known.State.SeqNo)
        {
            _context.LatestStates[Shard] = new StateVersion(state, chainBase);
        }
    }
}
