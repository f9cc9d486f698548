using System;
using System.Collections.Generic;
using System.Linq;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Planning;

namespace Kernel.Tests.Sql.Planning;

/// <summary>
/// A tiny reference interpreter for plans over in-memory rows: enough of the scalar functions to check that a plan
/// computes the right answer. Errors (division by zero...) throw <see cref="EvalException"/>.
/// </summary>
internal static class Interpreter
{
    public static List<(Row Row, long Diff)> Run(RelationExpr expr, FakeCatalog catalog)
    {
        var counts = new SortedDictionary<Row, long>();
        foreach ((Row row, long diff) in Eval(expr, catalog))
        {
            counts[row] = counts.GetValueOrDefault(row) + diff;
        }
        return [.. counts.Where(p => p.Value != 0).Select(p => (p.Key, p.Value))];
    }

    /// <summary>The rows of a SELECT plan after finishing, each row repeated by its multiplicity.</summary>
    public static List<Row> Query(SelectPlan plan, FakeCatalog catalog)
    {
        var rows = new List<Row>();
        foreach ((Row row, long diff) in Run(plan.Expr, catalog))
        {
            if (diff < 0)
            {
                throw new InvalidOperationException($"negative multiplicity {diff} for {row}");
            }
            for (long i = 0; i < diff; i++)
            {
                rows.Add(row);
            }
        }
        RowSetFinishing finishing = plan.Finishing;
        rows.Sort((a, b) => CompareBy(a, b, finishing.OrderBy));
        IEnumerable<Row> result = rows.Skip((int)finishing.Offset);
        if (finishing.Limit is long limit)
        {
            result = result.Take((int)limit);
        }
        return [.. result.Select(r => new Row([.. finishing.Project.Select(c => r[c])]))];
    }

    private static int CompareBy(Row a, Row b, IEnumerable<ColumnOrder> order)
    {
        foreach (ColumnOrder o in order)
        {
            Datum x = a[o.Column];
            Datum y = b[o.Column];
            int c;
            if (x.IsNull || y.IsNull)
            {
                c = x.IsNull == y.IsNull ? 0 : (x.IsNull == o.NullsLast ? 1 : -1);
            }
            else
            {
                c = o.Descending ? y.CompareTo(x) : x.CompareTo(y);
            }
            if (c != 0)
            {
                return c;
            }
        }
        return a.CompareTo(b);
    }

    private static IEnumerable<(Row Row, long Diff)> Eval(RelationExpr expr, FakeCatalog catalog)
    {
        switch (expr)
        {
            case Constant c:
                return c.Rows;
            case Get g:
            {
                CatalogItem item = catalog.Items.Single(i => i.Id == g.Id);
                return item.Definition is RelationExpr definition ? Run(definition, catalog) : catalog.Data[g.Id].Select(r => (r, 1L));
            }
            case Map m:
                return Eval(m.Input, catalog).Select(p =>
                {
                    var datums = p.Row.Datums.ToArray().ToList();
                    foreach (ScalarExpr s in m.Scalars)
                    {
                        datums.Add(Scalar(s, [.. datums]));
                    }
                    return (new Row([.. datums]), p.Diff);
                }).ToList();
            case Filter f:
                return Eval(f.Input, catalog).Where(p => f.Predicates.All(s => Scalar(s, p.Row.Datums.ToArray()) is { Kind: DatumKind.Bool } d && d.AsBool)).ToList();
            case Project p:
                return Eval(p.Input, catalog).Select(x => (new Row([.. p.Outputs.Select(c => x.Row[c])]), x.Diff)).ToList();
            case Join j:
            {
                var right = Eval(j.Right, catalog).ToList();
                var output = new List<(Row, long)>();
                foreach ((Row l, long ld) in Eval(j.Left, catalog))
                {
                    foreach ((Row r, long rd) in right)
                    {
                        bool match = true;
                        for (int i = 0; i < j.LeftKey.Length; i++)
                        {
                            match &= !l[j.LeftKey[i]].IsNull && l[j.LeftKey[i]].Equals(r[j.RightKey[i]]);
                        }
                        if (match)
                        {
                            output.Add((new Row([.. l.Datums.ToArray(), .. r.Datums.ToArray()]), ld * rd));
                        }
                    }
                }
                return output;
            }
            case Reduce r:
                return ReduceRows(r, Run(r.Input, catalog));
            case Distinct d:
                return Run(d.Input, catalog).Where(p => p.Diff > 0).Select(p => (p.Row, 1L)).ToList();
            case Union u:
                return u.Inputs.SelectMany(i => Eval(i, catalog)).ToList();
            case Negate n:
                return Eval(n.Input, catalog).Select(p => (p.Row, -p.Diff)).ToList();
            case Threshold t:
                return Run(t.Input, catalog).Where(p => p.Diff > 0).ToList();
            case TopK k:
            {
                var rows = Run(k.Input, catalog).SelectMany(p => Enumerable.Repeat(p.Row, (int)p.Diff)).ToList();
                rows.Sort((a, b) => CompareBy(a, b, k.OrderBy));
                IEnumerable<Row> kept = rows.Skip((int)k.Offset);
                if (k.Limit is long limit)
                {
                    kept = kept.Take((int)limit);
                }
                return kept.Select(row => (row, 1L)).ToList();
            }
            default:
                throw new NotSupportedException(expr.GetType().Name);
        }
    }

