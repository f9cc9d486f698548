using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Expr;

/// <summary>
/// A scalar expression over one input row, typed by the planner: every node knows its result type, and the
/// operands of a function already have the types the function expects (the planner inserts casts).
/// Evaluation follows SQL: NULL propagates through most functions, <c>AND</c>/<c>OR</c> use three-valued logic,
/// and runtime faults (division by zero, overflow, bad casts) are <see cref="EvalError"/> values, never crashes.
/// </summary>
public abstract record ScalarExpr
{
    /// <summary>The type of the value this expression produces.</summary>
    public abstract ColumnType Type { get; }
}

/// <summary>The value of input column <paramref name="Index"/>.</summary>
public sealed record ColumnRef(int Index, ColumnType ColumnType) : ScalarExpr
{
    public override ColumnType Type => ColumnType;
}

/// <summary>A constant; <see cref="Datum.Null"/> for a typed NULL.</summary>
public sealed record Literal(Datum Value, ColumnType ColumnType) : ScalarExpr
{
    public override ColumnType Type => ColumnType;

    public static Literal Null(SqlType type) => new(Datum.Null, new ColumnType(type, true));
}

/// <summary>A function of one argument.</summary>
public sealed record CallUnary(UnaryFunc Func, ScalarExpr Arg, ColumnType ResultType) : ScalarExpr
{
    public override ColumnType Type => ResultType;
}

/// <summary>A function of two arguments.</summary>
public sealed record CallBinary(BinaryFunc Func, ScalarExpr Left, ScalarExpr Right, ColumnType ResultType) : ScalarExpr
{
    public override ColumnType Type => ResultType;
}

/// <summary>A function of any number of arguments.</summary>
public sealed record CallVariadic(VariadicFunc Func, ImmutableArray<ScalarExpr> Args, ColumnType ResultType) : ScalarExpr
{
    public override ColumnType Type => ResultType;
}

/// <summary><c>CASE WHEN Cond THEN Then ELSE Else END</c>; a NULL condition takes the else branch. Only the taken branch is evaluated.</summary>
public sealed record IfThenElse(ScalarExpr Cond, ScalarExpr Then, ScalarExpr Else, ColumnType ResultType) : ScalarExpr
{
    public override ColumnType Type => ResultType;
}

/// <summary>
/// Conversion to <see cref="Target"/> from the argument's type, with PostgreSQL's rules (text parsing, rounding
/// of numeric to integer, range checks, varchar truncation for explicit casts).
/// </summary>
public sealed record Cast(ScalarExpr Arg, SqlType Target, bool Explicit, ColumnType ResultType) : ScalarExpr
{
    public override ColumnType Type => ResultType;
}

/// <summary>Functions of one argument. The argument's type selects the behaviour where it matters.</summary>
public enum UnaryFunc
{
    Not,
    Negate,
    IsNull,
    IsNotNull,
    IsTrue,
    IsFalse,
    IsNotTrue,
    IsNotFalse,
    Abs,
    Lower,
    Upper,
    CharLength,
    Trim,
    Floor,
    Ceil,
    Round,
    Sqrt,
}

/// <summary>
/// Functions of two arguments. Arithmetic and comparisons take two operands of the same type (the planner
/// coerces them), except date ± integer and timestamp − timestamp style operations, which the planner does not
/// produce yet.
/// </summary>
public enum BinaryFunc
{
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Eq,
    NotEq,
    Lt,
    Lte,
    Gt,
    Gte,

    /// <summary><c>||</c> on strings.</summary>
    Concat,

    /// <summary><c>left LIKE pattern</c> with <c>%</c>, <c>_</c> and backslash escapes.</summary>
    Like,

    /// <summary><c>ILIKE</c>: case-insensitive LIKE.</summary>
    ILike,

    /// <summary><c>round(numeric, integer)</c>.</summary>
    RoundTo,

    /// <summary><c>IS DISTINCT FROM</c>: never NULL.</summary>
    IsDistinctFrom,

    /// <summary><c>power(a, b)</c> on double precision.</summary>
    Power,
}

/// <summary>Functions of any number of arguments.</summary>
public enum VariadicFunc
{
    /// <summary>Three-valued AND: false if any is false, else NULL if any is NULL, else true. Errors in one argument are masked by a false in another.</summary>
    And,

    /// <summary>Three-valued OR: true if any is true, else NULL if any is NULL, else false.</summary>
    Or,

    /// <summary>The first non-NULL argument; later arguments are not evaluated.</summary>
    Coalesce,

    /// <summary>The largest non-NULL argument (NULL only if all are).</summary>
    Greatest,

    /// <summary>The smallest non-NULL argument (NULL only if all are).</summary>
    Least,

    /// <summary><c>concat(...)</c>: concatenation that treats NULL as the empty string.</summary>
    ConcatAll,
}
