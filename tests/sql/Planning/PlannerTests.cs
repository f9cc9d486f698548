using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Planning;
using Xunit;

namespace Kernel.Tests.Sql.Planning;

public sealed class PlannerTests
{
    private readonly FakeCatalog _catalog = FakeCatalog.Standard();

    private PlanResult PlanOf(string sql, params SqlType[] parameterTypes) => Planner.Plan(Sql.ParseOne(sql), _catalog, parameterTypes);

    private T Planned<T>(string sql)
        where T : Plan
    {
        PlanResult result = PlanOf(sql);
        Assert.True(result.IsSuccess, $"{sql}: {result.Error}");
        return Assert.IsType<T>(result.Plan);
    }

    private PlanError ErrorOf(string sql)
    {
        PlanResult result = PlanOf(sql);
        Assert.False(result.IsSuccess, $"{sql} planned, but should not have");
        return result.Error;
    }

    /// <summary>The query's rows after finishing, as text: columns joined by ',', rows by '|' (NULL as 'null').</summary>
    private string Rows(string sql)
    {
        SelectPlan plan = Planned<SelectPlan>(sql);
        return string.Join("|", Interpreter.Query(plan, _catalog).Select(r => string.Join(",", r.Datums.ToArray().Select(Text))));
    }

    private static string Text(Datum d) => d.Kind switch
    {
        DatumKind.Null => "null",
        DatumKind.String => d.AsString,
        _ => d.ToString(),
    };

    private static void AssertSeq<T>(T[] expected, IEnumerable<T> actual) => Assert.Equal(expected, actual.ToArray());

    private static string Types(RelationDesc desc) => string.Join(", ", desc.Type.Columns.Select(c => c.Type.Name));

