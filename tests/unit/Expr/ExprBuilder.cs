using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;
using Xunit;

namespace Kernel.Tests.Unit.Expr;

/// <summary>Short constructors for typed expressions, and evaluation that asserts success or failure.</summary>
internal static class ExprBuilder
{
    public static Literal Lit(Datum value, SqlType type) => new(value, new ColumnType(type));

    public static Literal Null(SqlType type) => Literal.Null(type);

    public static Literal Bool(bool value) => Lit(Datum.FromBool(value), SqlType.Bool);

    public static Literal NullBool => Null(SqlType.Bool);

    public static Literal I16(long value) => Lit(Datum.FromInt64(value), SqlType.Int16);

    public static Literal I32(long value) => Lit(Datum.FromInt64(value), SqlType.Int32);

    public static Literal I64(long value) => Lit(Datum.FromInt64(value), SqlType.Int64);

    public static Literal F64(double value) => Lit(Datum.FromFloat64(value), SqlType.Float64);

    public static Literal Num(decimal value) => Lit(Datum.FromDecimal(value), SqlType.Numeric);

    public static Literal Str(string value) => Lit(Datum.FromString(value), SqlType.Text);

    public static Literal Date(long days) => Lit(Datum.FromDate(days), SqlType.Date);

    public static CallUnary Un(UnaryFunc func, ScalarExpr arg, SqlType? result = null) =>
        new(func, arg, new ColumnType(result ?? arg.Type.Type));

    public static CallBinary Bin(BinaryFunc func, ScalarExpr left, ScalarExpr right, SqlType? result = null) =>
        new(func, left, right, new ColumnType(result ?? left.Type.Type));

    public static CallBinary Cmp(BinaryFunc func, ScalarExpr left, ScalarExpr right) => new(func, left, right, new ColumnType(SqlType.Bool));

    public static CallVariadic Var(VariadicFunc func, SqlType result, params ScalarExpr[] args) =>
        new(func, ImmutableArray.Create(args), new ColumnType(result));

    public static CallVariadic And(params ScalarExpr[] args) => Var(VariadicFunc.And, SqlType.Bool, args);

    public static CallVariadic Or(params ScalarExpr[] args) => Var(VariadicFunc.Or, SqlType.Bool, args);

    public static Cast CastTo(ScalarExpr arg, SqlType target, bool isExplicit = true) => new(arg, target, isExplicit, new ColumnType(target));

    /// <summary>1/0 in integer: an expression that always errors (22012).</summary>
    public static CallBinary Boom => Bin(BinaryFunc.Div, I32(1), I32(0));

    /// <summary>An expression that always errors, typed bool: (1/0) = 1.</summary>
    public static CallBinary BoomBool => Cmp(BinaryFunc.Eq, Boom, I32(1));

    public static Datum Eval(ScalarExpr expr, params Datum[] row)
    {
        bool ok = Evaluator.TryEval(expr, row, out Datum value, out EvalError? error);
        Assert.True(ok, $"expected a value from {expr}, got {error}");
        return value;
    }

    public static EvalError EvalError(ScalarExpr expr, params Datum[] row)
    {
        bool ok = Evaluator.TryEval(expr, row, out Datum value, out EvalError? error);
        Assert.False(ok, $"expected an error from {expr}, got {value}");
        return error!;
    }

    public static void AssertError(ScalarExpr expr, string sqlState, string message)
    {
        EvalError error = EvalError(expr);
        Assert.Equal(sqlState, error.SqlState);
        Assert.Equal(message, error.Message);
    }

    /// <summary>null for SQL NULL, else the bool.</summary>
    public static bool? Truth(ScalarExpr expr)
    {
        Datum value = Eval(expr);
        return value.IsNull ? null : value.AsBool;
    }

    public static Literal Tri(bool? value) => value is bool b ? Bool(b) : NullBool;
}
