using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>A readable, indented text form of relation plans for EXPLAIN: one operator per line, inputs below.</summary>
public static class PlanText
{
    public static string Format(RelationExpr expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var text = new StringBuilder();
        Write(expr, 0, text);
        return text.ToString();
    }

    private static void Write(RelationExpr expr, int depth, StringBuilder text)
    {
        text.Append(' ', depth * 2);
        IEnumerable<RelationExpr> inputs = [];
        switch (expr)
        {
            case Constant c:
                text.Append(CultureInfo.InvariantCulture, $"Constant ({c.Rows.Length} rows)");
                break;
            case Get g:
                text.Append(CultureInfo.InvariantCulture, $"Get {g.Id}");
                break;
            case Map m:
                text.Append("Map ").Append(string.Join(", ", Scalars(m.Scalars)));
                inputs = [m.Input];
                break;
            case Filter f:
                text.Append("Filter ").Append(string.Join(" AND ", Scalars(f.Predicates)));
                inputs = [f.Input];
                break;
            case Project p:
                text.Append("Project ").Append(string.Join(", ", Columns(p.Outputs)));
                inputs = [p.Input];
                break;
            case Join j:
                text.Append("Join");
                for (int i = 0; i < j.LeftKey.Length; i++)
                {
                    text.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? " on " : " AND ")}#{j.LeftKey[i]} = #{j.RightKey[i] + j.Left.Type.Arity}");
                }
                inputs = [j.Left, j.Right];
                break;
            case Reduce r:
                text.Append("Reduce");
                text.Append(r.Global ? " global" : " group by " + string.Join(", ", Columns(r.GroupKey)));
                foreach (AggregateExpr aggregate in r.Aggregates)
                {
                    text.Append(CultureInfo.InvariantCulture, $" {aggregate.Func.ToString().ToLowerInvariant()}({(aggregate.Distinct ? "distinct " : string.Empty)}{Scalar(aggregate.Expr)})");
                }
                inputs = [r.Input];
                break;
            case Distinct d:
                text.Append("Distinct");
                inputs = [d.Input];
                break;
            case Union u:
                text.Append("Union");
                inputs = u.Inputs;
                break;
            case Negate n:
                text.Append("Negate");
                inputs = [n.Input];
                break;
            case Threshold t:
                text.Append("Threshold");
                inputs = [t.Input];
                break;
            case TopK k:
                text.Append(CultureInfo.InvariantCulture, $"TopK order by {string.Join(", ", Orders(k.OrderBy))} limit {(k.Limit?.ToString(CultureInfo.InvariantCulture) ?? "none")} offset {k.Offset}");
                inputs = [k.Input];
                break;
            default:
                text.Append(expr.GetType().Name);
                break;
        }
        text.Append('\n');
        foreach (RelationExpr input in inputs)
        {
            Write(input, depth + 1, text);
        }
    }

    private static IEnumerable<string> Columns(IEnumerable<int> columns)
    {
        foreach (int column in columns)
        {
            yield return "#" + column.ToString(CultureInfo.InvariantCulture);
        }
    }

    private static IEnumerable<string> Orders(IEnumerable<ColumnOrder> orders)
    {
        foreach (ColumnOrder order in orders)
        {
            yield return "#" + order.Column.ToString(CultureInfo.InvariantCulture) + (order.Descending ? " desc" : " asc") + (order.NullsLast ? " nulls last" : " nulls first");
        }
    }

    private static IEnumerable<string> Scalars(IEnumerable<ScalarExpr> scalars)
    {
        foreach (ScalarExpr scalar in scalars)
        {
            yield return Scalar(scalar);
        }
    }

    private static string Scalar(ScalarExpr expr) => expr switch
    {
        ColumnRef c => "#" + c.Index.ToString(CultureInfo.InvariantCulture),
        Literal l => l.Value.ToString(),
        ParameterRef p => "$" + (p.Index + 1).ToString(CultureInfo.InvariantCulture),
        CallUnary u => $"{u.Func.ToString().ToLowerInvariant()}({Scalar(u.Arg)})",
        CallBinary b => $"{b.Func.ToString().ToLowerInvariant()}({Scalar(b.Left)}, {Scalar(b.Right)})",
        CallVariadic v => $"{v.Func.ToString().ToLowerInvariant()}({string.Join(", ", Scalars(v.Args))})",
        IfThenElse i => $"if({Scalar(i.Cond)}, {Scalar(i.Then)}, {Scalar(i.Else)})",
        Cast c => $"{Scalar(c.Arg)}::{c.Target.Name}",
        _ => expr.GetType().Name,
    };
}
