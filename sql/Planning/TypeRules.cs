using System;
using System.Collections.Generic;
using System.Globalization;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Sql.Planning;

/// <summary>How strict a type conversion is, as in PostgreSQL's pg_cast.castcontext.</summary>
internal enum CastContext
{
    /// <summary>Inserted silently to make operands match (integer → numeric, unknown → anything).</summary>
    Implicit,

    /// <summary>Storing into a column: also narrowing numbers and anything to text.</summary>
    Assignment,

    /// <summary>An explicit <c>CAST</c> or <c>::</c>.</summary>
    Explicit,
}

/// <summary>PostgreSQL's type conversion rules for the kernel's types, and the text input of constants.</summary>
internal static class TypeRules
{
    /// <summary>The order of implicit widening among numbers: smallint → integer → bigint → numeric → double precision.</summary>
    private static int NumberRank(SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => 1,
        SqlTypeKind.Int32 => 2,
        SqlTypeKind.Int64 => 3,
        SqlTypeKind.Numeric => 4,
        SqlTypeKind.Float64 => 5,
        _ => 0,
    };

    public static bool CanCast(SqlType from, SqlType to, CastContext context)
    {
        if (from.Kind == to.Kind || from.Kind == SqlTypeKind.Unknown)
        {
            return true;
        }
        int fromRank = NumberRank(from.Kind);
        int toRank = NumberRank(to.Kind);
        bool implicitly = (fromRank > 0 && toRank > fromRank)
            || (from.IsString && to.IsString)
            || (from.Kind == SqlTypeKind.Date && to.Kind == SqlTypeKind.Timestamp);
        if (implicitly || context == CastContext.Implicit)
        {
            return implicitly;
        }
        bool byAssignment = (fromRank > 0 && toRank > 0)
            || to.IsString
            || (from.Kind == SqlTypeKind.Timestamp && to.Kind == SqlTypeKind.Date);
        if (byAssignment || context == CastContext.Assignment)
        {
            return byAssignment;
        }
        return from.IsString
            || (from.Kind == SqlTypeKind.Int32 && to.Kind == SqlTypeKind.Bool)
            || (from.Kind == SqlTypeKind.Bool && to.Kind == SqlTypeKind.Int32);
    }

    /// <summary>
    /// The type every one of <paramref name="types"/> converts to implicitly (PostgreSQL's UNION/CASE resolution):
    /// unknowns are ignored, all unknown gives text; null when two types do not meet.
    /// </summary>
    public static SqlType? CommonType(IEnumerable<SqlType> types)
    {
        SqlType? candidate = null;
        foreach (SqlType type in types)
        {
            if (type.Kind == SqlTypeKind.Unknown)
            {
                continue;
            }
            if (candidate is not SqlType current)
            {
                candidate = type;
                continue;
            }
            if (current.Kind == type.Kind)
            {
                // Same type with different modifiers: the unmodified type.
                if (current != type)
                {
                    candidate = new SqlType(type.Kind);
                }
                continue;
            }
            bool toType = CanCast(current, type, CastContext.Implicit);
            bool toCurrent = CanCast(type, current, CastContext.Implicit);
            if (toType && toCurrent)
            {
                // text and varchar: text is the preferred string type.
                candidate = current.Kind == SqlTypeKind.Text ? current : type.Kind == SqlTypeKind.Text ? type : new SqlType(current.Kind);
            }
            else if (toType)
            {
                candidate = type;
            }
            else if (!toCurrent)
            {
                return null;
            }
        }
        return candidate ?? SqlType.Text;
    }

