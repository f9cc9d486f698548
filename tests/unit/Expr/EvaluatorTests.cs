using System;
using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;
using Xunit;
using static Kernel.Tests.Unit.Expr.ExprBuilder;

namespace Kernel.Tests.Unit.Expr;

public sealed class EvaluatorTests
{
    private static readonly bool?[] s_truthValues = [true, false, null];

    [Fact]
    public void ColumnRef_ReadsTheRowsColumn()
    {
        var column = new ColumnRef(1, new ColumnType(SqlType.Int64));
        Assert.Equal(Datum.FromInt64(7), Eval(column, Datum.FromInt64(3), Datum.FromInt64(7)));
    }

    [Fact]
    public void ColumnRef_OutsideRow_IsAnInternalErrorNotACrash()
    {
        var column = new ColumnRef(2, new ColumnType(SqlType.Int64));
        Assert.Equal("XX000", EvalError(column, Datum.FromInt64(3)).SqlState);
    }

    [Fact]
    public void AndOr_TwoArguments_FollowKleeneTruthTables()
    {
        foreach (bool? left in s_truthValues)
        {
            foreach (bool? right in s_truthValues)
            {
                bool? and = left == false || right == false ? false : left is null || right is null ? null : true;
                bool? or = left == true || right == true ? true : left is null || right is null ? null : false;
                Assert.Equal(and, Truth(And(Tri(left), Tri(right))));
                Assert.Equal(or, Truth(Or(Tri(left), Tri(right))));
            }
        }
    }

    [Fact]
    public void AndOr_ThreeArguments_NullOnlyWithoutDecisiveValue()
    {
        Assert.Null(Truth(And(Bool(true), NullBool, Bool(true))));
        Assert.False(Truth(And(NullBool, Bool(true), Bool(false))));
        Assert.Null(Truth(Or(Bool(false), NullBool, Bool(false))));
        Assert.True(Truth(Or(NullBool, Bool(false), Bool(true))));
        Assert.True(Truth(And()));
        Assert.False(Truth(Or()));
    }

    [Fact]
    public void And_FalseMasksAnErrorOnEitherSide()
    {
        Assert.False(Truth(And(BoomBool, Bool(false))));
        Assert.False(Truth(And(Bool(false), BoomBool)));
        Assert.Equal("22012", EvalError(And(BoomBool, Bool(true))).SqlState);
        Assert.Equal("22012", EvalError(And(NullBool, BoomBool)).SqlState);
    }

    [Fact]
    public void And_GuardedDivisionOverZero_IsFalseNotAnError()
    {
        // x <> 0 AND 1/x > 1, over x = 0.
        var x = new ColumnRef(0, new ColumnType(SqlType.Int32));
        var guarded = And(Cmp(BinaryFunc.NotEq, x, I32(0)), Cmp(BinaryFunc.Gt, Bin(BinaryFunc.Div, I32(1), x), I32(1)));
        Assert.False(Eval(guarded, Datum.FromInt64(0)).AsBool);
        Assert.False(Eval(guarded, Datum.FromInt64(1)).AsBool);
        Assert.True(Evaluator.TryIsTrue(guarded, [Datum.FromInt64(0)], out bool isTrue, out _));
        Assert.False(isTrue);
    }

    [Fact]
    public void AndOr_RememberTheFirstErrorLeftToRight()
    {
        CallBinary overflow = Cmp(BinaryFunc.Eq, Bin(BinaryFunc.Add, I32(int.MaxValue), I32(1)), I32(0));
        Assert.Equal("22003", EvalError(And(overflow, BoomBool)).SqlState);
        Assert.Equal("22012", EvalError(And(BoomBool, overflow)).SqlState);
        Assert.Equal("22012", EvalError(Or(BoomBool, overflow, NullBool)).SqlState);
    }

    [Fact]
    public void Or_TrueMasksAnError()
    {
        Assert.True(Truth(Or(BoomBool, Bool(true))));
        Assert.True(Truth(Or(Bool(true), BoomBool)));
        Assert.Equal("22012", EvalError(Or(BoomBool, Bool(false))).SqlState);
    }

