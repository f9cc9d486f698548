using System;
using System.Diagnostics.CodeAnalysis;
using Kernel.Persist.Data;

namespace Kernel.Expr.Text;

/// <summary>
/// date and timestamp input in PostgreSQL's ISO forms: <c>YYYY-MM-DD</c>, then optionally a time
/// <c>HH:MM[:SS[.ffffff]]</c> after a space or <c>T</c>, an era (<c>BC</c>/<c>AD</c>) and a time zone, which a type
/// without time zone ignores as PostgreSQL does. Fractions beyond microseconds round half to even.
/// </summary>
public static partial class DatumText
{
    private static bool TryParseDateTime(string text, bool isTimestamp, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        value = Datum.Null;
        string typeName = isTimestamp ? "timestamp" : "date";
        ReadOnlySpan<char> s = TrimSpace(text);
        if (s.Equals("epoch", StringComparison.OrdinalIgnoreCase))
        {
            value = isTimestamp ? Datum.FromTimestamp(0) : Datum.FromDate(0);
            error = null;
            return true;
        }
        if (s.Equals("infinity", StringComparison.OrdinalIgnoreCase) || s.Equals("-infinity", StringComparison.OrdinalIgnoreCase)
            || s.Equals("+infinity", StringComparison.OrdinalIgnoreCase))
        {
            error = new EvalError("0A000", $"{typeName} value \"{text}\" is not supported: infinite dates and timestamps are not implemented");
            return false;
        }
        if (s.Equals("now", StringComparison.OrdinalIgnoreCase) || s.Equals("today", StringComparison.OrdinalIgnoreCase)
            || s.Equals("tomorrow", StringComparison.OrdinalIgnoreCase) || s.Equals("yesterday", StringComparison.OrdinalIgnoreCase))
        {
            error = new EvalError("0A000", $"{typeName} value \"{text}\" is not supported: it depends on the current time; use a literal date");
            return false;
        }

        int at = 0;
        if (!TryReadNumber(s, ref at, 1, 9, out long year) || !TryReadChar(s, ref at, '-')
            || !TryReadNumber(s, ref at, 1, 2, out long month) || !TryReadChar(s, ref at, '-')
            || !TryReadNumber(s, ref at, 1, 2, out long day))
        {
            error = new EvalError("22007", $"invalid input syntax for type {typeName}: \"{text}\"");
            return false;
        }
        bool haveTime = false;
        bool haveEra = false;
        bool haveZone = false;
        bool beforeChrist = false;
        long hour = 0, minute = 0, second = 0, fractionMicros = 0;
        bool fractionCarry = false;
        while (true)
        {
            int before = at;
            while (at < s.Length && s[at] is ' ' or '\t')
            {
                at++;
            }
            if (at == s.Length)
            {
                break;
            }
            bool separated = at > before;
            char c = s[at];
            if (!haveTime && !haveEra && (char.IsAsciiDigit(c) && separated || (c is 'T' or 't' && at + 1 < s.Length && char.IsAsciiDigit(s[at + 1]))))
            {
                if (!char.IsAsciiDigit(c))
                {
                    at++;
                }
                if (!TryReadTime(s, ref at, out hour, out minute, out second, out fractionMicros, out fractionCarry))
                {
                    error = new EvalError("22007", $"invalid input syntax for type {typeName}: \"{text}\"");
                    return false;
                }
                haveTime = true;
            }
            else if (!haveEra && at + 2 <= s.Length && (s.Slice(at, 2).Equals("BC", StringComparison.OrdinalIgnoreCase) || s.Slice(at, 2).Equals("AD", StringComparison.OrdinalIgnoreCase))
                && (at + 2 == s.Length || s[at + 2] is ' ' or '\t'))
            {
                beforeChrist = char.ToUpperInvariant(s[at]) == 'B';
                haveEra = true;
                at += 2;
            }
            else if (haveTime && !haveZone && TryReadZone(s, ref at))
            {
                haveZone = true;
            }
            else
            {
                error = new EvalError("22007", $"invalid input syntax for type {typeName}: \"{text}\"");
                return false;
            }
        }

        if (year == 0 || month is < 1 or > 12)
        {
            error = FieldOutOfRange(text);
            return false;
        }
        long astronomicalYear = beforeChrist ? 1 - year : year;
        if (day < 1 || day > SqlCalendar.DaysInMonth(astronomicalYear, (int)month)
            || hour > 24 || minute > 59 || second > 60
            || (hour == 24 && (minute != 0 || second != 0 || fractionMicros != 0 || fractionCarry))
            || (second == 60 && (fractionMicros != 0 || fractionCarry)))
        {
            error = FieldOutOfRange(text);
            return false;
        }
        long days = SqlCalendar.DaysFromCivil(astronomicalYear, (int)month, (int)day);
        if (!isTimestamp)
        {
            if (days < SqlCalendar.DateMinDays || days > SqlCalendar.DateMaxDays)
            {
                error = new EvalError("22008", $"date out of range: \"{text}\"");
                return false;
            }
            value = Datum.FromDate(days);
            error = null;
            return true;
        }
        // Check the day first: a year of up to 9 digits would overflow the product below.
        if (days < SqlCalendar.DaysOfTimestamp(SqlCalendar.TimestampMinMicros) || days > SqlCalendar.DaysOfTimestamp(SqlCalendar.TimestampMaxMicros))
        {
            error = new EvalError("22008", $"timestamp out of range: \"{text}\"");
            return false;
        }
        long micros = (days * SqlCalendar.MicrosPerDay) + (((hour * 3600) + (minute * 60) + second) * SqlCalendar.MicrosPerSecond)
            + fractionMicros + (fractionCarry ? 1 : 0);
        if (micros < SqlCalendar.TimestampMinMicros || micros > SqlCalendar.TimestampMaxMicros)
        {
            error = new EvalError("22008", $"timestamp out of range: \"{text}\"");
            return false;
        }
        value = Datum.FromTimestamp(micros);
        error = null;
        return true;
    }

