using System;
using System.Collections.Generic;
using System.Linq;
using System.Text.RegularExpressions;
using Kernel.Sql.Parsing;
using Kernel.Sql.Printing;
using Xunit;
using Xunit.Abstractions;

namespace Kernel.Tests.Sql;

/// <summary>
/// The parser against the SQL logic test corpus in <c>shared/slt</c> (about 117,000 statements that a
/// PostgreSQL-like engine is expected to run, most of them from SQLite's suite).
/// </summary>
/// <remarks>
/// The few statements that fail are outside the parser's scope and fail with 0A000 (valid PostgreSQL that
/// Kernel does not support) or 42601 (not PostgreSQL). The categories, all from the Materialize and
/// CockroachDB-derived files: ARRAY constructors, subscripts and array types; t.* outside a select list
/// (count(t.*)); CockroachDB's INDEX clauses inside CREATE TABLE; COLLATE; CREATE TYPE; Materialize's
/// GROUP BY ... OPTIONS (...) and WITH MUTUALLY RECURSIVE; and <c>left</c> as a table name, which
/// PostgreSQL reserves too.
/// </remarks>
public sealed class SltCorpusTests(ITestOutputHelper output)
{
    private const double ParseRateMin = 0.97;

    private static readonly string[] s_outOfScopeStates = ["0A000", "42601"];

    // Parsed once for all tests in this class: the corpus is 22 MB.
    private static readonly Lazy<(SltRecord Record, ParseResult Result)[]?> s_parsed = new(
        () => SltCorpus.Records?.Select(record => (record, Parser.Parse(record.Sql))).ToArray());

    private bool TryGetCorpus(out (SltRecord Record, ParseResult Result)[] parsed)
    {
        parsed = s_parsed.Value!;
        if (parsed is not null)
        {
            return true;
        }

        output.WriteLine($"Skipped: no shared/slt directory above {AppContext.BaseDirectory}; the corpus lives next to the repository.");
        return false;
    }

    [Fact]
    public void Corpus_StatementsExpectedToSucceed_Parse()
    {
        if (!TryGetCorpus(out var parsed))
        {
            return;
        }

        var expected = parsed.Where(entry => entry.Record.Expectation == SltExpectation.Success).ToList();
        var failures = expected.Where(entry => !entry.Result.IsSuccess).ToList();
        double rate = 1.0 - ((double)failures.Count / expected.Count);
        output.WriteLine($"{expected.Count - failures.Count} of {expected.Count} statements expected to succeed parse ({rate:P3}).");
        output.WriteLine("Failures by reason:");
        foreach (var group in failures.GroupBy(entry => $"{entry.Result.Error!.SqlState} {entry.Result.Error.Message}").OrderByDescending(group => group.Count()))
        {
            var (record, _) = group.First();
            output.WriteLine($"  {group.Count(),5}  {group.Key}");
            output.WriteLine($"         e.g. {record.File}:{record.Line}: {Abbreviate(record.Sql)}");
        }

        Assert.True(expected.Count > 100_000, $"only {expected.Count} records were read from the corpus");
        Assert.True(rate >= ParseRateMin, $"parse rate {rate:P3} is below {ParseRateMin:P0}");
        Assert.All(failures, entry => Assert.Contains(entry.Result.Error!.SqlState, s_outOfScopeStates));
    }

    [Fact]
    public void Corpus_ParsedStatements_RoundTripThroughThePrinter()
    {
        if (!TryGetCorpus(out var parsed))
        {
            return;
        }

        // Every Materialize record, and every fourth of SQLite's much more repetitive ones, to keep the run short.
        int statements = 0;
        var mismatches = new List<string>();
        for (int i = 0; i < parsed.Length; i++)
        {
            var (record, result) = parsed[i];
            if (!result.IsSuccess || (i % 4 != 0 && record.File.StartsWith("sqlite", StringComparison.Ordinal)))
            {
                continue;
            }

            foreach (ParsedStatement statement in result.Statements)
            {
                statements++;
                string printed = SqlPrinter.Print(statement.Statement);
                ParseResult again = Parser.Parse(printed);
                bool same = again.IsSuccess && again.Statements.Count == 1 && again.Statements[0].Statement.Equals(statement.Statement)
                    && SqlPrinter.Print(again.Statements[0].Statement) == printed;
                if (!same && mismatches.Count < 20)
                {
                    mismatches.Add($"{record.File}:{record.Line}: {Abbreviate(record.Sql)} => {printed}");
                }
            }
        }

        output.WriteLine($"{statements} statements printed and parsed back.");
        Assert.Empty(mismatches);
    }

    [Fact]
    public void Corpus_RecordsExpectingAParseError_FailToParse()
    {
        if (!TryGetCorpus(out var parsed))
        {
            return;
        }

        // Records whose expected message is a parser's (Materialize's or PostgreSQL's), not a binder's or executor's.
        // ("Expected subselect to return 1 column" is the binder's.)
        var parserErrors = new Regex(
            "^(Expected (?!subselect)|Unexpected keyword|syntax error|multiple .* not allowed|pgcode 42601 multiple)",
            RegexOptions.None,
            TimeSpan.FromSeconds(1));
        var records = parsed
            .Where(entry => entry.Record.Expectation == SltExpectation.Error && parserErrors.IsMatch(entry.Record.ErrorPattern))
            .ToList();
        output.WriteLine($"{records.Count} records expect a parse error.");
        Assert.NotEmpty(records);
        Assert.Empty(records.Where(entry => entry.Result.IsSuccess).Select(entry => $"{entry.Record.File}:{entry.Record.Line}: {Abbreviate(entry.Record.Sql)}"));
    }

    private static string Abbreviate(string sql)
    {
        string line = sql.ReplaceLineEndings(" ");
        return line.Length <= 140 ? line : line[..140] + "...";
    }
}
