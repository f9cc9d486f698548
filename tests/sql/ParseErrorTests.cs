using System.Linq;
using Kernel.Sql;
using Kernel.Sql.Parsing;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>
/// Parse errors: SQLSTATE, message and the 1-based character position of PostgreSQL's ErrorResponse.
/// Every syntax-error expectation here was read from a PostgreSQL 15 server.
/// </summary>
public sealed class ParseErrorTests
{
    [Theory]
    [InlineData("SELEC 1", "syntax error at or near \"SELEC\"", 1)]
    [InlineData("SELECT 1 FROM", "syntax error at end of input", 14)]
    [InlineData("select * from t where", "syntax error at end of input", 22)]
    [InlineData("select 1 from   ", "syntax error at end of input", 17)]
    [InlineData("select 1 from -- c", "syntax error at end of input", 19)]
    [InlineData("select 1 from /* c */  ", "syntax error at end of input", 24)]
    [InlineData("SELECT 1 2", "syntax error at or near \"2\"", 10)]
    [InlineData("SELECT 1; SELEC 2", "syntax error at or near \"SELEC\"", 11)]
    [InlineData("SELECT 1 FROM t WHERE a NOT", "syntax error at or near \"NOT\"", 25)]
    [InlineData("SELECT (1", "syntax error at end of input", 10)]
    [InlineData("SELECT 1)", "syntax error at or near \")\"", 9)]
    [InlineData("SELECT * FROM t JOIN u", "syntax error at end of input", 23)]
    [InlineData("CREATE TABLE t (a int", "syntax error at end of input", 22)]
    [InlineData("INSERT INTO t VALUES (1", "syntax error at end of input", 24)]
    [InlineData("SELECT a FROM t GROUP a", "syntax error at or near \"a\"", 23)]
    [InlineData("SELECT x::", "syntax error at end of input", 11)]
    [InlineData("SELECT 'a' 'b'", "syntax error at or near \"'b'\"", 12)]
    [InlineData("SELECT }", "syntax error at or near \"}\"", 8)]
    [InlineData("SELECT 1 .. 2", "syntax error at or near \"..\"", 10)]
    [InlineData("SELECT b'1' x'F'", "syntax error at or near \"x'F'\"", 13)]
    [InlineData("select $$a$$$$b$$", "syntax error at or near \"$$b$$\"", 13)]
    [InlineData("SELECT $1 + $", "syntax error at or near \"$\"", 13)]
    [InlineData("SELECT a BETWEEN 1", "syntax error at end of input", 19)]
    [InlineData("WITH x AS (SELECT 1) SELECT * FROM x ORDER BY", "syntax error at end of input", 46)]
    [InlineData("DROP TABLE", "syntax error at end of input", 11)]
    [InlineData("select left from t", "syntax error at or near \"from\"", 13)]
    [InlineData("select int(5)", "syntax error at or near \"(\"", 11)]
    [InlineData("select * from (t)", "syntax error at or near \")\"", 17)]
    [InlineData("select * from ((select 1) x)", "syntax error at or near \")\"", 28)]
    [InlineData("select 1 from t where a in ()", "syntax error at or near \")\"", 29)]
    [InlineData("select x from t1 natural join t2 using (a)", "syntax error at or near \"using\"", 34)]
    [InlineData("select * from t where a is not between 1 and 2", "syntax error at or near \"not\"", 28)]
    [InlineData("CREATE TABLE t (a int NOT x)", "syntax error at or near \"x\"", 27)]
    [InlineData("select timestamp with time zone from t", "syntax error at or near \"from\"", 33)]
    [InlineData("select varchar(3) + 1", "syntax error at or near \"+\"", 19)]
    [InlineData("select a from t where a at 0", "syntax error at or near \"0\"", 28)]
    [InlineData("select 1 filter", "syntax error at or near \"filter\"", 10)]
    [InlineData("select count(*) over", "syntax error at end of input", 21)]
    [InlineData("SET TIME ZONE YEAR", "syntax error at or near \"YEAR\"", 15)]
    [InlineData("DECLARE c CURSOR WITH 1 FOR SELECT 1", "syntax error at or near \"1\"", 23)]
    [InlineData("BEGIN ISOLATION LEVEL SERIALIZABLE NOT IN", "syntax error at or near \"NOT\"", 36)]
    [InlineData("CREATE MATERIALIZED HOLD VIEW v AS SELECT 1", "syntax error at or near \"HOLD\"", 21)]
    [InlineData("SET SCHEMA KEY 'app'", "syntax error at or near \"KEY\"", 12)]
    [InlineData("INSERT INTO t (a, b) DEFAULT VALUES", "syntax error at or near \"DEFAULT\"", 22)]
    [InlineData("FETCH FORWARD - c", "syntax error at or near \"c\"", 17)]
    [InlineData("SELECT a FROM t ORDER BY b ( NULLS LAST)", "syntax error at or near \"NULLS\"", 30)]
    [InlineData("SELECT row_number() 'x'", "syntax error at or near \"'x'\"", 21)]
    [InlineData("select timestamp with time x 'y'", "syntax error at or near \"x\"", 28)]
    [InlineData("EXPLAIN (NOT x) SELECT 1", "syntax error at or near \"NOT\"", 10)]
    [InlineData("SELECT '😀' 1", "syntax error at or near \"1\"", 12)]
    [InlineData("SELECT 'é', 'ü' FROM", "syntax error at end of input", 21)]
    public void SyntaxError_MatchesPostgres(string sql, string message, int position)
    {
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.SyntaxError, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Theory]
    [InlineData("(select 1 limit 1) limit 2", "multiple LIMIT clauses not allowed", 26)]
    [InlineData("((SELECT a FROM t ORDER BY a)) ORDER BY a", "multiple ORDER BY clauses not allowed", 41)]
    [InlineData("(SELECT 1 OFFSET 1) OFFSET 2", "multiple OFFSET clauses not allowed", 28)]
    [InlineData("WITH a AS (SELECT 1) (WITH b AS (SELECT 2) SELECT 3)", "multiple WITH clauses not allowed", 1)]
    [InlineData("select a from t order by 1 limit 1, 2", "LIMIT #,# syntax is not supported", 28)]
    public void GrammarCheck_MatchesPostgres(string sql, string message, int position)
    {
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.SyntaxError, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Fact]
    public void LimitComma_HasPostgresHint() =>
        Assert.Equal("Use separate LIMIT and OFFSET clauses.", ParseError("SELECT 1 LIMIT 1, 2").Hint);

