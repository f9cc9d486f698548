using System;
using System.Collections.Immutable;
using System.Linq;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;
using Xunit;

namespace Kernel.Tests.Unit.Persist;

/// <summary>The pure transitions, without any location: each checks one rule of the shard state machine.</summary>
public sealed class StateTransitionTests
{
    private static readonly ShardId s_shard = new("s" + new string('0', 32));

    [Fact]
    public void CompareAndAppend_LowerIsUpper_AppendsAndMovesUpper()
    {
        ShardState state = Initial();

        Transition<AppendDecision> t = StateTransitions.CompareAndAppend(state, "w", Batch(0, 10, parts: 1), new IdempotencyToken(1, 1), "", 1000, 5);

        Assert.Equal(AppendStatus.Appended, t.Outcome.Status);
        Assert.Equal(Frontier.At(10), t.Next!.Upper);
        Assert.Null(t.Next.CheckInvariants());
        Assert.Equal(new IdempotencyToken(1, 1), t.Next.Writers["w"].LastToken);
    }

    [Fact]
    public void CompareAndAppend_TwoWritersSameLower_OnlyTheFirstApplied()
    {
        ShardState state = Initial();
        ShardState afterA = StateTransitions.CompareAndAppend(state, "a", Batch(0, 10, 1), new IdempotencyToken(1, 1), "", 1000, 5).Next!;

        Transition<AppendDecision> b = StateTransitions.CompareAndAppend(afterA, "b", Batch(0, 7, 1), new IdempotencyToken(2, 2), "", 1000, 5);

        Assert.Equal(AppendStatus.UpperMismatch, b.Outcome.Status);
        Assert.Equal(Frontier.At(10), b.Outcome.CurrentUpper);
        Assert.Null(b.Next);
    }

    [Fact]
    public void CompareAndAppend_RetryWithSameToken_IsAlreadyCommitted()
    {
        HollowBatch batch = Batch(0, 10, 1);
        var token = new IdempotencyToken(3, 4);
        ShardState after = StateTransitions.CompareAndAppend(Initial(), "w", batch, token, "", 1000, 5).Next!;

        Transition<AppendDecision> retry = StateTransitions.CompareAndAppend(after, "w", batch, token, "", 1000, 6);

        Assert.Equal(AppendStatus.AlreadyCommitted, retry.Outcome.Status);
        Assert.Null(retry.Next);
    }

    [Fact]
    public void CompareAndAppend_EmptyBatchesInARow_MergeIntoOne()
    {
        ShardState state = Initial();
        state = StateTransitions.CompareAndAppend(state, "w", Batch(0, 5, 0), new IdempotencyToken(1, 1), "", 1000, 1).Next!;
        state = StateTransitions.CompareAndAppend(state, "w", Batch(5, 9, 0), new IdempotencyToken(1, 2), "", 1000, 1).Next!;

        Assert.Single(state.Batches);
        Assert.Equal(new BatchDescription(Frontier.At(0), Frontier.At(9), Frontier.Minimum), state.Batches[0].Description);
    }

    [Fact]
    public void Since_IsTheMeetOfReaders_AndNeverRegresses()
    {
        ShardState state = Initial();
        state = StateTransitions.RegisterLeasedReader(state, "r1", "", 1000, 0).Next!;
        state = StateTransitions.RegisterCriticalReader(state, "c1", 7, "").Next!;
        state = StateTransitions.DowngradeSince(state, "r1", Frontier.At(10), 1, 0).Next!;
        Assert.Equal(Frontier.At(0), state.Since);

        state = StateTransitions.CompareAndDowngradeSince(state, "c1", 7, 7, Frontier.At(4)).Next!;
        Assert.Equal(Frontier.At(4), state.Since);

        // A reader asking to go back is held where it was.
        state = StateTransitions.DowngradeSince(state, "r1", Frontier.At(2), 1, 0).Next!;
        Assert.Equal(Frontier.At(10), state.LeasedReaders["r1"].Since);
        Assert.Equal(Frontier.At(4), state.Since);

        state = StateTransitions.ExpireCriticalReader(state, "c1").Next!;
        Assert.Equal(Frontier.At(10), state.Since);
        state = StateTransitions.ExpireLeasedReader(state, "r1").Next!;
        Assert.Equal(Frontier.At(10), state.Since);
        Assert.Null(state.CheckInvariants());
    }

