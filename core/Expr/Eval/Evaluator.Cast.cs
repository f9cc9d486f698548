using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Kernel.Expr.Text;
using Kernel.Persist.Data;

namespace Kernel.Expr.Eval;

/// <summary>
/// Casts between the supported types with PostgreSQL's rules: numbers among each other (numeric rounds half away
/// from zero, float8 half to even, with range checks), anything to text through its output form, text to
/// anything through its input form, varchar(n) and numeric(p, s) modifiers, date ↔ timestamp, bool ↔ integers.
/// </summary>
public static partial class Evaluator
{
    private static readonly EvalError s_dateOutOfRangeForTimestamp = new("22008", "date out of range for timestamp");

    /// <summary>
    /// Converts <paramref name="value"/> of type <paramref name="from"/> to <paramref name="to"/>. An explicit cast
    /// truncates a string that is too long for varchar(n); an implicit one (assignment) fails with 22001.
    /// NULL casts to NULL. Pairs PostgreSQL does not allow fail with 42846 whatever the value.
    /// </summary>
    public static bool TryCast(Datum value, SqlType from, SqlType to, bool isExplicit, out Datum result, [NotNullWhen(false)] out EvalError? error)
    {
        SqlTypeKind source = from.Kind == SqlTypeKind.Unknown ? SqlTypeKind.Text : from.Kind;
        SqlTypeKind target = to.Kind;
        if (!CastExists(source, target))
        {
            return Fail(new EvalError("42846", $"cannot cast type {from.Name} to {to.Name}"), out result, out error);
        }
        if (value.IsNull)
        {
            return Ok(Datum.Null, out result, out error);
        }
        if (value.Kind != from.DatumKind)
        {
            return Fail(Internal($"a {from.Name} value of kind {value.Kind}"), out result, out error);
        }

        // To strings: the output form (strings pass through), then the varchar length.
        if (target is SqlTypeKind.Text or SqlTypeKind.Varchar)
        {
            string text = value.Kind == DatumKind.String ? value.AsString : DatumText.Format(value, from);
            if (target == SqlTypeKind.Varchar && !DatumText.TryFitVarchar(text, to, isExplicit, out text, out error))
            {
                result = Datum.Null;
                return false;
            }
            return Ok(Datum.FromString(text), out result, out error);
        }
        // From strings: the input form.
        if (source is SqlTypeKind.Text or SqlTypeKind.Varchar)
        {
            return DatumText.TryParse(value.AsString, to, out result, out error);
        }

        switch (source, target)
        {
            case (SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64, SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64):
                return IntegerResult(value.AsInt64, target, out result, out error);
            case (SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64, SqlTypeKind.Float64):
                return Ok(Datum.FromFloat64(value.AsInt64), out result, out error);
            case (SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64, SqlTypeKind.Numeric):
                return NumericResult(value.AsInt64, to, out result, out error);
            case (SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64, SqlTypeKind.Bool):
                return Ok(Datum.FromBool(value.AsInt64 != 0), out result, out error);

            case (SqlTypeKind.Float64, SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64):
            {
                // rint, then the range check; 2^63 itself is already out of bigint's range.
                double rounded = Math.Round(value.AsFloat64, MidpointRounding.ToEven);
                if (double.IsNaN(rounded) || rounded < -9.2233720368547758E18 || rounded >= 9.2233720368547758E18)
                {
                    return Fail(IntegerOutOfRange(target), out result, out error);
                }
                return IntegerResult((long)rounded, target, out result, out error);
            }
            case (SqlTypeKind.Float64, SqlTypeKind.Float64):
                return Ok(value, out result, out error);
            case (SqlTypeKind.Float64, SqlTypeKind.Numeric):
                return TryFloatToNumeric(value.AsFloat64, to, out result, out error);

            case (SqlTypeKind.Numeric, SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64):
            {
                decimal rounded = Math.Round(value.AsDecimal, 0, MidpointRounding.AwayFromZero);
                if (rounded < long.MinValue || rounded > long.MaxValue)
                {
                    return Fail(IntegerOutOfRange(target), out result, out error);
                }
                return IntegerResult((long)rounded, target, out result, out error);
            }
            case (SqlTypeKind.Numeric, SqlTypeKind.Float64):
                return Ok(Datum.FromFloat64(NumericToFloat64(value.AsDecimal)), out result, out error);
            case (SqlTypeKind.Numeric, SqlTypeKind.Numeric):
                return NumericResult(value.AsDecimal, to, out result, out error);

            case (SqlTypeKind.Bool, SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64):
                return Ok(Datum.FromInt64(value.AsBool ? 1 : 0), out result, out error);
            case (SqlTypeKind.Bool, SqlTypeKind.Bool):
                return Ok(value, out result, out error);

            case (SqlTypeKind.Date, SqlTypeKind.Date):
            case (SqlTypeKind.Timestamp, SqlTypeKind.Timestamp):
                return Ok(value, out result, out error);
            case (SqlTypeKind.Date, SqlTypeKind.Timestamp):
            {
                long days = value.AsDate;
                if (days < SqlCalendar.DaysOfTimestamp(SqlCalendar.TimestampMinMicros) || days > SqlCalendar.DaysOfTimestamp(SqlCalendar.TimestampMaxMicros))
                {
                    return Fail(s_dateOutOfRangeForTimestamp, out result, out error);
                }
                return Ok(Datum.FromTimestamp(days * SqlCalendar.MicrosPerDay), out result, out error);
            }
            case (SqlTypeKind.Timestamp, SqlTypeKind.Date):
                return Ok(Datum.FromDate(SqlCalendar.DaysOfTimestamp(value.AsTimestamp)), out result, out error);
            default:
                return Fail(Internal($"cast from {from.Name} to {to.Name} has no implementation"), out result, out error);
        }
    }