    [Theory]
    [InlineData("SELECT CAST(1 AS float(0))", "precision for type float must be at least 1 bit", 24)]
    [InlineData("SELECT CAST(1 AS float(54))", "precision for type float must be less than 54 bits", 24)]
    public void FloatPrecision_IsInvalidParameterValue(string sql, string message, int position)
    {
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.InvalidParameterValue, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Fact]
    public void LexicalError_AfterASyntaxError_IsNotReported()
    {
        // PostgreSQL lexes lazily: the syntax error comes first.
        Assert.Equal("syntax error at or near \"2\"", ParseError("SELECT 1 2 'unterminated").Message);
    }

    [Fact]
    public void LexicalError_InALaterStatement_FailsTheWholeText()
    {
        ParseError error = ParseError("SELECT 1; SELECT 'abc");
        Assert.Equal("unterminated quoted string at or near \"'abc\"", error.Message);
        Assert.Equal(18, error.Position);
    }

    [Fact]
    public void ParameterNumber_TooLarge_IsReported()
    {
        ParseError error = ParseError("SELECT $99999999999");
        Assert.Equal("parameter number too large at or near \"$99999999999\"", error.Message);
        Assert.Equal(8, error.Position);
    }

    [Theory]
    [InlineData("ALTER TABLE t ADD COLUMN c int", "ALTER is not supported", 1)]
    [InlineData("TRUNCATE t", "TRUNCATE is not supported", 1)]
    [InlineData("CREATE SCHEMA s", "CREATE SCHEMA is not supported", 8)]
    [InlineData("CREATE TEMP TABLE t (a int)", "temporary and unlogged objects is not supported", 8)]
    [InlineData("DROP SCHEMA s", "DROP SCHEMA is not supported", 6)]
    [InlineData("WITH RECURSIVE r AS (SELECT 1) SELECT * FROM r", "WITH RECURSIVE is not supported", 6)]
    [InlineData("SELECT ARRAY[1, 2]", "ARRAY is not supported", 8)]
    [InlineData("SELECT a[1] FROM t", "array subscripts is not supported", 9)]
    [InlineData("SELECT a FROM t FOR UPDATE", "SELECT ... FOR UPDATE/SHARE is not supported", 17)]
    [InlineData("SELECT 'a' COLLATE \"C\"", "COLLATE is not supported", 12)]
    [InlineData("SELECT sum(a) OVER (ROWS UNBOUNDED PRECEDING) FROM t", "window frame clauses is not supported", 21)]
    [InlineData("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING", "ON CONFLICT is not supported", 26)]
    [InlineData("CREATE TABLE t (a int REFERENCES u)", "REFERENCES in a column definition is not supported", 23)]
    [InlineData("SELECT a SIMILAR TO 'x' FROM t", "SIMILAR TO is not supported", 10)]
    [InlineData("CREATE TABLE t (a int[])", "array types is not supported", 22)]
    [InlineData("SELECT (t).a FROM t", "field selection is not supported", 11)]
    public void ValidPostgresOutsideScope_IsFeatureNotSupported(string sql, string message, int position)
    {
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.FeatureNotSupported, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Theory]
    [InlineData(100)]
    [InlineData(Parser.DepthMax - 5)]
    public void Nesting_WithinTheLimit_Parses(int depth)
    {
        string sql = "SELECT " + new string('(', depth) + "1" + new string(')', depth);
        Assert.True(Parser.Parse(sql).IsSuccess);
    }