    [Fact]
    public void TryIsTrue_NullAndFalseAreNotTrue_ErrorsAreReported()
    {
        Assert.True(Evaluator.TryIsTrue(NullBool, [], out bool isTrue, out _));
        Assert.False(isTrue);
        Assert.True(Evaluator.TryIsTrue(Bool(false), [], out isTrue, out _));
        Assert.False(isTrue);
        Assert.True(Evaluator.TryIsTrue(Bool(true), [], out isTrue, out _));
        Assert.True(isTrue);
        Assert.False(Evaluator.TryIsTrue(BoomBool, [], out isTrue, out EvalError? error));
        Assert.Equal("22012", error.SqlState);
    }

    [Fact]
    public void IfThenElse_EvaluatesOnlyTheTakenBranch()
    {
        var taken = new IfThenElse(Bool(true), I32(1), Boom, new ColumnType(SqlType.Int32));
        Assert.Equal(1, Eval(taken).AsInt64);
        var otherWay = new IfThenElse(Bool(false), Boom, I32(2), new ColumnType(SqlType.Int32));
        Assert.Equal(2, Eval(otherWay).AsInt64);
        var nullCondition = new IfThenElse(NullBool, Boom, I32(3), new ColumnType(SqlType.Int32));
        Assert.Equal(3, Eval(nullCondition).AsInt64);
        var failingCondition = new IfThenElse(BoomBool, I32(1), I32(2), new ColumnType(SqlType.Int32));
        Assert.Equal("22012", EvalError(failingCondition).SqlState);
    }

    [Fact]
    public void Coalesce_StopsAtFirstNonNull()
    {
        Assert.Equal(2, Eval(Var(VariadicFunc.Coalesce, SqlType.Int32, Null(SqlType.Int32), I32(2), Boom)).AsInt64);
        Assert.True(Eval(Var(VariadicFunc.Coalesce, SqlType.Int32, Null(SqlType.Int32), Null(SqlType.Int32))).IsNull);
        Assert.Equal("22012", EvalError(Var(VariadicFunc.Coalesce, SqlType.Int32, Null(SqlType.Int32), Boom, I32(2))).SqlState);
    }

    [Fact]
    public void GreatestLeast_IgnoreNulls_NaNIsGreatest()
    {
        Assert.Equal(5, Eval(Var(VariadicFunc.Greatest, SqlType.Int32, I32(3), Null(SqlType.Int32), I32(5), I32(-1))).AsInt64);
        Assert.Equal(-1, Eval(Var(VariadicFunc.Least, SqlType.Int32, I32(3), Null(SqlType.Int32), I32(5), I32(-1))).AsInt64);
        Assert.True(Eval(Var(VariadicFunc.Greatest, SqlType.Int32, Null(SqlType.Int32), Null(SqlType.Int32))).IsNull);
        Assert.True(double.IsNaN(Eval(Var(VariadicFunc.Greatest, SqlType.Float64, F64(double.PositiveInfinity), F64(double.NaN), F64(1))).AsFloat64));
        Assert.Equal(1.0, Eval(Var(VariadicFunc.Least, SqlType.Float64, F64(double.NaN), F64(1))).AsFloat64);
        Assert.Equal("22012", EvalError(Var(VariadicFunc.Greatest, SqlType.Int32, I32(1), Boom)).SqlState);
    }

    [Fact]
    public void ConcatAll_TreatsNullAsEmpty_FormatsNonStrings()
    {
        Datum result = Eval(Var(VariadicFunc.ConcatAll, SqlType.Text, Str("a"), Null(SqlType.Text), I32(42), Bool(true), F64(1e20)));
        Assert.Equal("a42t1e+20", result.AsString);
        Assert.Equal("", Eval(Var(VariadicFunc.ConcatAll, SqlType.Text, Null(SqlType.Text))).AsString);
    }

