using System;
using System.Globalization;
using Kernel.Expr;
using Kernel.Expr.Text;
using Kernel.Persist.Data;
using Xunit;

namespace Kernel.Tests.Unit.Expr;

public sealed class DatumTextTests
{
    private static Datum Parse(string text, SqlType type)
    {
        Assert.True(DatumText.TryParse(text, type, out Datum value, out EvalError? error), $"\"{text}\" as {type}: {error}");
        return value;
    }

    private static void AssertParseError(string text, SqlType type, string sqlState, string message)
    {
        Assert.False(DatumText.TryParse(text, type, out Datum value, out EvalError? error), $"\"{text}\" parsed as {value}");
        Assert.Equal(sqlState, error.SqlState);
        Assert.Equal(message, error.Message);
    }

    private static long Micros(long year, int month, int day, int hour = 0, int minute = 0, int second = 0, long micros = 0) =>
        (SqlCalendar.DaysFromCivil(year, month, day) * SqlCalendar.MicrosPerDay) + ((((hour * 60L) + minute) * 60 + second) * 1_000_000) + micros;

    // Expected spellings are what PostgreSQL 15 prints for the same double.
    [Theory]
    [InlineData(1e20, "1e+20")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e15, "1e+15")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e14, "100000000000000")]
    [InlineData(123456789012345.6, "123456789012345.6")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00001, "1e-05")]
    [InlineData(1.25e-5, "1.25e-05")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(0.30000000000000004, "0.30000000000000004")]
    [InlineData(100.0, "100")]
    [InlineData(-2.5, "-2.5")]
    [InlineData(0.0, "0")]
    [InlineData(-0.0, "-0")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    [InlineData(double.NegativeInfinity, "-Infinity")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1.2345678901234567e16, "1.2345678901234568e+16")]
    [InlineData(-1e-100, "-1e-100")]
    [InlineData(9007199254740993.0, "9.007199254740992e+15")]
    [InlineData(2.452933845321151e16, "2.4529338453211512e+16")]
    [InlineData(4.673972976555938e16, "4.6739729765559376e+16")]
    [InlineData(1e23, "9.999999999999999e+22")]
    public void FormatFloat64_MatchesPostgres(double value, string expected)
    {
        Assert.Equal(expected, DatumText.Format(Datum.FromFloat64(value), SqlType.Float64));
    }

    [Theory]
    [InlineData(2024, 2, 29, 13, 5, 9, 0L, "2024-02-29 13:05:09")]
    [InlineData(2024, 2, 29, 13, 5, 9, 500_000L, "2024-02-29 13:05:09.5")]
    [InlineData(2024, 2, 29, 0, 0, 0, 1L, "2024-02-29 00:00:00.000001")]
    [InlineData(1969, 12, 31, 23, 59, 59, 999_999L, "1969-12-31 23:59:59.999999")]
    [InlineData(1, 1, 1, 0, 0, 0, 0L, "0001-01-01 00:00:00")]
    [InlineData(0, 1, 1, 10, 0, 0, 500_000L, "0001-01-01 10:00:00.5 BC")]
    [InlineData(-4713, 11, 24, 0, 0, 0, 0L, "4714-11-24 00:00:00 BC")]
    [InlineData(12345, 6, 7, 8, 9, 10, 120_000L, "12345-06-07 08:09:10.12")]
    public void FormatTimestamp_MatchesPostgres(long year, int month, int day, int hour, int minute, int second, long micros, string expected)
    {
        Datum value = Datum.FromTimestamp(Micros(year, month, day, hour, minute, second, micros));
        Assert.Equal(expected, DatumText.Format(value, SqlType.Timestamp));
        Assert.Equal(value, Parse(expected, SqlType.Timestamp));
    }

    [Theory]
    [InlineData(1970, 1, 1, "1970-01-01")]
    [InlineData(2000, 2, 29, "2000-02-29")]
    [InlineData(0, 12, 31, "0001-12-31 BC")]
    [InlineData(-4713, 11, 24, "4714-11-24 BC")]
    [InlineData(5874897, 12, 31, "5874897-12-31")]
    [InlineData(999, 3, 4, "0999-03-04")]
    public void FormatDate_MatchesPostgres(long year, int month, int day, string expected)
    {
        Datum value = Datum.FromDate(SqlCalendar.DaysFromCivil(year, month, day));
        Assert.Equal(expected, DatumText.Format(value, SqlType.Date));
        Assert.Equal(value, Parse(expected, SqlType.Date));
    }

    [Fact]
    public void FormatScalars()
    {
        Assert.Equal("t", DatumText.Format(Datum.FromBool(true), SqlType.Bool));
        Assert.Equal("f", DatumText.Format(Datum.FromBool(false), SqlType.Bool));
        Assert.Equal("-9223372036854775808", DatumText.Format(Datum.FromInt64(long.MinValue), SqlType.Int64));
        Assert.Equal("1.50", DatumText.Format(Datum.FromDecimal(1.50m), SqlType.Numeric));
        Assert.Equal("0.00", DatumText.Format(Datum.FromDecimal(-0.00m), SqlType.Numeric));
        Assert.Equal("it's", DatumText.Format(Datum.FromString("it's"), SqlType.Text));
        Assert.Throws<ArgumentException>(() => DatumText.Format(Datum.Null, SqlType.Int32));
    }

    [Theory]
    [InlineData("t", true)]
    [InlineData("TRUE", true)]
    [InlineData(" tr ", true)]
    [InlineData("yes", true)]
    [InlineData("y", true)]
    [InlineData("on", true)]
    [InlineData("1", true)]
    [InlineData("f", false)]
    [InlineData("False", false)]
    [InlineData("no", false)]
    [InlineData("off", false)]
    [InlineData("of", false)]
    [InlineData("0", false)]
    public void ParseBool_AcceptsPostgresSpellings(string text, bool expected)
    {
        Assert.Equal(expected, Parse(text, SqlType.Bool).AsBool);
    }

    [Theory]
    [InlineData("o")]
    [InlineData("")]
    [InlineData("truee")]
    [InlineData("2")]
    [InlineData("onn")]
    public void ParseBool_RejectsOthers(string text)
    {
        AssertParseError(text, SqlType.Bool, "22P02", $"invalid input syntax for type boolean: \"{text}\"");
    }

    [Fact]
    public void ParseIntegers_TrimSignAndRange()
    {
        Assert.Equal(12, Parse("  12  ", SqlType.Int32).AsInt64);
        Assert.Equal(5, Parse("+5", SqlType.Int16).AsInt64);
        Assert.Equal(-32768, Parse("-32768", SqlType.Int16).AsInt64);
        Assert.Equal(long.MinValue, Parse("-9223372036854775808", SqlType.Int64).AsInt64);
        Assert.Equal(long.MaxValue, Parse("9223372036854775807", SqlType.Int64).AsInt64);
        AssertParseError("32768", SqlType.Int16, "22003", "value \"32768\" is out of range for type smallint");
        AssertParseError("2147483648", SqlType.Int32, "22003", "value \"2147483648\" is out of range for type integer");
        AssertParseError("9223372036854775808", SqlType.Int64, "22003", "value \"9223372036854775808\" is out of range for type bigint");
        AssertParseError("99999999999999999999999", SqlType.Int64, "22003", "value \"99999999999999999999999\" is out of range for type bigint");
        AssertParseError("abc", SqlType.Int32, "22P02", "invalid input syntax for type integer: \"abc\"");
        AssertParseError("1.5", SqlType.Int32, "22P02", "invalid input syntax for type integer: \"1.5\"");
        AssertParseError("", SqlType.Int64, "22P02", "invalid input syntax for type bigint: \"\"");
        AssertParseError("-", SqlType.Int32, "22P02", "invalid input syntax for type integer: \"-\"");
        AssertParseError("1 2", SqlType.Int32, "22P02", "invalid input syntax for type integer: \"1 2\"");
    }

    [Fact]
    public void ParseFloat64_SpecialsRangeAndSyntax()
    {
        Assert.Equal(1.5, Parse(" 1.5 ", SqlType.Float64).AsFloat64);
        Assert.Equal(1500.0, Parse("1.5e3", SqlType.Float64).AsFloat64);
        Assert.Equal(0.5, Parse(".5", SqlType.Float64).AsFloat64);
        Assert.Equal(double.PositiveInfinity, Parse("Infinity", SqlType.Float64).AsFloat64);
        Assert.Equal(double.NegativeInfinity, Parse("-inf", SqlType.Float64).AsFloat64);
        Assert.True(double.IsNaN(Parse("nan", SqlType.Float64).AsFloat64));
        Assert.Equal(5e-324, Parse("5e-324", SqlType.Float64).AsFloat64);
        Assert.True(double.IsNegative(Parse("-0", SqlType.Float64).AsFloat64));
        AssertParseError("1e400", SqlType.Float64, "22003", "\"1e400\" is out of range for type double precision");
        AssertParseError("1e-400", SqlType.Float64, "22003", "\"1e-400\" is out of range for type double precision");
        AssertParseError("abc", SqlType.Float64, "22P02", "invalid input syntax for type double precision: \"abc\"");
        AssertParseError("1,5", SqlType.Float64, "22P02", "invalid input syntax for type double precision: \"1,5\"");
        AssertParseError("1e", SqlType.Float64, "22P02", "invalid input syntax for type double precision: \"1e\"");
    }

    [Fact]
    public void ParseNumeric_KeepsScale_AppliesModifier()
    {
        Assert.Equal("1500", DatumText.Format(Parse(" 1.5e3 ", SqlType.Numeric), SqlType.Numeric));
        Assert.Equal("0.150", DatumText.Format(Parse("1.50e-1", SqlType.Numeric), SqlType.Numeric));
        Assert.Equal("1.00", DatumText.Format(Parse("1.00", SqlType.Numeric), SqlType.Numeric));
        Assert.Equal("0", DatumText.Format(Parse("-0", SqlType.Numeric), SqlType.Numeric));
        Assert.Equal("1.3", DatumText.Format(Parse("1.25", SqlType.NumericOf(3, 1)), SqlType.Numeric));
        AssertParseError("100", SqlType.NumericOf(3, 1), "22003", "numeric field overflow");
        AssertParseError("abc", SqlType.Numeric, "22P02", "invalid input syntax for type numeric: \"abc\"");
        AssertParseError("1e100", SqlType.Numeric, "22003", "value overflows numeric format");
        Assert.False(DatumText.TryParse("NaN", SqlType.Numeric, out _, out EvalError? error));
        Assert.Equal("0A000", error.SqlState);
    }

    [Fact]
    public void ParseVarchar_RejectsLongerUnlessOnlySpaces()
    {
        Assert.Equal("ab", Parse("ab", SqlType.VarcharOf(2)).AsString);
        Assert.Equal("ab", Parse("ab  ", SqlType.VarcharOf(2)).AsString);
        Assert.Equal("abc", Parse("abc", SqlType.Varchar).AsString);
        AssertParseError("abc", SqlType.VarcharOf(2), "22001", "value too long for type character varying(2)");
        Assert.Equal("  x  ", Parse("  x  ", SqlType.Text).AsString);
    }

    [Fact]
    public void ParseDate_IsoFormsAndErrors()
    {
        long day = SqlCalendar.DaysFromCivil(2024, 1, 2);
        Assert.Equal(day, Parse("2024-01-02", SqlType.Date).AsDate);
        Assert.Equal(day, Parse(" 2024-1-2 ", SqlType.Date).AsDate);
        Assert.Equal(day, Parse("2024-01-02 10:00+02", SqlType.Date).AsDate);
        Assert.Equal(SqlCalendar.DaysFromCivil(-2023, 1, 1), Parse("2024-01-01BC", SqlType.Date).AsDate);
        Assert.Equal(0, Parse("epoch", SqlType.Date).AsDate);
        AssertParseError("2024-02-30", SqlType.Date, "22008", "date/time field value out of range: \"2024-02-30\"");
        AssertParseError("2023-02-29", SqlType.Date, "22008", "date/time field value out of range: \"2023-02-29\"");
        AssertParseError("2024-13-01", SqlType.Date, "22008", "date/time field value out of range: \"2024-13-01\"");
        AssertParseError("0000-01-01", SqlType.Date, "22008", "date/time field value out of range: \"0000-01-01\"");
        AssertParseError("abc", SqlType.Date, "22007", "invalid input syntax for type date: \"abc\"");
        AssertParseError("2024-01", SqlType.Date, "22007", "invalid input syntax for type date: \"2024-01\"");
        AssertParseError("5874898-01-01", SqlType.Date, "22008", "date out of range: \"5874898-01-01\"");
        AssertParseError("4714-11-23 BC", SqlType.Date, "22008", "date out of range: \"4714-11-23 BC\"");
        Assert.False(DatumText.TryParse("today", SqlType.Date, out _, out EvalError? error));
        Assert.Equal("0A000", error.SqlState);
    }

    [Fact]
    public void ParseTimestamp_IsoFormsRoundingAndErrors()
    {
        Assert.Equal(Micros(2024, 1, 2, 3, 4), Parse("2024-1-2T3:04", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 2), Parse("2024-01-02", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 2, 0, 0, 0), Parse("2024-01-01 24:00:00", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 1, 10, 0, 0, 123_456), Parse("2024-01-01 10:00:00.1234565", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 1, 10, 0, 0, 123_458), Parse("2024-01-01 10:00:00.1234575", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 1, 10, 0, 0, 123_457), Parse("2024-01-01 10:00:00.12345651", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 1, 10), Parse("2024-01-01 10:00:00+05:30", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 1, 10), Parse("2024-01-01T10:00:00Z", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(-2023, 1, 1, 10), Parse("2024-01-01 10:00 BC", SqlType.Timestamp).AsTimestamp);
        Assert.Equal(Micros(2024, 1, 2), Parse("2024-01-01 23:59:60", SqlType.Timestamp).AsTimestamp);
        AssertParseError("2024-01-01 25:00", SqlType.Timestamp, "22008", "date/time field value out of range: \"2024-01-01 25:00\"");
        AssertParseError("2024-01-01 23:59:60.5", SqlType.Timestamp, "22008", "date/time field value out of range: \"2024-01-01 23:59:60.5\"");
        AssertParseError("2024-01-01 10:60", SqlType.Timestamp, "22008", "date/time field value out of range: \"2024-01-01 10:60\"");
        AssertParseError("x", SqlType.Timestamp, "22007", "invalid input syntax for type timestamp: \"x\"");
        AssertParseError("2024-01-01 10", SqlType.Timestamp, "22007", "invalid input syntax for type timestamp: \"2024-01-01 10\"");
        AssertParseError("2024-01-01 10:00 xyz", SqlType.Timestamp, "22007", "invalid input syntax for type timestamp: \"2024-01-01 10:00 xyz\"");
        AssertParseError("294248-01-01", SqlType.Timestamp, "22008", "timestamp out of range: \"294248-01-01\"");
        AssertParseError("999999999-01-01", SqlType.Timestamp, "22008", "timestamp out of range: \"999999999-01-01\"");
    }

    [Fact]
    public void Calendar_AgreesWithTheBclOverItsRange()
    {
        var date = new DateOnly(1, 1, 1);
        long days = SqlCalendar.DaysFromCivil(1, 1, 1);
        for (int i = 0; i < 3_652_059; i += 997)
        {
            DateOnly expected = date.AddDays(i);
            (long year, int month, int day) = SqlCalendar.CivilFromDays(days + i);
            Assert.Equal((expected.Year, expected.Month, expected.Day), ((int)year, month, day));
            Assert.Equal(days + i, SqlCalendar.DaysFromCivil(expected.Year, expected.Month, expected.Day));
        }
        Assert.Equal(0, SqlCalendar.DaysFromCivil(1970, 1, 1));
        Assert.Equal(-1, SqlCalendar.DaysOfTimestamp(-1));
    }

    [Fact]
    public void FormatThenParse_GivesTheSameDatum_ForRandomValuesOfEveryType()
    {
        // Seeded: a failure names the seed and the value, and replays.
        const int seed = 20240229;
        var random = new Random(seed);
        for (int i = 0; i < 2000; i++)
        {
            foreach ((SqlType type, Datum value) in RandomValues(random))
            {
                string text = DatumText.Format(value, type);
                Assert.True(DatumText.TryParse(text, type, out Datum parsed, out EvalError? error), $"seed {seed}, {type}: \"{text}\" did not parse: {error}");
                Assert.True(value.Equals(parsed), $"seed {seed}, {type}: {value} printed as \"{text}\" read back as {parsed}");
                Assert.Equal(text, DatumText.Format(parsed, type));
            }
        }
    }

    private static (SqlType, Datum)[] RandomValues(Random random)
    {
        double float64 = random.Next(4) switch
        {
            // Any bit pattern: subnormals, infinities, NaN payloads, huge and tiny exponents.
            0 => BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue)),
            1 => random.NextDouble() * Math.Pow(10, random.Next(-30, 30)),
            2 => -random.NextDouble(),
            _ => random.Next(-1000, 1000),
        };
        if (double.IsNaN(float64))
        {
            // NaN has many bit patterns; PostgreSQL (and our text form) has one.
            float64 = double.NaN;
        }
        int scale = random.Next(0, 12);
        decimal numeric = new decimal(random.Next(), random.Next(), random.Next(0, 1000), random.Next(2) == 0, (byte)scale);
        long dateDays = random.NextInt64(SqlCalendar.DateMinDays, SqlCalendar.DateMaxDays + 1);
        long timestamp = random.Next(3) == 0
            ? random.NextInt64(SqlCalendar.TimestampMinMicros, SqlCalendar.TimestampMaxMicros + 1)
            : random.NextInt64(-5_000_000_000_000_000, 5_000_000_000_000_000) / 1_000_000 * 1_000_000;
        var text = new char[random.Next(0, 12)];
        for (int i = 0; i < text.Length; i++)
        {
            text[i] = (char)random.Next(0x20, 0x7f);
        }
        string randomText = new(text);
        return
        [
            (SqlType.Bool, Datum.FromBool(random.Next(2) == 0)),
            (SqlType.Int16, Datum.FromInt64(random.Next(short.MinValue, short.MaxValue + 1))),
            (SqlType.Int32, Datum.FromInt64(random.NextInt64(int.MinValue, (long)int.MaxValue + 1))),
            (SqlType.Int64, Datum.FromInt64(random.NextInt64(long.MinValue, long.MaxValue))),
            (SqlType.Float64, Datum.FromFloat64(float64)),
            (SqlType.Numeric, Datum.FromDecimal(numeric == 0 ? decimal.Zero : numeric)),
            (SqlType.Text, Datum.FromString(randomText)),
            (SqlType.VarcharOf(12), Datum.FromString(randomText)),
            (SqlType.Date, Datum.FromDate(dateDays)),
            (SqlType.Timestamp, Datum.FromTimestamp(timestamp)),
        ];
    }

    [Fact]
    public void FormatNumeric_IsInvariant()
    {
        Assert.Equal("-12345.678", DatumText.Format(Datum.FromDecimal(decimal.Parse("-12345.678", CultureInfo.InvariantCulture)), SqlType.Numeric));
    }
}