    private static List<(Row, long)> ReduceRows(Reduce r, List<(Row Row, long Diff)> input)
    {
        var groups = new SortedDictionary<Row, List<(Row Row, long Diff)>>();
        foreach ((Row row, long diff) in input)
        {
            var key = new Row([.. r.GroupKey.Select(c => row[c])]);
            if (!groups.TryGetValue(key, out var list))
            {
                groups[key] = list = [];
            }
            list.Add((row, diff));
        }
        if (r.Global && groups.Count == 0)
        {
            groups[Row.Empty] = [];
        }
        var output = new List<(Row, long)>();
        foreach ((Row key, var rows) in groups)
        {
            var datums = key.Datums.ToArray().ToList();
            foreach (AggregateExpr aggregate in r.Aggregates)
            {
                var values = rows.SelectMany(p => Enumerable.Repeat(Scalar(aggregate.Expr, p.Row.Datums.ToArray()), (int)p.Diff)).ToList();
                if (aggregate.Distinct)
                {
                    values = [.. values.Distinct()];
                }
                var nonNull = values.Where(v => !v.IsNull).ToList();
                datums.Add(aggregate.Func switch
                {
                    AggregateFunc.CountAll => Datum.FromInt64(values.Count),
                    AggregateFunc.Count => Datum.FromInt64(nonNull.Count),
                    AggregateFunc.Sum when nonNull.Count == 0 => Datum.Null,
                    AggregateFunc.Sum => aggregate.ResultType.Type.Kind switch
                    {
                        SqlTypeKind.Int64 => Datum.FromInt64(nonNull.Sum(v => v.AsInt64)),
                        SqlTypeKind.Float64 => Datum.FromFloat64(nonNull.Sum(v => v.AsFloat64)),
                        _ => Datum.FromDecimal(nonNull.Sum(v => v.Kind == DatumKind.Int64 ? v.AsInt64 : v.AsDecimal)),
                    },
                    AggregateFunc.Min => nonNull.Count == 0 ? Datum.Null : nonNull.Min(),
                    AggregateFunc.Max => nonNull.Count == 0 ? Datum.Null : nonNull.Max(),
                    AggregateFunc.BoolAnd => nonNull.Count == 0 ? Datum.Null : Datum.FromBool(nonNull.All(v => v.AsBool)),
                    AggregateFunc.BoolOr => nonNull.Count == 0 ? Datum.Null : Datum.FromBool(nonNull.Any(v => v.AsBool)),
                    _ => throw new NotSupportedException(aggregate.Func.ToString()),
                });
            }
            output.Add((new Row([.. datums]), 1));
        }
        return output;
    }