    private static EvalError FieldOutOfRange(string text) => new("22008", $"date/time field value out of range: \"{text}\"");

    private static bool TryReadNumber(ReadOnlySpan<char> s, ref int at, int digitsMin, int digitsMax, out long number)
    {
        number = 0;
        int start = at;
        while (at < s.Length && char.IsAsciiDigit(s[at]) && at - start < digitsMax)
        {
            number = (number * 10) + (s[at] - '0');
            at++;
        }
        // More digits than allowed is a syntax error, not a silent split.
        return at - start >= digitsMin && (at == s.Length || !char.IsAsciiDigit(s[at]));
    }

    private static bool TryReadChar(ReadOnlySpan<char> s, ref int at, char expected)
    {
        if (at < s.Length && s[at] == expected)
        {
            at++;
            return true;
        }
        return false;
    }

    /// <summary>HH:MM[:SS[.fraction]]; the fraction is rounded half to even to microseconds (carry is the rounding up).</summary>
    private static bool TryReadTime(ReadOnlySpan<char> s, ref int at, out long hour, out long minute, out long second, out long fractionMicros, out bool carry)
    {
        minute = 0;
        second = 0;
        fractionMicros = 0;
        carry = false;
        if (!TryReadNumber(s, ref at, 1, 2, out hour) || !TryReadChar(s, ref at, ':') || !TryReadNumber(s, ref at, 2, 2, out minute))
        {
            return false;
        }
        if (!TryReadChar(s, ref at, ':'))
        {
            return true;
        }
        if (!TryReadNumber(s, ref at, 2, 2, out second))
        {
            return false;
        }
        if (!TryReadChar(s, ref at, '.'))
        {
            return true;
        }
        int digits = 0;
        int roundDigit = -1;
        bool stickyNonZero = false;
        while (at < s.Length && char.IsAsciiDigit(s[at]))
        {
            int digit = s[at] - '0';
            if (digits < 6)
            {
                fractionMicros = (fractionMicros * 10) + digit;
            }
            else if (digits == 6)
            {
                roundDigit = digit;
            }
            else
            {
                stickyNonZero |= digit != 0;
            }
            digits++;
            at++;
        }
        for (int i = digits; i < 6; i++)
        {
            fractionMicros *= 10;
        }
        carry = roundDigit > 5 || (roundDigit == 5 && (stickyNonZero || fractionMicros % 2 == 1));
        return true;
    }

    /// <summary>A time zone a timestamp without time zone accepts and ignores: Z, UTC, GMT or ±HH[[:]MM[[:]SS]].</summary>
    private static bool TryReadZone(ReadOnlySpan<char> s, ref int at)
    {
        ReadOnlySpan<char> rest = s[at..];
        foreach (string name in s_zoneNames)
        {
            if (rest.StartsWith(name, StringComparison.OrdinalIgnoreCase) && (rest.Length == name.Length || rest[name.Length] is ' ' or '\t'))
            {
                at += name.Length;
                return true;
            }
        }
        if (rest.Length < 2 || rest[0] is not ('+' or '-') || !char.IsAsciiDigit(rest[1]))
        {
            return false;
        }
        int position = at + 1;
        if (!TryReadNumber(s, ref position, 1, 4, out _))
        {
            return false;
        }
        for (int part = 0; part < 2 && position < s.Length && s[position] == ':'; part++)
        {
            position++;
            if (!TryReadNumber(s, ref position, 2, 2, out _))
            {
                return false;
            }
        }
        at = position;
        return true;
    }

    private static readonly string[] s_zoneNames = ["Z", "UTC", "GMT"];
}
