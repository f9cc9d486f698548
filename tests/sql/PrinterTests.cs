using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>The printer's canonical form: names, literals and spacing.</summary>
public sealed class PrinterTests
{
    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("a_b$1", "a_b$1")]
    [InlineData("Abc", "\"Abc\"")]
    [InlineData("a b", "\"a b\"")]
    [InlineData("a\"b", "\"a\"\"b\"")]
    [InlineData("1a", "\"1a\"")]
    [InlineData("été", "\"été\"")]
    [InlineData("select", "\"select\"")]
    [InlineData("left", "\"left\"")]
    [InlineData("name", "name")]
    [InlineData("int", "int")]
    public void QuoteIdentifier_QuotesOnlyWhatMustBe(string name, string quoted) =>
        Assert.Equal(quoted, SqlPrinter.QuoteIdentifier(name));

    [Theory]
    [InlineData("SELECT \"Select\".\"From\" AS \"As\" FROM \"Select\"", "SELECT \"Select\".\"From\" AS \"As\" FROM \"Select\"")]
    [InlineData("SELECT t.from, x AS from FROM t", "SELECT t.from, x AS from FROM t")]
    [InlineData("SELECT \"left\"(a), left(a, 1) FROM t", "SELECT left(a), left(a, 1) FROM t")]
    [InlineData("SELECT \"coalesce\"(DISTINCT a) FROM t", "SELECT \"coalesce\"(DISTINCT a) FROM t")]
    [InlineData("SELECT \"trim\"(a) FROM t", "SELECT \"trim\"(a) FROM t")]
    [InlineData("SELECT a FROM t AS \"user\"", "SELECT a FROM t AS \"user\"")]
    public void Names_AreQuotedByTheirPosition(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Theory]
    [InlineData("SELECT 'it''s', E'a\\nb', $$x'y$$", "SELECT 'it''s', 'a\nb', 'x''y'")]
    [InlineData("SELECT B'101', X'ff'", "SELECT B'101', X'ff'")]
    [InlineData("SELECT 1.50, .5, 1e3, 007", "SELECT 1.50, .5, 1e3, 7")]
    [InlineData("SELECT true, NULL, $2", "SELECT TRUE, NULL, $2")]
    [InlineData("SELECT DATE '2024-01-01', INTERVAL '1' DAY", "SELECT '2024-01-01'::date, '1'::interval day")]
    public void Literals_HaveOneSpelling(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Theory]
    [InlineData("SELECT - -a, -(-1), +-a", "SELECT - -a, - -1, + -a")]
    [InlineData("SELECT ~ -a, ~-a, |/ 4", "SELECT ~ -a, ~-a, |/4")]
    [InlineData("SELECT a - -1", "SELECT a - -1")]
    public void PrefixOperators_NeverMergeIntoCommentsOrOtherOperators(string sql, string canonical)
    {
        Assert.Equal(canonical, Canonical(sql));
        Assert.Equal(ParseOne(sql), ParseOne(canonical));
    }

    [Fact]
    public void HandBuiltTree_Prints()
    {
        var statement = new SelectStatement(Query.Of(new Select(
            null,
            [new ExpressionItem(new BinaryOperation(Column("a"), "+", Integer(1)), "b")],
            [new TableReference(ObjectName.Of("s", "T"), null)],
            new InListExpression(Column("a"), [Integer(1), new StringLiteral("x")], false),
            [],
            null)));
        Assert.Equal("SELECT a + 1 AS b FROM s.\"T\" WHERE a IN (1, 'x')", SqlPrinter.Print(statement));
    }

    [Fact]
    public void FullyParenthesized_WrapsEveryCompoundNode() =>
        Assert.Equal("((a + (b * c)) > f((d - e)))", SqlPrinter.Print(ParseExpression("a + b * c > f(d - e)"), PrintOptions.FullyParenthesized));
}
