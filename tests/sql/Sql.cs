using Kernel.Sql.Parsing;
using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;
using Xunit;

namespace Kernel.Tests.Sql;

/// <summary>Shorthands for the tests: parse something that must parse, or must not.</summary>
internal static class Sql
{
    public static Statement ParseOne(string sql)
    {
        ParseResult result = Parser.Parse(sql);
        Assert.True(result.IsSuccess, $"{sql}: {result.Error}");
        return Assert.Single(result.Statements).Statement;
    }

    public static T ParseOne<T>(string sql)
        where T : Statement => Assert.IsType<T>(ParseOne(sql));

    public static Query ParseQuery(string sql) => ParseOne<SelectStatement>(sql).Query;

    public static Select ParseSelect(string sql) => Assert.IsType<Select>(ParseQuery(sql).Body);

    public static Expression ParseExpression(string sql)
    {
        ExpressionParseResult result = Parser.ParseExpression(sql);
        Assert.True(result.IsSuccess, $"{sql}: {result.Error}");
        return result.Expression;
    }

    public static ParseError ParseError(string sql)
    {
        ParseResult result = Parser.Parse(sql);
        Assert.False(result.IsSuccess, $"{sql} parsed, but should not have");
        return result.Error;
    }

    /// <summary>The canonical text of the single statement in <paramref name="sql"/>.</summary>
    public static string Canonical(string sql) => SqlPrinter.Print(ParseOne(sql));

    /// <summary>The expression printed with every compound node in parentheses: its tree's shape.</summary>
    public static string Shape(string expression) =>
        SqlPrinter.Print(ParseExpression(expression), PrintOptions.FullyParenthesized);

    public static ColumnRef Column(params string[] parts) => ColumnRef.Of(parts);

    public static IntegerLiteral Integer(long value) => new(value);
}