    public static Datum Scalar(ScalarExpr expr, Datum[] row)
    {
        switch (expr)
        {
            case ColumnRef c:
                return row[c.Index];
            case Literal l:
                return l.Value;
            case ParameterRef:
                throw new InvalidOperationException("a parameter reached the interpreter");
            case IfThenElse i:
                return Scalar(i.Cond, row) is { Kind: DatumKind.Bool } cond && cond.AsBool ? Scalar(i.Then, row) : Scalar(i.Else, row);
            case Cast c:
                return CastValue(Scalar(c.Arg, row), c.Target);
            case CallUnary u:
            {
                Datum a = Scalar(u.Arg, row);
                return u.Func switch
                {
                    UnaryFunc.IsNull => Datum.FromBool(a.IsNull),
                    UnaryFunc.IsNotNull => Datum.FromBool(!a.IsNull),
                    UnaryFunc.IsTrue => Datum.FromBool(!a.IsNull && a.AsBool),
                    UnaryFunc.IsNotTrue => Datum.FromBool(a.IsNull || !a.AsBool),
                    UnaryFunc.IsFalse => Datum.FromBool(!a.IsNull && !a.AsBool),
                    UnaryFunc.IsNotFalse => Datum.FromBool(a.IsNull || a.AsBool),
                    _ when a.IsNull => Datum.Null,
                    UnaryFunc.Not => Datum.FromBool(!a.AsBool),
                    UnaryFunc.Negate => a.Kind switch
                    {
                        DatumKind.Int64 => Datum.FromInt64(-a.AsInt64),
                        DatumKind.Decimal => Datum.FromDecimal(-a.AsDecimal),
                        _ => Datum.FromFloat64(-a.AsFloat64),
                    },
                    UnaryFunc.Lower => Datum.FromString(a.AsString.ToLowerInvariant()),
                    UnaryFunc.Upper => Datum.FromString(a.AsString.ToUpperInvariant()),
                    UnaryFunc.CharLength => Datum.FromInt64(a.AsString.Length),
                    UnaryFunc.Abs => a.Kind == DatumKind.Int64 ? Datum.FromInt64(Math.Abs(a.AsInt64)) : a.Kind == DatumKind.Decimal ? Datum.FromDecimal(Math.Abs(a.AsDecimal)) : Datum.FromFloat64(Math.Abs(a.AsFloat64)),
                    UnaryFunc.Floor => a.Kind == DatumKind.Decimal ? Datum.FromDecimal(Math.Floor(a.AsDecimal)) : Datum.FromFloat64(Math.Floor(a.AsFloat64)),
                    _ => throw new NotSupportedException(u.Func.ToString()),
                };
            }
            case CallBinary b:
            {
                Datum l = Scalar(b.Left, row);
                Datum r = Scalar(b.Right, row);
                if (b.Func == BinaryFunc.IsDistinctFrom)
                {
                    return Datum.FromBool(!l.Equals(r));
                }
                if (l.IsNull || r.IsNull)
                {
                    return Datum.Null;
                }
                int cmp = l.CompareTo(r);
                return b.Func switch
                {
                    BinaryFunc.Eq => Datum.FromBool(cmp == 0),
                    BinaryFunc.NotEq => Datum.FromBool(cmp != 0),
                    BinaryFunc.Lt => Datum.FromBool(cmp < 0),
                    BinaryFunc.Lte => Datum.FromBool(cmp <= 0),
                    BinaryFunc.Gt => Datum.FromBool(cmp > 0),
                    BinaryFunc.Gte => Datum.FromBool(cmp >= 0),
                    BinaryFunc.Concat => Datum.FromString(l.AsString + r.AsString),
                    BinaryFunc.Like => Datum.FromBool(Like(l.AsString, r.AsString)),
                    _ => Arithmetic(b.Func, l, r),
                };
            }
            case CallVariadic v:
                switch (v.Func)
                {
                    case VariadicFunc.And:
                    {
                        var values = v.Args.Select(a => Scalar(a, row)).ToList();
                        return values.Any(x => !x.IsNull && !x.AsBool) ? Datum.FromBool(false) : values.Any(x => x.IsNull) ? Datum.Null : Datum.FromBool(true);
                    }
                    case VariadicFunc.Or:
                    {
                        var values = v.Args.Select(a => Scalar(a, row)).ToList();
                        return values.Any(x => !x.IsNull && x.AsBool) ? Datum.FromBool(true) : values.Any(x => x.IsNull) ? Datum.Null : Datum.FromBool(false);
                    }
                    case VariadicFunc.Coalesce:
                        foreach (ScalarExpr arg in v.Args)
                        {
                            Datum value = Scalar(arg, row);
                            if (!value.IsNull)
                            {
                                return value;
                            }
                        }
                        return Datum.Null;
                    case VariadicFunc.Greatest or VariadicFunc.Least:
                    {
                        var values = v.Args.Select(a => Scalar(a, row)).Where(x => !x.IsNull).ToList();
                        return values.Count == 0 ? Datum.Null : v.Func == VariadicFunc.Greatest ? values.Max() : values.Min();
                    }
                    case VariadicFunc.ConcatAll:
                        return Datum.FromString(string.Concat(v.Args.Select(a => Scalar(a, row)).Select(x => x.IsNull ? string.Empty : x.AsString)));
                    default:
                        throw new NotSupportedException(v.Func.ToString());
                }
            default:
                throw new NotSupportedException(expr.GetType().Name);
        }
    }

