using System;
using System.Collections.Generic;
using System.Linq;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Runtime;
using Xunit;
using static Kernel.Tests.Unit.Compute.Plans;

namespace Kernel.Tests.Unit.Compute;

/// <summary>
/// Each operator, maintained incrementally over a seeded random stream of inserts and retractions (with NULLs),
/// must equal the reference model recomputed from scratch at every time: rows read from the index export at
/// that time, and the error collection at that time.
/// </summary>
public sealed class OperatorModelTests
{
    public static TheoryData<string> PlanNames => new(s_plans.Keys.Order());

    private static readonly Dictionary<string, RelationExpr> s_plans = BuildPlans();

    [Theory]
    [MemberData(nameof(PlanNames))]
    public void Operator_RandomUpdates_MatchesReferenceModel(string name)
    {
        RelationExpr plan = s_plans[name];
        for (ulong seed = 1; seed <= 4; seed++)
        {
            Check(plan, seed, name);
        }
    }

    private static Dictionary<string, RelationExpr> BuildPlans()
    {
        ScalarExpr b = Col(1);
        ScalarExpr aPlusB = Binary(BinaryFunc.Add, Col(0), Col(1), Int);
        ScalarExpr bGt2 = Binary(BinaryFunc.Gt, Col(1), Lit(2), Bool);
        ScalarExpr tenDivC = Binary(BinaryFunc.Div, Lit(10), Col(2), Int);
        var withBool = new Map(Get1, [bGt2]);
        return new Dictionary<string, RelationExpr>
        {
            ["map"] = new Map(Get1, [aPlusB]),
            ["filter"] = new Filter(Get1, [bGt2]),
            ["project"] = new Project(Get1, [2, 0, 0]),
            ["map-errors"] = new Map(Get1, [tenDivC]),
            ["join"] = new Join(Get1, Get2, [0], [0]),
            ["join-two-keys"] = new Join(Get1, Get2, [0, 1], [1, 0]),
            ["cross-join"] = new Join(new Filter(Get1, [bGt2]), new Filter(Get2, [bGt2]), [], []),
            ["self-join"] = new Join(Get1, Get1, [1], [2]),
            ["reduce-count-sum"] = new Reduce(Get1, [0], [Agg(AggregateFunc.CountAll, Lit(1)), Agg(AggregateFunc.Count, Col(0)), Agg(AggregateFunc.Sum, b)], false),
            ["reduce-min-max"] = new Reduce(Get1, [2], [Agg(AggregateFunc.Min, Col(0)), Agg(AggregateFunc.Max, Col(0)), Agg(AggregateFunc.Min, b)], false),
            ["reduce-bool"] = new Reduce(withBool, [0], [Agg(AggregateFunc.BoolAnd, Col(3, Bool), type: Bool), Agg(AggregateFunc.BoolOr, Col(3, Bool), type: Bool)], false),
            ["reduce-distinct"] = new Reduce(Get1, [2], [Agg(AggregateFunc.Count, b, distinct: true), Agg(AggregateFunc.Sum, b, distinct: true), Agg(AggregateFunc.Max, Col(0), distinct: true)], false),
            ["reduce-global"] = new Reduce(new Filter(Get1, [bGt2]), [], [Agg(AggregateFunc.CountAll, Lit(1)), Agg(AggregateFunc.Sum, b), Agg(AggregateFunc.Min, Col(0))], true),
            ["reduce-errors"] = new Reduce(Get1, [0], [Agg(AggregateFunc.Sum, tenDivC)], false),
            ["distinct"] = new Distinct(new Project(Get1, [0, 2])),
            ["union"] = new Union([Get1, Get2, Get1]),
            ["negate-threshold"] = new Threshold(new Union([new Project(Get1, [0]), new Negate(new Project(Get2, [0]))])),
            ["topk"] = new TopK(Get1, [2], [new ColumnOrder(0, false, true)], 2, 0),
            ["topk-desc-offset"] = new TopK(Get1, [], [new ColumnOrder(0, true, false), new ColumnOrder(1, false, true)], 3, 1),
            ["topk-no-limit"] = new TopK(Get1, [0], [new ColumnOrder(1, true, true)], null, 1),
            ["join-reduce"] = new Reduce(new Join(Get1, Get2, [2], [2]), [0], [Agg(AggregateFunc.CountAll, Lit(1)), Agg(AggregateFunc.Max, Col(4))], false),
        };
    }

    private static void Check(RelationExpr plan, ulong seed, string name)
    {
        var random = new SeededRandom(seed);
        BuildResult built = DataflowBuilder.Build(Indexed(plan), _ => null);
        Assert.True(built.IsOk, built.Error);
        Dataflow dataflow = built.Dataflow!;
        IndexState index = dataflow.Indexes[IndexId];
        var contents = new Dictionary<GlobalId, SortedDictionary<Row, long>>
        {
            [Source1] = [],
            [Source2] = [],
        };
        for (ulong time = 0; time < 25; time++)
        {
            foreach (GlobalId source in new[] { Source1, Source2 })
            {
                SortedDictionary<Row, long> current = contents[source];
                int changes = random.Next(5);
                for (int i = 0; i < changes; i++)
                {
                    Row row;
                    long diff;
                    if (current.Count > 0 && random.Chance(0.4))
                    {
                        row = current.Keys.ElementAt(random.Next(current.Count));
                        diff = -1;
                    }
                    else
                    {
                        row = new Row(
                            random.Chance(0.15) ? Datum.Null : Datum.FromInt64(random.Next(4)),
                            Datum.FromInt64(random.Next(6)),
                            Datum.FromInt64(random.Next(3)));
                        diff = random.Chance(0.2) ? 2 : 1;
                    }
                    current.TryGetValue(row, out long count);
                    if (count + diff == 0)
                    {
                        current.Remove(row);
                    }
                    else
                    {
                        current[row] = count + diff;
                    }
                    dataflow.SourceInputs[source].Push(row, time, diff);
                }
                // Sometimes a source lags a time behind, so operators see uneven frontiers.
                if (random.Chance(0.8) || time % 3 == 0)
                {
                    dataflow.SourceInputs[source].AdvanceTo(Frontier.At(time + 1));
                }
            }
            dataflow.SourceInputs[Source1].AdvanceTo(Frontier.At(time + 1));
            dataflow.SourceInputs[Source2].AdvanceTo(Frontier.At(time + 1));
            dataflow.StepUntilIdle();
            Assert.Equal(Frontier.At(time + 1), index.Upper);

            ReferenceModel.Result expected = ReferenceModel.Evaluate(plan, contents);
            List<(Row Row, long Count)> actual = index.Data.ReadAt(time);
            Assert.True(
                expected.Rows.Select(e => (e.Key, e.Value)).SequenceEqual(actual.Select(a => (a.Row, a.Count))),
                $"{name} seed {seed} time {time}: expected {Show(expected.Rows.Select(e => (e.Key, e.Value)))} got {Show(actual)}");
            EvalError? expectedError = expected.Errors.Where(e => e.Value > 0).Select(e => e.Key).FirstOrDefault();
            Assert.Equal(expectedError, index.Errors.SmallestAt(time));
            if (time % 5 == 4)
            {
                // Compaction must not change what later reads see.
                index.Compact(Frontier.At(time));
            }
        }
    }

    private static string Show(IEnumerable<(Row Row, long Count)> rows) => string.Join(", ", rows.Select(r => $"{r.Row}x{r.Count}"));
}
