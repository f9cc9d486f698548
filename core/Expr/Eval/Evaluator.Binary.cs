using System;
using System.Diagnostics.CodeAnalysis;
using Kernel.Expr.Text;
using Kernel.Persist.Data;

namespace Kernel.Expr.Eval;

/// <summary>Functions of two arguments: arithmetic, comparisons, string operators, round(numeric, int), power.</summary>
public static partial class Evaluator
{
    private static readonly EvalError s_smallintOutOfRange = EvalError.OutOfRange("smallint");
    private static readonly EvalError s_integerOutOfRange = EvalError.OutOfRange("integer");
    private static readonly EvalError s_bigintOutOfRange = EvalError.OutOfRange("bigint");
    private static readonly EvalError s_floatOverflow = new("22003", "value out of range: overflow");
    private static readonly EvalError s_floatUnderflow = new("22003", "value out of range: underflow");
    private static readonly EvalError s_dateOutOfRange = new("22008", "date out of range");
    private static readonly EvalError s_zeroToNegativePower = new("2201F", "zero raised to a negative power is undefined");
    private static readonly EvalError s_complexPower = new("2201F", "a negative number raised to a non-integer power yields a complex result");

    private static bool TryEvalBinary(CallBinary call, ReadOnlySpan<Datum> row, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        // Both operands are evaluated (an error in either is the result) before NULL is considered, as PostgreSQL
        // evaluates every argument of a strict function.
        if (!TryEval(call.Left, row, out Datum left, out error) || !TryEval(call.Right, row, out Datum right, out error))
        {
            value = Datum.Null;
            return false;
        }
        if (call.Func == BinaryFunc.IsDistinctFrom)
        {
            if (left.IsNull || right.IsNull)
            {
                return Ok(Datum.FromBool(left.IsNull != right.IsNull), out value, out error);
            }
            if (!TryCompare(left, right, out int order, out error))
            {
                value = Datum.Null;
                return false;
            }
            return Ok(Datum.FromBool(order != 0), out value, out error);
        }
        if (left.IsNull || right.IsNull)
        {
            return Ok(Datum.Null, out value, out error);
        }
        switch (call.Func)
        {
            case BinaryFunc.Add:
            case BinaryFunc.Sub:
            case BinaryFunc.Mul:
            case BinaryFunc.Div:
            case BinaryFunc.Mod:
                return TryArithmetic(call.Func, left, right, call.ResultType.Type.Kind, out value, out error);
            case BinaryFunc.Eq:
            case BinaryFunc.NotEq:
            case BinaryFunc.Lt:
            case BinaryFunc.Lte:
            case BinaryFunc.Gt:
            case BinaryFunc.Gte:
            {
                if (!TryCompare(left, right, out int order, out error))
                {
                    value = Datum.Null;
                    return false;
                }
                bool result = call.Func switch
                {
                    BinaryFunc.Eq => order == 0,
                    BinaryFunc.NotEq => order != 0,
                    BinaryFunc.Lt => order < 0,
                    BinaryFunc.Lte => order <= 0,
                    BinaryFunc.Gt => order > 0,
                    _ => order >= 0,
                };
                return Ok(Datum.FromBool(result), out value, out error);
            }
            case BinaryFunc.Concat:
            {
                string leftText = left.Kind == DatumKind.String ? left.AsString : DatumText.Format(left, call.Left.Type.Type);
                string rightText = right.Kind == DatumKind.String ? right.AsString : DatumText.Format(right, call.Right.Type.Type);
                return Ok(Datum.FromString(string.Concat(leftText, rightText)), out value, out error);
            }
            case BinaryFunc.Like:
            case BinaryFunc.ILike:
                if (left.Kind != DatumKind.String || right.Kind != DatumKind.String)
                {
                    return Fail(Internal($"{call.Func} on {left.Kind} and {right.Kind}, not strings"), out value, out error);
                }
                return TryLike(left.AsString, right.AsString, call.Func == BinaryFunc.ILike, out value, out error);
            case BinaryFunc.RoundTo:
                return TryRoundTo(left, right, out value, out error);
            case BinaryFunc.Power:
                return TryPower(left, right, out value, out error);
            default:
                return Fail(Internal($"unknown binary function {call.Func}"), out value, out error);
        }
    }

