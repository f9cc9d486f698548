using System;
using System.Globalization;
using System.Text;
using Kernel.Sql.Parsing;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Printing;

[Flags]
public enum PrintOptions
{
    None = 0,

    /// <summary>Parenthesize every compound expression, to show the tree's shape (used by precedence tests).</summary>
    FullyParenthesized = 1,
}

/// <summary>
/// Prints syntax trees back to SQL in a canonical form: keywords in upper case, names quoted only when
/// they must be, parentheses only where precedence needs them, PostgreSQL's internal type names.
/// </summary>
/// <remarks>
/// The contract, checked by the round-trip tests: for every tree the parser produces,
/// <c>Parse(Print(tree)) == tree</c>. Printing is therefore the way to store a view's definition.
/// Trees built by hand print as well, but only parser-shaped trees are promised to round-trip
/// (for instance, a hand-built AND nested as the first operand of another AND parses back flattened).
/// The parser bounds a tree's depth (<see cref="Parser.DepthMax"/>); for a deeper hand-built tree the
/// printer throws <see cref="InsufficientExecutionStackException"/> before the stack runs out.
/// </remarks>
public sealed partial class SqlPrinter
{
    private readonly StringBuilder _out = new();
    private readonly bool _fullyParenthesized;

    // Set while printing a restricted expression (PostgreSQL's b_expr) outside any parentheses.
    private bool _restricted;

    private SqlPrinter(PrintOptions options) => _fullyParenthesized = (options & PrintOptions.FullyParenthesized) != 0;

    public static string Print(Statement statement, PrintOptions options = PrintOptions.None)
    {
        var printer = new SqlPrinter(options);
        printer.Statement(statement);
        return printer._out.ToString();
    }

    public static string Print(Query query, PrintOptions options = PrintOptions.None)
    {
        var printer = new SqlPrinter(options);
        printer.Query(query);
        return printer._out.ToString();
    }

    public static string Print(Expression expression, PrintOptions options = PrintOptions.None)
    {
        var printer = new SqlPrinter(options);
        printer.Expression(expression, 0);
        return printer._out.ToString();
    }

    public static string Print(TypeName type)
    {
        var printer = new SqlPrinter(PrintOptions.None);
        printer.Type(type);
        return printer._out.ToString();
    }

    // ---- names ------------------------------------------------------------------------------------

    /// <summary>Where a name appears, which decides which keywords it may be without quotes (see the parser's name classes).</summary>
    private enum NameContext
    {
        /// <summary>Column, table and other object names: unreserved and column-name keywords are fine.</summary>
        ColumnId,

        /// <summary>Function and type names: unreserved and type-or-function keywords are fine.</summary>
        TypeFunctionName,

        /// <summary>After AS or a dot: any keyword is fine.</summary>
        ColumnLabel,
    }

    /// <summary>
    /// <paramref name="name"/> as it must be written to read back as itself in a column or table name
    /// position: double-quoted unless it is lower-case letters, digits, underscores and dollars, starting
    /// with a letter or underscore, and is not a reserved keyword.
    /// </summary>
    public static string QuoteIdentifier(string name) => Quote(name, NameContext.ColumnId);

    private static string Quote(string name, NameContext context)
    {
        if (IsPlainWord(name))
        {
            Keyword keyword = KeywordTable.Lookup(name);
            if (keyword == Keyword.None)
            {
                return name;
            }

            KeywordCategory category = KeywordTable.Category(keyword);
            bool allowed = context switch
            {
                NameContext.ColumnLabel => true,
                NameContext.ColumnId => category is KeywordCategory.Unreserved or KeywordCategory.ColumnName,
                _ => category is KeywordCategory.Unreserved or KeywordCategory.TypeFunctionName,
            };
            if (allowed)
            {
                return name;
            }
        }

        return "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
    }

    private static bool IsPlainWord(string name)
    {
        if (name.Length == 0 || !(name[0] is (>= 'a' and <= 'z') or '_'))
        {
            return false;
        }

        foreach (char c in name)
        {
            if (!(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '$'))
            {
                return false;
            }
        }

        return true;
    }

