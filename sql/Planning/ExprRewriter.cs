using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>Bottom-up rewrites of scalar and relation expressions, and the column support of scalars.</summary>
internal static class ExprRewriter
{
    /// <summary>
    /// Rebuilds <paramref name="expr"/> with <paramref name="leaf"/> applied to each leaf (column, literal, parameter).
    /// A node none of whose parts changed is returned as it is (the same object), so a rewrite that changes nothing
    /// keeps the plan's identity: an inlined view's definition stays recognizable (see the coordinator's indexed views).
    /// </summary>
    public static ScalarExpr RewriteLeaves(ScalarExpr expr, Func<ScalarExpr, ScalarExpr> leaf)
    {
        switch (expr)
        {
            case CallUnary u:
            {
                ScalarExpr arg = RewriteLeaves(u.Arg, leaf);
                return ReferenceEquals(arg, u.Arg) ? u : u with { Arg = arg };
            }
            case CallBinary b:
            {
                ScalarExpr left = RewriteLeaves(b.Left, leaf);
                ScalarExpr right = RewriteLeaves(b.Right, leaf);
                return ReferenceEquals(left, b.Left) && ReferenceEquals(right, b.Right) ? b : b with { Left = left, Right = right };
            }
            case CallVariadic v:
            {
                ImmutableArray<ScalarExpr> args = v.Args.SelectArraySame(a => RewriteLeaves(a, leaf));
                return args == v.Args ? v : v with { Args = args };
            }
            case IfThenElse i:
            {
                ScalarExpr cond = RewriteLeaves(i.Cond, leaf);
                ScalarExpr then = RewriteLeaves(i.Then, leaf);
                ScalarExpr otherwise = RewriteLeaves(i.Else, leaf);
                return ReferenceEquals(cond, i.Cond) && ReferenceEquals(then, i.Then) && ReferenceEquals(otherwise, i.Else)
                    ? i
                    : i with { Cond = cond, Then = then, Else = otherwise };
            }
            case Cast c:
            {
                ScalarExpr arg = RewriteLeaves(c.Arg, leaf);
                return ReferenceEquals(arg, c.Arg) ? c : c with { Arg = arg };
            }
            default:
                return leaf(expr);
        }
    }

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
    /// <remarks>Like <see cref="RewriteLeaves"/>, an unchanged node is returned as it is (the same object).</remarks>
    public static RelationExpr RewriteScalars(RelationExpr expr, Func<ScalarExpr, ScalarExpr> scalar)
    {
        switch (expr)
        {
            case Constant or Get:
                return expr;
            case Map m:
            {
                RelationExpr input = RewriteScalars(m.Input, scalar);
                ImmutableArray<ScalarExpr> scalars = m.Scalars.SelectArraySame(scalar);
                return ReferenceEquals(input, m.Input) && scalars == m.Scalars ? m : new Map(input, scalars);
            }
            case Filter f:
            {
                RelationExpr input = RewriteScalars(f.Input, scalar);
                ImmutableArray<ScalarExpr> predicates = f.Predicates.SelectArraySame(scalar);
                return ReferenceEquals(input, f.Input) && predicates == f.Predicates ? f : new Filter(input, predicates);
            }
            case Project p:
            {
                RelationExpr input = RewriteScalars(p.Input, scalar);
                return ReferenceEquals(input, p.Input) ? p : new Project(input, p.Outputs);
            }
            case Join j:
            {
                RelationExpr left = RewriteScalars(j.Left, scalar);
                RelationExpr right = RewriteScalars(j.Right, scalar);
                return ReferenceEquals(left, j.Left) && ReferenceEquals(right, j.Right) ? j : new Join(left, right, j.LeftKey, j.RightKey);
            }
            case Reduce r:
            {
                RelationExpr input = RewriteScalars(r.Input, scalar);
                ImmutableArray<AggregateExpr> aggregates = r.Aggregates.SelectArraySame(a =>
                {
                    ScalarExpr rewritten = scalar(a.Expr);
                    return ReferenceEquals(rewritten, a.Expr) ? a : a with { Expr = rewritten };
                });
                return ReferenceEquals(input, r.Input) && aggregates == r.Aggregates ? r : new Reduce(input, r.GroupKey, aggregates, r.Global);
            }
            case Distinct d:
            {
                RelationExpr input = RewriteScalars(d.Input, scalar);
                return ReferenceEquals(input, d.Input) ? d : new Distinct(input);
            }
            case Union u:
            {
                ImmutableArray<RelationExpr> inputs = u.Inputs.SelectArraySame(i => RewriteScalars(i, scalar));
                return inputs == u.Inputs ? u : new Union(inputs);
            }
            case Negate n:
            {
                RelationExpr input = RewriteScalars(n.Input, scalar);
                return ReferenceEquals(input, n.Input) ? n : new Negate(input);
            }
            case Threshold t:
            {
                RelationExpr input = RewriteScalars(t.Input, scalar);
                return ReferenceEquals(input, t.Input) ? t : new Threshold(input);
            }
            case TopK k:
            {
                RelationExpr input = RewriteScalars(k.Input, scalar);
                return ReferenceEquals(input, k.Input) ? k : k with { Input = input };
            }
            default:
                throw new InvalidOperationException($"unknown relation expression {expr.GetType().Name}");
        }
    }

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
    /// <summary>
    /// <paramref name="items"/> mapped by <paramref name="map"/>; when every item maps to itself (the same object), the
    /// original array (so <c>==</c> on the result tells whether anything changed).
    /// </summary>
    public static ImmutableArray<T> SelectArraySame<T>(this ImmutableArray<T> items, Func<T, T> map)
        where T : class
    {
        ImmutableArray<T>.Builder? changed = null;
        for (int i = 0; i < items.Length; i++)
        {
            T mapped = map(items[i]);
            if (changed is null && !ReferenceEquals(mapped, items[i]))
            {
                changed = ImmutableArray.CreateBuilder<T>(items.Length);
                for (int j = 0; j < i; j++)
                {
                    changed.Add(items[j]);
                }
            }
            changed?.Add(mapped);
        }
        return changed is null ? items : changed.MoveToImmutable();
    }

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
