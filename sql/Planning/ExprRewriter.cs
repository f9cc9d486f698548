using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>Bottom-up rewrites of scalar and relation expressions, and the column support of scalars.</summary>
internal static class ExprRewriter
{
    /// <summary>Rebuilds <paramref name="expr"/> with <paramref name="leaf"/> applied to each leaf (column, literal, parameter).</summary>
    public static ScalarExpr RewriteLeaves(ScalarExpr expr, Func<ScalarExpr, ScalarExpr> leaf) => expr switch
    {
        CallUnary u => u with { Arg = RewriteLeaves(u.Arg, leaf) },
        CallBinary b => b with { Left = RewriteLeaves(b.Left, leaf), Right = RewriteLeaves(b.Right, leaf) },
        CallVariadic v => v with { Args = v.Args.SelectArray(a => RewriteLeaves(a, leaf)) },
        IfThenElse i => i with { Cond = RewriteLeaves(i.Cond, leaf), Then = RewriteLeaves(i.Then, leaf), Else = RewriteLeaves(i.Else, leaf) },
        Cast c => c with { Arg = RewriteLeaves(c.Arg, leaf) },
        _ => leaf(expr),
    };

    /// <summary>Adds <paramref name="delta"/> to every column reference.</summary>
    public static ScalarExpr Shift(ScalarExpr expr, int delta) =>
        delta == 0 ? expr : RewriteLeaves(expr, e => e is ColumnRef c ? c with { Index = c.Index + delta } : e);

    /// <summary>The columns <paramref name="expr"/> reads.</summary>
    public static void Support(ScalarExpr expr, SortedSet<int> into)
    {
        switch (expr)
        {
            case ColumnRef c:
                into.Add(c.Index);
                break;
            case CallUnary u:
                Support(u.Arg, into);
                break;
            case CallBinary b:
                Support(b.Left, into);
                Support(b.Right, into);
                break;
            case CallVariadic v:
                foreach (ScalarExpr a in v.Args)
                {
                    Support(a, into);
                }
                break;
            case IfThenElse i:
                Support(i.Cond, into);
                Support(i.Then, into);
                Support(i.Else, into);
                break;
            case Cast c:
                Support(c.Arg, into);
                break;
            default:
                break;
        }
    }

    /// <summary>Whether every column <paramref name="expr"/> reads lies in [<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static bool ReadsOnly(ScalarExpr expr, int start, int end)
    {
        var support = new SortedSet<int>();
        Support(expr, support);
        return support.Count == 0 || (support.Min >= start && support.Max < end);
    }

    /// <summary>Rebuilds <paramref name="expr"/> with <paramref name="scalar"/> applied to every scalar it holds.</summary>
    public static RelationExpr RewriteScalars(RelationExpr expr, Func<ScalarExpr, ScalarExpr> scalar) => expr switch
    {
        Constant or Get => expr,
        Map m => new Map(RewriteScalars(m.Input, scalar), m.Scalars.SelectArray(scalar)),
        Filter f => new Filter(RewriteScalars(f.Input, scalar), f.Predicates.SelectArray(scalar)),
        Project p => new Project(RewriteScalars(p.Input, scalar), p.Outputs),
        Join j => new Join(RewriteScalars(j.Left, scalar), RewriteScalars(j.Right, scalar), j.LeftKey, j.RightKey),
        Reduce r => new Reduce(
            RewriteScalars(r.Input, scalar),
            r.GroupKey,
            r.Aggregates.SelectArray(a => a with { Expr = scalar(a.Expr) }),
            r.Global),
        Distinct d => new Distinct(RewriteScalars(d.Input, scalar)),
        Union u => new Union(u.Inputs.SelectArray(i => RewriteScalars(i, scalar))),
        Negate n => new Negate(RewriteScalars(n.Input, scalar)),
        Threshold t => new Threshold(RewriteScalars(t.Input, scalar)),
        TopK k => k with { Input = RewriteScalars(k.Input, scalar) },
        _ => throw new InvalidOperationException($"unknown relation expression {expr.GetType().Name}"),
    };

    /// <summary>Every <see cref="Get"/> in <paramref name="expr"/>, visited in plan order.</summary>
    public static void CollectGets(RelationExpr expr, List<GlobalId> into)
    {
        switch (expr)
        {
            case Get g:
                into.Add(g.Id);
                break;
            case Constant:
                break;
            case Map m:
                CollectGets(m.Input, into);
                break;
            case Filter f:
                CollectGets(f.Input, into);
                break;
            case Project p:
                CollectGets(p.Input, into);
                break;
            case Join j:
                CollectGets(j.Left, into);
                CollectGets(j.Right, into);
                break;
            case Reduce r:
                CollectGets(r.Input, into);
                break;
            case Distinct d:
                CollectGets(d.Input, into);
                break;
            case Union u:
                foreach (RelationExpr input in u.Inputs)
                {
                    CollectGets(input, into);
                }
                break;
            case Negate n:
                CollectGets(n.Input, into);
                break;
            case Threshold t:
                CollectGets(t.Input, into);
                break;
            case TopK k:
                CollectGets(k.Input, into);
                break;
            default:
                throw new InvalidOperationException($"unknown relation expression {expr.GetType().Name}");
        }
    }
}

/// <summary>LINQ-free helpers over immutable arrays (the analyzers prefer them to allocation-heavy LINQ chains).</summary>
internal static class ImmutableArrayHelpers
{
    public static ImmutableArray<TResult> SelectArray<T, TResult>(this ImmutableArray<T> items, Func<T, TResult> map)
    {
        var builder = ImmutableArray.CreateBuilder<TResult>(items.Length);
        foreach (T item in items)
        {
            builder.Add(map(item));
        }
        return builder.MoveToImmutable();
    }
}
