using System;
using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Kernel.Persist.Data;

namespace Kernel.Expr.Text;

/// <summary>The input side of <see cref="DatumText"/>: PostgreSQL's input syntax per type.</summary>
public static partial class DatumText
{
    /// <summary>
    /// Parses PostgreSQL's input syntax for <paramref name="type"/> (what a client sends in text format, or a cast
    /// from text). bool: t/true/yes/on/1/f/false/no/off/0 and their unique prefixes, case-insensitive, trimmed;
    /// integers with the type's range; float8 including Infinity and NaN; numeric, rounded to the type's scale;
    /// date and timestamp in ISO forms; varchar(n) rejects longer values (trailing spaces are cut silently).
    /// </summary>
    /// <returns>True with the value; false with a PostgreSQL error (22P02, 22003, 22007, 22008, 22001).</returns>
    public static bool TryParse(string text, SqlType type, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ArgumentNullException.ThrowIfNull(text);
        value = Datum.Null;
        switch (type.Kind)
        {
            case SqlTypeKind.Bool:
                return TryParseBool(text, out value, out error);
            case SqlTypeKind.Int16:
            case SqlTypeKind.Int32:
            case SqlTypeKind.Int64:
                return TryParseInteger(text, type, out value, out error);
            case SqlTypeKind.Float64:
                return TryParseFloat64(text, out value, out error);
            case SqlTypeKind.Numeric:
                return TryParseNumeric(text, type, out value, out error);
            case SqlTypeKind.Text:
            case SqlTypeKind.Unknown:
                value = Datum.FromString(text);
                error = null;
                return true;
            case SqlTypeKind.Varchar:
                if (!TryFitVarchar(text, type, isExplicit: false, out string fitted, out error))
                {
                    return false;
                }
                value = Datum.FromString(fitted);
                return true;
            case SqlTypeKind.Date:
                return TryParseDateTime(text, isTimestamp: false, out value, out error);
            case SqlTypeKind.Timestamp:
                return TryParseDateTime(text, isTimestamp: true, out value, out error);
            default:
                error = new EvalError("0A000", $"type {type.Name} has no text input");
                return false;
        }
    }

    /// <summary>
    /// Fits a string to varchar(n): an explicit cast truncates; an assignment (or input) errors with 22001 unless
    /// only spaces would be cut, as PostgreSQL does. Lengths count characters (code points), not UTF-16 units.
    /// </summary>
    internal static bool TryFitVarchar(string text, SqlType type, bool isExplicit, out string fitted, [NotNullWhen(false)] out EvalError? error)
    {
        error = null;
        fitted = text;
        int lengthMax = type.Length;
        if (lengthMax < 0 || text.Length <= lengthMax)
        {
            return true;
        }
        // Find the UTF-16 offset just past the first lengthMax characters.
        int offset = 0;
        int characters = 0;
        while (offset < text.Length && characters < lengthMax)
        {
            offset += char.IsHighSurrogate(text[offset]) && offset + 1 < text.Length && char.IsLowSurrogate(text[offset + 1]) ? 2 : 1;
            characters++;
        }
        if (offset >= text.Length)
        {
            return true;
        }
        if (!isExplicit && text.AsSpan(offset).ContainsAnyExcept(' '))
        {
            error = new EvalError("22001", $"value too long for type character varying({lengthMax})");
            return false;
        }
        fitted = text[..offset];
        return true;
    }

    private static EvalError InvalidSyntax(string typeName, string text) =>
        new("22P02", $"invalid input syntax for type {typeName}: \"{text}\"");

    /// <summary>PostgreSQL trims with isspace: space, tab, newline, vertical tab, form feed, carriage return.</summary>
    private static ReadOnlySpan<char> TrimSpace(string text) => text.AsSpan().Trim(" \t\n\v\f\r");

    private static bool TryParseBool(string text, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ReadOnlySpan<char> trimmed = TrimSpace(text);
        error = null;
        value = Datum.Null;
        if (trimmed.Length > 0)
        {
            bool? parsed = char.ToLowerInvariant(trimmed[0]) switch
            {
                't' => IsPrefixOf(trimmed, "true") ? true : null,
                'f' => IsPrefixOf(trimmed, "false") ? false : null,
                'y' => IsPrefixOf(trimmed, "yes") ? true : null,
                'n' => IsPrefixOf(trimmed, "no") ? false : null,
                // "o" alone is ambiguous between on and off.
                'o' => trimmed.Length < 2 ? null : IsPrefixOf(trimmed, "on") ? true : IsPrefixOf(trimmed, "off") ? false : null,
                '1' => trimmed.Length == 1 ? true : null,
                '0' => trimmed.Length == 1 ? false : null,
                _ => null,
            };
            if (parsed is bool result)
            {
                value = Datum.FromBool(result);
                return true;
            }
        }
        error = InvalidSyntax("boolean", text);
        return false;
    }

    private static bool IsPrefixOf(ReadOnlySpan<char> text, string word) =>
        text.Length <= word.Length && word.AsSpan(0, text.Length).Equals(text, StringComparison.OrdinalIgnoreCase);