    [Fact]
    public void StrictBinaryFunctions_ReturnNullOnAnyNullArgument()
    {
        (BinaryFunc Func, ScalarExpr Operand, SqlType Result)[] cases =
        [
            (BinaryFunc.Add, I32(1), SqlType.Int32), (BinaryFunc.Sub, I32(1), SqlType.Int32), (BinaryFunc.Mul, I32(1), SqlType.Int32),
            (BinaryFunc.Div, I32(0), SqlType.Int32), (BinaryFunc.Mod, I32(0), SqlType.Int32),
            (BinaryFunc.Eq, I32(1), SqlType.Bool), (BinaryFunc.NotEq, I32(1), SqlType.Bool), (BinaryFunc.Lt, I32(1), SqlType.Bool),
            (BinaryFunc.Lte, I32(1), SqlType.Bool), (BinaryFunc.Gt, I32(1), SqlType.Bool), (BinaryFunc.Gte, I32(1), SqlType.Bool),
            (BinaryFunc.Concat, Str("a"), SqlType.Text), (BinaryFunc.Like, Str("a"), SqlType.Bool), (BinaryFunc.ILike, Str("a"), SqlType.Bool),
            (BinaryFunc.Power, F64(2), SqlType.Float64), (BinaryFunc.Add, F64(1), SqlType.Float64), (BinaryFunc.Div, Num(0), SqlType.Numeric),
        ];
        foreach ((BinaryFunc func, ScalarExpr operand, SqlType result) in cases)
        {
            Literal typedNull = Null(operand.Type.Type);
            Assert.True(Eval(Bin(func, typedNull, operand, result)).IsNull, $"{func}(NULL, x)");
            Assert.True(Eval(Bin(func, operand, typedNull, result)).IsNull, $"{func}(x, NULL)");
        }
        Assert.True(Eval(Bin(BinaryFunc.RoundTo, Null(SqlType.Numeric), I32(1), SqlType.Numeric)).IsNull);
        Assert.True(Eval(Bin(BinaryFunc.RoundTo, Num(1.5m), Null(SqlType.Int32), SqlType.Numeric)).IsNull);
    }

    [Fact]
    public void StrictFunctions_StillReportAnErrorInTheOtherArgument()
    {
        Assert.Equal("22012", EvalError(Bin(BinaryFunc.Add, Null(SqlType.Int32), Boom)).SqlState);
    }

    [Fact]
    public void StrictUnaryFunctions_ReturnNullOnNull()
    {
        foreach (UnaryFunc func in new[] { UnaryFunc.Not, UnaryFunc.Negate, UnaryFunc.Abs, UnaryFunc.Floor, UnaryFunc.Ceil, UnaryFunc.Round, UnaryFunc.Sqrt })
        {
            SqlType type = func == UnaryFunc.Not ? SqlType.Bool : SqlType.Float64;
            Assert.True(Eval(Un(func, Null(type))).IsNull, func.ToString());
        }
        foreach (UnaryFunc func in new[] { UnaryFunc.Lower, UnaryFunc.Upper, UnaryFunc.Trim })
        {
            Assert.True(Eval(Un(func, Null(SqlType.Text))).IsNull, func.ToString());
        }
        Assert.True(Eval(Un(UnaryFunc.CharLength, Null(SqlType.Text), SqlType.Int32)).IsNull);
    }

    [Fact]
    public void NullTests_FollowTheirTruthTables()
    {
        // Columns: IS NULL, IS NOT NULL, IS TRUE, IS FALSE, IS NOT TRUE, IS NOT FALSE.
        (bool? Input, bool[] Expected)[] table =
        [
            (true, [false, true, true, false, false, true]),
            (false, [false, true, false, true, true, false]),
            (null, [true, false, false, false, true, true]),
        ];
        UnaryFunc[] funcs = [UnaryFunc.IsNull, UnaryFunc.IsNotNull, UnaryFunc.IsTrue, UnaryFunc.IsFalse, UnaryFunc.IsNotTrue, UnaryFunc.IsNotFalse];
        foreach ((bool? input, bool[] expected) in table)
        {
            for (int i = 0; i < funcs.Length; i++)
            {
                Assert.Equal(expected[i], Eval(Un(funcs[i], Tri(input), SqlType.Bool)).AsBool);
            }
        }
        Assert.False(Truth(Un(UnaryFunc.Not, Bool(true))));
        Assert.True(Truth(Un(UnaryFunc.Not, Bool(false))));
        Assert.Null(Truth(Un(UnaryFunc.Not, NullBool)));
    }

    [Fact]
    public void IsDistinctFrom_IsNeverNull()
    {
        Assert.False(Truth(Cmp(BinaryFunc.IsDistinctFrom, Null(SqlType.Int32), Null(SqlType.Int32))));
        Assert.True(Truth(Cmp(BinaryFunc.IsDistinctFrom, Null(SqlType.Int32), I32(1))));
        Assert.True(Truth(Cmp(BinaryFunc.IsDistinctFrom, I32(1), Null(SqlType.Int32))));
        Assert.False(Truth(Cmp(BinaryFunc.IsDistinctFrom, I32(1), I32(1))));
        Assert.True(Truth(Cmp(BinaryFunc.IsDistinctFrom, I32(1), I32(2))));
        Assert.False(Truth(Cmp(BinaryFunc.IsDistinctFrom, Num(1.0m), Num(1.00m))));
        Assert.False(Truth(Cmp(BinaryFunc.IsDistinctFrom, F64(double.NaN), F64(double.NaN))));
    }