    /// <summary>
    /// Parses <paramref name="text"/> as a constant of <paramref name="type"/> (PostgreSQL's input functions for the
    /// kernel's types). <paramref name="explicitCast"/> lets varchar(n) truncate instead of failing.
    /// </summary>
    public static bool TryParse(string text, SqlType type, bool explicitCast, out Datum value, out PlanError? error)
    {
        value = Datum.Null;
        error = null;
        string trimmed = text.Trim();
        switch (type.Kind)
        {
            case SqlTypeKind.Unknown:
            case SqlTypeKind.Text:
                value = Datum.FromString(text);
                return true;
            case SqlTypeKind.Varchar:
                if (type.Length >= 0 && text.Length > type.Length)
                {
                    if (!explicitCast && text.AsSpan(type.Length).Trim(' ').Length > 0)
                    {
                        error = new PlanError("22001", $"value too long for type character varying({type.Length})");
                        return false;
                    }
                    text = text[..type.Length];
                }
                value = Datum.FromString(text);
                return true;
            case SqlTypeKind.Bool:
                switch (trimmed.ToLowerInvariant())
                {
                    case "t" or "tr" or "tru" or "true" or "y" or "ye" or "yes" or "on" or "1":
                        value = Datum.FromBool(true);
                        return true;
                    case "f" or "fa" or "fal" or "fals" or "false" or "n" or "no" or "of" or "off" or "0":
                        value = Datum.FromBool(false);
                        return true;
                    default:
                        error = InvalidSyntax(type, text);
                        return false;
                }
            case SqlTypeKind.Int16:
            case SqlTypeKind.Int32:
            case SqlTypeKind.Int64:
            {
                if (!long.TryParse(trimmed, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long parsed))
                {
                    bool digits = trimmed.Length > 0 && trimmed.TrimStart('-', '+').Length > 0 && trimmed.TrimStart('-', '+').AsSpan().IndexOfAnyExceptInRange('0', '9') < 0;
                    error = digits ? OutOfRange(type, text) : InvalidSyntax(type, text);
                    return false;
                }
                if (!FitsInteger(parsed, type.Kind))
                {
                    error = OutOfRange(type, text);
                    return false;
                }
                value = Datum.FromInt64(parsed);
                return true;
            }
            case SqlTypeKind.Float64:
            {
                double parsed;
                switch (trimmed.ToLowerInvariant())
                {
                    case "nan":
                        parsed = double.NaN;
                        break;
                    case "infinity" or "+infinity" or "inf" or "+inf":
                        parsed = double.PositiveInfinity;
                        break;
                    case "-infinity" or "-inf":
                        parsed = double.NegativeInfinity;
                        break;
                    default:
                        if (!double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out parsed))
                        {
                            error = InvalidSyntax(type, text);
                            return false;
                        }
                        if (double.IsInfinity(parsed))
                        {
                            error = new PlanError("22003", $"\"{text}\" is out of range for type double precision");
                            return false;
                        }
                        break;
                }
                value = Datum.FromFloat64(parsed);
                return true;
            }
            case SqlTypeKind.Numeric:
            {
                if (!decimal.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out decimal parsed))
                {
                    bool looksNumeric = double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out _);
                    error = looksNumeric ? new PlanError("22003", "value overflows numeric format") : InvalidSyntax(type, text);
                    return false;
                }
                if (!TryApplyNumericModifier(parsed, type, out parsed))
                {
                    error = NumericOverflow(type);
                    return false;
                }
                value = Datum.FromDecimal(parsed);
                return true;
            }
            case SqlTypeKind.Date:
                if (TryParseDate(trimmed, out long days))
                {
                    value = Datum.FromDate(days);
                    return true;
                }
                error = new PlanError("22007", $"invalid input syntax for type date: \"{text}\"");
                return false;
            case SqlTypeKind.Timestamp:
                if (TryParseTimestamp(trimmed, out long micros))
                {
                    value = Datum.FromTimestamp(micros);
                    return true;
                }
                error = new PlanError("22007", $"invalid input syntax for type timestamp: \"{text}\"");
                return false;
            default:
                throw new InvalidOperationException($"unknown SQL type kind {type.Kind}");
        }
    }

    public static bool FitsInteger(long value, SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => value is >= short.MinValue and <= short.MaxValue,
        SqlTypeKind.Int32 => value is >= int.MinValue and <= int.MaxValue,
        _ => true,
    };

    /// <summary>Rounds to the scale of numeric(p, s) and checks the precision; true without modifiers.</summary>
    public static bool TryApplyNumericModifier(decimal value, SqlType type, out decimal result)
    {
        result = value;
        if (type.Precision < 0)
        {
            return true;
        }
        int scale = Math.Max(type.Scale, 0);
        result = Math.Round(value, Math.Min(scale, 28), MidpointRounding.AwayFromZero);
        decimal limit = 1m;
        for (int i = 0; i < type.Precision - scale && i < 28; i++)
        {
            limit *= 10m;
        }
        return type.Precision - scale >= 28 || Math.Abs(result) < limit;
    }

    private static readonly DateTime s_epoch = new(1970, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);

    private static readonly string[] s_dateFormats = ["yyyy-MM-dd", "yyyy-M-d", "yyyyMMdd"];

    private static readonly string[] s_timestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd", "yyyy-M-d H:m:s", "yyyy-M-d H:m:s.FFFFFFF", "yyyy-M-d",
    ];

    public static bool TryParseDate(string text, out long daysSinceEpoch)
    {
        daysSinceEpoch = 0;
        if (!DateTime.TryParseExact(text, s_dateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime date))
        {
            return false;
        }
        daysSinceEpoch = (long)(date - s_epoch).TotalDays;
        return true;
    }

    public static bool TryParseTimestamp(string text, out long microsSinceEpoch)
    {
        microsSinceEpoch = 0;
        if (!DateTime.TryParseExact(text, s_timestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTime time))
        {
            return false;
        }
        microsSinceEpoch = (time - s_epoch).Ticks / 10;
        return true;
    }

    public static PlanError InvalidSyntax(SqlType type, string text) =>
        new("22P02", $"invalid input syntax for type {BaseName(type)}: \"{text}\"");

    private static PlanError OutOfRange(SqlType type, string text) =>
        new("22003", $"value \"{text}\" is out of range for type {BaseName(type)}");

    public static PlanError NumericOverflow(SqlType type) =>
        new("22003", "numeric field overflow", Hint: null);

    private static string BaseName(SqlType type) => new SqlType(type.Kind).Name;
}
