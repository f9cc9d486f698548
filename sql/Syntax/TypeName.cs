using System;

namespace Kernel.Sql.Syntax;

/// <summary>The fields of an interval type: <c>INTERVAL DAY TO SECOND</c> and the like.</summary>
public enum IntervalFields : byte
{
    None,
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    YearToMonth,
    DayToHour,
    DayToMinute,
    DayToSecond,
    HourToMinute,
    HourToSecond,
    MinuteToSecond,
}

/// <summary>
/// A type as written in a cast or column definition. SQL-standard spellings become PostgreSQL's internal
/// names, as its grammar does: <c>integer</c> → <c>int4</c>, <c>double precision</c> → <c>float8</c>,
/// <c>character varying(10)</c> → <c>varchar(10)</c>, <c>timestamp with time zone</c> → <c>timestamptz</c>.
/// </summary>
/// <param name="Name">The type's name; unqualified for the built-in spellings.</param>
/// <param name="Modifiers">Type modifiers: length, precision and scale, or an interval's precision.</param>
/// <param name="Fields">The fields of an <c>interval</c>, otherwise <see cref="IntervalFields.None"/>.</param>
public sealed record TypeName(ObjectName Name, NodeList<int> Modifiers, IntervalFields Fields) : SyntaxNode
{
    /// <summary>An unqualified type without modifiers.</summary>
    public static TypeName Of(string name, params ReadOnlySpan<int> modifiers) =>
        new(ObjectName.Of(name), NodeList.Create(modifiers), IntervalFields.None);
}