    [Theory]
    [InlineData(SqlTypeKind.Int32, int.MaxValue, 1, "integer out of range")]
    [InlineData(SqlTypeKind.Int32, int.MinValue, -1, "integer out of range")]
    [InlineData(SqlTypeKind.Int16, short.MaxValue, 1, "smallint out of range")]
    [InlineData(SqlTypeKind.Int16, short.MinValue, -1, "smallint out of range")]
    [InlineData(SqlTypeKind.Int64, long.MaxValue, 1, "bigint out of range")]
    [InlineData(SqlTypeKind.Int64, long.MinValue, -1, "bigint out of range")]
    public void IntegerAdd_PastTheTypesRange_Is22003(SqlTypeKind kind, long left, long right, string message)
    {
        var type = new SqlType(kind);
        AssertError(Bin(BinaryFunc.Add, Lit(Datum.FromInt64(left), type), Lit(Datum.FromInt64(right), type)), "22003", message);
        // One step back inside the range is fine.
        Assert.Equal(left, Eval(Bin(BinaryFunc.Add, Lit(Datum.FromInt64(left), type), Lit(Datum.FromInt64(0), type))).AsInt64);
    }

    [Fact]
    public void IntegerArithmetic_EdgesOfEachType()
    {
        AssertError(Bin(BinaryFunc.Div, I64(long.MinValue), I64(-1)), "22003", "bigint out of range");
        AssertError(Bin(BinaryFunc.Div, I32(int.MinValue), I32(-1)), "22003", "integer out of range");
        AssertError(Bin(BinaryFunc.Div, I16(short.MinValue), I16(-1)), "22003", "smallint out of range");
        AssertError(Bin(BinaryFunc.Mul, I64(long.MaxValue), I64(2)), "22003", "bigint out of range");
        AssertError(Bin(BinaryFunc.Mul, I64(long.MinValue), I64(-1)), "22003", "bigint out of range");
        AssertError(Bin(BinaryFunc.Mul, I32(65536), I32(32768)), "22003", "integer out of range");
        AssertError(Bin(BinaryFunc.Sub, I64(long.MinValue), I64(1)), "22003", "bigint out of range");
        AssertError(Bin(BinaryFunc.Sub, I16(-32768), I16(1)), "22003", "smallint out of range");
        AssertError(Un(UnaryFunc.Negate, I32(int.MinValue)), "22003", "integer out of range");
        AssertError(Un(UnaryFunc.Negate, I64(long.MinValue)), "22003", "bigint out of range");
        AssertError(Un(UnaryFunc.Abs, I16(short.MinValue)), "22003", "smallint out of range");
        Assert.Equal(long.MinValue, Eval(Bin(BinaryFunc.Mul, I64(long.MinValue / 2), I64(2))).AsInt64);
        Assert.Equal(0, Eval(Bin(BinaryFunc.Mod, I64(long.MinValue), I64(-1))).AsInt64);
        Assert.Equal(0, Eval(Bin(BinaryFunc.Mod, I32(int.MinValue), I32(-1))).AsInt64);
        Assert.Equal(-int.MaxValue, Eval(Un(UnaryFunc.Negate, I32(int.MaxValue))).AsInt64);
    }

    [Theory]
    [InlineData(7, 2, 3, 1)]
    [InlineData(-7, 2, -3, -1)]
    [InlineData(7, -2, -3, 1)]
    [InlineData(-7, -2, 3, -1)]
    public void IntegerDivision_TruncatesTowardZero(long left, long right, long quotient, long remainder)
    {
        Assert.Equal(quotient, Eval(Bin(BinaryFunc.Div, I32(left), I32(right))).AsInt64);
        Assert.Equal(remainder, Eval(Bin(BinaryFunc.Mod, I32(left), I32(right))).AsInt64);
    }

