using Kernel.Sql.Parsing;
using Kernel.Sql.Syntax;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>Literals, names, calls and the special expression forms.</summary>
public sealed class ExpressionParserTests
{
    [Fact]
    public void Literals_HaveTheirOwnNodes()
    {
        Assert.Equal(Integer(42), ParseExpression("42"));
        Assert.Equal(new NumericLiteral("4.2e1"), ParseExpression("4.2e1"));
        Assert.Equal(new NumericLiteral("9223372036854775808"), ParseExpression("9223372036854775808"));
        Assert.Equal(Integer(long.MaxValue), ParseExpression("9223372036854775807"));
        Assert.Equal(new StringLiteral("it's"), ParseExpression("'it''s'"));
        Assert.Equal(new BitStringLiteral("b101"), ParseExpression("B'101'"));
        Assert.Equal(new BooleanLiteral(true), ParseExpression("TRUE"));
        Assert.Equal(new BooleanLiteral(false), ParseExpression("false"));
        Assert.Equal(new NullLiteral(), ParseExpression("NULL"));
        Assert.Equal(new Parameter(3), ParseExpression("$3"));
    }

    [Fact]
    public void Negative_Number_IsAUnaryMinus()
    {
        Assert.Equal(new UnaryOperation("-", Integer(5)), ParseExpression("-5"));
    }

    [Fact]
    public void ColumnRefs_AreCaseFoldedUnlessQuoted()
    {
        Assert.Equal(Column("a"), ParseExpression("A"));
        Assert.Equal(Column("t", "A"), ParseExpression("t.\"A\""));
        Assert.Equal(Column("db", "s", "t", "select"), ParseExpression("db.s.t.select"));
        Assert.Equal(Column("name"), ParseExpression("name"));
        Assert.Equal(Column("timestamp"), ParseExpression("timestamp"));
    }

    [Fact]
    public void FunctionCall_AggregateForms()
    {
        Assert.Equal(
            new FunctionCall(ObjectName.Of("count"), [], false, true, [], null, null),
            ParseExpression("count(*)"));
        Assert.Equal(
            new FunctionCall(ObjectName.Of("count"), [Column("a")], true, false, [], null, null),
            ParseExpression("COUNT(DISTINCT a)"));
        Assert.Equal(
            new FunctionCall(
                ObjectName.Of("string_agg"),
                [Column("x"), new StringLiteral(",")],
                false,
                false,
                [new OrderByItem(Column("x"), SortDirection.Descending, NullsOrder.Default)],
                new BinaryOperation(Column("x"), "<>", new StringLiteral("")),
                null),
            ParseExpression("string_agg(x, ',' ORDER BY x DESC) FILTER (WHERE x != '')"));
        Assert.Equal(FunctionCall.Of(ObjectName.Of("pg_catalog", "now")), ParseExpression("pg_catalog.now()"));
    }

    [Fact]
    public void FunctionCall_WindowSpecification()
    {
        var call = Assert.IsType<FunctionCall>(ParseExpression("row_number() OVER (PARTITION BY a, b ORDER BY c NULLS FIRST)"));
        Assert.Equal(
            new WindowSpecification([Column("a"), Column("b")], [new OrderByItem(Column("c"), SortDirection.Default, NullsOrder.First)]),
            call.Over);
        Assert.Equal(new WindowSpecification([], []), Assert.IsType<FunctionCall>(ParseExpression("rank() OVER ()")).Over);
    }

    [Theory]
    [InlineData("coalesce(a, 1)", "coalesce(a, 1)")]
    [InlineData("NULLIF(a, 0)", "nullif(a, 0)")]
    [InlineData("GREATEST(1, 2, 3)", "greatest(1, 2, 3)")]
    [InlineData("least(a)", "least(a)")]
    [InlineData("EXTRACT(YEAR FROM d)", "pg_catalog.extract('year', d)")]
    [InlineData("extract(epoch FROM d)", "pg_catalog.extract('epoch', d)")]
    [InlineData("POSITION('b' IN s)", "pg_catalog.position(s, 'b')")]
    [InlineData("SUBSTRING(s FROM 2 FOR 3)", "pg_catalog.substring(s, 2, 3)")]
    [InlineData("substring(s FOR 3)", "pg_catalog.substring(s, 1, 3)")]
    [InlineData("substring(s, 2)", "substring(s, 2)")]
    [InlineData("TRIM(BOTH 'x' FROM s)", "pg_catalog.btrim(s, 'x')")]
    [InlineData("TRIM(LEADING FROM s)", "pg_catalog.ltrim(s)")]
    [InlineData("trim(s)", "pg_catalog.btrim(s)")]
    [InlineData("OVERLAY(s PLACING 'ab' FROM 2 FOR 1)", "pg_catalog.overlay(s, 'ab', 2, 1)")]
    [InlineData("ts AT TIME ZONE 'UTC'", "pg_catalog.timezone('UTC', ts)")]
    [InlineData("left('abc', 2)", "left('abc', 2)")]
    public void SpecialCallSyntax_BecomesPostgresCalls(string expression, string printed) =>
        Assert.Equal(printed, Kernel.Sql.Printing.SqlPrinter.Print(ParseExpression(expression)));

