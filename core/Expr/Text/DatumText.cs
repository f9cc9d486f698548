using System;
using System.Globalization;
using System.Numerics;
using System.Text;
using Kernel.Persist.Data;

namespace Kernel.Expr.Text;

/// <summary>
/// PostgreSQL's text forms of values: the output form (what psql prints and COPY writes, and what a cast to text
/// produces) and the input form (what a client sends in text format, or a cast from text parses).
/// </summary>
/// <remarks>
/// Pure functions with no state. Output is locale-free (PostgreSQL's defaults: DateStyle ISO, extra_float_digits 1).
/// Input errors are <see cref="EvalError"/> values worded as PostgreSQL words them.
/// </remarks>
public static partial class DatumText
{
    /// <summary>
    /// PostgreSQL's text output form of <paramref name="value"/> as <paramref name="type"/>: bool <c>t</c>/<c>f</c>,
    /// integers, float8 shortest round-trip with PostgreSQL's spelling (<c>Infinity</c>, <c>NaN</c>, <c>1e+20</c>,
    /// <c>1.5e-07</c>), numeric with its scale, date <c>YYYY-MM-DD</c>, timestamp
    /// <c>YYYY-MM-DD HH:MM:SS[.ffffff]</c>, both with a <c> BC</c> suffix before year 1.
    /// </summary>
    /// <remarks>NULL has no text form: asking for one is a bug (callers write NULL their own way).</remarks>
    public static string Format(Datum value, SqlType type)
    {
        if (value.IsNull)
        {
            throw new ArgumentException($"NULL has no text form (type {type.Name}); callers handle NULL", nameof(value));
        }
        return value.Kind switch
        {
            DatumKind.Bool => value.AsBool ? "t" : "f",
            DatumKind.Int64 => value.AsInt64.ToString(CultureInfo.InvariantCulture),
            DatumKind.Float64 => FormatFloat64(value.AsFloat64),
            DatumKind.Decimal => FormatNumeric(value.AsDecimal),
            DatumKind.String => value.AsString,
            DatumKind.Date => FormatDate(value.AsDate),
            DatumKind.Timestamp => FormatTimestamp(value.AsTimestamp),
            DatumKind.Bytes => "\\x" + Convert.ToHexStringLower(value.AsBytes),
            _ => throw new InvalidOperationException($"unknown datum kind {value.Kind}"),
        };
    }

    /// <summary>
    /// float8 output as PostgreSQL 12+ writes it: the shortest digits that read back to the same double, in
    /// fixed notation when the decimal exponent is in [-4, 15) and as <c>d.ddde±XX</c> otherwise.
    /// </summary>
    public static string FormatFloat64(double value)
    {
        if (double.IsNaN(value))
        {
            return "NaN";
        }
        if (double.IsInfinity(value))
        {
            return value > 0 ? "Infinity" : "-Infinity";
        }
        if (value == 0)
        {
            return double.IsNegative(value) ? "-0" : "0";
        }
        // .NET's "R" is the shortest round-trip form (since .NET Core 3.0), like PostgreSQL's Ryu output except
        // that .NET accepts a result exactly halfway to a neighbouring double (it reads back by ties-to-even) and
        // PostgreSQL does not. Such ties need at least 2^53 in magnitude (below it every midpoint has more than
        // 17 significant digits), so only those values take the slower check, and then one more digit at a time.
        Span<char> digitBuffer = stackalloc char[40];
        bool negative = double.IsNegative(value);
        int digitCount = ShortestDigits(value, "R", digitBuffer, out int decimalExponent);
        if (Math.Abs(value) >= 9007199254740992.0)
        {
            for (int precision = digitCount + 1; precision <= 17 && !IsInsideRoundingInterval(Math.Abs(value), digitBuffer[..digitCount], decimalExponent); precision++)
            {
                digitCount = ShortestDigits(value, s_exponentFormats[precision], digitBuffer, out decimalExponent);
            }
        }
        ReadOnlySpan<char> significant = digitBuffer[..digitCount];

        var builder = new StringBuilder(32);
        if (negative)
        {
            builder.Append('-');
        }
        if (decimalExponent >= -4 && decimalExponent < 15)
        {
            if (decimalExponent >= 0)
            {
                int whole = decimalExponent + 1;
                if (significant.Length <= whole)
                {
                    builder.Append(significant).Append('0', whole - significant.Length);
                }
                else
                {
                    builder.Append(significant[..whole]).Append('.').Append(significant[whole..]);
                }
            }
            else
            {
                builder.Append("0.").Append('0', -decimalExponent - 1).Append(significant);
            }
        }
        else
        {
            builder.Append(significant[0]);
            if (significant.Length > 1)
            {
                builder.Append('.').Append(significant[1..]);
            }
            builder.Append('e').Append(decimalExponent < 0 ? '-' : '+');
            int magnitude = Math.Abs(decimalExponent);
            if (magnitude < 10)
            {
                builder.Append('0');
            }
            builder.Append(magnitude);
        }
        return builder.ToString();
    }