    [Fact]
    public void DivisionByZero_Is22012_ForEveryNumberType()
    {
        AssertError(Bin(BinaryFunc.Div, I32(1), I32(0)), "22012", "division by zero");
        AssertError(Bin(BinaryFunc.Mod, I64(1), I64(0)), "22012", "division by zero");
        AssertError(Bin(BinaryFunc.Div, Num(5m), Num(0m)), "22012", "division by zero");
        AssertError(Bin(BinaryFunc.Mod, Num(5.5m), Num(0m)), "22012", "division by zero");
        AssertError(Bin(BinaryFunc.Div, F64(1), F64(0)), "22012", "division by zero");
        AssertError(Bin(BinaryFunc.Div, F64(1), F64(-0.0)), "22012", "division by zero");
        Assert.True(double.IsNaN(Eval(Bin(BinaryFunc.Div, F64(double.NaN), F64(0))).AsFloat64));
    }

    [Fact]
    public void FloatArithmetic_OverflowFromFiniteInputsIsAnError_InfinityPropagates()
    {
        AssertError(Bin(BinaryFunc.Mul, F64(1e308), F64(10)), "22003", "value out of range: overflow");
        AssertError(Bin(BinaryFunc.Add, F64(double.MaxValue), F64(double.MaxValue)), "22003", "value out of range: overflow");
        AssertError(Bin(BinaryFunc.Div, F64(1e308), F64(1e-10)), "22003", "value out of range: overflow");
        AssertError(Bin(BinaryFunc.Mul, F64(1e-300), F64(1e-300)), "22003", "value out of range: underflow");
        Assert.Equal(1e-318, Eval(Bin(BinaryFunc.Mul, F64(1e-308), F64(1e-10))).AsFloat64);
        Assert.Equal(double.PositiveInfinity, Eval(Bin(BinaryFunc.Add, F64(double.PositiveInfinity), F64(1))).AsFloat64);
        Assert.True(double.IsNaN(Eval(Bin(BinaryFunc.Sub, F64(double.PositiveInfinity), F64(double.PositiveInfinity))).AsFloat64));
        Assert.Equal(0.30000000000000004, Eval(Bin(BinaryFunc.Add, F64(0.1), F64(0.2))).AsFloat64);
    }

    [Fact]
    public void FloatComparisons_NaNIsEqualToItselfAndAboveEverything_NegativeZeroEqualsZero()
    {
        Assert.True(Truth(Cmp(BinaryFunc.Eq, F64(double.NaN), F64(double.NaN))));
        Assert.True(Truth(Cmp(BinaryFunc.Gt, F64(double.NaN), F64(double.PositiveInfinity))));
        Assert.True(Truth(Cmp(BinaryFunc.Lt, F64(double.NegativeInfinity), F64(double.NaN))));
        Assert.False(Truth(Cmp(BinaryFunc.NotEq, F64(double.NaN), F64(double.NaN))));
        Assert.True(Truth(Cmp(BinaryFunc.Eq, F64(-0.0), F64(0.0))));
        Assert.False(Truth(Cmp(BinaryFunc.Lt, F64(-0.0), F64(0.0))));
    }

    [Fact]
    public void Comparisons_AllOperatorsOnEachType()
    {
        (ScalarExpr Low, ScalarExpr High)[] pairs =
        [
            (I16(-1), I16(1)), (I32(1), I32(2)), (I64(long.MinValue), I64(long.MaxValue)), (F64(-1.5), F64(2.5)),
            (Num(1.05m), Num(1.1m)), (Str("B"), Str("a")), (Str("abc"), Str("abd")), (Bool(false), Bool(true)),
            (Date(-1), Date(0)), (Lit(Datum.FromTimestamp(5), SqlType.Timestamp), Lit(Datum.FromTimestamp(6), SqlType.Timestamp)),
        ];
        foreach ((ScalarExpr low, ScalarExpr high) in pairs)
        {
            Assert.True(Truth(Cmp(BinaryFunc.Lt, low, high)), $"{low} < {high}");
            Assert.True(Truth(Cmp(BinaryFunc.Lte, low, high)));
            Assert.False(Truth(Cmp(BinaryFunc.Gt, low, high)));
            Assert.False(Truth(Cmp(BinaryFunc.Gte, low, high)));
            Assert.False(Truth(Cmp(BinaryFunc.Eq, low, high)));
            Assert.True(Truth(Cmp(BinaryFunc.NotEq, low, high)));
            Assert.True(Truth(Cmp(BinaryFunc.Eq, low, low)));
            Assert.True(Truth(Cmp(BinaryFunc.Gte, high, high)));
        }
    }

    [Fact]
    public void Comparisons_MismatchedKinds_AreAnInternalError()
    {
        Assert.Equal("XX000", EvalError(Cmp(BinaryFunc.Eq, I32(1), Str("1"))).SqlState);
    }

