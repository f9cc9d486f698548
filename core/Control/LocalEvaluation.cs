using System;
using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;

namespace Kernel.Control;

/// <summary>
/// Evaluates relation expressions that read no collection (INSERT ... VALUES, SELECT without FROM) right in
/// environmentd, without a round trip to a replica. Handles the operators such plans use (constants, map,
/// filter, project, union, negate); anything else goes to a replica.
/// </summary>
public static class LocalEvaluation
{
    /// <summary>
    /// False when <paramref name="expr"/> needs a replica. True with the rows (multiplicities expanded; a negative
    /// total is an error), or true with <paramref name="error"/> when evaluation failed.
    /// </summary>
    public static bool TryEvaluate(RelationExpr expr, out List<Row>? rows, out EvalError? error)
    {
        rows = null;
        error = null;
        if (!IsLocal(expr))
        {
            return false;
        }
        var counted = new List<(Row Row, long Diff)>();
        if (!Evaluate(expr, counted, out error))
        {
            return true;
        }
        var totals = new SortedDictionary<Row, long>();
        foreach ((Row row, long diff) in counted)
        {
            totals[row] = totals.GetValueOrDefault(row) + diff;
        }
        // Keep the input order of first appearance for VALUES lists: rebuild from the counted list.
        rows = [];
        foreach ((Row row, long diff) in counted)
        {
            if (diff > 0 && totals.TryGetValue(row, out long total) && total > 0)
            {
                long take = System.Math.Min(diff, total);
                for (long i = 0; i < take; i++)
                {
                    rows.Add(row);
                }
                totals[row] = total - take;
            }
        }
        return true;
    }

    private static bool IsLocal(RelationExpr expr) => expr switch
    {
        Constant => true,
        Map map => IsLocal(map.Input),
        Filter filter => IsLocal(filter.Input),
        Project project => IsLocal(project.Input),
        Negate negate => IsLocal(negate.Input),
        Union union => System.Linq.Enumerable.All(union.Inputs, IsLocal),
        _ => false,
    };

    private static bool Evaluate(RelationExpr expr, List<(Row Row, long Diff)> output, out EvalError? error)
    {
        error = null;
        switch (expr)
        {
            case Constant constant:
                foreach ((Row row, long diff) in constant.Rows)
                {
                    output.Add((row, diff));
                }
                return true;
            case Map map:
            {
                var input = new List<(Row, long)>();
                if (!Evaluate(map.Input, input, out error))
                {
                    return false;
                }
                foreach ((Row row, long diff) in input)
                {
                    var datums = new Datum[row.Count + map.Scalars.Length];
                    row.Datums.CopyTo(datums);
                    for (int i = 0; i < map.Scalars.Length; i++)
                    {
                        if (!Evaluator.TryEval(map.Scalars[i], datums.AsSpan(0, row.Count + i), out datums[row.Count + i], out error))
                        {
                            return false;
                        }
                    }
                    output.Add((new Row(datums), diff));
                }
                return true;
            }
            case Filter filter:
            {
                var input = new List<(Row, long)>();
                if (!Evaluate(filter.Input, input, out error))
                {
                    return false;
                }
                foreach ((Row row, long diff) in input)
                {
                    bool keep = true;
                    foreach (ScalarExpr predicate in filter.Predicates)
                    {
                        if (!Evaluator.TryIsTrue(predicate, row.Datums, out bool isTrue, out error))
                        {
                            return false;
                        }
                        keep &= isTrue;
                    }
                    if (keep)
                    {
                        output.Add((row, diff));
                    }
                }
                return true;
            }
            case Project project:
            {
                var input = new List<(Row, long)>();
                if (!Evaluate(project.Input, input, out error))
                {
                    return false;
                }
                foreach ((Row row, long diff) in input)
                {
                    var datums = new Datum[project.Outputs.Length];
                    for (int i = 0; i < datums.Length; i++)
                    {
                        datums[i] = row[project.Outputs[i]];
                    }
                    output.Add((new Row(datums), diff));
                }
                return true;
            }
            case Negate negate:
            {
                var input = new List<(Row, long)>();
                if (!Evaluate(negate.Input, input, out error))
                {
                    return false;
                }
                foreach ((Row row, long diff) in input)
                {
                    output.Add((row, -diff));
                }
                return true;
            }
            case Union union:
                foreach (RelationExpr input in union.Inputs)
                {
                    if (!Evaluate(input, output, out error))
                    {
                        return false;
                    }
                }
                return true;
            default:
                throw new System.InvalidOperationException($"{expr.GetType().Name} is not evaluated locally");
        }
    }
}