    private static bool Like(string text, string pattern) =>
        System.Text.RegularExpressions.Regex.IsMatch(text, "^" + System.Text.RegularExpressions.Regex.Escape(pattern).Replace("%", ".*").Replace("_", ".") + "$");

    private static Datum Arithmetic(BinaryFunc func, Datum l, Datum r)
    {
        switch (l.Kind)
        {
            case DatumKind.Int64:
            {
                long a = l.AsInt64, b = r.AsInt64;
                if (func is BinaryFunc.Div or BinaryFunc.Mod && b == 0)
                {
                    throw new EvalException(EvalError.DivisionByZero);
                }
                return Datum.FromInt64(func switch
                {
                    BinaryFunc.Add => checked(a + b),
                    BinaryFunc.Sub => checked(a - b),
                    BinaryFunc.Mul => checked(a * b),
                    BinaryFunc.Div => a / b,
                    _ => a % b,
                });
            }
            case DatumKind.Decimal:
            {
                decimal a = l.AsDecimal, b = r.AsDecimal;
                if (func is BinaryFunc.Div or BinaryFunc.Mod && b == 0)
                {
                    throw new EvalException(EvalError.DivisionByZero);
                }
                return Datum.FromDecimal(func switch
                {
                    BinaryFunc.Add => a + b,
                    BinaryFunc.Sub => a - b,
                    BinaryFunc.Mul => a * b,
                    BinaryFunc.Div => a / b,
                    _ => a % b,
                });
            }
            default:
            {
                double a = l.AsFloat64, b = r.AsFloat64;
                if (func == BinaryFunc.Div && b == 0)
                {
                    throw new EvalException(EvalError.DivisionByZero);
                }
                return Datum.FromFloat64(func switch
                {
                    BinaryFunc.Add => a + b,
                    BinaryFunc.Sub => a - b,
                    BinaryFunc.Mul => a * b,
                    _ => a / b,
                });
            }
        }
    }

    private static Datum CastValue(Datum value, SqlType target)
    {
        if (value.IsNull)
        {
            return value;
        }
        return (value.Kind, target.Kind) switch
        {
            (DatumKind.Int64, SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64) => value,
            (DatumKind.Int64, SqlTypeKind.Numeric) => Datum.FromDecimal(value.AsInt64),
            (DatumKind.Int64, SqlTypeKind.Float64) => Datum.FromFloat64(value.AsInt64),
            (DatumKind.Decimal, SqlTypeKind.Float64) => Datum.FromFloat64((double)value.AsDecimal),
            (DatumKind.Decimal, SqlTypeKind.Numeric) => value,
            (DatumKind.Decimal, SqlTypeKind.Int32 or SqlTypeKind.Int64) => Datum.FromInt64((long)Math.Round(value.AsDecimal, MidpointRounding.AwayFromZero)),
            (_, SqlTypeKind.Text or SqlTypeKind.Varchar) => Datum.FromString(value.Kind == DatumKind.String ? value.AsString : value.ToString()),
            (DatumKind.String, SqlTypeKind.Int32 or SqlTypeKind.Int64) => Datum.FromInt64(long.Parse(value.AsString, System.Globalization.CultureInfo.InvariantCulture)),
            _ => throw new NotSupportedException($"cast {value.Kind} to {target}"),
        };
    }
}

/// <summary>A runtime error of the interpreter.</summary>
internal sealed class EvalException(EvalError error) : Exception(error.Message)
{
    public EvalError Error { get; } = error;
}