    private static bool TryParseInteger(string text, SqlType type, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ReadOnlySpan<char> trimmed = TrimSpace(text);
        value = Datum.Null;
        int at = 0;
        bool negative = false;
        if (at < trimmed.Length && (trimmed[at] == '+' || trimmed[at] == '-'))
        {
            negative = trimmed[at] == '-';
            at++;
        }
        if (at == trimmed.Length)
        {
            error = InvalidSyntax(type.Name, text);
            return false;
        }
        // Accumulate the magnitude in a ulong; anything past 2^63 is out of range for every integer type.
        ulong magnitude = 0;
        bool overflow = false;
        for (; at < trimmed.Length; at++)
        {
            char c = trimmed[at];
            if (c is < '0' or > '9')
            {
                error = InvalidSyntax(type.Name, text);
                return false;
            }
            if (magnitude > (ulong.MaxValue - 9) / 10)
            {
                overflow = true;
            }
            else
            {
                magnitude = (magnitude * 10) + (ulong)(c - '0');
            }
        }
        long result = 0;
        if (!overflow)
        {
            if (negative && magnitude <= 1UL << 63)
            {
                result = unchecked(-(long)magnitude);
            }
            else if (!negative && magnitude <= long.MaxValue)
            {
                result = (long)magnitude;
            }
            else
            {
                overflow = true;
            }
        }
        if (overflow || !IntegerFits(result, type.Kind))
        {
            error = new EvalError("22003", $"value \"{text}\" is out of range for type {type.Name}");
            return false;
        }
        value = Datum.FromInt64(result);
        error = null;
        return true;
    }

    internal static bool IntegerFits(long value, SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => value is >= short.MinValue and <= short.MaxValue,
        SqlTypeKind.Int32 => value is >= int.MinValue and <= int.MaxValue,
        _ => true,
    };

    private static bool TryParseFloat64(string text, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ReadOnlySpan<char> trimmed = TrimSpace(text);
        value = Datum.Null;
        error = null;
        ReadOnlySpan<char> unsigned = trimmed.Length > 0 && (trimmed[0] == '+' || trimmed[0] == '-') ? trimmed[1..] : trimmed;
        bool negative = trimmed.Length > 0 && trimmed[0] == '-';
        if (unsigned.Equals("nan", StringComparison.OrdinalIgnoreCase))
        {
            value = Datum.FromFloat64(double.NaN);
            return true;
        }
        if (unsigned.Equals("infinity", StringComparison.OrdinalIgnoreCase) || unsigned.Equals("inf", StringComparison.OrdinalIgnoreCase))
        {
            value = Datum.FromFloat64(negative ? double.NegativeInfinity : double.PositiveInfinity);
            return true;
        }
        if (!IsDecimalLiteral(unsigned, out bool anyNonZeroDigit)
            || !double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out double parsed))
        {
            error = InvalidSyntax("double precision", text);
            return false;
        }
        // strtod reports ERANGE both for overflow to infinity and for underflow to zero; PostgreSQL rejects both
        // (denormal results are accepted).
        if (double.IsInfinity(parsed) || (parsed == 0 && anyNonZeroDigit))
        {
            error = new EvalError("22003", $"\"{text}\" is out of range for type double precision");
            return false;
        }
        value = Datum.FromFloat64(parsed);
        return true;
    }

    /// <summary>digits [. digits] [e [sign] digits], with at least one mantissa digit; no sign (the caller strips it).</summary>
    private static bool IsDecimalLiteral(ReadOnlySpan<char> text, out bool anyNonZeroDigit)
    {
        anyNonZeroDigit = false;
        int at = 0;
        int mantissaDigits = 0;
        while (at < text.Length && char.IsAsciiDigit(text[at]))
        {
            anyNonZeroDigit |= text[at] != '0';
            mantissaDigits++;
            at++;
        }
        if (at < text.Length && text[at] == '.')
        {
            at++;
            while (at < text.Length && char.IsAsciiDigit(text[at]))
            {
                anyNonZeroDigit |= text[at] != '0';
                mantissaDigits++;
                at++;
            }
        }
        if (mantissaDigits == 0)
        {
            return false;
        }
        if (at < text.Length && (text[at] == 'e' || text[at] == 'E'))
        {
            at++;
            if (at < text.Length && (text[at] == '+' || text[at] == '-'))
            {
                at++;
            }
            int exponentDigits = 0;
            while (at < text.Length && char.IsAsciiDigit(text[at]))
            {
                exponentDigits++;
                at++;
            }
            if (exponentDigits == 0)
            {
                return false;
            }
        }
        return at == text.Length;
    }

    private static bool TryParseNumeric(string text, SqlType type, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        ReadOnlySpan<char> trimmed = TrimSpace(text);
        value = Datum.Null;
        ReadOnlySpan<char> unsigned = trimmed.Length > 0 && (trimmed[0] == '+' || trimmed[0] == '-') ? trimmed[1..] : trimmed;
        if (unsigned.Equals("nan", StringComparison.OrdinalIgnoreCase)
            || unsigned.Equals("infinity", StringComparison.OrdinalIgnoreCase)
            || unsigned.Equals("inf", StringComparison.OrdinalIgnoreCase))
        {
            error = new EvalError("0A000", $"numeric value \"{text}\" is not supported: numeric holds finite values only");
            return false;
        }
        if (!IsDecimalLiteral(unsigned, out _))
        {
            error = InvalidSyntax("numeric", text);
            return false;
        }
        // A huge exponent overflows; a tiny one underflows to zero (decimal keeps at most 28 fraction digits).
        if (!decimal.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal parsed))
        {
            error = Numerics.NumericOverflow;
            return false;
        }
        if (!Numerics.TryApplyNumericModifier(parsed, type, out decimal fitted, out error))
        {
            return false;
        }
        value = Datum.FromDecimal(fitted);
        return true;
    }
}
