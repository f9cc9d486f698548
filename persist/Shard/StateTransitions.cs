using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Persist.Shard;

/// <summary>
/// The result of applying a transition to a state: what to tell the caller, and the next state (null when the
/// transition changes nothing and must not be written).
/// </summary>
public readonly record struct Transition<T>(T Outcome, ShardState? Next)
{
    public static Transition<T> NoChange(T outcome) => new(outcome, null);
}

public enum AppendStatus
{
    /// <summary>The batch is now part of the shard; the shard's upper is the batch's upper.</summary>
    Appended,

    /// <summary>A retry of a write that had already committed (recognised by its idempotency token).</summary>
    AlreadyCommitted,

    /// <summary>The shard's upper is not the batch's lower; nothing was written. <c>CurrentUpper</c> says where it is.</summary>
    UpperMismatch,

    /// <summary>
    /// The writer is no longer registered (its lease lapsed and it was expired): nothing was written by this
    /// attempt, and whether an earlier attempt of the same append committed can no longer be told, because the
    /// expiry took the writer's idempotency token with it.
    /// </summary>
    WriterExpired,
}

/// <summary>What compare_and_append decided, and the compaction work the new batch generated.</summary>
public readonly record struct AppendDecision(AppendStatus Status, Frontier CurrentUpper, ImmutableArray<MergeRequest> Merges);

/// <summary>
/// Compaction work: replace the adjacent <see cref="Inputs"/> by one batch over their combined interval whose times
/// are advanced to <see cref="Since"/> and consolidated. Applied only if the inputs are all still there, unchanged.
/// </summary>
public sealed record MergeRequest(ImmutableArray<HollowBatch> Inputs, Frontier Since)
{
    public BatchDescription Output => new(Inputs[0].Description.Lower, Inputs[^1].Description.Upper, Since);
}

public enum SinceDowngradeStatus
{
    Downgraded,

    /// <summary>The reader's opaque token is not the expected one: a newer holder fenced this one out.</summary>
    Fenced,

    UnknownReader,
    ShardDropped,
}

public readonly record struct SinceDowngrade(SinceDowngradeStatus Status, ulong CurrentOpaque, Frontier Since);

/// <summary>Who lost a lease in an expiry pass.</summary>
public sealed record ExpiryReport(ImmutableArray<string> LeasedReaders, ImmutableArray<string> Writers)
{
    public int Count => LeasedReaders.Length + Writers.Length;
}

/// <summary>
/// Every change to a shard's state, as pure functions from a state (and the caller's inputs, including the
/// wall time) to an outcome and maybe a next state. <see cref="ShardMachine"/> applies them through a
/// compare-and-set retry loop on Consensus; the seqno and wall time of the next state are set there.
/// </summary>
/// <remarks>
/// Purity is what makes retries safe: a transition re-run on a newer state after a lost race or an
/// indeterminate error decides afresh. Transitions that must not apply twice (appends) carry an idempotency
/// token. Since and upper never regress here: sinces are joined, uppers only move by appending.
/// </remarks>
public static class StateTransitions
{
    public static Transition<LeasedReaderState?> RegisterLeasedReader(ShardState state, string readerId, string purpose, long leaseDurationMs, long nowMs)
    {
        if (state.IsTombstone)
        {
            return Transition<LeasedReaderState?>.NoChange(null);
        }
        LeasedReaderState reader = state.LeasedReaders.TryGetValue(readerId, out LeasedReaderState? existing)
            ? existing with { LastHeartbeatMs = Math.Max(existing.LastHeartbeatMs, nowMs) }
            : new LeasedReaderState(state.Since, state.SeqNo, nowMs, leaseDurationMs, purpose);
        return new(reader, WithSince(state with { LeasedReaders = state.LeasedReaders.SetItem(readerId, reader) }));
    }

    public static Transition<CriticalReaderState?> RegisterCriticalReader(ShardState state, string readerId, ulong initialOpaque, string purpose)
    {
        if (state.IsTombstone)
        {
            return Transition<CriticalReaderState?>.NoChange(null);
        }
        if (state.CriticalReaders.TryGetValue(readerId, out CriticalReaderState? existing))
        {
            return Transition<CriticalReaderState?>.NoChange(existing);
        }
        var reader = new CriticalReaderState(state.Since, initialOpaque, purpose);
        return new(reader, WithSince(state with { CriticalReaders = state.CriticalReaders.SetItem(readerId, reader) }));
    }