    /// <summary>numeric output: every digit of the scale, no exponent, and never <c>-0</c> (PostgreSQL has no negative zero).</summary>
    public static string FormatNumeric(decimal value)
    {
        string text = value.ToString(CultureInfo.InvariantCulture);
        if (value == 0 && text.StartsWith('-'))
        {
            text = text[1..];
        }
        return text;
    }

    /// <summary>date output in DateStyle ISO: <c>YYYY-MM-DD</c>, with <c> BC</c> for years before 1.</summary>
    public static string FormatDate(long days)
    {
        var builder = new StringBuilder(16);
        (long year, int month, int day) = SqlCalendar.CivilFromDays(days);
        AppendDate(builder, year, month, day);
        if (year <= 0)
        {
            builder.Append(" BC");
        }
        return builder.ToString();
    }

    /// <summary>timestamp output in DateStyle ISO: <c>YYYY-MM-DD HH:MM:SS</c>, a fraction without trailing zeros, <c> BC</c> before year 1.</summary>
    public static string FormatTimestamp(long micros)
    {
        long days = SqlCalendar.DaysOfTimestamp(micros);
        long timeOfDay = micros - (days * SqlCalendar.MicrosPerDay);
        (long year, int month, int day) = SqlCalendar.CivilFromDays(days);
        var builder = new StringBuilder(32);
        AppendDate(builder, year, month, day);
        long seconds = timeOfDay / SqlCalendar.MicrosPerSecond;
        long fraction = timeOfDay % SqlCalendar.MicrosPerSecond;
        builder.Append(' ');
        AppendTwoDigits(builder, seconds / 3600);
        builder.Append(':');
        AppendTwoDigits(builder, seconds / 60 % 60);
        builder.Append(':');
        AppendTwoDigits(builder, seconds % 60);
        if (fraction != 0)
        {
            int width = 6;
            while (fraction % 10 == 0)
            {
                fraction /= 10;
                width--;
            }
            builder.Append('.').Append(fraction.ToString(CultureInfo.InvariantCulture).PadLeft(width, '0'));
        }
        if (year <= 0)
        {
            builder.Append(" BC");
        }
        return builder.ToString();
    }

    private static readonly string[] s_exponentFormats = BuildExponentFormats();

    private static string[] BuildExponentFormats()
    {
        var formats = new string[18];
        for (int precision = 1; precision < formats.Length; precision++)
        {
            formats[precision] = "E" + (precision - 1).ToString(CultureInfo.InvariantCulture);
        }
        return formats;
    }

