using Kernel.Sql;
using Kernel.Sql.Parsing;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>
/// Operator precedence and associativity, shown by printing each tree with every compound node in
/// parentheses. The expected shapes follow PostgreSQL 15's precedence table (gram.y).
/// </summary>
public sealed class PrecedenceTests
{
    [Theory]
    [InlineData("1 + 2 * 3", "(1 + (2 * 3))")]
    [InlineData("1 * 2 + 3", "((1 * 2) + 3)")]
    [InlineData("1 - 2 - 3", "((1 - 2) - 3)")]
    [InlineData("1 / 2 % 3 * 4", "(((1 / 2) % 3) * 4)")]
    [InlineData("2 ^ 3 ^ 2", "((2 ^ 3) ^ 2)")]
    [InlineData("2 * 3 ^ 2", "(2 * (3 ^ 2))")]
    [InlineData("-2 ^ 2", "((-2) ^ 2)")]
    [InlineData("- a * b", "((-a) * b)")]
    [InlineData("a * - b", "(a * (-b))")]
    [InlineData("- - a", "(-(-a))")]
    [InlineData("-a::int", "(-(a::integer))")]
    [InlineData("a::int::text", "((a::integer)::text)")]
    [InlineData("(a + b)::text", "((a + b)::text)")]
    public void Arithmetic_BindsAsInPostgres(string expression, string shape) => Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("a || b + c", "(a || (b + c))")]
    [InlineData("a + b || c", "((a + b) || c)")]
    [InlineData("a || b || c", "((a || b) || c)")]
    [InlineData("a @> b = c", "((a @> b) = c)")]
    [InlineData("~ a + b", "(~(a + b))")]
    [InlineData("~ a || b", "((~a) || b)")]
    [InlineData("|/ a ^ 2", "(|/(a ^ 2))")]
    public void OtherOperators_SitBetweenAdditionAndComparison(string expression, string shape) =>
        Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("a = b AND c < d", "((a = b) AND (c < d))")]
    [InlineData("a OR b AND c", "(a OR (b AND c))")]
    [InlineData("a AND b OR c AND d", "((a AND b) OR (c AND d))")]
    [InlineData("NOT a AND b", "((NOT a) AND b)")]
    [InlineData("NOT a = b", "(NOT (a = b))")]
    [InlineData("NOT NOT a", "(NOT (NOT a))")]
    [InlineData("a = NOT b", "(a = (NOT b))")]
    [InlineData("a AND b AND c OR d", "((a AND b AND c) OR d)")]
    public void Boolean_AndOverOrOverNot(string expression, string shape) => Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("a = b IS NULL", "((a = b) IS NULL)")]
    [InlineData("a IS NULL = b", "((a IS NULL) = b)")]
    [InlineData("a IS NULL IS NULL", "((a IS NULL) IS NULL)")]
    [InlineData("NOT a IS NULL", "(NOT (a IS NULL))")]
    [InlineData("a + 1 IS NOT TRUE", "((a + 1) IS NOT TRUE)")]
    [InlineData("a IS DISTINCT FROM b = c", "(a IS DISTINCT FROM (b = c))")]
    [InlineData("a = b IS DISTINCT FROM c", "((a = b) IS DISTINCT FROM c)")]
    [InlineData("a = b ISNULL", "((a = b) IS NULL)")]
    public void Is_BindsLooserThanComparison(string expression, string shape) => Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("a BETWEEN 1 AND 2 + 3", "(a BETWEEN 1 AND (2 + 3))")]
    [InlineData("a BETWEEN 1 AND 2 AND c", "((a BETWEEN 1 AND 2) AND c)")]
    [InlineData("a BETWEEN b < c AND d", "(a BETWEEN (b < c) AND d)")]
    [InlineData("a + 1 BETWEEN b AND c = d", "(((a + 1) BETWEEN b AND c) = d)")]
    [InlineData("a NOT BETWEEN 1 AND 2 OR b", "((a NOT BETWEEN 1 AND 2) OR b)")]
    [InlineData("a LIKE b || c", "(a LIKE (b || c))")]
    [InlineData("a LIKE b = c", "((a LIKE b) = c)")]
    [InlineData("a || b NOT ILIKE c ESCAPE d", "((a || b) NOT ILIKE c ESCAPE d)")]
    [InlineData("a IN (1, 2) = TRUE", "((a IN (1, 2)) = TRUE)")]
    [InlineData("a + 1 IN (1) IN (TRUE)", "(((a + 1) IN (1)) IN (TRUE))")]
    [InlineData("a < b IN (TRUE)", "(a < (b IN (TRUE)))")]
    public void BetweenInLike_BindTighterThanComparison(string expression, string shape) =>
        Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("1 < ALL (SELECT 1) = TRUE", "((1 < ALL (SELECT 1)) = TRUE)")]
    [InlineData("a + b = ANY (SELECT 1)", "((a + b) = ANY (SELECT 1))")]
    [InlineData("a = ANY ($1) AND b", "((a = ANY ($1)) AND b)")]
    [InlineData("x AT TIME ZONE 'UTC' + y", "(pg_catalog.timezone('UTC', x) + y)")]
    [InlineData("CASE WHEN a THEN b + 1 END * 2", "(CASE WHEN a THEN (b + 1) END * 2)")]
    [InlineData("(SELECT 1) + 1", "((SELECT 1) + 1)")]
    public void OtherForms_HaveTheExpectedShape(string expression, string shape) => Assert.Equal(shape, Shape(expression));

    [Theory]
    [InlineData("SELECT 1 = 2 = 3", "=", 14)]
    [InlineData("SELECT 1 < 2 < 3", "<", 14)]
    [InlineData("SELECT 'a' like 'b' like 'c'", "like", 21)]
    [InlineData("SELECT 1 between 0 and 2 between 0 and 1", "between", 26)]
    [InlineData("SELECT 1 is distinct from 2 is distinct from 3", "is", 29)]
    [InlineData("SELECT 1 = 1 < any(select 1)", "<", 14)]
    public void NonAssociativeOperators_CannotChain(string sql, string near, int position)
    {
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.SyntaxError, error.SqlState);
        Assert.Equal($"syntax error at or near \"{near}\"", error.Message);
        Assert.Equal(position, error.Position);
    }

    [Theory]
    [InlineData("1 + 2 * 3")]
    [InlineData("(1 + 2) * 3")]
    [InlineData("a - (b - c)")]
    [InlineData("(a OR b) AND c")]
    [InlineData("NOT (a AND b)")]
    [InlineData("-(a + b)")]
    [InlineData("(a = b) = c")]
    [InlineData("a = (b = c)")]
    [InlineData("(a IS NULL) IS NOT NULL")]
    [InlineData("(a BETWEEN 1 AND 2) BETWEEN b AND c")]
    [InlineData("a BETWEEN (1 AND 2) AND c")]
    public void MinimalParentheses_PreserveTheTree(string expression)
    {
        // Printing with as few parentheses as possible must still read back as the same tree.
        string printed = Kernel.Sql.Printing.SqlPrinter.Print(ParseExpression(expression));
        Assert.Equal(ParseExpression(expression), ParseExpression(printed));
    }
}
