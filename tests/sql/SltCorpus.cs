using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace Kernel.Tests.Sql;

/// <summary>How a sqllogictest record expects its SQL to fare.</summary>
internal enum SltExpectation
{
    /// <summary><c>statement ok</c>, <c>statement count n</c> or a <c>query</c> with results.</summary>
    Success,

    /// <summary><c>statement error</c> or <c>query error</c>.</summary>
    Error,
}

/// <summary>One record of a sqllogictest file that applies to a PostgreSQL-like engine.</summary>
/// <param name="File">The file's path relative to the corpus root.</param>
/// <param name="Line">The 1-based line of the record's header.</param>
/// <param name="Header">The header line, e.g. <c>query II rowsort</c> or <c>statement error division by zero</c>.</param>
/// <param name="Sql">The SQL text (one or more statements).</param>
/// <param name="Expectation">Whether the record expects the SQL to run or to fail.</param>
internal sealed record SltRecord(string File, int Line, string Header, string Sql, SltExpectation Expectation)
{
    /// <summary>The regular expression a failing record expects its error to match (may be empty).</summary>
    public string ErrorPattern
    {
        get
        {
            string[] words = Header.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            return words.Length == 3 ? words[2] : string.Empty;
        }
    }
}

/// <summary>
/// Reads the SQL logic test corpus under <c>shared/slt</c> (format in its README): records start with
/// <c>statement</c> or <c>query</c>, their SQL runs to a blank line or <c>----</c>, and
/// <c>skipif</c>/<c>onlyif</c>/<c>halt</c> are applied for an engine named <c>postgresql</c>.
/// </summary>
internal static class SltCorpus
{
    private static readonly Lazy<IReadOnlyList<SltRecord>?> s_records = new(Load);

    /// <summary>The applicable records of every file, or null when the corpus is not on this machine.</summary>
    public static IReadOnlyList<SltRecord>? Records => s_records.Value;

    /// <summary>The corpus root: the first <c>shared/slt</c> found walking up from the test binaries.</summary>
    public static string? FindRoot()
    {
        for (DirectoryInfo? directory = new(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            string candidate = Path.Combine(directory.FullName, "shared", "slt");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static List<SltRecord>? Load()
    {
        string? root = FindRoot();
        if (root is null)
        {
            return null;
        }

        var records = new List<SltRecord>();
        IEnumerable<string> files = Directory.EnumerateFiles(root, "*.*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".test", StringComparison.Ordinal) || path.EndsWith(".slt", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        foreach (string path in files)
        {
            ReadFile(Path.GetRelativePath(root, path), File.ReadAllLines(path), records);
        }

        return records;
    }

    private static void ReadFile(string name, string[] lines, List<SltRecord> records)
    {
        var conditions = new List<(bool OnlyIf, string Engine)>();
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i].Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                i++;
                continue;
            }

            string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            switch (words[0])
            {
                case "skipif" or "onlyif" when words.Length > 1:
                    conditions.Add((words[0] == "onlyif", words[1]));
                    i++;
                    continue;
                case "halt":
                    if (Applies(conditions))
                    {
                        return;
                    }

                    conditions.Clear();
                    i++;
                    continue;
                case "statement" or "query" or "simple":
                {
                    int header = i;
                    i++;
                    var sql = new List<string>();
                    while (i < lines.Length && lines[i].Trim().Length > 0 && lines[i].Trim() != "----")
                    {
                        sql.Add(lines[i]);
                        i++;
                    }

                    i = SkipResults(lines, i, line.Contains("multiline", StringComparison.Ordinal));
                    if (words[0] != "simple" && Applies(conditions))
                    {
                        bool error = words.Length > 1 && words[1] == "error";
                        records.Add(new SltRecord(name, header + 1, line, string.Join('\n', sql), error ? SltExpectation.Error : SltExpectation.Success));
                    }

                    conditions.Clear();
                    continue;
                }

                default:
                    // mode, hash-threshold, copy and other directives.
                    conditions.Clear();
                    i++;
                    continue;
            }
        }
    }

    /// <summary>After a record's SQL: past its expected output, if any.</summary>
    private static int SkipResults(string[] lines, int i, bool multiline)
    {
        if (i >= lines.Length || lines[i].Trim() != "----")
        {
            return i;
        }

        i++;
        if (multiline)
        {
            while (i < lines.Length && lines[i] != "EOF")
            {
                i++;
            }

            return i + 1;
        }

        while (i < lines.Length && lines[i].Trim().Length > 0)
        {
            i++;
        }

        return i;
    }

    // skipif postgresql skips; onlyif anything else skips.
    private static bool Applies(List<(bool OnlyIf, string Engine)> conditions) =>
        conditions.All(condition => condition.OnlyIf ? condition.Engine == "postgresql" : condition.Engine != "postgresql");
}
