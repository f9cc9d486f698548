using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Expr.Text;
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
    /// Parses <paramref name="text"/> as a constant of <paramref name="type"/> with PostgreSQL's input functions
    /// (<see cref="DatumText.TryParse"/>, the same parser clients' text parameters and string casts use).
    /// <paramref name="explicitCast"/> lets varchar(n) truncate instead of failing.
    /// </summary>
    public static bool TryParse(string text, SqlType type, bool explicitCast, out Datum value, out PlanError? error)
    {
        error = null;
        SqlType parseAs = type.Kind == SqlTypeKind.Unknown ? SqlType.Text : type;
        if (explicitCast && type.Kind == SqlTypeKind.Varchar && type.Length >= 0 && text.Length > type.Length)
        {
            // An explicit cast to varchar(n) truncates (PostgreSQL); only assignment refuses long values.
            text = text[..type.Length];
        }
        if (!DatumText.TryParse(text, parseAs, out value, out EvalError? evalError))
        {
            error = new PlanError(evalError.SqlState, evalError.Message);
            return false;
        }
        return true;
    }

    public static bool FitsInteger(long value, SqlTypeKind kind) => kind switch
    {
        SqlTypeKind.Int16 => value is >= short.MinValue and <= short.MaxValue,
        SqlTypeKind.Int32 => value is >= int.MinValue and <= int.MaxValue,
        _ => true,
    };
}
