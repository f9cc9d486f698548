using System;
using System.Diagnostics.CodeAnalysis;

namespace Kernel.Expr.Text;

/// <summary>
/// numeric helpers shared by input, casts and arithmetic: scale control, the numeric(p, s) modifier, and
/// PostgreSQL's choice of result scale for division and square root (so that <c>1/3</c> prints as PostgreSQL
/// prints it, within decimal's 28 fraction digits).
/// </summary>
internal static class Numerics
{
    /// <summary>decimal holds at most 28 digits after the point.</summary>
    public const int ScaleMax = 28;

    /// <summary>PostgreSQL's NUMERIC_MIN_SIG_DIGITS: division and sqrt give at least this many significant digits.</summary>
    private const int MinSignificantDigits = 16;

    public static EvalError NumericOverflow { get; } = new("22003", "value overflows numeric format");

    public static EvalError FieldOverflow { get; } = new("22003", "numeric field overflow");

    private static readonly decimal[] s_zeroWithScale = BuildZeros();
    private static readonly decimal[] s_powersOfTen = BuildPowersOfTen();

    private static decimal[] BuildZeros()
    {
        var zeros = new decimal[ScaleMax + 1];
        for (int scale = 0; scale <= ScaleMax; scale++)
        {
            zeros[scale] = new decimal(0, 0, 0, false, (byte)scale);
        }
        return zeros;
    }

    private static decimal[] BuildPowersOfTen()
    {
        var powers = new decimal[ScaleMax + 1];
        decimal power = 1m;
        for (int exponent = 0; exponent <= ScaleMax; exponent++)
        {
            powers[exponent] = power;
            if (exponent < ScaleMax)
            {
                power *= 10m;
            }
        }
        return powers;
    }

    /// <summary>10^exponent for exponent in [0, 28].</summary>
    public static decimal PowerOfTen(int exponent) => s_powersOfTen[exponent];

    /// <summary>PostgreSQL has no negative zero: a zero keeps its scale and loses its sign.</summary>
    public static decimal Normalize(decimal value) => value == 0 && decimal.IsNegative(value) ? s_zeroWithScale[value.Scale] : value;

    /// <summary>
    /// value rounded half away from zero (PostgreSQL's numeric rounding) to exactly <paramref name="scale"/> digits
    /// after the point (padded with zeros), as far as decimal's 28–29 significant digits allow.
    /// </summary>
    public static decimal WithScale(decimal value, int scale)
    {
        scale = Math.Clamp(scale, 0, ScaleMax);
        decimal result = value.Scale > scale ? Math.Round(value, scale, MidpointRounding.AwayFromZero) : value;
        if (result.Scale < scale)
        {
            // decimal addition keeps the larger scale (reduced only when the digits would not fit).
            result += s_zeroWithScale[scale];
        }
        return Normalize(result);
    }

    /// <summary>Applies numeric(p, s): rounds to scale s, and fails with 22003 when the integer digits exceed p - s.</summary>
    public static bool TryApplyNumericModifier(decimal value, SqlType type, out decimal result, [NotNullWhen(false)] out EvalError? error)
    {
        error = null;
        if (type.Precision < 0)
        {
            result = Normalize(value);
            return true;
        }
        int scale = Math.Max(type.Scale, 0);
        result = WithScale(value, scale);
        int integerDigitsMax = type.Precision - scale;
        if (integerDigitsMax <= ScaleMax && Math.Abs(result) >= s_powersOfTen[Math.Max(integerDigitsMax, 0)])
        {
            error = FieldOverflow;
            return false;
        }
        return true;
    }

    /// <summary>
    /// The weight (power of 10000) and first base-10000 digit of a nonzero value, as PostgreSQL's NumericVar holds
    /// them: 1234.5 has weight 0 and first digit 1234; 0.001 has weight -1 and first digit 10.
    /// </summary>
    private static (int Weight, int FirstDigit) BaseTenThousand(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        UInt128 mantissa = new UInt128(0, ((ulong)(uint)bits[2] << 32) | (uint)bits[1]) << 32 | (uint)bits[0];
        int digits = 0;
        for (UInt128 rest = mantissa; rest != 0; rest /= 10)
        {
            digits++;
        }
        int decimalExponent = digits - 1 - value.Scale;
        int weight = (int)Math.Floor(decimalExponent / 4.0);
        int leadingDigits = decimalExponent - (4 * weight) + 1;
        // Shift the mantissa so that exactly leadingDigits digits remain (0.08 has first digit 800: 0.0800).
        UInt128 first = mantissa;
        for (int i = digits; i > leadingDigits; i--)
        {
            first /= 10;
        }
        for (int i = digits; i < leadingDigits; i++)
        {
            first *= 10;
        }
        return (weight, (int)first);
    }

    /// <summary>PostgreSQL's select_div_scale: enough scale for 16 significant digits, and not less than either input's.</summary>
    public static int DivisionScale(decimal dividend, decimal divisor)
    {
        (int weight1, int first1) = dividend == 0 ? (0, 0) : BaseTenThousand(dividend);
        (int weight2, int first2) = BaseTenThousand(divisor);
        int quotientWeight = weight1 - weight2;
        if (first1 <= first2)
        {
            quotientWeight--;
        }
        int scale = MinSignificantDigits - (quotientWeight * 4);
        scale = Math.Max(scale, Math.Max(dividend.Scale, divisor.Scale));
        return Math.Clamp(scale, 0, ScaleMax);
    }

    /// <summary>PostgreSQL's numeric_sqrt result scale.</summary>
    public static int SqrtScale(decimal value)
    {
        int weight = value == 0 ? 0 : BaseTenThousand(value).Weight;
        int sqrtWeight = ((weight + 1) * 4 / 2) - 1;
        int scale = Math.Max(MinSignificantDigits - sqrtWeight, value.Scale);
        return Math.Clamp(scale, 0, ScaleMax);
    }
}