    private void Name(string name, NameContext context) => _out.Append(Quote(name, context));

    /// <summary>A qualified name whose first part is in <paramref name="firstContext"/> and the rest are labels.</summary>
    private void QualifiedName(NodeList<string> parts, NameContext firstContext)
    {
        for (int i = 0; i < parts.Count; i++)
        {
            if (i > 0)
            {
                _out.Append('.');
            }

            Name(parts[i], i == 0 ? firstContext : NameContext.ColumnLabel);
        }
    }

    private void ObjectName(ObjectName name) => QualifiedName(name.Parts, NameContext.ColumnId);

    private void NameList(NodeList<string> names)
    {
        _out.Append('(');
        for (int i = 0; i < names.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            Name(names[i], NameContext.ColumnId);
        }

        _out.Append(')');
    }

    private static string StringConstant(string value) => "'" + value.Replace("'", "''", StringComparison.Ordinal) + "'";

    // ---- types ------------------------------------------------------------------------------------

    private void Type(TypeName type)
    {
        NodeList<int> modifiers = type.Modifiers;
        string? builtin = type.Name.Parts.Count == 1 ? type.Name.Parts[0] : null;

        // The SQL-standard spellings, where they read back as the same internal name and modifiers.
        string? spelled = (builtin, modifiers.Count) switch
        {
            ("int2", 0) => "smallint",
            ("int4", 0) => "integer",
            ("int8", 0) => "bigint",
            ("float4", 0) => "real",
            ("float8", 0) => "double precision",
            ("bool", 0) => "boolean",
            ("numeric", _) => "numeric",
            ("varchar", _) => "varchar",
            ("bpchar", > 0) => "character",
            ("bit", > 0) => "bit",
            ("varbit", > 0) => "bit varying",
            ("timestamp", _) => "timestamp",
            ("timestamptz", _) => "timestamp",
            ("time", _) => "time",
            ("timetz", _) => "time",
            ("interval", _) => "interval",
            _ => null,
        };

        if (spelled is null)
        {
            QualifiedName(type.Name.Parts, NameContext.TypeFunctionName);
            Modifiers(modifiers);
            return;
        }

        _out.Append(spelled);
        if (builtin == "interval")
        {
            IntervalFields(type.Fields, modifiers);
            return;
        }

        Modifiers(modifiers);
        if (builtin is "timestamptz" or "timetz")
        {
            _out.Append(" with time zone");
        }
    }

    private void Modifiers(NodeList<int> modifiers)
    {
        if (modifiers.Count == 0)
        {
            return;
        }

        _out.Append('(');
        for (int i = 0; i < modifiers.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            _out.Append(modifiers[i].ToString(CultureInfo.InvariantCulture));
        }

        _out.Append(')');
    }

    private void IntervalFields(IntervalFields fields, NodeList<int> modifiers)
    {
        if (fields == Syntax.IntervalFields.None)
        {
            Modifiers(modifiers);
            return;
        }

        _out.Append(' ').Append(fields switch
        {
            Syntax.IntervalFields.Year => "year",
            Syntax.IntervalFields.Month => "month",
            Syntax.IntervalFields.Day => "day",
            Syntax.IntervalFields.Hour => "hour",
            Syntax.IntervalFields.Minute => "minute",
            Syntax.IntervalFields.Second => "second",
            Syntax.IntervalFields.YearToMonth => "year to month",
            Syntax.IntervalFields.DayToHour => "day to hour",
            Syntax.IntervalFields.DayToMinute => "day to minute",
            Syntax.IntervalFields.DayToSecond => "day to second",
            Syntax.IntervalFields.HourToMinute => "hour to minute",
            Syntax.IntervalFields.HourToSecond => "hour to second",
            _ => "minute to second",
        });

        // Only a field list ending in SECOND takes a precision.
        Modifiers(modifiers);
    }
}
