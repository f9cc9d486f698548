using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Kernel.Sql;
using Kernel.Sql.Parsing;
using Kernel.Sql.Printing;
using Xunit;

namespace Kernel.Tests.Sql;

/// <summary>
/// Property: the parser never throws and never hangs, whatever the input; every outcome is a result whose
/// error carries a known SQLSTATE and a position inside the text. Inputs are seeded, so a failure names
/// the seed and case that replays it.
/// </summary>
public sealed class FuzzTests
{
    private static readonly HashSet<string> s_sqlStates =
    [
        SqlState.SyntaxError,
        SqlState.FeatureNotSupported,
        SqlState.StatementTooComplex,
        SqlState.InvalidEscapeSequence,
        SqlState.CharacterNotInRepertoire,
        SqlState.InvalidParameterValue,
    ];

    private static readonly string[] s_vocabulary =
    [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "(", ")", ",", ".", "*", "+", "-", "=", "<", ">", "<>", "!=", "IS",
        "NULL", "IN", "BETWEEN", "LIKE", "ILIKE", "ESCAPE", "AS", "ON", "JOIN", "LEFT", "CROSS", "NATURAL", "USING",
        "GROUP", "BY", "ORDER", "HAVING", "LIMIT", "OFFSET", "FETCH", "FIRST", "ROWS", "ONLY", "UNION", "ALL", "DISTINCT",
        "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "::", "int", "text", "numeric(5,2)", "interval", "timestamp",
        "1", "2.5", "'x'", "$1", "EXISTS", "ANY", "SOME", "VALUES", "INSERT", "INTO", "UPDATE", "SET", "DELETE",
        "CREATE", "TABLE", "VIEW", "MATERIALIZED", "INDEX", "DEFAULT", "DROP", "IF", "WITH", "PRIMARY", "KEY",
        "TRUE", "FALSE", "ASC", "DESC", "NULLS", "LAST", "COLLATE", "||", "%", "/", "^", "[", "]", ";", "OVER",
        "PARTITION", "FILTER", "ROW", "ISNULL", "AT", "TIME", "ZONE", "FOR", "SUBSCRIBE", "COPY", "STDIN", "TO",
        "STDOUT", "DECLARE", "CURSOR", "CLOSE", "SHOW", "RESET", "BEGIN", "COMMIT", "EXPLAIN", "PREPARE", "EXECUTE",
        "t", "a", "b", "\"Q\"", "LATERAL", "TRIM", "EXTRACT", "SUBSTRING", "COALESCE", "ARRAY", "E'\\n'", "$$a$$",
        "B'1'", "1e5", "/* c */", "-- c\n", "x.*", "count(*)", "@>", "~", "|/",
    ];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RandomCharacters_NeverThrow(int seed)
    {
        var random = new Random(seed);
        const string alphabet = "abcXYZ019 _$'\"()[]{}.,;:+-*/%^<>=~!@#&|`?\\\n\t\f\véß😀\u00a0\u0130";
        for (int i = 0; i < 5000; i++)
        {
            var text = new StringBuilder();
            int length = random.Next(60);
            for (int k = 0; k < length; k++)
            {
                text.Append(alphabet[random.Next(alphabet.Length)]);
            }

            Check(text.ToString(), seed, i);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void RandomUtf16_IncludingLoneSurrogates_NeverThrows(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 3000; i++)
        {
            var chars = new char[random.Next(40)];
            for (int k = 0; k < chars.Length; k++)
            {
                chars[k] = random.Next(4) == 0 ? (char)random.Next(0xD800, 0xE000) : (char)random.Next(1, 0x80);
            }

            Check(new string(chars), seed, i);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RandomTokenSequences_NeverThrow_AndRoundTripWhenTheyParse(int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < 10_000; i++)
        {
            int length = random.Next(1, 25);
            string sql = string.Join(' ', Enumerable.Range(0, length).Select(_ => s_vocabulary[random.Next(s_vocabulary.Length)]));
            if (random.Next(3) == 0)
            {
                sql = "SELECT " + sql;
            }

            Check(sql, seed, i);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void MutatedCorpusStatements_NeverThrow_AndRoundTripWhenTheyParse(int seed)
    {
        IReadOnlyList<SltRecord>? records = SltCorpus.Records;
        string[] sources = records is null
            ? ["SELECT a, b FROM t WHERE a > 1 ORDER BY 2", "INSERT INTO t VALUES (1, 'x')", "CREATE TABLE t (a int PRIMARY KEY)"]
            : [.. records.Where(record => record.Sql.Length < 400).Select(record => record.Sql)];
        var random = new Random(seed);
        for (int i = 0; i < 10_000; i++)
        {
            string sql = sources[random.Next(sources.Length)];
            for (int edits = random.Next(1, 4); edits > 0; edits--)
            {
                int at = random.Next(sql.Length + 1);
                string piece = s_vocabulary[random.Next(s_vocabulary.Length)];
                sql = random.Next(3) switch
                {
                    0 => sql[..at] + piece + sql[at..],
                    1 when sql.Length > 0 => sql.Remove(Math.Min(at, sql.Length - 1), 1),
                    _ => sql[..at] + " " + piece + " " + sql[Math.Min(sql.Length, at + random.Next(8))..],
                };
            }

            Check(sql, seed, i);
        }
    }

    private static void Check(string sql, int seed, int index)
    {
        ParseResult result;
        try
        {
            result = Parser.Parse(sql);
        }
        catch (Exception exception)
        {
            Assert.Fail($"seed {seed}, case {index}: {exception.GetType().Name} on {Quote(sql)}: {exception.Message}");
            return;
        }

        if (!result.IsSuccess)
        {
            ParseError error = result.Error;
            Assert.True(s_sqlStates.Contains(error.SqlState), $"seed {seed}, case {index}: unexpected SQLSTATE {error.SqlState} on {Quote(sql)}");
            Assert.InRange(error.Position, 0, sql.Length + 1);
            Assert.False(string.IsNullOrEmpty(error.Message));
            return;
        }

        foreach (ParsedStatement statement in result.Statements)
        {
            string printed = SqlPrinter.Print(statement.Statement);
            ParseResult again = Parser.Parse(printed);
            Assert.True(
                again.IsSuccess && again.Statements.Count == 1 && again.Statements[0].Statement.Equals(statement.Statement),
                $"seed {seed}, case {index}: {Quote(sql)} printed as {Quote(printed)} reads back as {again}");
        }
    }

    private static string Quote(string text) => "\"" + text.Replace("\n", "\\n", StringComparison.Ordinal) + "\"";
}
