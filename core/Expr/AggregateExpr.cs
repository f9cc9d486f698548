namespace Kernel.Expr;

/// <summary>Aggregate functions a reduce computes. The planner lowers <c>avg</c> to sum and count.</summary>
public enum AggregateFunc
{
    /// <summary><c>count(*)</c>: rows in the group, NULLs included. Result bigint, never NULL.</summary>
    CountAll,

    /// <summary><c>count(expr)</c>: rows whose value is not NULL. Result bigint, never NULL.</summary>
    Count,

    /// <summary>
    /// <c>sum(expr)</c>, NULL for a group with no non-NULL values. The result type is the expression's
    /// <see cref="AggregateExpr.ResultType"/>: bigint for smallint/integer input, numeric for bigint and numeric
    /// input, double precision for double precision input (PostgreSQL's rules).
    /// </summary>
    Sum,

    /// <summary><c>min(expr)</c> over non-NULL values; NULL when there are none.</summary>
    Min,

    /// <summary><c>max(expr)</c> over non-NULL values; NULL when there are none.</summary>
    Max,

    /// <summary><c>bool_and(expr)</c>.</summary>
    BoolAnd,

    /// <summary><c>bool_or(expr)</c>.</summary>
    BoolOr,
}

/// <summary>
/// One aggregate of a <see cref="Reduce"/>: <see cref="Func"/> applied to <see cref="Expr"/> (evaluated on each
/// input row), over distinct values when <see cref="Distinct"/>.
/// </summary>
public sealed record AggregateExpr(AggregateFunc Func, ScalarExpr Expr, bool Distinct, ColumnType ResultType);