    public static Transition<WriterState?> RegisterWriter(ShardState state, string writerId, string purpose, long leaseDurationMs, long nowMs)
    {
        if (state.IsTombstone)
        {
            return Transition<WriterState?>.NoChange(null);
        }
        WriterState writer = state.Writers.TryGetValue(writerId, out WriterState? existing)
            ? existing with { LastHeartbeatMs = Math.Max(existing.LastHeartbeatMs, nowMs) }
            : new WriterState(IdempotencyToken.None, state.Upper, nowMs, leaseDurationMs, purpose);
        return new(writer, state with { Writers = state.Writers.SetItem(writerId, writer) });
    }

    /// <summary>
    /// Appends <paramref name="batch"/> if and only if the shard's upper is the batch's lower. Checks, in order:
    /// dropped shard (a mismatch at the empty frontier), a retry of this writer's last write (already
    /// committed), the upper. A writer unknown to the shard (new, or expired) is registered on the way.
    /// </summary>
    public static Transition<AppendDecision> CompareAndAppend(
        ShardState state, string writerId, HollowBatch batch, IdempotencyToken token, string purpose, long leaseDurationMs, long nowMs,
        long inlineDeferBytesMax = 0)
    {
        BatchDescription d = batch.Description;
        if (d.Lower >= d.Upper || d.Lower.IsEmpty)
        {
            throw new ArgumentException($"batch {d} covers no time", nameof(batch));
        }
        if (state.IsTombstone)
        {
            return Transition<AppendDecision>.NoChange(new(AppendStatus.UpperMismatch, state.Upper, []));
        }
        if (state.Writers.TryGetValue(writerId, out WriterState? writer) && !token.IsNone && writer.LastToken == token)
        {
            return Transition<AppendDecision>.NoChange(new(AppendStatus.AlreadyCommitted, state.Upper, []));
        }
        if (state.Upper != d.Lower)
        {
            return Transition<AppendDecision>.NoChange(new(AppendStatus.UpperMismatch, state.Upper, []));
        }
        var updatedWriter = new WriterState(token, d.Upper, nowMs, writer?.LeaseDurationMs ?? leaseDurationMs, writer?.Purpose ?? purpose);
        ShardState next = state with
        {
            Upper = d.Upper,
            Batches = PushBatch(state.Batches, batch),
            Writers = state.Writers.SetItem(writerId, updatedWriter),
        };
        return new(new AppendDecision(AppendStatus.Appended, next.Upper, PlanMerges(next, inlineDeferBytesMax)), next);
    }

    /// <summary>A leased reader moves its since forward (never back), heartbeats, and moves its seqno hold up to <paramref name="seqNoSeen"/>.</summary>
    public static Transition<Frontier?> DowngradeSince(ShardState state, string readerId, Frontier newSince, ulong seqNoSeen, long nowMs)
    {
        if (state.IsTombstone || !state.LeasedReaders.TryGetValue(readerId, out LeasedReaderState? reader))
        {
            return Transition<Frontier?>.NoChange(null);
        }
        LeasedReaderState updated = reader with
        {
            Since = Frontier.Join(reader.Since, newSince),
            SeqNoHold = Math.Max(reader.SeqNoHold, Math.Min(seqNoSeen, state.SeqNo)),
            LastHeartbeatMs = Math.Max(reader.LastHeartbeatMs, nowMs),
        };
        return new(updated.Since, WithSince(state with { LeasedReaders = state.LeasedReaders.SetItem(readerId, updated) }));
    }

    /// <summary>
    /// A critical reader moves its since forward and swaps its opaque token, only if its current token is
    /// <paramref name="expectedOpaque"/>: the fencing primitive for since holders (a controller stores its epoch).
    /// </summary>
    public static Transition<SinceDowngrade> CompareAndDowngradeSince(ShardState state, string readerId, ulong expectedOpaque, ulong newOpaque, Frontier newSince)
    {
        if (state.IsTombstone)
        {
            return Transition<SinceDowngrade>.NoChange(new(SinceDowngradeStatus.ShardDropped, 0, Frontier.Empty));
        }
        if (!state.CriticalReaders.TryGetValue(readerId, out CriticalReaderState? reader))
        {
            return Transition<SinceDowngrade>.NoChange(new(SinceDowngradeStatus.UnknownReader, 0, state.Since));
        }
        if (reader.Opaque != expectedOpaque)
        {
            return Transition<SinceDowngrade>.NoChange(new(SinceDowngradeStatus.Fenced, reader.Opaque, reader.Since));
        }
        CriticalReaderState updated = reader with { Since = Frontier.Join(reader.Since, newSince), Opaque = newOpaque };
        return new(
            new SinceDowngrade(SinceDowngradeStatus.Downgraded, newOpaque, updated.Since),
            WithSince(state with { CriticalReaders = state.CriticalReaders.SetItem(readerId, updated) }));
    }

