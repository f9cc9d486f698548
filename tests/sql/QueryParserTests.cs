using Kernel.Sql.Syntax;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>SELECT, VALUES, set operations, WITH, FROM items and joins.</summary>
public sealed class QueryParserTests
{
    [Fact]
    public void Select_Simple_BuildsTheTree()
    {
        Select select = ParseSelect("SELECT a, t.b AS x, 1 y FROM t WHERE a > 1");
        Assert.Equal(
            new Select(
                null,
                [
                    new ExpressionItem(Column("a"), null),
                    new ExpressionItem(Column("t", "b"), "x"),
                    new ExpressionItem(Integer(1), "y"),
                ],
                [new TableReference(ObjectName.Of("t"), null)],
                new BinaryOperation(Column("a"), ">", Integer(1)),
                [],
                null),
            select);
    }

    [Fact]
    public void Select_Wildcards_AreItems()
    {
        Select select = ParseSelect("SELECT *, t.*, s.t.* FROM t");
        Assert.Equal(
            [new Wildcard(null), new Wildcard(ObjectName.Of("t")), new Wildcard(ObjectName.Of("s", "t"))],
            select.Items);
    }

    [Fact]
    public void Select_KeywordsAsLabels_FollowPostgresRules()
    {
        // AS takes any word; without AS only "bare label" keywords, and an operator keyword such as IS or
        // AND becomes the label when the item ends right after it.
        Assert.Equal("from", Assert.IsType<ExpressionItem>(ParseSelect("SELECT 1 AS from").Items[0]).Alias);
        Assert.Equal("all", Assert.IsType<ExpressionItem>(ParseSelect("SELECT 1 all").Items[0]).Alias);
        Assert.Equal("is", Assert.IsType<ExpressionItem>(ParseSelect("SELECT a IS FROM t").Items[0]).Alias);
        Assert.Equal("and", Assert.IsType<ExpressionItem>(ParseSelect("SELECT a AND b AND FROM t").Items[0]).Alias);
        Assert.Equal("at", Assert.IsType<ExpressionItem>(ParseSelect("SELECT 1 at").Items[0]).Alias);
    }

    [Fact]
    public void Select_Distinct_AndDistinctOn()
    {
        Assert.Equal(new SelectDistinct([]), ParseSelect("SELECT DISTINCT a FROM t").Distinct);
        Assert.Equal(new SelectDistinct([Column("a"), Column("b")]), ParseSelect("SELECT DISTINCT ON (a, b) a, c FROM t").Distinct);
        Assert.Null(ParseSelect("SELECT ALL a FROM t").Distinct);
    }

    [Fact]
    public void Select_EmptyTargetList_IsAllowed()
    {
        Assert.Empty(ParseSelect("SELECT FROM t").Items);
        Assert.Empty(ParseSelect("SELECT").Items);
    }

    [Fact]
    public void Select_GroupByHaving_AreKept()
    {
        Select select = ParseSelect("SELECT a, count(*) FROM t GROUP BY a, b + 1 HAVING count(*) > 1");
        Assert.Equal([Column("a"), new BinaryOperation(Column("b"), "+", Integer(1))], select.GroupBy);
        Assert.IsType<BinaryOperation>(select.Having);
    }

    [Fact]
    public void Query_OrderLimitOffset_ApplyToTheWholeQuery()
    {
        Query query = ParseQuery("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1 DESC NULLS LAST, 2 LIMIT 10 OFFSET 5");
        Assert.IsType<SetOperation>(query.Body);
        Assert.Equal(
            [new OrderByItem(Integer(1), SortDirection.Descending, NullsOrder.Last), OrderByItem.Of(Integer(2))],
            query.OrderBy);
        Assert.Equal(Integer(10), query.Limit);
        Assert.Equal(Integer(5), query.Offset);
    }

    [Theory]
    [InlineData("SELECT a FROM t LIMIT ALL", "SELECT a FROM t")]
    [InlineData("SELECT a FROM t OFFSET 2 ROWS LIMIT 3", "SELECT a FROM t LIMIT 3 OFFSET 2")]
    [InlineData("SELECT a FROM t OFFSET 1 ROW FETCH FIRST 2 ROWS ONLY", "SELECT a FROM t LIMIT 2 OFFSET 1")]
    [InlineData("SELECT a FROM t FETCH NEXT ROW ONLY", "SELECT a FROM t LIMIT 1")]
    [InlineData("SELECT a FROM t FETCH FIRST $1 ROWS ONLY", "SELECT a FROM t LIMIT $1")]
    public void Query_LimitSpellings_HaveOneCanonicalForm(string sql, string canonical) =>
        Assert.Equal(canonical, Canonical(sql));