    [Fact]
    public void Select_Columns_NamesTypesAndRows()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT k, v AS name, n FROM t ORDER BY k");
        AssertSeq(["k", "name", "n"], plan.Desc.Names);
        Assert.Equal("integer, text, numeric", Types(plan.Desc));
        Assert.False(plan.Desc.Type.Columns[0].Nullable);
        Assert.True(plan.Desc.Type.Columns[1].Nullable);
        Assert.Equal("1,a,1.5|2,b,2.5|3,null,null|4,b,4", Rows("SELECT k, v AS name, n FROM t ORDER BY k"));
    }

    [Fact]
    public void Select_ExpressionNames_FollowPostgres()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT k + 1, count(*), lower(v), 'x', CAST(k AS bigint), 1::int8, true, CASE WHEN k > 1 THEN 1 END FROM t GROUP BY k, v");
        AssertSeq(["?column?", "count", "lower", "?column?", "k", "int8", "bool", "case"], plan.Desc.Names);
        Assert.Equal("integer, bigint, text, text, bigint, bigint, boolean, integer", Types(plan.Desc));
    }

    [Fact]
    public void Literals_TypedLikePostgres()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT 1, 3000000000, 1.5, 'a', NULL, DATE '2020-01-02', -9223372036854775808");
        Assert.Equal("integer, bigint, numeric, text, text, date, bigint", Types(plan.Desc));
        Assert.Equal("1,3000000000,1.5,a,null,date:18263,-9223372036854775808", Rows("SELECT 1, 3000000000, 1.5, 'a', NULL, DATE '2020-01-02', -9223372036854775808"));
    }

    [Fact]
    public void Coercion_IntegerWidensToNumericAndFloat()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT k + n, k * 2.0, k + 1.5::float8, k + 3000000000 FROM t");
        Assert.Equal("numeric, numeric, double precision, bigint", Types(plan.Desc));
        Assert.Equal("2.5|4.5", Rows("SELECT k + n FROM t WHERE k < 3 ORDER BY 1"));
    }

    [Fact]
    public void Coercion_UnknownTakesTheOtherSidesType()
    {
        Assert.Equal("2", Rows("SELECT k FROM t WHERE k = '2'"));
        PlanError error = ErrorOf("SELECT k FROM t WHERE k = 'x'");
        Assert.Equal("22P02", error.SqlState);
        Assert.Contains("invalid input syntax for type integer", error.Message);
    }

    [Fact]
    public void Operator_Mismatch_Is42883WithHint()
    {
        PlanError error = ErrorOf("SELECT k + v FROM t");
        Assert.Equal("42883", error.SqlState);
        Assert.Equal("operator does not exist: integer + text", error.Message);
        Assert.NotNull(error.Hint);
        Assert.Equal(10, error.Position);
    }

    [Fact]
    public void Names_UnknownTableColumnAmbiguous_WithPositions()
    {
        PlanError table = ErrorOf("SELECT * FROM nope");
        Assert.Equal(("42P01", "relation \"nope\" does not exist", 15), (table.SqlState, table.Message, table.Position));
        PlanError column = ErrorOf("SELECT zz FROM t");
        Assert.Equal(("42703", "column \"zz\" does not exist", 8), (column.SqlState, column.Message, column.Position));
        Assert.Equal("42702", ErrorOf("SELECT k FROM t, u").SqlState);
        Assert.Equal("42P01", ErrorOf("SELECT x.k FROM t").SqlState);
    }

    [Fact]
    public void Where_FiltersAndAggregateIs42803()
    {
        Assert.Equal("2,b|4,b", Rows("SELECT k, v FROM t WHERE v = 'b' AND k BETWEEN 1 AND 10 ORDER BY k"));
        Assert.Equal("42803", ErrorOf("SELECT k FROM t WHERE count(*) > 1").SqlState);
        Assert.Equal("42804", ErrorOf("SELECT k FROM t WHERE k").SqlState);
    }

    [Fact]
    public void Predicates_NullTestsInListLikeCase()
    {
        Assert.Equal("3", Rows("SELECT k FROM t WHERE v IS NULL"));
        Assert.Equal("1|3", Rows("SELECT k FROM t WHERE k IN (1, 3, 7) ORDER BY k"));
        Assert.Equal("2|4", Rows("SELECT k FROM t WHERE k NOT IN (1, 3) ORDER BY k"));
        Assert.Equal("1", Rows("SELECT k FROM t WHERE v LIKE 'a%'"));
        Assert.Equal("1,one|2,many|3,many|4,many", Rows("SELECT k, CASE k WHEN 1 THEN 'one' ELSE 'many' END FROM t ORDER BY k"));
        Assert.Equal("3", Rows("SELECT k FROM t WHERE v IS NOT DISTINCT FROM NULL"));
        Assert.Equal("a|b|?|b", Rows("SELECT coalesce(v, '?') FROM t ORDER BY k"));
        Assert.Equal("null|b|null|b", Rows("SELECT nullif(v, 'a') FROM t ORDER BY k"));
        Assert.Equal("1|2|3|4", Rows("SELECT k FROM t WHERE (k > 2) IS NOT TRUE OR k >= 3 ORDER BY k"));
    }

    [Fact]
    public void Functions_TypesAndUnknownFunction()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT upper(v), length(v), abs(k), round(n), round(n, 1), floor(k), sqrt(2), power(2, 3), concat(k, v), greatest(k, 2.5) FROM t");
        Assert.Equal("text, integer, integer, numeric, numeric, double precision, double precision, double precision, text, numeric", Types(plan.Desc));
        PlanError error = ErrorOf("SELECT frobnicate(k) FROM t");
        Assert.Equal(("42883", "function frobnicate(integer) does not exist"), (error.SqlState, error.Message));
        Assert.Equal("1a|2b|3|4b", Rows("SELECT concat(k, v) FROM t ORDER BY k"));
    }

    [Fact]
    public void GroupBy_AggregatesAndHaving()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT v, count(*), sum(k), avg(k), min(n), max(v), count(DISTINCT v) FROM t GROUP BY v");
        Assert.Equal("text, bigint, bigint, numeric, numeric, text, bigint", Types(plan.Desc));
        Assert.False(plan.Desc.Type.Columns[1].Nullable);
        Assert.Equal("a,1,1|b,2,6|null,1,3", Rows("SELECT v, count(*), sum(k) FROM t GROUP BY v ORDER BY v"));
        Assert.Equal("b,2", Rows("SELECT v, count(*) FROM t GROUP BY 1 HAVING count(*) > 1"));
        Assert.Equal("b,2", Rows("SELECT v AS name, count(*) FROM t GROUP BY name HAVING count(*) > 1"));
        Assert.Equal("1,1|2,2|3,1", Rows("SELECT k % 3 + 1 AS g, count(*) FROM t GROUP BY k % 3 + 1 ORDER BY g"));
    }

    [Fact]
    public void GroupBy_UngroupedColumn_Is42803()
    {
        PlanError error = ErrorOf("SELECT v, k FROM t GROUP BY v");
        Assert.Equal("42803", error.SqlState);
        Assert.Equal("column \"t.k\" must appear in the GROUP BY clause or be used in an aggregate function", error.Message);
        Assert.Equal("42803", ErrorOf("SELECT sum(count(*)) FROM t").SqlState);
    }

    [Fact]
    public void GlobalAggregate_OnEmptyInput_OneRowAndAvgIsNull()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT count(*), avg(k), sum(k) FROM t WHERE k > 100");
        Assert.IsType<Reduce>(FindReduce(plan.Expr));
        Assert.True(FindReduce(plan.Expr)!.Global);
        Assert.Equal("0,null,null", Rows("SELECT count(*), avg(k), sum(k) FROM t WHERE k > 100"));
        Assert.Equal("2.5,10,true,false", Rows("SELECT avg(k), sum(k), bool_or(k > 3), bool_and(k > 3) FROM t"));
        Assert.Equal("double precision", Types(Planned<SelectPlan>("SELECT avg(k::float8) FROM t").Desc));
    }

    private static Reduce? FindReduce(RelationExpr expr) => expr switch
    {
        Reduce r => r,
        Map m => FindReduce(m.Input),
        Project p => FindReduce(p.Input),
        Filter f => FindReduce(f.Input),
        _ => null,
    };

    [Fact]
    public void OrderBy_HiddenColumnsDirectionsAndNulls()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT v FROM t ORDER BY k DESC");
        Assert.Equal(2, plan.Expr.Type.Arity);
        AssertSeq([0], plan.Finishing.Project);
        Assert.Equal("b|null|b|a", Rows("SELECT v FROM t ORDER BY k DESC"));
        Assert.Equal("null|a|b|b", Rows("SELECT v FROM t ORDER BY v NULLS FIRST, k"));
        Assert.Equal("b|b|a|null", Rows("SELECT v FROM t ORDER BY 1 DESC NULLS LAST"));
        Assert.Equal("b|null", Rows("SELECT v FROM t ORDER BY k LIMIT 2 OFFSET 1"));
        Assert.Equal("42P10", ErrorOf("SELECT v FROM t ORDER BY 5").SqlState);
        Assert.Equal("42P10", ErrorOf("SELECT DISTINCT v FROM t ORDER BY k").SqlState);
        Assert.Equal("2201W", ErrorOf("SELECT v FROM t LIMIT -1").SqlState);
    }

    [Fact]
    public void Distinct_RemovesDuplicates()
    {
        Assert.Equal("a|b|null", Rows("SELECT DISTINCT v FROM t ORDER BY v"));
    }

    [Fact]
    public void Joins_ExtractEquiKeys()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT t.k, u.w FROM t JOIN u ON t.k = u.k AND u.w > 10");
        Join join = FindJoin(plan.Expr)!;
        AssertSeq([0], join.LeftKey);
        AssertSeq([0], join.RightKey);
        Assert.Equal("2,20|2,21", Rows("SELECT t.k, u.w FROM t JOIN u ON t.k = u.k AND u.w > 10 ORDER BY 2"));
        Assert.Equal("1,10|2,20|2,21", Rows("SELECT t.k, w FROM t, u WHERE t.k = u.k ORDER BY 2"));
        Assert.Equal("1,a,10|2,b,20|2,b,21", Rows("SELECT * FROM t JOIN u USING (k) WHERE w IS NOT NULL ORDER BY w"[..^0].Replace("*", "k, v, w")));
        Assert.Equal(16, Interpreter.Query(Planned<SelectPlan>("SELECT * FROM t CROSS JOIN u"), _catalog).Count);
        // A key that is an expression is mapped onto its side first.
        Join mapped = FindJoin(Planned<SelectPlan>("SELECT t.k FROM t JOIN u ON t.k + 1 = u.k").Expr)!;
        Assert.IsType<Map>(mapped.Left);
        Assert.Equal("1|1|4", Rows("SELECT t.k FROM t JOIN u ON t.k + 1 = u.k ORDER BY 1"));
        Assert.Equal("0A000", ErrorOf("SELECT * FROM t LEFT JOIN u ON t.k = u.k").SqlState);
    }

    [Fact]
    public void Joins_UsingColumnIsUnambiguousAndStarSkipsTheCopy()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT * FROM t JOIN u USING (k)");
        AssertSeq(["k", "v", "n", "w"], plan.Desc.Names);
    }

    private static Join? FindJoin(RelationExpr expr) => expr switch
    {
        Join j => j,
        Map m => FindJoin(m.Input),
        Project p => FindJoin(p.Input),
        Filter f => FindJoin(f.Input),
        _ => null,
    };

    [Fact]
    public void Views_AreInlined_SubqueriesAndCtes()
    {
        SelectPlan plan = Planned<SelectPlan>("SELECT * FROM tv");
        AssertSeq(["k", "v"], plan.Desc.Names);
        Assert.Equal("2,b|3,null|4,b", Rows("SELECT * FROM tv ORDER BY k"));
        Assert.Equal("3", Rows("SELECT s.x FROM (SELECT k + 1 AS x FROM t) AS s WHERE s.x = 3"));
        Assert.Equal("4", Rows("WITH c AS (SELECT k FROM t WHERE k > 3) SELECT * FROM c"));
        Assert.Equal("1|2", Rows("SELECT * FROM (SELECT k FROM t ORDER BY k LIMIT 2) s ORDER BY 1"));
        AssertSeq([GlobalId.UserId(1)], Planner.Dependencies(plan.Expr));
    }

    /// <summary>
    /// Binding parameters rebuilds only what holds a parameter: the inlined view's definition stays the catalog's own
    /// object, which is how environmentd recognizes a read of an indexed view and lets the index answer it.
    /// </summary>
    [Fact]
    public void BindParameters_KeepsAnInlinedViewDefinitionAsIs()
    {
        RelationExpr definition = _catalog.Resolve("tv")!.Definition!;
        PlanResult result = PlanOf("SELECT v FROM tv WHERE k = $1", SqlType.Unknown);
        Assert.True(result.IsSuccess, result.ToString());

        var bound = (SelectPlan)Planner.BindParameters(result.Plan!, [Datum.FromInt64(2)]).Plan!;

        Filter filter = Assert.IsType<Filter>(Assert.IsType<Project>(bound.Expr).Input);
        Assert.Same(definition, filter.Input);
        Assert.IsType<Literal>(((CallBinary)filter.Predicates[0]).Right);
        Assert.Equal("b", string.Join("|", Interpreter.Query(bound, _catalog).Select(r => r[0].AsString)));
    }

    [Fact]
    public void SetOperations_UnionExceptIntersect()
    {
        Assert.Equal("1|2|3|4|5", Rows("SELECT k FROM t UNION SELECT k FROM u ORDER BY 1"));
        Assert.Equal(8, Interpreter.Query(Planned<SelectPlan>("SELECT k FROM t UNION ALL SELECT k FROM u"), _catalog).Count);
        Assert.Equal("3|4", Rows("SELECT k FROM t EXCEPT SELECT k FROM u ORDER BY 1"));
        Assert.Equal("1|2", Rows("SELECT k FROM t INTERSECT SELECT k FROM u ORDER BY 1"));
        Assert.Equal("2", Rows("SELECT k FROM u INTERSECT ALL SELECT 2 UNION ALL SELECT 2 ORDER BY 1"[..^0]).Split('|').Distinct().Single());
        Assert.Equal("2|2", Rows("SELECT k FROM u EXCEPT ALL SELECT k FROM t WHERE k <> 2 ORDER BY 1").Replace("5|", string.Empty).Replace("|5", string.Empty));
        Assert.Equal("numeric", Types(Planned<SelectPlan>("SELECT 1 UNION SELECT 1.5").Desc));
        Assert.Equal("integer", Types(Planned<SelectPlan>("SELECT 1 UNION SELECT '2'").Desc));
        Assert.Equal("42804", ErrorOf("SELECT 1 UNION SELECT 'a'::text").SqlState);
        Assert.Equal("42601", ErrorOf("SELECT 1 UNION SELECT 1, 2").SqlState);
    }

    [Fact]
    public void Values_AndSelectWithoutFrom()
    {
        SelectPlan plan = Planned<SelectPlan>("VALUES (1, 'a'), (2, NULL)");
        AssertSeq(["column1", "column2"], plan.Desc.Names);
        Assert.Equal("integer, text", Types(plan.Desc));
        Assert.Equal("1,a|2,null", Rows("VALUES (1, 'a'), (2, NULL) ORDER BY 1"));
        Assert.Equal("3", Rows("SELECT 1 + 2"));
        Assert.Equal("42601", ErrorOf("SELECT *").SqlState);
    }

    [Fact]
    public void Insert_ReordersColumnsFillsDefaultsAndCasts()
    {
        InsertPlan plan = Planned<InsertPlan>("INSERT INTO u (w) VALUES (5)");
        Assert.Equal(2, plan.Rows.Type.Arity);
        Assert.Equal(SqlType.Int64, plan.Rows.Type.Columns[1].Type);
        _catalog.Run("INSERT INTO u (w) VALUES (5)");
        _catalog.Run("INSERT INTO u (k) VALUES (9)");
        _catalog.Run("INSERT INTO u SELECT k, k * 100 FROM t WHERE k = 4");
        Assert.Equal("null,5|4,400|9,7", Rows("SELECT * FROM u WHERE k IS NULL OR k > 3 AND k <> 5 ORDER BY k NULLS FIRST"));
        Assert.Equal("42804", ErrorOf("INSERT INTO t (k) VALUES ('a'::text)").SqlState);
        Assert.Equal("42601", ErrorOf("INSERT INTO t (k) VALUES (1, 2)").SqlState);
        Assert.Equal("42703", ErrorOf("INSERT INTO t (zz) VALUES (1)").SqlState);
        Assert.Equal("42809", ErrorOf("INSERT INTO tv VALUES (1, 'a')").SqlState);
        // Assignment casts: numeric to integer is allowed when storing.
        InsertPlan cast = Planned<InsertPlan>("INSERT INTO t (k, v) SELECT n, k FROM t");
        Assert.Equal(SqlType.Int32, cast.Rows.Type.Columns[0].Type);
        Assert.Equal(SqlType.Text, cast.Rows.Type.Columns[1].Type);
    }

    [Fact]
    public void UpdateAndDelete_SelectionAndAssignments()
    {
        ReadThenWritePlan update = Planned<ReadThenWritePlan>("UPDATE t SET v = upper(v), n = k WHERE k > 2");
        Assert.Equal(WriteKind.Update, update.Kind);
        ImmutableArray<ScalarExpr> assignments = update.Assignments!.Value;
        Assert.Equal(3, assignments.Length);
        Assert.Equal(new Expr.ColumnRef(0, new ColumnType(SqlType.Int32, false)), assignments[0]);
        Assert.Equal(SqlType.Numeric, assignments[2].Type.Type);
        Assert.Equal(2, Interpreter.Run(update.Selection, _catalog).Count);
        ReadThenWritePlan delete = Planned<ReadThenWritePlan>("DELETE FROM t WHERE v = 'b'");
        Assert.Equal(WriteKind.Delete, delete.Kind);
        Assert.Equal(2, Interpreter.Run(delete.Selection, _catalog).Count);
        Assert.Equal("42703", ErrorOf("UPDATE t SET zz = 1").SqlState);
        Assert.Equal("42601", ErrorOf("UPDATE t SET v = 'a', v = 'b'").SqlState);
    }

    [Fact]
    public void CreateTable_TypesConstraintsDefaults()
    {
        CreateTablePlan plan = Planned<CreateTablePlan>(
            "CREATE TABLE x (a int PRIMARY KEY, b smallint, c bigint NOT NULL, d double precision, e real, f numeric(10, 2), g text, h varchar(5), i date, j timestamp, k boolean DEFAULT true)");
        Assert.Equal("integer, smallint, bigint, double precision, double precision, numeric(10,2), text, character varying(5), date, timestamp without time zone, boolean", Types(plan.Desc));
        Assert.False(plan.Desc.Type.Columns[0].Nullable);
        Assert.True(plan.Desc.Type.Columns[1].Nullable);
        Assert.False(plan.Desc.Type.Columns[2].Nullable);
        Assert.Equal(new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), plan.Defaults[10]);
        Assert.Null(plan.Defaults[0]);
        Assert.Equal("42701", ErrorOf("CREATE TABLE x (a int, a text)").SqlState);
        Assert.Equal("0A000", ErrorOf("CREATE TABLE x (a char(3))").SqlState);
        Assert.Equal("42P07", ErrorOf("CREATE TABLE t (a int)").SqlState);
        Assert.True(PlanOf("CREATE TABLE IF NOT EXISTS t (a int)").IsSuccess);
    }

    [Fact]
    public void CreateView_DropsOrderWithoutLimit_TopKWithLimit()
    {
        CreateViewPlan view = Planned<CreateViewPlan>("CREATE VIEW w AS SELECT k FROM t ORDER BY k");
        Assert.IsNotType<TopK>(view.Expr);
        Assert.Contains("CREATE VIEW", view.CreateSql);
        CreateMaterializedViewPlan top = Planned<CreateMaterializedViewPlan>("CREATE MATERIALIZED VIEW w (a) AS SELECT k FROM t ORDER BY k DESC LIMIT 2");
        Assert.IsType<TopK>(top.Expr);
        AssertSeq(["a"], top.Desc.Names);
        Assert.Equal("42P07", ErrorOf("CREATE VIEW tv AS SELECT 1").SqlState);
    }

    [Fact]
    public void CreateIndex_DefaultNamesAndKeys()
    {
        CreateIndexPlan plan = Planned<CreateIndexPlan>("CREATE INDEX ON t (v)");
        Assert.Equal("t_v_idx", plan.Name);
        AssertSeq([1], plan.Key);
        _catalog.Run("CREATE INDEX ON t (v)");
        Assert.Equal("t_v_idx1", Planned<CreateIndexPlan>("CREATE INDEX ON t (v)").Name);
        Assert.Equal("tv_primary_idx", Planned<CreateIndexPlan>("CREATE DEFAULT INDEX ON tv").Name);
        Assert.Equal("0A000", ErrorOf("CREATE INDEX i ON t (k + 1)").SqlState);
    }

    [Fact]
    public void Drop_DependentsKindsAndIfExists()
    {
        PlanError error = ErrorOf("DROP TABLE t");
        Assert.Equal(("2BP01", "cannot drop table t: other objects depend on it"), (error.SqlState, error.Message));
        DropPlan cascade = Planned<DropPlan>("DROP TABLE t CASCADE");
        AssertSeq([_catalog.Resolve("tv")!.Id, _catalog.Resolve("t")!.Id], cascade.Ids);
        Assert.Equal("42809", ErrorOf("DROP VIEW t").SqlState);
        Assert.Equal("42P01", ErrorOf("DROP TABLE nope").SqlState);
        PlanResult missing = PlanOf("DROP TABLE IF EXISTS nope");
        Assert.True(missing.IsSuccess);
        AssertSeq(["table \"nope\" does not exist, skipping"], missing.Notices);
        _catalog.Run("CREATE INDEX ON u (k)");
        Assert.Equal(2, Planned<DropPlan>("DROP TABLE u").Ids.Length);
    }

    [Fact]
    public void Parameters_InferredAndBound()
    {
        PlanResult result = PlanOf("SELECT v FROM t WHERE k = $1 AND v = $2", SqlType.Unknown);
        Assert.True(result.IsSuccess, result.ToString());
        AssertSeq([SqlType.Int32, SqlType.Text], result.ParameterTypes);
        PlanResult bound = Planner.BindParameters(result.Plan!, [Datum.FromInt64(2), Datum.FromString("b")]);
        Assert.True(bound.IsSuccess, bound.ToString());
        Assert.Equal("b", string.Join("|", Interpreter.Query((SelectPlan)bound.Plan!, _catalog).Select(r => r[0].AsString)));
        // Text-format values are parsed; a bad one is an error, not a crash.
        Assert.True(Planner.BindParameters(result.Plan!, [Datum.FromString("2"), Datum.FromString("b")]).IsSuccess);
        Assert.Equal("22P02", Planner.BindParameters(result.Plan!, [Datum.FromString("x"), Datum.FromString("b")]).Error!.SqlState);
        Assert.False(Planner.BindParameters(result.Plan!, [Datum.FromInt64(2)]).IsSuccess);
        AssertSeq([SqlType.Text], PlanOf("SELECT $1").ParameterTypes);
        AssertSeq([SqlType.Int64], PlanOf("INSERT INTO u (w) VALUES ($1)").ParameterTypes);
    }

    [Fact]
    public void SessionStatements_Plan()
    {
        Assert.Equal(new SetVariablePlan("search_path", "a, b", false), Planned<SetVariablePlan>("SET search_path = a, b"));
        Assert.Null(Planned<SetVariablePlan>("SET x TO DEFAULT").Value);
        Assert.Equal("all", Planned<ShowVariablePlan>("SHOW ALL").Name);
        Assert.Equal(CatalogItemKind.MaterializedView, Planned<ShowObjectsPlan>("SHOW MATERIALIZED VIEWS").Kind);
        Assert.Equal(TransactionKind.Commit, Planned<TransactionPlan>("COMMIT").Kind);
        Assert.IsType<SelectPlan>(Planned<DeclareCursorPlan>("DECLARE c CURSOR FOR SELECT * FROM t").Inner);
        Assert.Equal(new FetchPlan("c", 5), Planned<FetchPlan>("FETCH 5 c"));
        Assert.IsType<SubscribePlan>(Planned<CopyToPlan>("COPY (SUBSCRIBE t) TO STDOUT").Inner);
        SubscribePlan subscribe = Planned<SubscribePlan>("SUBSCRIBE TO tv WITH (SNAPSHOT = false) AS OF 5");
        Assert.Equal((5UL, false, false), (subscribe.AsOf!.Value, subscribe.Snapshot, subscribe.Progress));
        Assert.Contains("Reduce", Planned<ExplainPlan>("EXPLAIN SELECT count(*) FROM t").Text);
    }

    [Fact]
    public void Unsupported_Is0A000()
    {
        Assert.Equal("0A000", ErrorOf("SELECT (SELECT 1)").SqlState);
        Assert.Equal("0A000", ErrorOf("SELECT k FROM t WHERE EXISTS (SELECT 1)").SqlState);
        Assert.Equal("0A000", ErrorOf("INSERT INTO t VALUES (1) RETURNING k").SqlState);
        Assert.Equal("0A000", ErrorOf("SELECT row_number() OVER () FROM t").SqlState);
    }
}
