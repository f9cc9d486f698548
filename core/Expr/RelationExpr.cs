using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Expr;

/// <summary>
/// A relational expression: a collection of rows with multiplicities that changes over time. The compute
/// runtime maintains each one incrementally (work proportional to the change); every node says the type of
/// its output.
/// </summary>
/// <remarks>
/// Collections are multisets: a row may appear with any positive count. Operators that can produce errors
/// (those that evaluate scalars) send them to an error collection that travels beside the data; a query that
/// reads a collection with errors fails with the smallest error.
/// </remarks>
public abstract record RelationExpr
{
    public abstract RelationType Type { get; }
}

/// <summary>A fixed collection: each row with its multiplicity (which may be above one).</summary>
public sealed record Constant(ImmutableArray<(Row Row, long Diff)> Rows, RelationType RowType) : RelationExpr
{
    public override RelationType Type => RowType;
}

/// <summary>The contents of another collection in the same dataflow or one it imports (a source or an index).</summary>
public sealed record Get(GlobalId Id, RelationType RowType) : RelationExpr
{
    public override RelationType Type => RowType;
}

/// <summary>Appends one column per scalar; each scalar sees the input columns and the columns appended before it.</summary>
public sealed record Map(RelationExpr Input, ImmutableArray<ScalarExpr> Scalars) : RelationExpr
{
    public override RelationType Type { get; } = Input.Type with
    {
        Columns = Input.Type.Columns.AddRange(System.Linq.Enumerable.Select(Scalars, s => s.Type)),
    };
}

/// <summary>Keeps the rows for which every predicate is true (NULL and false drop the row).</summary>
public sealed record Filter(RelationExpr Input, ImmutableArray<ScalarExpr> Predicates) : RelationExpr
{
    public override RelationType Type => Input.Type;
}

/// <summary>Keeps the listed input columns, in the listed order (a column may repeat).</summary>
public sealed record Project(RelationExpr Input, ImmutableArray<int> Outputs) : RelationExpr
{
    public override RelationType Type { get; } = new(System.Linq.ImmutableArrayExtensions.Select(Outputs, i => Input.Type.Columns[i]).ToImmutableArray());
}

/// <summary>
/// Equi-join: pairs of a left and a right row whose key columns are equal (NULL keys never match), output as
/// the left columns followed by the right columns, with the product of their multiplicities. Empty keys make
/// a cross join. Other join conditions are a <see cref="Filter"/> above.
/// </summary>
public sealed record Join(RelationExpr Left, RelationExpr Right, ImmutableArray<int> LeftKey, ImmutableArray<int> RightKey) : RelationExpr
{
    public override RelationType Type { get; } = Left.Type.Concat(Right.Type);
}

/// <summary>
/// Groups by the <see cref="GroupKey"/> columns and computes the aggregates per group; output columns are the
/// key columns then one per aggregate. With an empty key and <see cref="Global"/> set (a query with aggregates
/// and no GROUP BY), there is always exactly one output row: on empty input it holds each aggregate's value
/// over no rows (count 0, other aggregates NULL).
/// </summary>
public sealed record Reduce(RelationExpr Input, ImmutableArray<int> GroupKey, ImmutableArray<AggregateExpr> Aggregates, bool Global) : RelationExpr
{
    public override RelationType Type { get; } = new(
        System.Linq.ImmutableArrayExtensions.Select(GroupKey, i => Input.Type.Columns[i])
            .ToImmutableArray()
            .AddRange(System.Linq.ImmutableArrayExtensions.Select(Aggregates, a => a.ResultType)));
}

/// <summary>Each distinct row once (multiplicity 1).</summary>
public sealed record Distinct(RelationExpr Input) : RelationExpr
{
    public override RelationType Type => Input.Type;
}

/// <summary>The sum of the inputs' multiplicities (<c>UNION ALL</c>); inputs have the same arity.</summary>
public sealed record Union(ImmutableArray<RelationExpr> Inputs) : RelationExpr
{
    public override RelationType Type => Inputs[0].Type;
}

/// <summary>Every multiplicity negated; with <see cref="Union"/> and <see cref="Threshold"/> it expresses <c>EXCEPT</c>.</summary>
public sealed record Negate(RelationExpr Input) : RelationExpr
{
    public override RelationType Type => Input.Type;
}

/// <summary>Drops rows whose multiplicity is not positive.</summary>
public sealed record Threshold(RelationExpr Input) : RelationExpr
{
    public override RelationType Type => Input.Type;
}

/// <summary>
/// Per group of <see cref="GroupKey"/> columns, the first <see cref="Limit"/> rows (after skipping
/// <see cref="Offset"/>) in <see cref="OrderBy"/> order, ties broken by the whole row: ORDER BY ... LIMIT in a
/// view. A null limit keeps every row after the offset.
/// </summary>
public sealed record TopK(RelationExpr Input, ImmutableArray<int> GroupKey, ImmutableArray<ColumnOrder> OrderBy, long? Limit, long Offset) : RelationExpr
{
    public override RelationType Type => Input.Type;
}

/// <summary>One ORDER BY term: a column, descending or not, NULLs last or first (PostgreSQL: NULLs last ascending, first descending).</summary>
public readonly record struct ColumnOrder(int Column, bool Descending, bool NullsLast);
