using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Expr.Text;
using Kernel.Persist.Data;
using Xunit;
using static Kernel.Tests.Unit.Expr.ExprBuilder;

namespace Kernel.Tests.Unit.Expr;

public sealed class CastTests
{
    private static Datum CastValue(ScalarExpr arg, SqlType target, bool isExplicit = true) => Eval(CastTo(arg, target, isExplicit));

    private static string CastText(ScalarExpr arg, SqlType target, bool isExplicit = true) =>
        DatumText.Format(CastValue(arg, target, isExplicit), target);

    [Theory]
    [InlineData(2.5, 2)]
    [InlineData(3.5, 4)]
    [InlineData(-2.5, -2)]
    [InlineData(2.4999, 2)]
    [InlineData(-0.5, 0)]
    public void Float64ToInteger_RoundsHalfToEven(double input, long expected)
    {
        Assert.Equal(expected, CastValue(F64(input), SqlType.Int32).AsInt64);
    }

    [Theory]
    [InlineData("2.5", 3)]
    [InlineData("-2.5", -3)]
    [InlineData("2.49", 2)]
    [InlineData("0.5", 1)]
    public void NumericToInteger_RoundsHalfAwayFromZero(string input, long expected)
    {
        Assert.Equal(expected, CastValue(Num(decimal.Parse(input, System.Globalization.CultureInfo.InvariantCulture)), SqlType.Int64).AsInt64);
    }

    [Fact]
    public void NumberCasts_CheckTheTargetRange()
    {
        AssertError(CastTo(I64(2147483648), SqlType.Int32), "22003", "integer out of range");
        AssertError(CastTo(I32(32768), SqlType.Int16), "22003", "smallint out of range");
        AssertError(CastTo(F64(1e10), SqlType.Int32), "22003", "integer out of range");
        AssertError(CastTo(F64(double.NaN), SqlType.Int32), "22003", "integer out of range");
        AssertError(CastTo(F64(9.2233720368547758E18), SqlType.Int64), "22003", "bigint out of range");
        AssertError(CastTo(Num(40000.4m), SqlType.Int16), "22003", "smallint out of range");
        AssertError(CastTo(Num(decimal.MaxValue), SqlType.Int64), "22003", "bigint out of range");
        Assert.Equal(-32768, CastValue(I64(-32768), SqlType.Int16).AsInt64);
        Assert.Equal(long.MinValue, CastValue(F64(-9.2233720368547758E18), SqlType.Int64).AsInt64);
    }

    [Fact]
    public void NumericModifier_RoundsToScale_AndChecksPrecision()
    {
        Assert.Equal("1.3", CastText(Num(1.25m), SqlType.NumericOf(3, 1)));
        Assert.Equal("-1.3", CastText(Num(-1.25m), SqlType.NumericOf(3, 1)));
        Assert.Equal("0.500", CastText(Num(0.5m), SqlType.NumericOf(3, 3)));
        Assert.Equal("0", CastText(Num(-0.4m), SqlType.NumericOf(3, 0)));
        Assert.Equal("12.00", CastText(I32(12), SqlType.NumericOf(4, 2)));
        AssertError(CastTo(Num(99999m), SqlType.NumericOf(3, 1)), "22003", "numeric field overflow");
        AssertError(CastTo(Num(99.96m), SqlType.NumericOf(3, 1)), "22003", "numeric field overflow");
        AssertError(CastTo(I32(1), SqlType.NumericOf(3, 3)), "22003", "numeric field overflow");
    }

    [Fact]
    public void FloatToNumeric_UsesFifteenSignificantDigits()
    {
        Assert.Equal("0.3", CastText(F64(0.30000000000000004), SqlType.Numeric));
        Assert.Equal("100000000000000000000", CastText(F64(1e20), SqlType.Numeric));
        Assert.Equal("0.00000015", CastText(F64(1.5e-7), SqlType.Numeric));
        Assert.Equal("123456789.123457", CastText(F64(123456789.123456789), SqlType.Numeric));
        Assert.Equal("0A000", EvalError(CastTo(F64(double.NaN), SqlType.Numeric)).SqlState);
        Assert.Equal("22003", EvalError(CastTo(F64(1e30), SqlType.Numeric)).SqlState);
    }

    [Fact]
    public void NumericAndIntegerToFloat64()
    {
        Assert.Equal(0.1, CastValue(Num(0.1m), SqlType.Float64).AsFloat64);
        Assert.Equal(1.0 / 3, CastValue(Num(0.3333333333333333333333333333m), SqlType.Float64).AsFloat64);
        Assert.Equal(9.2233720368547758E18, CastValue(I64(long.MaxValue), SqlType.Float64).AsFloat64);
    }

    [Fact]
    public void BoolAndInteger_ConvertBothWays()
    {
        Assert.Equal(1, CastValue(Bool(true), SqlType.Int32).AsInt64);
        Assert.Equal(0, CastValue(Bool(false), SqlType.Int16).AsInt64);
        Assert.True(CastValue(I32(5), SqlType.Bool).AsBool);
        Assert.False(CastValue(I64(0), SqlType.Bool).AsBool);
    }