    [Theory]
    [InlineData("CURRENT_DATE", SqlValueFunctionKind.CurrentDate, null)]
    [InlineData("current_timestamp", SqlValueFunctionKind.CurrentTimestamp, null)]
    [InlineData("CURRENT_TIMESTAMP(3)", SqlValueFunctionKind.CurrentTimestamp, 3)]
    [InlineData("LOCALTIME", SqlValueFunctionKind.LocalTime, null)]
    [InlineData("CURRENT_USER", SqlValueFunctionKind.CurrentUser, null)]
    [InlineData("CURRENT_SCHEMA", SqlValueFunctionKind.CurrentSchema, null)]
    public void SqlValueFunctions_AreRecognized(string expression, SqlValueFunctionKind kind, int? precision) =>
        Assert.Equal(new SqlValueFunction(kind, precision), ParseExpression(expression));

    [Fact]
    public void CurrentSchema_WithParentheses_IsAFunctionCall() =>
        Assert.Equal(FunctionCall.Of("current_schema"), ParseExpression("current_schema()"));

    [Fact]
    public void Case_SimpleAndSearched()
    {
        Assert.Equal(
            new CaseExpression(
                Column("a"),
                [new WhenClause(Integer(1), new StringLiteral("one")), new WhenClause(Integer(2), new StringLiteral("two"))],
                new StringLiteral("many")),
            ParseExpression("CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' ELSE 'many' END"));
        Assert.Equal(
            new CaseExpression(null, [new WhenClause(new BinaryOperation(Column("a"), ">", Integer(0)), Integer(1))], null),
            ParseExpression("CASE WHEN a > 0 THEN 1 END"));
    }

    [Fact]
    public void Casts_AllSpellingsAreOneNode()
    {
        var expected = new CastExpression(Column("a"), TypeName.Of("int4"));
        Assert.Equal(expected, ParseExpression("a::int"));
        Assert.Equal(expected, ParseExpression("CAST(a AS integer)"));
        Assert.Equal(expected, ParseExpression("a::int4"));
    }

    [Theory]
    [InlineData("DATE '2024-01-01'", "date", "2024-01-01")]
    [InlineData("timestamp '2024-01-01 10:00'", "timestamp", "2024-01-01 10:00")]
    [InlineData("TIMESTAMP WITH TIME ZONE 'x'", "timestamptz", "x")]
    [InlineData("int4 '5'", "int4", "5")]
    [InlineData("double precision '1.5'", "float8", "1.5")]
    [InlineData("jsonb '{}'", "jsonb", "{}")]
    [InlineData("char 'abc'", "bpchar", "abc")]
    public void TypedLiterals_AreCastsOfStrings(string expression, string type, string text)
    {
        var cast = Assert.IsType<CastExpression>(ParseExpression(expression));
        Assert.Equal(new StringLiteral(text), cast.Operand);
        Assert.Equal(ObjectName.Of(type), cast.Type.Name);
    }

    [Fact]
    public void IntervalLiterals_KeepFieldsAndPrecision()
    {
        Assert.Equal(
            new CastExpression(new StringLiteral("1 day"), TypeName.Of("interval")),
            ParseExpression("INTERVAL '1 day'"));
        Assert.Equal(
            new CastExpression(new StringLiteral("1"), new TypeName(ObjectName.Of("interval"), [], IntervalFields.Day)),
            ParseExpression("interval '1' day"));
        Assert.Equal(
            new CastExpression(new StringLiteral("1"), new TypeName(ObjectName.Of("interval"), [3], IntervalFields.DayToSecond)),
            ParseExpression("interval '1' day to second(3)"));
        Assert.Equal(
            new CastExpression(new StringLiteral("1"), TypeName.Of("interval", 2)),
            ParseExpression("interval(2) '1'"));
    }