    [Theory]
    [InlineData("(SELECT 1) LIMIT 1", "SELECT 1 LIMIT 1")]
    [InlineData("((SELECT a FROM t ORDER BY a)) LIMIT 1", "SELECT a FROM t ORDER BY a LIMIT 1")]
    [InlineData("(((SELECT a FROM t))) ORDER BY a DESC LIMIT 4", "SELECT a FROM t ORDER BY a DESC LIMIT 4")]
    [InlineData("WITH x AS (SELECT 1) (SELECT * FROM x)", "WITH x AS (SELECT 1) SELECT * FROM x")]
    public void Query_Parenthesized_MergesIntoTheEnclosingQuery(string sql, string canonical) =>
        Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void SetOperation_IntersectBindsTighter_AndChainsAssociateLeft()
    {
        QueryBody body = ParseQuery("SELECT 1 UNION SELECT 2 INTERSECT SELECT 3 EXCEPT ALL SELECT 4").Body;
        SetOperation except = Assert.IsType<SetOperation>(body);
        Assert.Equal(SetOperator.Except, except.Operator);
        Assert.True(except.All);
        SetOperation union = Assert.IsType<SetOperation>(except.Left);
        Assert.Equal(SetOperator.Union, union.Operator);
        Assert.False(union.All);
        Assert.Equal(SetOperator.Intersect, Assert.IsType<SetOperation>(union.Right).Operator);
    }

    [Theory]
    [InlineData("(SELECT 1 UNION SELECT 2) INTERSECT SELECT 3", "(SELECT 1 UNION SELECT 2) INTERSECT SELECT 3")]
    [InlineData("SELECT 1 UNION (SELECT 2 UNION SELECT 3)", "SELECT 1 UNION (SELECT 2 UNION SELECT 3)")]
    [InlineData("(SELECT 1) UNION (SELECT 2)", "SELECT 1 UNION SELECT 2")]
    [InlineData("(SELECT 1 LIMIT 1) UNION DISTINCT SELECT 2", "(SELECT 1 LIMIT 1) UNION SELECT 2")]
    [InlineData("VALUES (1) UNION ALL VALUES (2)", "VALUES (1) UNION ALL VALUES (2)")]
    public void SetOperation_Parentheses_AreKeptOnlyWhereNeeded(string sql, string canonical) =>
        Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Values_AsAQuery_HasRows()
    {
        Query query = ParseQuery("VALUES (1, 'a'), (2, DEFAULT) ORDER BY 1");
        Values values = Assert.IsType<Values>(query.Body);
        Assert.Equal([[Integer(1), new StringLiteral("a")], [Integer(2), new DefaultValue()]], values.Rows);
        Assert.Single(query.OrderBy);
    }

    [Fact]
    public void Table_IsSelectStarFrom()
    {
        Assert.Equal("SELECT * FROM s.t", Canonical("TABLE s.t"));
    }

    [Fact]
    public void With_CommonTableExpressions_WithColumnLists()
    {
        Query query = ParseQuery("WITH a (x, y) AS (SELECT 1, 2), b AS (VALUES (3)) SELECT * FROM a, b");
        Assert.Equal(2, query.With.Count);
        Assert.Equal(new CommonTableExpression("a", ["x", "y"], ParseQuery("SELECT 1, 2")), query.With[0]);
        Assert.Equal("b", query.With[1].Name);
        Assert.Empty(query.With[1].Columns);
    }

    [Fact]
    public void From_TableAliases_WithColumnAliases()
    {
        Select select = ParseSelect("SELECT * FROM s.t AS x (a, b), u y, v");
        Assert.Equal(
            [
                new TableReference(ObjectName.Of("s", "t"), new Alias("x", ["a", "b"])),
                new TableReference(ObjectName.Of("u"), Alias.Of("y")),
                new TableReference(ObjectName.Of("v"), null),
            ],
            select.From);
    }

    [Fact]
    public void From_Subquery_AliasIsOptional()
    {
        Select select = ParseSelect("SELECT * FROM (SELECT 1) AS s, (VALUES (2)), LATERAL (SELECT 3) l");
        Assert.Equal(new SubqueryReference(ParseQuery("SELECT 1"), Alias.Of("s"), false), select.From[0]);
        Assert.Null(Assert.IsType<SubqueryReference>(select.From[1]).Alias);
        Assert.True(Assert.IsType<SubqueryReference>(select.From[2]).Lateral);
    }