    /// <summary>
    /// SQL value order of two non-NULL values of one type: numbers by value (float8 NaN equals NaN and sorts
    /// above every other value, -0 equals 0; numeric 1.0 equals 1.00), strings ordinally (UTF-16 code units, as
    /// <see cref="Datum"/> orders them). Unlike <see cref="Datum.CompareTo"/>, never breaks ties by bits.
    /// </summary>
    /// <returns>False with an XX000 error when the kinds differ or either value is NULL (a planner bug).</returns>
    public static bool TryCompare(Datum left, Datum right, out int order, [NotNullWhen(false)] out EvalError? error)
    {
        error = null;
        if (left.Kind != right.Kind || left.IsNull)
        {
            order = 0;
            error = Internal($"cannot compare {left.Kind} with {right.Kind}");
            return false;
        }
        order = left.Kind switch
        {
            DatumKind.Bool => left.AsBool.CompareTo(right.AsBool),
            DatumKind.Int64 => left.AsInt64.CompareTo(right.AsInt64),
            DatumKind.Float64 => CompareFloat64(left.AsFloat64, right.AsFloat64),
            DatumKind.Decimal => decimal.Compare(left.AsDecimal, right.AsDecimal),
            DatumKind.String => Math.Sign(string.CompareOrdinal(left.AsString, right.AsString)),
            DatumKind.Date => left.AsDate.CompareTo(right.AsDate),
            DatumKind.Timestamp => left.AsTimestamp.CompareTo(right.AsTimestamp),
            _ => left.CompareTo(right),
        };
        return true;
    }

    /// <summary>PostgreSQL's float8 order: NaN equals NaN and is above everything, including Infinity.</summary>
    public static int CompareFloat64(double left, double right)
    {
        if (double.IsNaN(left))
        {
            return double.IsNaN(right) ? 0 : 1;
        }
        if (double.IsNaN(right))
        {
            return -1;
        }
        return left < right ? -1 : left > right ? 1 : 0;
    }

    private static EvalError IntegerOutOfRange(SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => s_smallintOutOfRange,
        SqlTypeKind.Int32 => s_integerOutOfRange,
        _ => s_bigintOutOfRange,
    };

    private static bool IntegerResult(long result, SqlTypeKind kind, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (!DatumText.IntegerFits(result, kind))
        {
            return Fail(IntegerOutOfRange(kind), out value, out error);
        }
        return Ok(Datum.FromInt64(result), out value, out error);
    }

    private static bool TryArithmetic(BinaryFunc func, Datum left, Datum right, SqlTypeKind resultKind, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (left.Kind == right.Kind)
        {
            switch (left.Kind)
            {
                case DatumKind.Int64:
                    return TryIntegerArithmetic(func, left.AsInt64, right.AsInt64, resultKind, out value, out error);
                case DatumKind.Float64:
                    return TryFloatArithmetic(func, left.AsFloat64, right.AsFloat64, out value, out error);
                case DatumKind.Decimal:
                    return TryNumericArithmetic(func, left.AsDecimal, right.AsDecimal, out value, out error);
                case DatumKind.Date when func == BinaryFunc.Sub:
                    // date - date is the number of days between them (an integer).
                    return IntegerResult(left.AsDate - right.AsDate, SqlTypeKind.Int32, out value, out error);
                default:
                    break;
            }
        }
        // date + integer, integer + date and date - integer move by whole days.
        if (left.Kind == DatumKind.Date && right.Kind == DatumKind.Int64 && func is BinaryFunc.Add or BinaryFunc.Sub)
        {
            return DateResult(func == BinaryFunc.Add ? left.AsDate + right.AsInt64 : left.AsDate - right.AsInt64, out value, out error);
        }
        if (left.Kind == DatumKind.Int64 && right.Kind == DatumKind.Date && func == BinaryFunc.Add)
        {
            return DateResult(right.AsDate + left.AsInt64, out value, out error);
        }
        return Fail(Internal($"{func} is not defined on {left.Kind} and {right.Kind}"), out value, out error);
    }

    private static bool DateResult(long days, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        // Operands are in date range and the integer is at most 32 bits, so the sum cannot overflow a long.
        if (days < SqlCalendar.DateMinDays || days > SqlCalendar.DateMaxDays)
        {
            return Fail(s_dateOutOfRange, out value, out error);
        }
        return Ok(Datum.FromDate(days), out value, out error);
    }

