using System.Collections.Generic;
using BenchmarkDotNet.Attributes;
using Kernel.Persist.Data;

namespace Kernel.Tests.Bench;

/// <summary>
/// The CPU of a compaction's consolidation (<c>-- --filter '*Consolidation*'</c>): sorting the concatenated inputs,
/// as compactions did, against merging the inputs, each sorted as persist writes every part. Shapes: the spine's
/// usual merge of two large batches, and one of 64 small inline batches (10 rows each, one commit apiece).
/// Rows are (key, payload) pairs with distinct keys, so nothing cancels and the output is as large as the input.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "BenchmarkDotNet runs instance methods")]
public class ConsolidationBenchmarks
{
    private List<List<Update>> _runs = [];

    [Params("2x8192", "64x10")]
    public string Shape { get; set; } = "2x8192";

    [IterationSetup]
    public void Setup()
    {
        string[] parts = Shape.Split('x');
        int runCount = int.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
        int rowsPerRun = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var random = new System.Random(7);
        _runs = new List<List<Update>>(runCount);
        ulong time = 0;
        for (int r = 0; r < runCount; r++)
        {
            var run = new List<Update>(rowsPerRun);
            for (int i = 0; i < rowsPerRun; i++)
            {
                run.Add(new Update(Row.OfInt64(random.NextInt64(), i), time++, 1));
            }
            Consolidation.ConsolidateInPlace(run);
            _runs.Add(run);
        }
    }

    [Benchmark(Baseline = true)]
    public int SortConcatenation()
    {
        var all = new List<Update>();
        foreach (List<Update> run in _runs)
        {
            all.AddRange(run);
        }
        return Consolidation.AdvanceAndConsolidateInPlace(all, Frontier.At(0)).Count;
    }

    [Benchmark]
    public int MergeSortedRuns() => Consolidation.MergeAndConsolidate(_runs, Frontier.At(0)).Count;
}