    [Fact]
    public void From_TableFunction_IsAFunctionReference()
    {
        Select select = ParseSelect("SELECT * FROM generate_series(1, 3) AS g (n)");
        Assert.Equal(
            new FunctionReference(FunctionCall.Of("generate_series", Integer(1), Integer(3)), new Alias("g", ["n"]), false),
            select.From[0]);
    }

    [Theory]
    [InlineData("SELECT * FROM a JOIN b ON a.x = b.x", JoinKind.Inner)]
    [InlineData("SELECT * FROM a INNER JOIN b ON true", JoinKind.Inner)]
    [InlineData("SELECT * FROM a LEFT JOIN b ON true", JoinKind.Left)]
    [InlineData("SELECT * FROM a LEFT OUTER JOIN b ON true", JoinKind.Left)]
    [InlineData("SELECT * FROM a RIGHT OUTER JOIN b USING (x)", JoinKind.Right)]
    [InlineData("SELECT * FROM a FULL JOIN b USING (x, y)", JoinKind.Full)]
    [InlineData("SELECT * FROM a CROSS JOIN b", JoinKind.Cross)]
    [InlineData("SELECT * FROM a NATURAL LEFT JOIN b", JoinKind.Left)]
    public void Join_Kinds_AreRecognized(string sql, JoinKind kind) =>
        Assert.Equal(kind, Assert.IsType<JoinReference>(ParseSelect(sql).From[0]).Kind);

    [Fact]
    public void Join_Conditions_AreKept()
    {
        var on = (JoinReference)ParseSelect("SELECT * FROM a JOIN b ON a.x = b.x").From[0];
        Assert.Equal(new OnCondition(new BinaryOperation(Column("a", "x"), "=", Column("b", "x"))), on.Condition);
        var usingJoin = (JoinReference)ParseSelect("SELECT * FROM a JOIN b USING (x) AS j").From[0];
        Assert.Equal(new UsingCondition(["x"], "j"), usingJoin.Condition);
        var natural = (JoinReference)ParseSelect("SELECT * FROM a NATURAL JOIN b").From[0];
        Assert.IsType<NaturalCondition>(natural.Condition);
        Assert.Null(((JoinReference)ParseSelect("SELECT * FROM a CROSS JOIN b").From[0]).Condition);
    }

    [Fact]
    public void Join_Chain_AssociatesLeft()
    {
        var outer = (JoinReference)ParseSelect("SELECT * FROM a JOIN b ON p LEFT JOIN c ON q").From[0];
        Assert.Equal(JoinKind.Left, outer.Kind);
        Assert.Equal(new TableReference(ObjectName.Of("c"), null), outer.Right);
        Assert.IsType<JoinReference>(outer.Left);
    }

    [Fact]
    public void Join_WithoutConditionBeforeAnother_NestsToTheRight()
    {
        // a JOIN b JOIN c ON x ON y is a JOIN (b JOIN c ON x) ON y, as in PostgreSQL.
        var outer = (JoinReference)ParseSelect("SELECT * FROM a JOIN b JOIN c ON x ON y").From[0];
        Assert.Equal(new OnCondition(Column("y")), outer.Condition);
        var inner = Assert.IsType<JoinReference>(outer.Right);
        Assert.Equal(new OnCondition(Column("x")), inner.Condition);
    }

    [Theory]
    [InlineData("SELECT * FROM (a JOIN b ON true) AS j", "SELECT * FROM (a JOIN b ON TRUE) AS j")]
    [InlineData("SELECT * FROM a JOIN (b JOIN c ON p) ON q", "SELECT * FROM a JOIN (b JOIN c ON p) ON q")]
    [InlineData("SELECT * FROM ((a JOIN b ON p)) JOIN c ON q", "SELECT * FROM a JOIN b ON p JOIN c ON q")]
    [InlineData("SELECT * FROM ((SELECT 1) x JOIN (SELECT 2) y ON true)", "SELECT * FROM (SELECT 1) AS x JOIN (SELECT 2) AS y ON TRUE")]
    [InlineData("SELECT * FROM ((SELECT 1) UNION (SELECT 2)) u", "SELECT * FROM (SELECT 1 UNION SELECT 2) AS u")]
    [InlineData("SELECT * FROM ((SELECT 1)) AS s", "SELECT * FROM (SELECT 1) AS s")]
    public void From_NestedParentheses_AreResolvedLikePostgres(string sql, string canonical) =>
        Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Subquery_InExpression_ContinuesAsAQuery()
    {
        Expression expression = ParseExpression("((SELECT 1) UNION (SELECT 2) ORDER BY 1)");
        Query query = Assert.IsType<SubqueryExpression>(expression).Query;
        Assert.IsType<SetOperation>(query.Body);
        Assert.Single(query.OrderBy);
    }
}