    [Fact]
    public void CompareAndDowngradeSince_StaleToken_IsFencedAndChangesNothing()
    {
        ShardState state = StateTransitions.RegisterCriticalReader(Initial(), "c", 1, "").Next!;
        state = StateTransitions.CompareAndDowngradeSince(state, "c", 1, 2, Frontier.At(3)).Next!;

        Transition<SinceDowngrade> stale = StateTransitions.CompareAndDowngradeSince(state, "c", 1, 1, Frontier.At(9));

        Assert.Equal(SinceDowngradeStatus.Fenced, stale.Outcome.Status);
        Assert.Equal(2UL, stale.Outcome.CurrentOpaque);
        Assert.Null(stale.Next);
    }

    [Fact]
    public void ExpireLapsed_RemovesOnlyLapsedLeases()
    {
        ShardState state = Initial();
        state = StateTransitions.RegisterLeasedReader(state, "old", "", 100, 0).Next!;
        state = StateTransitions.RegisterLeasedReader(state, "fresh", "", 100, 150).Next!;
        state = StateTransitions.RegisterWriter(state, "w", "", 100, 0).Next!;

        Transition<ExpiryReport> expired = StateTransitions.ExpireLapsed(state, 160);

        Assert.Equal("old", Assert.Single(expired.Outcome.LeasedReaders));
        Assert.Equal("w", Assert.Single(expired.Outcome.Writers));
        Assert.True(expired.Next!.LeasedReaders.ContainsKey("fresh"));
        Assert.Empty(expired.Next.Writers);
    }

    [Fact]
    public void ApplyMergeResult_InputsGone_IsNotApplied_UnlessItIsTheRetryOfItsOwnResult()
    {
        ShardState state = Initial();
        state = StateTransitions.CompareAndAppend(state, "w", Batch(0, 5, 1), new IdempotencyToken(1, 1), "", 1000, 1).Next!;
        state = StateTransitions.CompareAndAppend(state, "w", Batch(5, 9, 1), new IdempotencyToken(1, 2), "", 1000, 1).Next!;
        ImmutableArray<HollowBatch> inputs = [.. state.Batches];
        var output = new HollowBatch(new BatchDescription(Frontier.At(0), Frontier.At(9), Frontier.At(0)), [new PartRef("merged", 1, 1)]);

        var rival = new HollowBatch(output.Description, [new PartRef("rival", 1, 1)]);

        ShardState merged = StateTransitions.ApplyMergeResult(state, inputs, output).Next!;
        Transition<bool> retry = StateTransitions.ApplyMergeResult(merged, inputs, output);
        Transition<bool> lost = StateTransitions.ApplyMergeResult(merged, inputs, rival);

        Assert.Single(merged.Batches);
        Assert.Null(merged.CheckInvariants());
        Assert.True(retry.Outcome); // its own result, already applied by an earlier attempt
        Assert.Null(retry.Next);
        Assert.False(lost.Outcome);
        Assert.Null(lost.Next);
    }

    /// <summary>
    /// Property: with appends of one update each, every merge outweighs its heaviest input 4 times, so each update is
    /// merged about log4 n times (a binary spine merges it log2 n times), counted as the updates the merges read, and
    /// the batches stay few.
    /// </summary>
    [Fact]
    public void PlanMerges_MergeOutputsGrowFourfold_SoMergeWorkGrowsAsLog4()
    {
        const int Appends = 1024;
        ShardState state = Initial();
        long merged = 0;
        int mostBatches = 0;
        for (int i = 0; i < Appends; i++)
        {
            state = StateTransitions.CompareAndAppend(state, "w", Batch((ulong)i, (ulong)i + 1, 1), new IdempotencyToken(1, (ulong)i + 1), "", 1000, 1).Next!;
            state = ApplyPlannedMerge(state, i, inputs => inputs.Sum(input => input.Updates), ref merged);
            mostBatches = Math.Max(mostBatches, state.Batches.Length);
        }

        // log4 1,024 = 5 merges per update; at most 3 batches per factor of 4 before a merge takes them.
        Assert.True(merged <= Appends * 5L, $"{merged} updates merged for {Appends} appended");
        Assert.True(mostBatches <= 3 * 6 + 1, $"{mostBatches} batches at most");
        Assert.Equal(Appends, state.Batches.Sum(batch => batch.Updates));
        Assert.Null(state.CheckInvariants());
    }