    [Fact]
    public void Numeric_EqualityIgnoresScale_DivisionUsesPostgresScale()
    {
        Assert.True(Truth(Cmp(BinaryFunc.Eq, Num(1.0m), Num(1.00m))));
        Assert.Equal("0.33333333333333333333", Text(Eval(Bin(BinaryFunc.Div, Num(1m), Num(3m)))));
        Assert.Equal("0.25000000000000000000", Text(Eval(Bin(BinaryFunc.Div, Num(1m), Num(4m)))));
        Assert.Equal("2.5000000000000000", Text(Eval(Bin(BinaryFunc.Div, Num(10m), Num(4m)))));
        Assert.Equal("1234500.000000000000", Text(Eval(Bin(BinaryFunc.Div, Num(1234.5m), Num(0.001m)))));
        Assert.Equal("65042424675.00000000", Text(Eval(Bin(BinaryFunc.Div, Num(-5203393974m), Num(-0.08m)))));
        Assert.Equal("352800.441833333333", Text(Eval(Bin(BinaryFunc.Div, Num(105840.13255m), Num(0.3m)))));
        Assert.Equal("1.00", Text(Eval(Bin(BinaryFunc.Mod, Num(7.0m), Num(2.00m)))));
        Assert.Equal("6.0000", Text(Eval(Bin(BinaryFunc.Mul, Num(2.00m), Num(3.00m)))));
        Assert.Equal("3.50", Text(Eval(Bin(BinaryFunc.Add, Num(1.5m), Num(2.00m)))));
        AssertError(Bin(BinaryFunc.Mul, Num(decimal.MaxValue), Num(2m)), "22003", "value overflows numeric format");
        AssertError(Bin(BinaryFunc.Add, Num(decimal.MaxValue), Num(1m)), "22003", "value overflows numeric format");

        static string Text(Datum value) => Kernel.Expr.Text.DatumText.Format(value, SqlType.Numeric);
    }

    [Fact]
    public void StringFunctions()
    {
        Assert.Equal("abc", Eval(Un(UnaryFunc.Lower, Str("AbC"))).AsString);
        Assert.Equal("ABC", Eval(Un(UnaryFunc.Upper, Str("AbC"))).AsString);
        Assert.Equal(3, Eval(Un(UnaryFunc.CharLength, Str("héé"), SqlType.Int32)).AsInt64);
        Assert.Equal(2, Eval(Un(UnaryFunc.CharLength, Str("a\U0001F600"), SqlType.Int32)).AsInt64);
        Assert.Equal(0, Eval(Un(UnaryFunc.CharLength, Str(""), SqlType.Int32)).AsInt64);
        Assert.Equal("a b", Eval(Un(UnaryFunc.Trim, Str("  a b  "))).AsString);
        Assert.Equal("\ta\t", Eval(Un(UnaryFunc.Trim, Str(" \ta\t "))).AsString);
        Assert.Equal("ab", Eval(Bin(BinaryFunc.Concat, Str("a"), Str("b"))).AsString);
        Assert.Equal("a1", Eval(Bin(BinaryFunc.Concat, Str("a"), I32(1), SqlType.Text)).AsString);
    }

    [Theory]
    [InlineData("abc", "abc", true)]
    [InlineData("abc", "a%", true)]
    [InlineData("abc", "%c", true)]
    [InlineData("abc", "%b%", true)]
    [InlineData("abc", "_b_", true)]
    [InlineData("abc", "__", false)]
    [InlineData("abc", "___", true)]
    [InlineData("abc", "ab", false)]
    [InlineData("", "%", true)]
    [InlineData("", "", true)]
    [InlineData("", "_", false)]
    [InlineData("abcabc", "%abc", true)]
    [InlineData("abcab", "%abc", false)]
    [InlineData("aXbXc", "a%b%c", true)]
    [InlineData("aXbXcX", "a%b%c", false)]
    [InlineData("a%c", "a\\%c", true)]
    [InlineData("abc", "a\\%c", false)]
    [InlineData("a_c", "a\\_c", true)]
    [InlineData("abc", "a\\_c", false)]
    [InlineData("a\\", "a\\\\", true)]
    [InlineData("ab", "a\\b", true)]
    [InlineData("mississippi", "%iss%ppi", true)]
    [InlineData("ABC", "a%", false)]
    [InlineData("\U0001F600x", "_x", true)]
    public void Like_MatchesPostgres(string text, string pattern, bool expected)
    {
        Assert.Equal(expected, Truth(Cmp(BinaryFunc.Like, Str(text), Str(pattern))));
    }

