using Kernel.Sql.Parsing;
using Kernel.Sql.Syntax;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>DDL, DML and Kernel's streaming statements.</summary>
public sealed class StatementParserTests
{
    [Fact]
    public void CreateTable_ColumnsConstraintsAndTableKey()
    {
        var create = ParseOne<CreateTableStatement>(
            "CREATE TABLE IF NOT EXISTS s.t (id bigint PRIMARY KEY, name varchar(20) NOT NULL DEFAULT 'x', "
            + "n numeric(10, 2) NULL, CONSTRAINT k UNIQUE (name, n), PRIMARY KEY (id))");
        Assert.True(create.IfNotExists);
        Assert.Equal(ObjectName.Of("s", "t"), create.Name);
        Assert.Equal(
            [
                new ColumnDefinition("id", TypeName.Of("int8"), [new ColumnConstraint(ColumnConstraintKind.PrimaryKey, null, null)]),
                new ColumnDefinition(
                    "name",
                    TypeName.Of("varchar", 20),
                    [
                        new ColumnConstraint(ColumnConstraintKind.NotNull, null, null),
                        new ColumnConstraint(ColumnConstraintKind.Default, new StringLiteral("x"), null),
                    ]),
                new ColumnDefinition("n", TypeName.Of("numeric", 10, 2), [new ColumnConstraint(ColumnConstraintKind.Null, null, null)]),
            ],
            create.Columns);
        Assert.Equal(
            [
                new TableConstraint(TableConstraintKind.Unique, ["name", "n"], "k"),
                new TableConstraint(TableConstraintKind.PrimaryKey, ["id"], null),
            ],
            create.Constraints);
    }

    [Fact]
    public void CreateTable_DefaultIsRestricted_SoNotNullFollows()
    {
        var create = ParseOne<CreateTableStatement>("CREATE TABLE t (a int DEFAULT 1 + 2 NOT NULL, b int)");
        Assert.Equal(
            [
                new ColumnConstraint(ColumnConstraintKind.Default, new BinaryOperation(Integer(1), "+", Integer(2)), null),
                new ColumnConstraint(ColumnConstraintKind.NotNull, null, null),
            ],
            create.Columns[0].Constraints);
    }

    [Fact]
    public void CreateTable_WithNoColumns_IsAllowed() =>
        Assert.Empty(ParseOne<CreateTableStatement>("CREATE TABLE nullary ()").Columns);

    [Fact]
    public void CreateView_WithColumnsAndOrReplace()
    {
        var view = ParseOne<CreateViewStatement>("CREATE OR REPLACE VIEW v (x, y) AS SELECT a, b FROM t");
        Assert.True(view.OrReplace);
        Assert.False(view.IfNotExists);
        Assert.Equal(["x", "y"], view.Columns);
        Assert.Equal(ParseQuery("SELECT a, b FROM t"), view.Query);
        Assert.True(ParseOne<CreateViewStatement>("CREATE VIEW IF NOT EXISTS v AS VALUES (1)").IfNotExists);
    }

    [Fact]
    public void CreateMaterializedView_IfNotExists()
    {
        var view = ParseOne<CreateMaterializedViewStatement>("CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT count(*) FROM t");
        Assert.True(view.IfNotExists);
        Assert.Equal(ObjectName.Of("mv"), view.Name);
    }

    [Fact]
    public void CreateIndex_NamedUnnamedUniqueAndDefault()
    {
        Assert.Equal(
            new CreateIndexStatement(
                "i",
                ObjectName.Of("t"),
                [OrderByItem.Of(Column("a")), new OrderByItem(new BinaryOperation(Column("b"), "+", Integer(1)), SortDirection.Descending, NullsOrder.Default)],
                false,
                false,
                false),
            ParseOne<CreateIndexStatement>("CREATE INDEX i ON t (a, b + 1 DESC)"));
        Assert.Null(ParseOne<CreateIndexStatement>("CREATE INDEX ON t (a)").Name);
        Assert.True(ParseOne<CreateIndexStatement>("CREATE UNIQUE INDEX IF NOT EXISTS i ON t (a)").Unique);
        var defaultIndex = ParseOne<CreateIndexStatement>("CREATE DEFAULT INDEX ON v");
        Assert.True(defaultIndex.IsDefault);
        Assert.Empty(defaultIndex.Keys);
        Assert.Equal(ObjectName.Of("v"), defaultIndex.On);
    }