    [Theory]
    [InlineData("(", "1", ")")]
    [InlineData("(SELECT ", "1", ")")]
    [InlineData("- ", "1", "")]
    [InlineData("NOT ", "true", "")]
    [InlineData("f(", "1", ")")]
    [InlineData("CASE WHEN true THEN ", "1", " END")]
    [InlineData("ARRAY[", "1", "]")]
    public void Nesting_BeyondTheLimit_IsStatementTooComplex(string open, string inner, string close)
    {
        const int depth = 100_000;
        string sql = "SELECT " + string.Concat(Enumerable.Repeat(open, depth)) + inner + string.Concat(Enumerable.Repeat(close, depth));
        ParseError error = ParseError(sql);
        Assert.Equal(SqlState.StatementTooComplex, error.SqlState);
        Assert.Equal("statement too deeply nested", error.Message);
        Assert.True(error.Position > 0);
    }

    [Theory]
    [InlineData(" + ")]
    [InlineData(" || ")]
    [InlineData(" UNION SELECT ")]
    [InlineData(" ) JOIN t ON (true")]
    public void LongLeftChains_CountTowardTheLimit(string link)
    {
        // A left-nested chain is as deep as it is long, for whoever walks the tree.
        string sql = link.Contains(')', System.StringComparison.Ordinal)
            ? "SELECT * FROM " + new string('(', 10_000) + "t" + string.Concat(Enumerable.Repeat(link, 10_000)) + ")"
            : "SELECT 1" + string.Concat(Enumerable.Repeat(link + "1", 10_000));
        Assert.Equal(SqlState.StatementTooComplex, ParseError(sql).SqlState);
    }

    [Fact]
    public void LongAndChains_AreFlat_AndNotLimited()
    {
        string sql = "SELECT 1 WHERE " + string.Join(" AND ", Enumerable.Repeat("a = 1", 10_000));
        Assert.True(Parser.Parse(sql).IsSuccess);
    }
}