    /// <summary>Renews a leased reader's lease; false when the reader is unknown (expired).</summary>
    public static Transition<bool> HeartbeatLeasedReader(ShardState state, string readerId, ulong seqNoSeen, long nowMs)
    {
        if (!state.LeasedReaders.TryGetValue(readerId, out LeasedReaderState? reader))
        {
            return Transition<bool>.NoChange(false);
        }
        LeasedReaderState updated = reader with
        {
            LastHeartbeatMs = Math.Max(reader.LastHeartbeatMs, nowMs),
            SeqNoHold = Math.Max(reader.SeqNoHold, Math.Min(seqNoSeen, state.SeqNo)),
        };
        return new(true, state with { LeasedReaders = state.LeasedReaders.SetItem(readerId, updated) });
    }

    public static Transition<bool> HeartbeatWriter(ShardState state, string writerId, long nowMs)
    {
        if (!state.Writers.TryGetValue(writerId, out WriterState? writer))
        {
            return Transition<bool>.NoChange(false);
        }
        return new(true, state with { Writers = state.Writers.SetItem(writerId, writer with { LastHeartbeatMs = Math.Max(writer.LastHeartbeatMs, nowMs) }) });
    }

    public static Transition<bool> ExpireLeasedReader(ShardState state, string readerId) =>
        state.LeasedReaders.ContainsKey(readerId)
            ? new(true, WithSince(state with { LeasedReaders = state.LeasedReaders.Remove(readerId) }))
            : Transition<bool>.NoChange(false);

    public static Transition<bool> ExpireCriticalReader(ShardState state, string readerId) =>
        state.CriticalReaders.ContainsKey(readerId)
            ? new(true, WithSince(state with { CriticalReaders = state.CriticalReaders.Remove(readerId) }))
            : Transition<bool>.NoChange(false);

    public static Transition<bool> ExpireWriter(ShardState state, string writerId) =>
        state.Writers.ContainsKey(writerId)
            ? new(true, state with { Writers = state.Writers.Remove(writerId) })
            : Transition<bool>.NoChange(false);

    /// <summary>Removes leased readers and writers whose last heartbeat plus lease is before <paramref name="nowMs"/>.</summary>
    public static Transition<ExpiryReport> ExpireLapsed(ShardState state, long nowMs)
    {
        ImmutableArray<string>.Builder readers = ImmutableArray.CreateBuilder<string>();
        ImmutableArray<string>.Builder writers = ImmutableArray.CreateBuilder<string>();
        foreach ((string id, LeasedReaderState reader) in state.LeasedReaders)
        {
            if (Lapsed(reader.LastHeartbeatMs, reader.LeaseDurationMs, nowMs))
            {
                readers.Add(id);
            }
        }
        foreach ((string id, WriterState writer) in state.Writers)
        {
            if (Lapsed(writer.LastHeartbeatMs, writer.LeaseDurationMs, nowMs))
            {
                writers.Add(id);
            }
        }
        var report = new ExpiryReport(readers.ToImmutable(), writers.ToImmutable());
        if (report.Count == 0)
        {
            return Transition<ExpiryReport>.NoChange(report);
        }
        ShardState next = state with
        {
            LeasedReaders = state.LeasedReaders.RemoveRange(report.LeasedReaders),
            Writers = state.Writers.RemoveRange(report.Writers),
        };
        return new(report, WithSince(next));
    }

    /// <summary>Whether <paramref name="inputs"/> are still adjacent batches of <paramref name="state"/> (a merge of them could apply).</summary>
    public static bool MergeInputsPresent(ShardState state, ImmutableArray<HollowBatch> inputs) =>
        !inputs.IsEmpty && !state.IsTombstone && FindMergeInputs(state, inputs) >= 0;