    [Theory]
    [InlineData("DROP TABLE t", ObjectKind.Table, false, DropBehavior.Default)]
    [InlineData("DROP VIEW IF EXISTS a, s.b CASCADE", ObjectKind.View, true, DropBehavior.Cascade)]
    [InlineData("DROP MATERIALIZED VIEW mv RESTRICT", ObjectKind.MaterializedView, false, DropBehavior.Restrict)]
    [InlineData("DROP INDEX IF EXISTS i", ObjectKind.Index, true, DropBehavior.Default)]
    public void Drop_KindsAndOptions(string sql, ObjectKind kind, bool ifExists, DropBehavior behavior)
    {
        var drop = ParseOne<DropStatement>(sql);
        Assert.Equal(kind, drop.Kind);
        Assert.Equal(ifExists, drop.IfExists);
        Assert.Equal(behavior, drop.Behavior);
    }

    [Fact]
    public void Insert_ValuesWithColumnsAndReturning()
    {
        var insert = ParseOne<InsertStatement>("INSERT INTO t (a, b) VALUES (1, 2), (3, DEFAULT) RETURNING a, *");
        Assert.Equal(["a", "b"], insert.Columns);
        Assert.Equal(2, Assert.IsType<Values>(insert.Source!.Body).Rows.Count);
        Assert.Equal(2, insert.Returning.Count);
    }