    [Fact]
    public void ILike_IgnoresCase_LikeRejectsTrailingEscape()
    {
        Assert.True(Truth(Cmp(BinaryFunc.ILike, Str("ABC"), Str("a%"))));
        Assert.True(Truth(Cmp(BinaryFunc.ILike, Str("abc"), Str("_B_"))));
        Assert.False(Truth(Cmp(BinaryFunc.ILike, Str("abd"), Str("%C"))));
        AssertError(Cmp(BinaryFunc.Like, Str("a"), Str("a\\")), "22025", "LIKE pattern must not end with escape character");
    }

    [Fact]
    public void Rounding_FloatIsHalfEven_NumericIsHalfAwayFromZero()
    {
        Assert.Equal(2.0, Eval(Un(UnaryFunc.Round, F64(2.5))).AsFloat64);
        Assert.Equal(4.0, Eval(Un(UnaryFunc.Round, F64(3.5))).AsFloat64);
        Assert.True(double.IsNegative(Eval(Un(UnaryFunc.Round, F64(-0.5))).AsFloat64));
        Assert.Equal(3m, Eval(Un(UnaryFunc.Round, Num(2.5m))).AsDecimal);
        Assert.Equal(-3m, Eval(Un(UnaryFunc.Round, Num(-2.5m))).AsDecimal);
        Assert.Equal(-2.0, Eval(Un(UnaryFunc.Floor, F64(-1.5))).AsFloat64);
        Assert.Equal(-1.0, Eval(Un(UnaryFunc.Ceil, F64(-1.5))).AsFloat64);
        Assert.Equal("-2", Format(Eval(Un(UnaryFunc.Floor, Num(-1.5m)))));
        Assert.Equal("0", Format(Eval(Un(UnaryFunc.Ceil, Num(-0.5m)))));
        Assert.Equal("1200", Format(Eval(Bin(BinaryFunc.RoundTo, Num(1234.5m), I32(-2)))));
        Assert.Equal("1.500", Format(Eval(Bin(BinaryFunc.RoundTo, Num(1.5m), I32(3)))));
        Assert.Equal("1.24", Format(Eval(Bin(BinaryFunc.RoundTo, Num(1.235m), I32(2)))));
        Assert.Equal("-1.24", Format(Eval(Bin(BinaryFunc.RoundTo, Num(-1.235m), I32(2)))));
        Assert.Equal("0", Format(Eval(Bin(BinaryFunc.RoundTo, Num(-0.4m), I32(0)))));

        static string Format(Datum value) => Kernel.Expr.Text.DatumText.Format(value, SqlType.Numeric);
    }

    [Fact]
    public void AbsAndNegate_OnEachNumberType()
    {
        Assert.Equal(5, Eval(Un(UnaryFunc.Abs, I32(-5))).AsInt64);
        Assert.Equal(2.5, Eval(Un(UnaryFunc.Abs, F64(-2.5))).AsFloat64);
        Assert.Equal(2.5m, Eval(Un(UnaryFunc.Abs, Num(-2.5m))).AsDecimal);
        Assert.Equal(-2.5, Eval(Un(UnaryFunc.Negate, F64(2.5))).AsFloat64);
        Assert.Equal(-2.5m, Eval(Un(UnaryFunc.Negate, Num(2.5m))).AsDecimal);
    }

    [Fact]
    public void Sqrt_NegativeIs2201F_NumericUsesPostgresScale()
    {
        AssertError(Un(UnaryFunc.Sqrt, F64(-1)), "2201F", "cannot take square root of a negative number");
        AssertError(Un(UnaryFunc.Sqrt, Num(-1m)), "2201F", "cannot take square root of a negative number");
        Assert.Equal(3.0, Eval(Un(UnaryFunc.Sqrt, F64(9))).AsFloat64);
        Assert.Equal("1.414213562373095", Kernel.Expr.Text.DatumText.Format(Eval(Un(UnaryFunc.Sqrt, Num(2m))), SqlType.Numeric));
        Assert.Equal("10.000000000000000", Kernel.Expr.Text.DatumText.Format(Eval(Un(UnaryFunc.Sqrt, Num(100m))), SqlType.Numeric));
    }

