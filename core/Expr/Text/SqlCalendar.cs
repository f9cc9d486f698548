using System;

namespace Kernel.Expr.Text;

/// <summary>
/// The proleptic Gregorian calendar PostgreSQL uses, on day numbers relative to 1970-01-01, with astronomical
/// year numbering (year 0 is 1 BC). Valid for every day number a <see cref="long"/> can hold without overflow in
/// the intermediate arithmetic (far beyond PostgreSQL's range, which callers check).
/// </summary>
public static class SqlCalendar
{
    public const long MicrosPerSecond = 1_000_000;
    public const long MicrosPerDay = 86_400L * MicrosPerSecond;

    /// <summary>4714-11-24 BC, Julian day 0: the first date PostgreSQL accepts.</summary>
    public static long DateMinDays { get; } = DaysFromCivil(-4713, 11, 24);

    /// <summary>5874897-12-31: the last date PostgreSQL accepts.</summary>
    public static long DateMaxDays { get; } = DaysFromCivil(5874897, 12, 31);

    /// <summary>4714-11-24 BC 00:00:00: the first timestamp PostgreSQL accepts.</summary>
    public static long TimestampMinMicros { get; } = DateMinDays * MicrosPerDay;

    /// <summary>
    /// The end of the last whole day a long of microseconds since 1970 holds (294247-01-09 23:59:59.999999).
    /// PostgreSQL counts from 2000 and reaches 294276-12-31; the last 30 years of its range do not fit here.
    /// </summary>
    public static long TimestampMaxMicros { get; } = ((long.MaxValue / MicrosPerDay) * MicrosPerDay) - 1;

    public static bool IsLeapYear(long year) => (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    public static int DaysInMonth(long year, int month) => month switch
    {
        2 => IsLeapYear(year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    /// <summary>Days since 1970-01-01 of an astronomical year, month 1–12 and day 1–31 (H. Hinnant's algorithm).</summary>
    public static long DaysFromCivil(long year, int month, int day)
    {
        long y = month <= 2 ? year - 1 : year;
        long era = (y >= 0 ? y : y - 399) / 400;
        long yearOfEra = y - (era * 400);
        long dayOfYear = (((153 * (month > 2 ? month - 3 : month + 9)) + 2) / 5) + day - 1;
        long dayOfEra = (yearOfEra * 365) + (yearOfEra / 4) - (yearOfEra / 100) + dayOfYear;
        return (era * 146097) + dayOfEra - 719468;
    }

    /// <summary>The astronomical year, month and day of a day number since 1970-01-01.</summary>
    public static (long Year, int Month, int Day) CivilFromDays(long days)
    {
        long z = days + 719468;
        long era = (z >= 0 ? z : z - 146096) / 146097;
        long dayOfEra = z - (era * 146097);
        long yearOfEra = (dayOfEra - (dayOfEra / 1460) + (dayOfEra / 36524) - (dayOfEra / 146096)) / 365;
        long dayOfYear = dayOfEra - ((365 * yearOfEra) + (yearOfEra / 4) - (yearOfEra / 100));
        long monthIndex = ((5 * dayOfYear) + 2) / 153;
        int day = (int)(dayOfYear - (((153 * monthIndex) + 2) / 5) + 1);
        int month = (int)(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9);
        long year = (yearOfEra + (era * 400)) + (month <= 2 ? 1 : 0);
        return (year, month, day);
    }

    /// <summary>The day number of a timestamp (floor division, so times before 1970 land on the right day).</summary>
    public static long DaysOfTimestamp(long micros) => Math.DivRem(micros, MicrosPerDay, out long rest) - (rest < 0 ? 1 : 0);
}