    [Theory]
    [InlineData("INSERT INTO t SELECT * FROM u", "INSERT INTO t SELECT * FROM u")]
    [InlineData("INSERT INTO t (SELECT * FROM u)", "INSERT INTO t SELECT * FROM u")]
    [InlineData("INSERT INTO t (a) (SELECT 1) UNION (SELECT 2)", "INSERT INTO t (a) SELECT 1 UNION SELECT 2")]
    [InlineData("INSERT INTO t AS x DEFAULT VALUES", "INSERT INTO t AS x DEFAULT VALUES")]
    [InlineData("insert into t values(1,'a')", "INSERT INTO t VALUES (1, 'a')")]
    public void Insert_Sources(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Update_AssignmentsAliasAndWhere()
    {
        Assert.Equal(
            new UpdateStatement(
                ObjectName.Of("t1"),
                "m",
                [new Assignment("x", Integer(5)), new Assignment("y", new DefaultValue())],
                new BinaryOperation(Column("m", "x"), "<", Integer(10)),
                []),
            ParseOne<UpdateStatement>("UPDATE t1 AS m SET x = 5, y = DEFAULT WHERE m.x < 10"));
        Assert.Null(ParseOne<UpdateStatement>("UPDATE t SET a = 1").Alias);
        Assert.Equal("u", ParseOne<UpdateStatement>("UPDATE t u SET a = 1").Alias);
    }

    [Fact]
    public void Delete_WithAliasWhereAndReturning()
    {
        Assert.Equal(
            new DeleteStatement(ObjectName.Of("t"), "x", new IsNullExpression(Column("x", "a"), false), [new ExpressionItem(Column("a"), null)]),
            ParseOne<DeleteStatement>("DELETE FROM t x WHERE x.a IS NULL RETURNING a"));
    }

    [Fact]
    public void Subscribe_ToNameOrQuery_WithOptionsAndAsOf()
    {
        Assert.Equal(
            new SubscribeStatement(
                ObjectName.Of("v"),
                null,
                [new WithOption("snapshot", new StringLiteral("false")), new WithOption("progress", null)],
                Integer(42)),
            ParseOne<SubscribeStatement>("SUBSCRIBE TO v WITH (SNAPSHOT = false, PROGRESS) AS OF 42"));
        var query = ParseOne<SubscribeStatement>("SUBSCRIBE (SELECT a FROM t WHERE a > 1)");
        Assert.Null(query.Name);
        Assert.Equal(ParseQuery("SELECT a FROM t WHERE a > 1"), query.Query);
    }

    [Fact]
    public void Copy_SubscribeAndQueryToStdout()
    {
        var copy = ParseOne<CopyStatement>("COPY (SUBSCRIBE v) TO STDOUT WITH (FORMAT binary)");
        Assert.IsType<SubscribeStatement>(copy.Source);
        Assert.Equal(CopyDirection.ToStdout, copy.Direction);
        Assert.Equal([new WithOption("format", new StringLiteral("binary"))], copy.Options);
        Assert.IsType<SelectStatement>(ParseOne<CopyStatement>("COPY (SELECT 1) TO STDOUT").Source);
    }

    [Theory]
    [InlineData("COPY t FROM STDIN", "COPY t FROM STDIN")]
    [InlineData("COPY t (a, b) FROM STDIN WITH (FORMAT csv, HEADER)", "COPY t (a, b) FROM STDIN WITH (format 'csv', header)")]
    [InlineData("COPY t FROM STDIN CSV HEADER DELIMITER AS ';'", "COPY t FROM STDIN WITH (format 'csv', header 'true', delimiter ';')")]
    [InlineData("COPY t FROM STDIN WITH (FORMAT text)", "COPY t FROM STDIN WITH (format 'text')")]
    [InlineData("COPY t TO STDOUT", "COPY t TO STDOUT")]
    public void Copy_TableAndOptionSpellings(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Cursor_DeclareFetchClose()
    {
        var declare = ParseOne<DeclareCursorStatement>("DECLARE c CURSOR WITH HOLD FOR SUBSCRIBE v");
        Assert.True(declare.WithHold);
        Assert.IsType<SubscribeStatement>(declare.Source);
        Assert.IsType<SelectStatement>(ParseOne<DeclareCursorStatement>("DECLARE c CURSOR FOR VALUES (1), (2)").Source);

        Assert.Equal(new FetchStatement("c", 1, []), ParseOne<FetchStatement>("FETCH c"));
        Assert.Equal(new FetchStatement("c", 2, []), ParseOne<FetchStatement>("FETCH 2 c"));
        Assert.Equal(new FetchStatement("c", 10, []), ParseOne<FetchStatement>("FETCH FORWARD 10 FROM c"));
        Assert.Equal(new FetchStatement("c", null, []), ParseOne<FetchStatement>("FETCH ALL IN c"));
        Assert.Equal(
            new FetchStatement("c", 2, [new WithOption("timeout", new StringLiteral("10s"))]),
            ParseOne<FetchStatement>("FETCH 2 c WITH (TIMEOUT = '10s')"));

        Assert.Equal(new CloseStatement("c"), ParseOne<CloseStatement>("CLOSE c"));
        Assert.Equal(new CloseStatement(null), ParseOne<CloseStatement>("CLOSE ALL"));
    }

    [Theory]
    [InlineData("SHOW TABLES", "SHOW TABLES")]
    [InlineData("SHOW TABLES FROM s", "SHOW TABLES FROM s")]
    [InlineData("SHOW VIEWS", "SHOW VIEWS")]
    [InlineData("SHOW MATERIALIZED VIEWS", "SHOW MATERIALIZED VIEWS")]
    [InlineData("SHOW INDEXES ON t", "SHOW INDEXES ON t")]
    [InlineData("SHOW COLUMNS FROM t", "SHOW COLUMNS FROM t")]
    [InlineData("SHOW CREATE MATERIALIZED VIEW mv", "SHOW CREATE MATERIALIZED VIEW mv")]
    [InlineData("SHOW search_path", "SHOW search_path")]
    [InlineData("SHOW ALL", "SHOW ALL")]
    [InlineData("SHOW TIME ZONE", "SHOW timezone")]
    [InlineData("SHOW TRANSACTION ISOLATION LEVEL", "SHOW transaction_isolation")]
    public void Show_Forms(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Theory]
    [InlineData("SET search_path TO public, 'x'", "SET search_path = 'public', 'x'")]
    [InlineData("SET SESSION extra_float_digits = 3", "SET extra_float_digits = 3")]
    [InlineData("SET LOCAL x.y = -1.5", "SET LOCAL x.y = -1.5")]
    [InlineData("SET transaction_isolation = serializable", "SET transaction_isolation = 'serializable'")]
    [InlineData("SET x TO DEFAULT", "SET x = DEFAULT")]
    [InlineData("SET TIME ZONE 'UTC'", "SET timezone = 'UTC'")]
    [InlineData("SET TIME ZONE LOCAL", "SET timezone = DEFAULT")]
    [InlineData("SET datestyle = on", "SET datestyle = 'on'")]
    [InlineData("SET NAMES 'utf8'", "SET client_encoding = 'utf8'")]
    [InlineData("SET SCHEMA 'app'", "SET search_path = 'app'")]
    [InlineData("SET schema = 'x'", "SET \"schema\" = 'x'")]
    [InlineData("RESET x", "RESET x")]
    [InlineData("RESET ALL", "RESET ALL")]
    [InlineData("RESET TIME ZONE", "RESET timezone")]
    public void SetAndReset_Forms(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Set_Value_KeepsPostgresShape()
    {
        var set = ParseOne<SetVariableStatement>("SET x = true, 5, 'a', -7");
        Assert.Equal([new StringLiteral("true"), Integer(5), new StringLiteral("a"), Integer(-7)], set.Values);
        Assert.True(ParseOne<SetVariableStatement>("SET x = DEFAULT").IsDefault);
    }

    [Theory]
    [InlineData("BEGIN", "BEGIN")]
    [InlineData("BEGIN WORK", "BEGIN")]
    [InlineData("START TRANSACTION READ ONLY", "BEGIN READ ONLY")]
    [InlineData("BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE", "BEGIN ISOLATION LEVEL REPEATABLE READ, READ WRITE")]
    [InlineData("BEGIN TRANSACTION ISOLATION LEVEL SERIALIZABLE NOT DEFERRABLE", "BEGIN ISOLATION LEVEL SERIALIZABLE, NOT DEFERRABLE")]
    [InlineData("BEGIN ISOLATION LEVEL STRICT SERIALIZABLE", "BEGIN ISOLATION LEVEL STRICT SERIALIZABLE")]
    [InlineData("COMMIT", "COMMIT")]
    [InlineData("END TRANSACTION", "COMMIT")]
    [InlineData("COMMIT AND NO CHAIN", "COMMIT")]
    [InlineData("ROLLBACK WORK", "ROLLBACK")]
    [InlineData("ABORT", "ROLLBACK")]
    [InlineData("DISCARD ALL", "DISCARD ALL")]
    [InlineData("DISCARD TEMPORARY", "DISCARD TEMP")]
    public void Transaction_Forms(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Begin_Modes_AreKeptInOrder()
    {
        Assert.Equal(
            new BeginStatement([new IsolationLevelMode(IsolationLevel.ReadCommitted), new AccessMode(ReadOnly: true)]),
            ParseOne<BeginStatement>("BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY"));
    }

    [Theory]
    [InlineData("EXPLAIN SELECT 1", "EXPLAIN SELECT 1")]
    [InlineData("EXPLAIN ANALYZE VERBOSE SELECT 1", "EXPLAIN (analyze, verbose) SELECT 1")]
    [InlineData("EXPLAIN (FORMAT json, COSTS false) DELETE FROM t", "EXPLAIN (format 'json', costs 'false') DELETE FROM t")]
    [InlineData("EXPLAIN OPTIMIZED PLAN WITH (humanized expressions, arity) AS VERBOSE TEXT FOR SELECT 1", "EXPLAIN OPTIMIZED PLAN WITH (humanized expressions, arity) AS VERBOSE TEXT FOR SELECT 1")]
    [InlineData("EXPLAIN RAW PLAN FOR SELECT 1", "EXPLAIN RAW PLAN FOR SELECT 1")]
    [InlineData("EXPLAIN TIMESTAMP FOR SELECT 1", "EXPLAIN TIMESTAMP FOR SELECT 1")]
    [InlineData("EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1", "EXPLAIN CREATE MATERIALIZED VIEW v AS SELECT 1")]
    public void Explain_Forms(string sql, string canonical) => Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void Explain_OfANonExplainableStatement_IsASyntaxError()
    {
        ParseError error = ParseError("EXPLAIN SET x = 1");
        Assert.Equal("syntax error at or near \"SET\"", error.Message);
        Assert.Equal(9, error.Position);
    }

    [Theory]
    [InlineData("FETCH FORWARD", "FETCH FORWARD 1 FROM forward")]
    [InlineData("FETCH next", "FETCH FORWARD 1 FROM next")]
    [InlineData("DEALLOCATE PREPARE", "DEALLOCATE \"prepare\"")]
    [InlineData("COPY t FROM STDIN WITH", "COPY t FROM STDIN")]
    [InlineData("COPY t TO STDIN", "COPY t TO STDOUT")]
    [InlineData("SET local.x = 1", "SET \"local\".x = 1")]
    [InlineData("SET session TO 1", "SET \"session\" = 1")]
    public void KeywordsThatAreAlsoNames_ReadAsPostgresReadsThem(string sql, string canonical) =>
        Assert.Equal(canonical, Canonical(sql));

    [Fact]
    public void PrepareExecuteDeallocate()
    {
        var prepare = ParseOne<PrepareStatement>("PREPARE p (int, text) AS SELECT $1, $2");
        Assert.Equal([TypeName.Of("int4"), TypeName.Of("text")], prepare.ParameterTypes);
        Assert.IsType<SelectStatement>(prepare.Statement);
        Assert.Equal(new ExecuteStatement("p", [Integer(1), new BinaryOperation(Integer(1), "+", Integer(1))]), ParseOne<ExecuteStatement>("EXECUTE p(1, 1+1)"));
        Assert.Equal(new DeallocateStatement("p"), ParseOne<DeallocateStatement>("DEALLOCATE PREPARE p"));
        Assert.Equal(new DeallocateStatement(null), ParseOne<DeallocateStatement>("DEALLOCATE ALL"));
    }

    [Fact]
    public void Script_SeveralStatementsAndEmptyOnes_AreSplitWithTheirText()
    {
        const string sql = ";; BEGIN; SELECT 1 ;\n INSERT INTO t VALUES (1);; COMMIT";
        ParseResult result = Parser.Parse(sql);
        Assert.True(result.IsSuccess);
        Assert.Equal(4, result.Statements.Count);
        Assert.Equal("BEGIN", result.Statements[0].Text(sql));
        Assert.Equal("SELECT 1", result.Statements[1].Text(sql));
        Assert.Equal("INSERT INTO t VALUES (1)", result.Statements[2].Text(sql));
        Assert.Equal("COMMIT", result.Statements[3].Text(sql));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(";")]
    [InlineData("-- only a comment")]
    [InlineData("/* a */ ; ;")]
    public void Script_WithoutStatements_IsEmpty(string sql)
    {
        ParseResult result = Parser.Parse(sql);
        Assert.True(result.IsSuccess);
        Assert.Empty(result.Statements);
    }

    [Fact]
    public void Locations_PointAtNodesInTheText()
    {
        const string sql = "SELECT a + foo(b) FROM t WHERE c";
        Select select = ParseSelect(sql);
        var sum = (BinaryOperation)((ExpressionItem)select.Items[0]).Expression;
        Assert.Equal(9, sum.Location.Offset);
        Assert.Equal(7, sum.Left.Location.Offset);
        Assert.Equal(11, sum.Right.Location.Offset);
        Assert.Equal(23, select.From[0].Location.Offset);
        Assert.Equal(31, select.Where!.Location.Offset);
        Assert.Equal(32, select.Where.Location.ToPosition(sql));
    }

    [Fact]
    public void Locations_DoNotTakePartInEquality()
    {
        Assert.Equal(ParseOne("SELECT a FROM t"), ParseOne("  SELECT   a\nFROM   t"));
    }
}