    private static bool TryIntegerArithmetic(BinaryFunc func, long left, long right, SqlTypeKind resultKind, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        long result;
        switch (func)
        {
            case BinaryFunc.Add:
                result = unchecked(left + right);
                // Overflow iff both operands have the same sign and the result's sign differs.
                if (((left ^ result) & (right ^ result)) < 0)
                {
                    return Fail(IntegerOutOfRange(resultKind), out value, out error);
                }
                break;
            case BinaryFunc.Sub:
                result = unchecked(left - right);
                if (((left ^ right) & (left ^ result)) < 0)
                {
                    return Fail(IntegerOutOfRange(resultKind), out value, out error);
                }
                break;
            case BinaryFunc.Mul:
            {
                long high = Math.BigMul(left, right, out long low);
                if (high != (low >> 63))
                {
                    return Fail(IntegerOutOfRange(resultKind), out value, out error);
                }
                result = low;
                break;
            }
            case BinaryFunc.Div:
                if (right == 0)
                {
                    return Fail(EvalError.DivisionByZero, out value, out error);
                }
                if (right == -1)
                {
                    // long.MinValue / -1 overflows (and traps in .NET); for narrower types the range check decides.
                    if (left == long.MinValue)
                    {
                        return Fail(IntegerOutOfRange(resultKind), out value, out error);
                    }
                    result = -left;
                    break;
                }
                result = left / right;
                break;
            case BinaryFunc.Mod:
                if (right == 0)
                {
                    return Fail(EvalError.DivisionByZero, out value, out error);
                }
                // x % -1 is 0 for every x, including the minimum that x / -1 would overflow on.
                result = right == -1 ? 0 : left % right;
                break;
            default:
                return Fail(Internal($"{func} is not arithmetic"), out value, out error);
        }
        return IntegerResult(result, resultKind, out value, out error);
    }

    private static bool TryFloatArithmetic(BinaryFunc func, double left, double right, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        double result;
        bool infiniteInput = double.IsInfinity(left) || double.IsInfinity(right);
        switch (func)
        {
            case BinaryFunc.Add:
                result = left + right;
                break;
            case BinaryFunc.Sub:
                result = left - right;
                break;
            case BinaryFunc.Mul:
                result = left * right;
                if (result == 0 && left != 0 && right != 0 && !infiniteInput)
                {
                    return Fail(s_floatUnderflow, out value, out error);
                }
                break;
            case BinaryFunc.Div:
                if (right == 0 && !double.IsNaN(left))
                {
                    return Fail(EvalError.DivisionByZero, out value, out error);
                }
                result = left / right;
                if (double.IsInfinity(result) && !double.IsInfinity(left))
                {
                    return Fail(s_floatOverflow, out value, out error);
                }
                if (result == 0 && left != 0 && !double.IsInfinity(right))
                {
                    return Fail(s_floatUnderflow, out value, out error);
                }
                return Ok(Datum.FromFloat64(result), out value, out error);
            case BinaryFunc.Mod:
                // PostgreSQL has no float8 %; this is fmod for plans that ask for it.
                if (right == 0 && !double.IsNaN(left))
                {
                    return Fail(EvalError.DivisionByZero, out value, out error);
                }
                result = left % right;
                break;
            default:
                return Fail(Internal($"{func} is not arithmetic"), out value, out error);
        }
        if (double.IsInfinity(result) && !infiniteInput)
        {
            return Fail(s_floatOverflow, out value, out error);
        }
        return Ok(Datum.FromFloat64(result), out value, out error);
    }

    private static bool TryNumericArithmetic(BinaryFunc func, decimal left, decimal right, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (func is BinaryFunc.Div or BinaryFunc.Mod && right == 0)
        {
            return Fail(EvalError.DivisionByZero, out value, out error);
        }
        decimal result;
        try
        {
            result = func switch
            {
                BinaryFunc.Add => left + right,
                BinaryFunc.Sub => left - right,
                BinaryFunc.Mul => left * right,
                // PostgreSQL picks the quotient's scale (at least 16 significant digits); decimal would use 28.
                BinaryFunc.Div => Numerics.WithScale(left / right, Numerics.DivisionScale(left, right)),
                _ => left % right,
            };
        }
        catch (OverflowException)
        {
            return Fail(Numerics.NumericOverflow, out value, out error);
        }
        return Ok(Datum.FromDecimal(Numerics.Normalize(result)), out value, out error);
    }

