using System.Collections.Generic;
using System.Linq;
using Kernel.Sql.Parsing;
using Kernel.Sql.Planning;
using Xunit;
using Xunit.Abstractions;

namespace Kernel.Tests.Sql.Planning;

/// <summary>
/// Coverage smoke test: plans the statements of a sample of the SQL logic test corpus (the first records of each
/// file), applying DDL to a fake catalog as it goes, and reports the fraction of successful records that plan.
/// </summary>
public sealed class SltPlanningTests(ITestOutputHelper output)
{
    private const int RecordsPerFileMax = 150;

    [Fact]
    public void SltSample_MostStatementsPlan()
    {
        IReadOnlyList<SltRecord>? records = SltCorpus.Records;
        if (records is null)
        {
            return; // The corpus is not on this machine.
        }
        int attempted = 0;
        int planned = 0;
        var failures = new SortedDictionary<string, int>(System.StringComparer.Ordinal);
        foreach (IGrouping<string, SltRecord> file in records.GroupBy(r => r.File))
        {
            var catalog = new FakeCatalog();
            foreach (SltRecord record in file.Take(RecordsPerFileMax))
            {
                ParseResult parsed = Parser.Parse(record.Sql);
                if (!parsed.IsSuccess || record.Expectation != SltExpectation.Success)
                {
                    continue;
                }
                foreach (ParsedStatement statement in parsed.Statements)
                {
                    attempted++;
                    PlanResult result = Planner.Plan(statement.Statement, catalog, []);
                    if (result.IsSuccess)
                    {
                        planned++;
                        if (result.Plan is not InsertPlan)
                        {
                            catalog.Apply(result.Plan);
                        }
                    }
                    else
                    {
                        string key = result.Error.SqlState + " " + result.Error.Message;
                        key = key.Length > 90 ? key[..90] : key;
                        failures[key] = failures.GetValueOrDefault(key) + 1;
                    }
                }
            }
        }
        double fraction = attempted == 0 ? 1 : (double)planned / attempted;
        output.WriteLine($"planned {planned} of {attempted} statements ({fraction:P1})");
        foreach ((string message, int count) in failures.OrderByDescending(p => p.Value).Take(25))
        {
            output.WriteLine($"{count,6}  {message}");
        }
        Assert.True(fraction > 0.5, $"only {fraction:P1} of the SLT sample planned");
    }
}