    [Fact]
    public void Power_DomainErrorsAndOverflow()
    {
        Assert.Equal(8.0, Eval(Bin(BinaryFunc.Power, F64(2), F64(3))).AsFloat64);
        Assert.Equal(-8.0, Eval(Bin(BinaryFunc.Power, F64(-2), F64(3))).AsFloat64);
        AssertError(Bin(BinaryFunc.Power, F64(0), F64(-1)), "2201F", "zero raised to a negative power is undefined");
        AssertError(Bin(BinaryFunc.Power, F64(-8), F64(1.0 / 3)), "2201F", "a negative number raised to a non-integer power yields a complex result");
        AssertError(Bin(BinaryFunc.Power, F64(10), F64(400)), "22003", "value out of range: overflow");
        Assert.Equal(1.0, Eval(Bin(BinaryFunc.Power, F64(double.NaN), F64(0))).AsFloat64);
        Assert.Equal(1024m, Eval(Bin(BinaryFunc.Power, Num(2m), Num(10m))).AsDecimal);
        Assert.Equal(0.25m, Eval(Bin(BinaryFunc.Power, Num(2m), Num(-2m))).AsDecimal);
        AssertError(Bin(BinaryFunc.Power, Num(10m), Num(40m)), "22003", "value overflows numeric format");
    }

    [Fact]
    public void DateArithmetic_MovesByDays()
    {
        var date = new SqlType(SqlTypeKind.Date);
        Assert.Equal(10, Eval(Bin(BinaryFunc.Add, Date(7), I32(3), date)).AsDate);
        Assert.Equal(10, Eval(Bin(BinaryFunc.Add, I32(3), Date(7), date)).AsDate);
        Assert.Equal(4, Eval(Bin(BinaryFunc.Sub, Date(7), I32(3), date)).AsDate);
        Assert.Equal(-3, Eval(Bin(BinaryFunc.Sub, Date(7), Date(10), SqlType.Int32)).AsInt64);
        Assert.Equal("22008", EvalError(Bin(BinaryFunc.Add, Date(Kernel.Expr.Text.SqlCalendar.DateMaxDays), I32(1), date)).SqlState);
    }

    [Fact]
    public void Evaluation_OfFixedWidthResults_DoesNotAllocate()
    {
        var x = new ColumnRef(0, new ColumnType(SqlType.Int64));
        var y = new ColumnRef(1, new ColumnType(SqlType.Float64));
        ScalarExpr predicate = And(
            Cmp(BinaryFunc.NotEq, x, I64(0)),
            Cmp(BinaryFunc.Gt, Bin(BinaryFunc.Div, I64(100), x), I64(1)),
            Or(Cmp(BinaryFunc.Lt, Bin(BinaryFunc.Mul, y, F64(2)), F64(10)), Un(UnaryFunc.IsNull, y, SqlType.Bool)),
            Cmp(BinaryFunc.Eq, Var(VariadicFunc.Coalesce, SqlType.Int64, Null(SqlType.Int64), x), x),
            Cmp(BinaryFunc.Lte, CastTo(x, SqlType.Float64), Un(UnaryFunc.Round, y)));
        Datum[] row = [Datum.FromInt64(3), Datum.FromFloat64(4.5)];
        Assert.True(Evaluator.TryIsTrue(predicate, row, out bool warm, out _));
        Assert.True(warm);
        // The property is about the steady state. While the runtime tiers the evaluator's
        // methods up (call counting, on-stack replacement of the loop) a round can see a few
        // runtime allocations on this thread that are not the evaluator's, so the loop runs in
        // rounds and one round without any allocation is required; an evaluator that
        // allocates per call allocates in every round.
        var allocatedPerRound = new List<long>();
        for (int round = 0; round < 5; round++)
        {
            long allocated = AllocatedByThousandEvaluations(predicate, row);
            allocatedPerRound.Add(allocated);
            if (allocated == 0)
            {
                break;
            }
        }
        Assert.Contains(0L, allocatedPerRound);
    }

    private static long AllocatedByThousandEvaluations(ScalarExpr predicate, Datum[] row)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        int trueCount = 0;
        for (int i = 0; i < 1000; i++)
        {
            Evaluator.TryIsTrue(predicate, row, out bool isTrue, out _);
            trueCount += isTrue ? 1 : 0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(1000, trueCount);
        return allocated;
    }
}