    /// <summary>round(numeric, integer): half away from zero to that many places (negative: tens, hundreds, ...), shown with that scale.</summary>
    private static bool TryRoundTo(Datum left, Datum right, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (left.Kind != DatumKind.Decimal || right.Kind != DatumKind.Int64)
        {
            return Fail(Internal($"round is defined on numeric and integer, not {left.Kind} and {right.Kind}"), out value, out error);
        }
        decimal operand = left.AsDecimal;
        long places = right.AsInt64;
        if (places >= 0)
        {
            return Ok(Datum.FromDecimal(Numerics.WithScale(operand, (int)Math.Min(places, Numerics.ScaleMax))), out value, out error);
        }
        if (places < -Numerics.ScaleMax)
        {
            return Ok(Datum.FromDecimal(0m), out value, out error);
        }
        decimal unit = Numerics.PowerOfTen((int)-places);
        try
        {
            decimal rounded = Math.Round(operand / unit, 0, MidpointRounding.AwayFromZero) * unit;
            return Ok(Datum.FromDecimal(Numerics.WithScale(rounded, 0)), out value, out error);
        }
        catch (OverflowException)
        {
            return Fail(Numerics.NumericOverflow, out value, out error);
        }
    }

    /// <summary>power(a, b): float8 with PostgreSQL's domain errors; numeric exactly for integer exponents.</summary>
    private static bool TryPower(Datum left, Datum right, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (left.Kind == DatumKind.Decimal && right.Kind == DatumKind.Decimal)
        {
            return TryPowerNumeric(left.AsDecimal, right.AsDecimal, out value, out error);
        }
        if (left.Kind != DatumKind.Float64 || right.Kind != DatumKind.Float64)
        {
            return Fail(Internal($"power is defined on double precision or numeric, not {left.Kind} and {right.Kind}"), out value, out error);
        }
        double x = left.AsFloat64;
        double y = right.AsFloat64;
        if (double.IsNaN(x))
        {
            return Ok(Datum.FromFloat64(y == 0 ? 1.0 : double.NaN), out value, out error);
        }
        if (double.IsNaN(y))
        {
            return Ok(Datum.FromFloat64(x == 1 ? 1.0 : double.NaN), out value, out error);
        }
        if (x == 0 && y < 0)
        {
            return Fail(s_zeroToNegativePower, out value, out error);
        }
        if (x < 0 && Math.Floor(y) != y)
        {
            return Fail(s_complexPower, out value, out error);
        }
        double result = Math.Pow(x, y);
        if (double.IsInfinity(result) && !double.IsInfinity(x) && !double.IsInfinity(y))
        {
            return Fail(s_floatOverflow, out value, out error);
        }
        if (result == 0 && x != 0 && !double.IsInfinity(y))
        {
            return Fail(s_floatUnderflow, out value, out error);
        }
        return Ok(Datum.FromFloat64(result), out value, out error);
    }

    private static bool TryPowerNumeric(decimal x, decimal y, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (x == 0 && y < 0)
        {
            return Fail(s_zeroToNegativePower, out value, out error);
        }
        if (x < 0 && decimal.Truncate(y) != y)
        {
            return Fail(s_complexPower, out value, out error);
        }
        try
        {
            if (decimal.Truncate(y) == y && Math.Abs(y) <= 1_000_000)
            {
                // Exact by repeated squaring; a growing result overflows within 96 bits, a shrinking one hits zero.
                long exponent = (long)Math.Abs(y);
                decimal result = 1m;
                decimal factor = x;
                while (exponent > 0)
                {
                    if ((exponent & 1) != 0)
                    {
                        result *= factor;
                    }
                    exponent >>= 1;
                    if (exponent > 0)
                    {
                        factor *= factor;
                    }
                }
                if (y < 0)
                {
                    result = 1m / result;
                }
                return Ok(Datum.FromDecimal(Numerics.Normalize(result)), out value, out error);
            }
            double approximate = Math.Pow((double)x, (double)y);
            if (double.IsInfinity(approximate) || double.IsNaN(approximate) || Math.Abs(approximate) >= (double)decimal.MaxValue)
            {
                return Fail(Numerics.NumericOverflow, out value, out error);
            }
            return Ok(Datum.FromDecimal(Numerics.Normalize((decimal)approximate)), out value, out error);
        }
        catch (OverflowException)
        {
            return Fail(Numerics.NumericOverflow, out value, out error);
        }
    }
}