    /// <summary>Where <paramref name="inputs"/> start among the state's batches, all present, adjacent and unchanged; −1 otherwise.</summary>
    private static int FindMergeInputs(ShardState state, ImmutableArray<HollowBatch> inputs)
    {
        int start = IndexOfSame(state.Batches, inputs[0]);
        if (start < 0 || start + inputs.Length > state.Batches.Length)
        {
            return -1;
        }
        for (int i = 1; i < inputs.Length; i++)
        {
            if (!state.Batches[start + i].SameAs(inputs[i]))
            {
                return -1;
            }
        }
        return start;
    }

    private static int IndexOfSame(ImmutableArray<HollowBatch> batches, HollowBatch wanted)
    {
        for (int i = 0; i < batches.Length; i++)
        {
            if (batches[i].SameAs(wanted))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// Replaces the merge's inputs by <paramref name="output"/> if they are all still present, adjacent and unchanged.
    /// True also when the output is already there: a retry after an indeterminate error must not mistake its own
    /// applied result for a lost race (and delete the parts it just published).
    /// </summary>
    public static Transition<bool> ApplyMergeResult(ShardState state, ImmutableArray<HollowBatch> inputs, HollowBatch output)
    {
        if (inputs.IsEmpty || state.IsTombstone)
        {
            return Transition<bool>.NoChange(false);
        }
        if (!output.IsEmpty && IndexOfSame(state.Batches, output) >= 0)
        {
            return Transition<bool>.NoChange(true);
        }
        int start = FindMergeInputs(state, inputs);
        if (start < 0)
        {
            return Transition<bool>.NoChange(false);
        }
        BatchDescription d = output.Description;
        if (d.Lower != inputs[0].Description.Lower || d.Upper != inputs[^1].Description.Upper || d.Since > state.Since)
        {
            throw new ArgumentException($"merge output {d} does not replace inputs [{inputs[0].Description.Lower}, {inputs[^1].Description.Upper}) under since {state.Since}", nameof(output));
        }
        ImmutableArray<HollowBatch> batches = state.Batches.RemoveRange(start, inputs.Length).Insert(start, output);
        return new(true, state with { Batches = batches });
    }

    /// <summary>
    /// Records a rollup of state <paramref name="seqno"/>, keeping the newest <paramref name="keep"/>. True also when
    /// this very key is already recorded (a retry after an indeterminate error).
    /// </summary>
    public static Transition<bool> AddRollup(ShardState state, ulong seqno, string key, int keep)
    {
        if (state.Rollups.TryGetValue(seqno, out string? existing))
        {
            return Transition<bool>.NoChange(existing == key);
        }
        if (state.IsTombstone)
        {
            return Transition<bool>.NoChange(false);
        }
        ImmutableSortedDictionary<ulong, string> rollups = state.Rollups.SetItem(seqno, key);
        while (rollups.Count > Math.Max(1, keep))
        {
            rollups = rollups.Remove(rollups.Keys.First());
        }
        return new(true, state with { Rollups = rollups });
    }

    public static Transition<bool> RecordGarbageCollection(ShardState state, ulong truncatedBelow) =>
        truncatedBelow > state.LastGcSeqNo
            ? new(true, state with { LastGcSeqNo = truncatedBelow })
            : Transition<bool>.NoChange(false);

    /// <summary>Drops the shard: since and upper become empty and every batch, reader, writer and rollup goes.</summary>
    public static Transition<bool> Drop(ShardState state) =>
        state.IsTombstone
            ? Transition<bool>.NoChange(false)
            : new(true, state with
            {
                Since = Frontier.Empty,
                Upper = Frontier.Empty,
                Batches = [],
                LeasedReaders = state.LeasedReaders.Clear(),
                CriticalReaders = state.CriticalReaders.Clear(),
                Writers = state.Writers.Clear(),
                Rollups = state.Rollups.Clear(),
            });

    /// <summary>Batches a state may hold before inline batches are merged whatever their size (see <see cref="PlanMerges"/>).</summary>
    public const int InlineBatchesDeferredMax = 64;

    /// <summary>How much a merge's output outweighs its largest input, at least (see <see cref="PlanMerges"/>).</summary>
    public const int MergeGrowth = 4;

    /// <summary>
    /// Past this many batches, merges follow the binary rule whatever the weights (see <see cref="PlanMerges"/>):
    /// well above what the growth rule leaves (the deferred inline batches, then a few per factor of 4 in weight).
    /// </summary>
    public const int TieredBatchesMax = InlineBatchesDeferredMax + 64;

    /// <summary>
    /// The merge an append calls for: the longest tail run of batches that weighs at least <see cref="MergeGrowth"/>
    /// (4) times its heaviest batch. A merge's output therefore outweighs each of its inputs four times over, so an
    /// update is merged about log4 n times (a binary spine, which merges as soon as the newest batches weigh half the
    /// one before them, merges it log2 n times: twice the work, for half the batches), and batches of any mix of sizes
    /// join a merge, so none is stranded between larger neighbours. Should batches still pile up (consolidation that
    /// cancels most of every merge), past <see cref="TieredBatchesMax"/> batches the tail run in which no batch
    /// outweighs twice the rest is merged instead, which bounds the count by log2 of the shard's weight. A run of only
    /// inline batches is left alone while the state's inline bytes stay at most <paramref name="inlineDeferBytesMax"/>
    /// and the state holds at most <see cref="InlineBatchesDeferredMax"/> batches: inline batches cost readers no
    /// Blob fetch, and merging them every few small appends costs a second state write per commit; once the budget
    /// fills, one merge moves them all.
    /// </summary>
    public static ImmutableArray<MergeRequest> PlanMerges(ShardState state, long inlineDeferBytesMax = 0)
    {
        ImmutableArray<HollowBatch> batches = state.Batches;
        if (batches.Length < 2)
        {
            return [];
        }
        int start = GrowthRunStart(batches);
        if (start < 0 && batches.Length > TieredBatchesMax)
        {
            start = BinaryRunStart(batches);
        }
        if (start < 0 || batches.Length - start < 2)
        {
            return [];
        }
        if (inlineDeferBytesMax > 0 && batches.Length <= InlineBatchesDeferredMax && AllInline(batches, start) && state.InlineBytes() <= inlineDeferBytesMax)
        {
            return [];
        }
        return [new MergeRequest(batches[start..], state.Since)];

        // The start of the longest tail run (of two batches or more) weighing MergeGrowth times its heaviest batch; -1 if none.
        static int GrowthRunStart(ImmutableArray<HollowBatch> batches)
        {
            long runWeight = Weight(batches[^1]);
            long heaviest = runWeight;
            int start = -1;
            for (int i = batches.Length - 2; i >= 0; i--)
            {
                long weight = Weight(batches[i]);
                runWeight += weight;
                heaviest = Math.Max(heaviest, weight);
                if (runWeight >= MergeGrowth * heaviest)
                {
                    start = i;
                }
            }
            return start;
        }

        static int BinaryRunStart(ImmutableArray<HollowBatch> batches)
        {
            long runWeight = Weight(batches[^1]);
            int start = batches.Length - 1;
            for (int i = batches.Length - 2; i >= 0; i--)
            {
                long weight = Weight(batches[i]);
                if (weight > 2 * runWeight)
                {
                    break;
                }
                runWeight += weight;
                start = i;
            }
            return start;
        }

        static bool AllInline(ImmutableArray<HollowBatch> batches, int start)
        {
            for (int i = start; i < batches.Length; i++)
            {
                foreach (PartRef part in batches[i].Parts)
                {
                    if (!part.IsInline)
                    {
                        return false;
                    }
                }
            }
            return true;
        }

        static long Weight(HollowBatch batch) => batch.Updates + 1;
    }

    /// <summary>Appends a batch; an empty batch after an empty batch just extends it (no data, no blob work).</summary>
    private static ImmutableArray<HollowBatch> PushBatch(ImmutableArray<HollowBatch> batches, HollowBatch batch)
    {
        if (batch.IsEmpty && batches.Length > 0 && batches[^1].IsEmpty)
        {
            HollowBatch last = batches[^1];
            return batches.SetItem(batches.Length - 1, last with { Description = last.Description with { Upper = batch.Description.Upper } });
        }
        return batches.Add(batch);
    }

    /// <summary>Since = the meet of the readers' sinces, never regressing; unchanged with no readers.</summary>
    private static ShardState WithSince(ShardState state)
    {
        Frontier? meet = state.ReaderSinceMeet();
        return meet is Frontier m ? state with { Since = Frontier.Join(state.Since, m) } : state;
    }

    private static bool Lapsed(long lastHeartbeatMs, long leaseDurationMs, long nowMs) => lastHeartbeatMs + leaseDurationMs < nowMs;

    private static ulong First(this IEnumerable<ulong> keys)
    {
        foreach (ulong key in keys)
        {
            return key;
        }
        throw new InvalidOperationException("no keys");
    }
}