    /// <summary>Whether PostgreSQL has a cast (explicit or implicit) between the two types.</summary>
    public static bool CastExists(SqlTypeKind from, SqlTypeKind to)
    {
        if (to == SqlTypeKind.Unknown)
        {
            return false;
        }
        if (from == to || from is SqlTypeKind.Text or SqlTypeKind.Varchar or SqlTypeKind.Unknown || to is SqlTypeKind.Text or SqlTypeKind.Varchar)
        {
            return true;
        }
        bool fromNumber = from is SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64 or SqlTypeKind.Float64 or SqlTypeKind.Numeric;
        bool toNumber = to is SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64 or SqlTypeKind.Float64 or SqlTypeKind.Numeric;
        bool fromInteger = from is SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64;
        bool toInteger = to is SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64;
        return (fromNumber && toNumber)
            || (from == SqlTypeKind.Bool && toInteger)
            || (fromInteger && to == SqlTypeKind.Bool)
            || (from == SqlTypeKind.Date && to == SqlTypeKind.Timestamp)
            || (from == SqlTypeKind.Timestamp && to == SqlTypeKind.Date);
    }

    private static bool NumericResult(decimal number, SqlType to, out Datum result, [NotNullWhen(false)] out EvalError? error)
    {
        if (!Numerics.TryApplyNumericModifier(number, to, out decimal fitted, out error))
        {
            result = Datum.Null;
            return false;
        }
        return Ok(Datum.FromDecimal(fitted), out result, out error);
    }

    /// <summary>PostgreSQL converts float8 to numeric through 15 significant digits (DBL_DIG), so 0.1::float8 is 0.1.</summary>
    private static bool TryFloatToNumeric(double number, SqlType to, out Datum result, [NotNullWhen(false)] out EvalError? error)
    {
        if (double.IsNaN(number) || double.IsInfinity(number))
        {
            return Fail(new EvalError("0A000", $"cannot convert {DatumText.FormatFloat64(number)} to numeric: numeric holds finite values only"), out result, out error);
        }
        Span<char> digits = stackalloc char[40];
        if (!number.TryFormat(digits, out int written, "G15", CultureInfo.InvariantCulture)
            || !decimal.TryParse(digits[..written], NumberStyles.Float, CultureInfo.InvariantCulture, out decimal parsed))
        {
            return Fail(Numerics.NumericOverflow, out result, out error);
        }
        return NumericResult(parsed, to, out result, out error);
    }

    /// <summary>Correctly rounded, as PostgreSQL's numeric_float8 (through text and strtod) is.</summary>
    private static double NumericToFloat64(decimal number)
    {
        Span<char> digits = stackalloc char[40];
        if (!number.TryFormat(digits, out int written, default, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"numeric {number} did not fit its format buffer");
        }
        return double.Parse(digits[..written], NumberStyles.Float, CultureInfo.InvariantCulture);
    }
}
