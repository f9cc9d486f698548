using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Planning;

/// <summary>Questions about syntax trees the binder asks before binding: aggregates present, default column names.</summary>
internal static class SyntaxFacts
{
    /// <summary>The direct subexpressions of <paramref name="expr"/>, not descending into subqueries.</summary>
    public static IEnumerable<Expression> Children(Expression expr)
    {
        switch (expr)
        {
            case UnaryOperation u:
                yield return u.Operand;
                break;
            case BinaryOperation b:
                yield return b.Left;
                yield return b.Right;
                break;
            case AndExpression a:
                foreach (Expression e in (IEnumerable<Expression>)a.Operands)
                {
                    yield return e;
                }
                break;
            case OrExpression o:
                foreach (Expression e in (IEnumerable<Expression>)o.Operands)
                {
                    yield return e;
                }
                break;
            case NotExpression n:
                yield return n.Operand;
                break;
            case IsNullExpression i:
                yield return i.Operand;
                break;
            case IsBooleanExpression i:
                yield return i.Operand;
                break;
            case IsDistinctFromExpression d:
                yield return d.Left;
                yield return d.Right;
                break;
            case BetweenExpression b:
                yield return b.Operand;
                yield return b.Low;
                yield return b.High;
                break;
            case InListExpression i:
                yield return i.Operand;
                foreach (Expression e in (IEnumerable<Expression>)i.Items)
                {
                    yield return e;
                }
                break;
            case InSubqueryExpression i:
                yield return i.Operand;
                break;
            case LikeExpression l:
                yield return l.Operand;
                yield return l.Pattern;
                if (l.Escape is not null)
                {
                    yield return l.Escape;
                }
                break;
            case QuantifiedSubqueryExpression q:
                yield return q.Left;
                break;
            case QuantifiedArrayExpression q:
                yield return q.Left;
                yield return q.Array;
                break;
            case CastExpression c:
                yield return c.Operand;
                break;
            case FunctionCall f:
                foreach (Expression e in (IEnumerable<Expression>)f.Arguments)
                {
                    yield return e;
                }
                if (f.Filter is not null)
                {
                    yield return f.Filter;
                }
                break;
            case CaseExpression c:
                if (c.Operand is not null)
                {
                    yield return c.Operand;
                }
                foreach (WhenClause w in (IEnumerable<WhenClause>)c.Whens)
                {
                    yield return w.Condition;
                    yield return w.Result;
                }
                if (c.Else is not null)
                {
                    yield return c.Else;
                }
                break;
            case RowConstructor r:
                foreach (Expression e in (IEnumerable<Expression>)r.Items)
                {
                    yield return e;
                }
                break;
            default:
                break;
        }
    }

    /// <summary>Whether <paramref name="expr"/> calls an aggregate outside any subquery (window calls do not count).</summary>
    public static bool ContainsAggregate(Expression expr)
    {
        if (expr is FunctionCall { Over: null } call && Binder.IsAggregateName(call.Name.Name))
        {
            return true;
        }
        foreach (Expression child in Children(expr))
        {
            if (ContainsAggregate(child))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The name PostgreSQL gives an unaliased output column (its FigureColname).</summary>
    public static string ColumnName(Expression expr) => Figure(expr) ?? "?column?";

    private static string? Figure(Expression expr) => expr switch
    {
        ColumnRef c => c.Parts[^1],
        FunctionCall f => f.Name.Name,
        CastExpression c => Figure(c.Operand) ?? c.Type.Name.Name,
        CaseExpression c => Figure(c.Else ?? new NullLiteral()) ?? "case",
        ExistsExpression => "exists",
        RowConstructor => "row",
        BooleanLiteral => "bool",
        SqlValueFunction v => v.Kind switch
        {
            SqlValueFunctionKind.CurrentDate => "current_date",
            SqlValueFunctionKind.CurrentTimestamp => "current_timestamp",
            SqlValueFunctionKind.CurrentUser => "current_user",
            _ => v.Kind.ToString().ToLowerInvariant(),
        },
        _ => null,
    };
}