    /// <summary>
    /// Property: batches of mixed sizes (large appends alternating with small ones) whose merges cancel to almost
    /// nothing still merge: none is stranded between larger neighbours, and the batches stay few.
    /// </summary>
    [Fact]
    public void PlanMerges_MixedSizesAndCancellingMerges_KeepBatchesFew()
    {
        ShardState state = Initial();
        long merged = 0;
        int mostBatches = 0;
        for (int i = 0; i < 1000; i++)
        {
            state = StateTransitions.CompareAndAppend(state, "w", Batch((ulong)i, (ulong)i + 1, i % 2 == 0 ? 64 : 1), new IdempotencyToken(1, (ulong)i + 1), "", 1000, 1).Next!;
            state = ApplyPlannedMerge(state, i, _ => 1, ref merged);
            mostBatches = Math.Max(mostBatches, state.Batches.Length);
        }

        Assert.True(merged > 0);
        Assert.True(mostBatches <= 12, $"{mostBatches} batches at most");
        Assert.Null(state.CheckInvariants());
    }

    /// <summary>Applies the merge the state's plan asks for, its output holding <paramref name="outputUpdates"/> updates; adds the inputs' updates to <paramref name="merged"/>.</summary>
    private static ShardState ApplyPlannedMerge(ShardState state, int round, Func<ImmutableArray<HollowBatch>, long> outputUpdates, ref long merged)
    {
        foreach (MergeRequest merge in StateTransitions.PlanMerges(state))
        {
            merged += merge.Inputs.Sum(input => input.Updates);
            var output = new HollowBatch(merge.Output, [new PartRef("m" + round, 1, outputUpdates(merge.Inputs))]);
            state = StateTransitions.ApplyMergeResult(state, merge.Inputs, output).Next!;
        }
        return state;
    }

    [Fact]
    public void Drop_LeavesATombstoneThatRefusesAppendsAndReaders()
    {
        ShardState state = StateTransitions.RegisterLeasedReader(Initial(), "r", "", 10, 0).Next!;
        ShardState dropped = StateTransitions.Drop(state).Next!;

        Assert.True(dropped.IsTombstone);
        Assert.Null(dropped.CheckInvariants());
        Assert.Null(state.CheckSuccessor(dropped with { SeqNo = state.SeqNo + 1 }));
        Assert.Equal(AppendStatus.UpperMismatch, StateTransitions.CompareAndAppend(dropped, "w", Batch(0, 1, 0), new IdempotencyToken(1, 1), "", 1, 1).Outcome.Status);
        Assert.Null(StateTransitions.RegisterLeasedReader(dropped, "r2", "", 1, 1).Outcome);
    }

    [Fact]
    public void CheckSuccessor_RegressingUpperOrSince_IsReported()
    {
        ShardState state = StateTransitions.CompareAndAppend(Initial(), "w", Batch(0, 10, 0), new IdempotencyToken(1, 1), "", 1, 1).Next!;

        Assert.NotNull(state.CheckSuccessor(state with { SeqNo = state.SeqNo + 1, Upper = Frontier.At(5), Batches = [Batch(0, 5, 0)] }));
        Assert.Throws<ArgumentException>(() => StateTransitions.CompareAndAppend(state, "w", Batch(10, 10, 0), new IdempotencyToken(1, 2), "", 1, 1));
    }

    private static ShardState Initial() => ShardState.Initial(s_shard, 0);

    private static HollowBatch Batch(ulong lower, ulong upper, int parts)
    {
        ImmutableArray<PartRef>.Builder refs = ImmutableArray.CreateBuilder<PartRef>();
        for (int i = 0; i < parts; i++)
        {
            refs.Add(new PartRef($"p-{lower}-{i}", 10, 1));
        }
        return new HollowBatch(new BatchDescription(Frontier.At(lower), Frontier.At(upper), Frontier.Minimum), refs.ToImmutable());
    }
}
