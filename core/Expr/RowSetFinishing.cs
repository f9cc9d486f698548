using System;
using System.Collections.Immutable;

namespace Kernel.Expr;

/// <summary>
/// What a SELECT does to its result after the dataflow computed it: sort by <see cref="OrderBy"/> (ties
/// broken by the whole row so the answer is deterministic), skip <see cref="Offset"/> rows, keep at most
/// <see cref="Limit"/>, then keep the <see cref="Project"/> columns in that order.
/// </summary>
public sealed record RowSetFinishing(ImmutableArray<ColumnOrder> OrderBy, long? Limit, long Offset, ImmutableArray<int> Project)
{
    /// <summary>No ordering, no limit, all <paramref name="arity"/> columns.</summary>
    public static RowSetFinishing Trivial(int arity) =>
        new(ImmutableArray<ColumnOrder>.Empty, null, 0, System.Linq.Enumerable.Range(0, arity).ToImmutableArray());

    public bool Equals(RowSetFinishing? other) =>
        other is not null && OrderBy.AsSpan().SequenceEqual(other.OrderBy.AsSpan()) && Limit == other.Limit && Offset == other.Offset
        && Project.AsSpan().SequenceEqual(other.Project.AsSpan());

    public override int GetHashCode() => Project.Length;
}