    /// <summary>
    /// The significant digits of value formatted with format (no sign, no leading or trailing zeros) into digits,
    /// and the decimal exponent of the first digit.
    /// </summary>
    private static int ShortestDigits(double value, string format, Span<char> digits, out int decimalExponent)
    {
        Span<char> formatted = stackalloc char[40];
        if (!value.TryFormat(formatted, out int written, format, CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"float8 {value} did not fit its format buffer");
        }
        ReadOnlySpan<char> text = formatted[..written];
        if (text[0] == '-')
        {
            text = text[1..];
        }
        int exponentAt = text.IndexOfAny('E', 'e');
        int exponent = 0;
        ReadOnlySpan<char> mantissa = text;
        if (exponentAt >= 0)
        {
            exponent = int.Parse(text[(exponentAt + 1)..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
            mantissa = text[..exponentAt];
        }
        int count = 0;
        foreach (char c in mantissa)
        {
            if (c != '.' && (count > 0 || c != '0'))
            {
                digits[count++] = c;
            }
        }
        decimalExponent = ComputeExponent(mantissa, exponent);
        while (count > 1 && digits[count - 1] == '0')
        {
            count--;
        }
        return count;
    }

    /// <summary>The decimal exponent of the first nonzero digit of mantissa × 10^exponent.</summary>
    private static int ComputeExponent(ReadOnlySpan<char> mantissa, int exponent)
    {
        int point = mantissa.IndexOf('.');
        int integerLength = point < 0 ? mantissa.Length : point;
        int firstNonZero = mantissa.IndexOfAnyExcept('0', '.');
        // Position of the first nonzero digit relative to the units digit.
        int position = firstNonZero < integerLength ? integerLength - 1 - firstNonZero : integerLength - firstNonZero;
        return position + exponent;
    }

    /// <summary>
    /// Whether digits × 10^(decimalExponent - digits + 1) lies strictly between the midpoints from positive value
    /// to its neighbouring doubles, so that every correct reader maps it back to value.
    /// </summary>
    private static bool IsInsideRoundingInterval(double value, ReadOnlySpan<char> digits, int decimalExponent)
    {
        long bits = BitConverter.DoubleToInt64Bits(value);
        int biasedExponent = (int)((bits >> 52) & 0x7FF);
        long fraction = bits & 0xF_FFFF_FFFF_FFFFL;
        BigInteger mantissa = biasedExponent == 0 ? fraction : fraction | (1L << 52);
        int binaryExponent = (biasedExponent == 0 ? 1 : biasedExponent) - 1075;
        // Midpoints scaled by 2^(binaryExponent - 2): upper (4m + 2), lower (4m - 2), or (4m - 1) just above a power of two.
        BigInteger upper = (mantissa * 4) + 2;
        BigInteger lower = fraction == 0 && biasedExponent > 1 ? (mantissa * 4) - 1 : (mantissa * 4) - 2;
        int binaryScale = binaryExponent - 2;
        BigInteger candidate = BigInteger.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture);
        int decimalScale = decimalExponent - digits.Length + 1;
        // Compare candidate × 10^decimalScale with midpoint × 2^binaryScale over whole numbers.
        if (decimalScale >= 0)
        {
            candidate *= BigInteger.Pow(10, decimalScale);
        }
        else
        {
            upper *= BigInteger.Pow(10, -decimalScale);
            lower *= BigInteger.Pow(10, -decimalScale);
        }
        if (binaryScale >= 0)
        {
            upper <<= binaryScale;
            lower <<= binaryScale;
        }
        else
        {
            candidate <<= -binaryScale;
        }
        return candidate > lower && candidate < upper;
    }

    private static void AppendDate(StringBuilder builder, long year, int month, int day)
    {
        // Astronomical year 0 is 1 BC, -1 is 2 BC, and so on.
        long shownYear = year <= 0 ? 1 - year : year;
        builder.Append(shownYear.ToString("D4", CultureInfo.InvariantCulture)).Append('-');
        AppendTwoDigits(builder, month);
        builder.Append('-');
        AppendTwoDigits(builder, day);
    }

    private static void AppendTwoDigits(StringBuilder builder, long value)
    {
        builder.Append((char)('0' + (value / 10))).Append((char)('0' + (value % 10)));
    }
}