    [Fact]
    public void Predicates_HaveTheirOwnNodes()
    {
        Assert.Equal(new IsNullExpression(Column("a"), true), ParseExpression("a IS NOT NULL"));
        Assert.Equal(new IsNullExpression(Column("a"), false), ParseExpression("a ISNULL"));
        Assert.Equal(new IsNullExpression(Column("a"), true), ParseExpression("a NOTNULL"));
        Assert.Equal(new IsBooleanExpression(Column("a"), BooleanTestKind.Unknown, false), ParseExpression("a IS UNKNOWN"));
        Assert.Equal(new IsDistinctFromExpression(Column("a"), Column("b"), true), ParseExpression("a IS NOT DISTINCT FROM b"));
        Assert.Equal(
            new BetweenExpression(Column("a"), Integer(1), Integer(2), true, true),
            ParseExpression("a NOT BETWEEN SYMMETRIC 1 AND 2"));
        Assert.Equal(new InListExpression(Column("a"), [Integer(1), Integer(2)], true), ParseExpression("a NOT IN (1, 2)"));
        Assert.Equal(
            new LikeExpression(Column("a"), new StringLiteral("x%"), new StringLiteral("!"), true, true),
            ParseExpression("a NOT ILIKE 'x%' ESCAPE '!'"));
    }

    [Fact]
    public void Subqueries_InPredicates()
    {
        Assert.Equal(new ExistsExpression(ParseQuery("SELECT 1")), ParseExpression("EXISTS (SELECT 1)"));
        Assert.Equal(new InSubqueryExpression(Column("a"), ParseQuery("SELECT b FROM t"), false), ParseExpression("a IN (SELECT b FROM t)"));
        Assert.Equal(new SubqueryExpression(ParseQuery("SELECT max(b) FROM t")), ParseExpression("(SELECT max(b) FROM t)"));
        Assert.Equal(
            new QuantifiedSubqueryExpression(Column("a"), "<", Quantifier.All, ParseQuery("SELECT 1")),
            ParseExpression("a < ALL (SELECT 1)"));
        Assert.Equal(
            new QuantifiedSubqueryExpression(Column("a"), "=", Quantifier.Any, ParseQuery("VALUES (1)")),
            ParseExpression("a = SOME (VALUES (1))"));
        Assert.Equal(
            new QuantifiedSubqueryExpression(Column("a"), "!~~", Quantifier.Any, ParseQuery("SELECT 'x'")),
            ParseExpression("a NOT LIKE ANY (SELECT 'x')"));
        Assert.Equal(new QuantifiedArrayExpression(Column("a"), "=", Quantifier.Any, new Parameter(1)), ParseExpression("a = ANY ($1)"));
    }

    [Fact]
    public void InWithDoubleParentheses_IsASubqueryAsInPostgres()
    {
        // x IN ((SELECT ...)) compares with every row, not with one scalar subquery.
        Assert.IsType<InSubqueryExpression>(ParseExpression("2 IN ((SELECT 1 UNION SELECT 2))"));
        Assert.IsType<InListExpression>(ParseExpression("2 IN ((SELECT 1), 2)"));
    }

    [Fact]
    public void Rows_ExplicitAndImplicit_AreTheSameNode()
    {
        var row = new RowConstructor([Integer(1), Column("a")]);
        Assert.Equal(row, ParseExpression("ROW(1, a)"));
        Assert.Equal(row, ParseExpression("(1, a)"));
        Assert.Equal(new RowConstructor([]), ParseExpression("ROW()"));
        Assert.IsType<InSubqueryExpression>(ParseExpression("(a, b) IN (SELECT 1, 2)"));
    }

    [Fact]
    public void AndOr_LeftChains_AreFlattenedLikePostgres()
    {
        Assert.Equal(new AndExpression([Column("a"), Column("b"), Column("c")]), ParseExpression("a AND b AND c"));
        Assert.Equal(new AndExpression([Column("a"), Column("b"), Column("c")]), ParseExpression("(a AND b) AND c"));
        Assert.Equal(
            new AndExpression([Column("a"), new AndExpression([Column("b"), Column("c")])]),
            ParseExpression("a AND (b AND c)"));
        Assert.Equal(new OrExpression([Column("a"), Column("b"), Column("c")]), ParseExpression("a OR b OR c"));
    }

    [Fact]
    public void NotEquals_BangSpelling_IsStoredAsAngleBrackets() =>
        Assert.Equal(new BinaryOperation(Column("a"), "<>", Integer(1)), ParseExpression("a != 1"));

    [Fact]
    public void ParseExpression_RejectsTrailingTokens()
    {
        ExpressionParseResult result = Parser.ParseExpression("1 + 2 3");
        Assert.False(result.IsSuccess);
        Assert.Equal("syntax error at or near \"3\"", result.Error.Message);
    }
}
