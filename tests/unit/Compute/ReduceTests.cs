using System.Collections.Generic;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Persist.Data;
using Xunit;
using static Kernel.Tests.Unit.Compute.Plans;

namespace Kernel.Tests.Unit.Compute;

/// <summary>Reduce cases the random model does not reach: exact float sums, overflow, global reduce on empty input.</summary>
public sealed class ReduceTests
{
    private static readonly ColumnType s_float = new(SqlType.Float64, true);

    [Fact]
    public void SumFloat_RetractingALargeValue_LeavesNoDrift()
    {
        var plan = new Reduce(new Get(Source1, new RelationType([Int, s_float, Int])), [0], [Agg(AggregateFunc.Sum, Col(1, s_float), type: s_float)], false);
        (Dataflow dataflow, IndexState index) = Build(plan);
        InputNode input = dataflow.SourceInputs[Source1];
        input.Push(new Row(Datum.FromInt64(1), Datum.FromFloat64(0.1), Datum.FromInt64(0)), 0, 1);
        input.Push(new Row(Datum.FromInt64(1), Datum.FromFloat64(1e20), Datum.FromInt64(0)), 0, 1);
        Advance(dataflow, 1);
        input.Push(new Row(Datum.FromInt64(1), Datum.FromFloat64(1e20), Datum.FromInt64(0)), 1, -1);
        Advance(dataflow, 2);

        // A running double sum would hold 1e20 + 0.1 - 1e20 = 0.
        Assert.Equal([(new Row(Datum.FromInt64(1), Datum.FromFloat64(0.1)), 1L)], index.Data.ReadAt(1));
    }

    [Fact]
    public void SumBigint_Overflow_IsAnErrorUntilRetracted()
    {
        var plan = new Reduce(Get1, [], [Agg(AggregateFunc.Sum, Col(1))], false);
        (Dataflow dataflow, IndexState index) = Build(plan);
        InputNode input = dataflow.SourceInputs[Source1];
        input.Push(Row.OfInt64(0, long.MaxValue, 0), 0, 1);
        input.Push(Row.OfInt64(0, 1, 0), 0, 1);
        Advance(dataflow, 1);
        Assert.Equal("22003", index.Errors.SmallestAt(0)?.SqlState);
        Assert.Empty(index.Data.ReadAt(0));

        input.Push(Row.OfInt64(0, 1, 0), 1, -1);
        Advance(dataflow, 2);
        Assert.Null(index.Errors.SmallestAt(1));
        Assert.Equal([(Row.OfInt64(long.MaxValue), 1L)], index.Data.ReadAt(1));
    }

    [Fact]
    public void GlobalReduce_EmptyInput_OneRowWithCountZeroAndNulls()
    {
        var plan = new Reduce(Get1, [], [Agg(AggregateFunc.CountAll, Lit(1)), Agg(AggregateFunc.Sum, Col(1)), Agg(AggregateFunc.Max, Col(1))], true);
        (Dataflow dataflow, IndexState index) = Build(plan, asOf: 3);
        Advance(dataflow, 4);
        Assert.Equal([(new Row(Datum.FromInt64(0), Datum.Null, Datum.Null), 1L)], index.Data.ReadAt(3));

        dataflow.SourceInputs[Source1].Push(Row.OfInt64(0, 5, 0), 4, 1);
        Advance(dataflow, 5);
        Assert.Equal([(Row.OfInt64(1, 5, 5), 1L)], index.Data.ReadAt(4));

        dataflow.SourceInputs[Source1].Push(Row.OfInt64(0, 5, 0), 5, -1);
        Advance(dataflow, 6);
        Assert.Equal([(new Row(Datum.FromInt64(0), Datum.Null, Datum.Null), 1L)], index.Data.ReadAt(5));
    }

    [Fact]
    public void Build_ColumnOutOfRange_IsRefusedWithAMessage()
    {
        BuildResult built = DataflowBuilder.Build(Indexed(new Join(Get1, Get2, [7], [0])), _ => null);
        Assert.False(built.IsOk);
        Assert.Contains("out of range", built.Error);
        BuildResult unknown = DataflowBuilder.Build(Indexed(new Get(GlobalId.UserId(99), Ints(3))), _ => null);
        Assert.False(unknown.IsOk);
    }

    private static (Dataflow Dataflow, IndexState Index) Build(RelationExpr plan, ulong asOf = 0)
    {
        BuildResult built = DataflowBuilder.Build(Indexed(plan, asOf), _ => null);
        Assert.True(built.IsOk, built.Error);
        return (built.Dataflow!, built.Dataflow!.Indexes[IndexId]);
    }

    private static void Advance(Dataflow dataflow, ulong frontier)
    {
        foreach (KeyValuePair<GlobalId, InputNode> input in dataflow.SourceInputs)
        {
            input.Value.AdvanceTo(Frontier.At(frontier));
        }
        dataflow.StepUntilIdle();
    }
}
