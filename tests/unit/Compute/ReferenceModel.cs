using System;
using System.Collections.Generic;
using System.Linq;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;

namespace Kernel.Tests.Unit.Compute;

/// <summary>
/// A from-scratch interpreter of <see cref="RelationExpr"/> over multisets: the naive model the incremental
/// operators are checked against. Written for clarity, not speed; errors are collected beside the rows.
/// </summary>
internal static class ReferenceModel
{
    public sealed record Result(SortedDictionary<Row, long> Rows, SortedDictionary<EvalError, long> Errors);

    public static Result Evaluate(RelationExpr plan, IReadOnlyDictionary<GlobalId, SortedDictionary<Row, long>> inputs)
    {
        var errors = new SortedDictionary<EvalError, long>();
        SortedDictionary<Row, long> rows = Eval(plan, inputs, errors);
        foreach (EvalError key in errors.Where(e => e.Value == 0).Select(e => e.Key).ToList())
        {
            errors.Remove(key);
        }
        return new Result(rows, errors);
    }

    private static SortedDictionary<Row, long> Eval(RelationExpr plan, IReadOnlyDictionary<GlobalId, SortedDictionary<Row, long>> inputs, SortedDictionary<EvalError, long> errors)
    {
        var output = new SortedDictionary<Row, long>();
        void Add(Row row, long diff)
        {
            output.TryGetValue(row, out long count);
            count += diff;
            if (count == 0)
            {
                output.Remove(row);
            }
            else
            {
                output[row] = count;
            }
        }
        void AddError(EvalError error, long diff)
        {
            errors.TryGetValue(error, out long count);
            errors[error] = count + diff;
        }
        switch (plan)
        {
            case Constant constant:
                foreach ((Row row, long diff) in constant.Rows)
                {
                    Add(row, diff);
                }
                return output;
            case Get get:
                foreach ((Row row, long count) in inputs[get.Id])
                {
                    Add(row, count);
                }
                return output;
            case Map map:
                foreach ((Row row, long count) in Eval(map.Input, inputs, errors))
                {
                    var datums = row.Datums.ToArray().ToList();
                    bool failed = false;
                    foreach (ScalarExpr scalar in map.Scalars)
                    {
                        if (!Evaluator.TryEval(scalar, datums.ToArray(), out Datum value, out EvalError? error))
                        {
                            AddError(error, count);
                            failed = true;
                            break;
                        }
                        datums.Add(value);
                    }
                    if (!failed)
                    {
                        Add(new Row(datums.ToArray()), count);
                    }
                }
                return output;
            case Filter filter:
                foreach ((Row row, long count) in Eval(filter.Input, inputs, errors))
                {
                    bool keep = true;
                    foreach (ScalarExpr predicate in filter.Predicates)
                    {
                        if (!Evaluator.TryIsTrue(predicate, row.Datums, out bool isTrue, out EvalError? error))
                        {
                            AddError(error, count);
                            keep = false;
                            break;
                        }
                        if (!isTrue)
                        {
                            keep = false;
                            break;
                        }
                    }
                    if (keep)
                    {
                        Add(row, count);
                    }
                }
                return output;
            case Project project:
                foreach ((Row row, long count) in Eval(project.Input, inputs, errors))
                {
                    Add(new Row(project.Outputs.Select(i => row[i]).ToArray()), count);
                }
                return output;
            case Join join:
            {
                var left = Eval(join.Left, inputs, errors);
                var right = Eval(join.Right, inputs, errors);
                foreach ((Row l, long lc) in left)
                {
                    foreach ((Row r, long rc) in right)
                    {
                        bool match = true;
                        for (int i = 0; i < join.LeftKey.Length && match; i++)
                        {
                            Datum a = l[join.LeftKey[i]];
                            Datum b = r[join.RightKey[i]];
                            match = !a.IsNull && !b.IsNull && a == b;
                        }
                        if (match)
                        {
                            Add(new Row(l.Datums.ToArray().Concat(r.Datums.ToArray()).ToArray()), lc * rc);
                        }
                    }
                }
                return output;
            }
            case Reduce reduce:
            {
                var groups = new SortedDictionary<Row, List<(Row Row, long Count)>>();
                foreach ((Row row, long count) in Eval(reduce.Input, inputs, errors))
                {
                    Row key = new(reduce.GroupKey.Select(i => row[i]).ToArray());
                    if (!groups.TryGetValue(key, out var members))
                    {
                        groups[key] = members = [];
                    }
                    members.Add((row, count));
                }
                if (reduce.Global && reduce.GroupKey.Length == 0 && groups.Count == 0)
                {
                    groups[Row.Empty] = [];
                }
                foreach ((Row key, var members) in groups)
                {
                    var datums = key.Datums.ToArray().ToList();
                    EvalError? groupError = null;
                    foreach (AggregateExpr aggregate in reduce.Aggregates)
                    {
                        var values = new List<(Datum Value, long Count)>();
                        foreach ((Row row, long count) in members)
                        {
                            if (aggregate.Func == AggregateFunc.CountAll)
                            {
                                values.Add((Datum.FromBool(true), count));
                                continue;
                            }
                            if (!Evaluator.TryEval(aggregate.Expr, row.Datums, out Datum value, out EvalError? error))
                            {
                                AddError(error, count);
                                continue;
                            }
                            if (!value.IsNull)
                            {
                                values.Add((value, count));
                            }
                        }
                        if (aggregate.Distinct)
                        {
                            values = values.GroupBy(v => v.Value).Where(g => g.Sum(v => v.Count) > 0).Select(g => (g.Key, 1L)).ToList();
                        }
                        Datum result = Datum.Null;
                        long total = values.Sum(v => v.Count);
                        switch (aggregate.Func)
                        {
                            case AggregateFunc.CountAll:
                                result = Datum.FromInt64(members.Sum(m => m.Count));
                                break;
                            case AggregateFunc.Count:
                                result = Datum.FromInt64(total);
                                break;
                            case AggregateFunc.Sum:
                                if (values.Count > 0)
                                {
                                    Int128 sum = 0;
                                    foreach ((Datum v, long c) in values)
                                    {
                                        sum += (Int128)v.AsInt64 * c;
                                    }
                                    if (sum > long.MaxValue || sum < long.MinValue)
                                    {
                                        groupError = EvalError.OutOfRange("bigint");
                                    }
                                    else
                                    {
                                        result = Datum.FromInt64((long)sum);
                                    }
                                }
                                break;
                            case AggregateFunc.Min:
                                result = values.Count > 0 ? values.Min(v => v.Value) : Datum.Null;
                                break;
                            case AggregateFunc.Max:
                                result = values.Count > 0 ? values.Max(v => v.Value) : Datum.Null;
                                break;
                            case AggregateFunc.BoolAnd:
                                result = values.Count == 0 ? Datum.Null : Datum.FromBool(values.All(v => v.Value.AsBool));
                                break;
                            case AggregateFunc.BoolOr:
                                result = values.Count == 0 ? Datum.Null : Datum.FromBool(values.Any(v => v.Value.AsBool));
                                break;
                        }
                        datums.Add(result);
                    }
                    if (groupError is not null)
                    {
                        AddError(groupError, 1);
                    }
                    else
                    {
                        Add(new Row(datums.ToArray()), 1);
                    }
                }
                return output;
            }
            case Distinct distinct:
                foreach ((Row row, long count) in Eval(distinct.Input, inputs, errors))
                {
                    if (count > 0)
                    {
                        Add(row, 1);
                    }
                }
                return output;
            case Threshold threshold:
                foreach ((Row row, long count) in Eval(threshold.Input, inputs, errors))
                {
                    if (count > 0)
                    {
                        Add(row, count);
                    }
                }
                return output;
            case Negate negate:
                foreach ((Row row, long count) in Eval(negate.Input, inputs, errors))
                {
                    Add(row, -count);
                }
                return output;
            case Union union:
                foreach (RelationExpr input in union.Inputs)
                {
                    foreach ((Row row, long count) in Eval(input, inputs, errors))
                    {
                        Add(row, count);
                    }
                }
                return output;
            case TopK topK:
            {
                var order = new RowOrder(topK.OrderBy);
                var groups = new SortedDictionary<Row, List<Row>>();
                foreach ((Row row, long count) in Eval(topK.Input, inputs, errors))
                {
                    Row key = new(topK.GroupKey.Select(i => row[i]).ToArray());
                    if (!groups.TryGetValue(key, out var members))
                    {
                        groups[key] = members = [];
                    }
                    for (long i = 0; i < count; i++)
                    {
                        members.Add(row);
                    }
                }
                foreach (List<Row> members in groups.Values)
                {
                    members.Sort(order);
                    foreach (Row row in members.Skip((int)topK.Offset).Take((int)(topK.Limit ?? int.MaxValue)))
                    {
                        Add(row, 1);
                    }
                }
                return output;
            }
            default:
                throw new NotSupportedException(plan.GetType().Name);
        }
    }
}