    [Fact]
    public void ToText_UsesTheOutputForm()
    {
        Assert.Equal("t", CastValue(Bool(true), SqlType.Text).AsString);
        Assert.Equal("-5", CastValue(I16(-5), SqlType.Text).AsString);
        Assert.Equal("1e+20", CastValue(F64(1e20), SqlType.Text).AsString);
        Assert.Equal("1.50", CastValue(Num(1.50m), SqlType.Text).AsString);
        Assert.Equal("1970-01-02", CastValue(Date(1), SqlType.Text).AsString);
        Assert.Equal("1969-12-31 23:59:59.999999", CastValue(Lit(Datum.FromTimestamp(-1), SqlType.Timestamp), SqlType.Varchar).AsString);
    }

    [Fact]
    public void Varchar_ExplicitTruncates_ImplicitRejectsNonSpaces()
    {
        SqlType varchar2 = SqlType.VarcharOf(2);
        Assert.Equal("ab", CastValue(Str("abc"), varchar2, isExplicit: true).AsString);
        Assert.Equal("12", CastValue(I32(12345), varchar2, isExplicit: true).AsString);
        AssertError(CastTo(Str("abc"), varchar2, isExplicit: false), "22001", "value too long for type character varying(2)");
        Assert.Equal("ab", CastValue(Str("ab   "), varchar2, isExplicit: false).AsString);
        Assert.Equal("ab", CastValue(Str("ab"), varchar2, isExplicit: false).AsString);
        // Lengths count characters: an emoji is one.
        Assert.Equal("a\U0001F600", CastValue(Str("a\U0001F600"), varchar2, isExplicit: false).AsString);
        Assert.Equal("a\U0001F600", CastValue(Str("a\U0001F600b"), varchar2, isExplicit: true).AsString);
        Assert.Equal("abc", CastValue(Lit(Datum.FromString("abc"), SqlType.VarcharOf(5)), SqlType.Text).AsString);
    }

    [Fact]
    public void FromText_UsesTheInputForm()
    {
        Assert.Equal(42, CastValue(Str(" 42 "), SqlType.Int32).AsInt64);
        Assert.True(CastValue(Str("yes"), SqlType.Bool).AsBool);
        Assert.Equal(SqlCalendar.DaysFromCivil(2024, 2, 29), CastValue(Str("2024-02-29"), SqlType.Date).AsDate);
        Assert.Equal(1.5m, CastValue(Lit(Datum.FromString("1.5"), SqlType.Unknown), SqlType.Numeric).AsDecimal);
        AssertError(CastTo(Str("x"), SqlType.Bool), "22P02", "invalid input syntax for type boolean: \"x\"");
        AssertError(CastTo(Str("99999999999"), SqlType.Int32), "22003", "value \"99999999999\" is out of range for type integer");
    }

    [Fact]
    public void DateAndTimestamp_ConvertBothWays()
    {
        long day = SqlCalendar.DaysFromCivil(2020, 1, 1);
        Assert.Equal(day * SqlCalendar.MicrosPerDay, CastValue(Date(day), SqlType.Timestamp).AsTimestamp);
        var lateEvening = Lit(Datum.FromTimestamp((day * SqlCalendar.MicrosPerDay) + (23L * 3600 * 1_000_000)), SqlType.Timestamp);
        Assert.Equal(day, CastValue(lateEvening, SqlType.Date).AsDate);
        var beforeEpoch = Lit(Datum.FromTimestamp(-1), SqlType.Timestamp);
        Assert.Equal(-1, CastValue(beforeEpoch, SqlType.Date).AsDate);
        AssertError(CastTo(Date(SqlCalendar.DateMaxDays), SqlType.Timestamp), "22008", "date out of range for timestamp");
    }

    [Fact]
    public void UnsupportedPairs_Are42846_EvenForNull()
    {
        AssertError(CastTo(Date(0), SqlType.Int32), "42846", "cannot cast type date to integer");
        AssertError(CastTo(Bool(true), SqlType.Float64), "42846", "cannot cast type boolean to double precision");
        AssertError(CastTo(Null(SqlType.Timestamp), SqlType.Numeric), "42846", "cannot cast type timestamp without time zone to numeric");
        AssertError(CastTo(F64(1), SqlType.Bool), "42846", "cannot cast type double precision to boolean");
    }

    [Fact]
    public void Null_CastsToNull()
    {
        Assert.True(CastValue(Null(SqlType.Text), SqlType.Int32).IsNull);
        Assert.True(CastValue(Null(SqlType.Int32), SqlType.Text).IsNull);
        Assert.True(CastValue(Null(SqlType.Date), SqlType.Timestamp).IsNull);
    }

    [Fact]
    public void TryCast_IsUsableOnValuesDirectly()
    {
        Assert.True(Evaluator.TryCast(Datum.FromInt64(7), SqlType.Int32, SqlType.Float64, isExplicit: false, out Datum result, out _));
        Assert.Equal(7.0, result.AsFloat64);
        Assert.False(Evaluator.TryCast(Datum.FromString("7"), SqlType.Int32, SqlType.Float64, isExplicit: false, out _, out EvalError? error));
        Assert.Equal("XX000", error.SqlState);
    }
}
