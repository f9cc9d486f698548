using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Kernel.Sim;

namespace Kernel.Tools.Cli;

/// <summary>The outcome of running one scenario over a range of seeds.</summary>
public sealed record BatchSummary(
    ScenarioEntry Scenario,
    IReadOnlyList<RunResult> Results,
    IReadOnlyList<string> DeterminismFailures,
    int DeterminismChecks,
    double WallSeconds)
{
    public int Failures
    {
        get
        {
            int count = 0;
            foreach (RunResult result in Results)
            {
                count += result.Passed ? 0 : 1;
            }
            return count;
        }
    }

    public long Steps
    {
        get
        {
            long total = 0;
            foreach (RunResult result in Results)
            {
                total += result.Steps;
            }
            return total;
        }
    }

    public double VirtualSeconds
    {
        get
        {
            double total = 0;
            foreach (RunResult result in Results)
            {
                total += result.VirtualSeconds;
            }
            return total;
        }
    }
}

/// <summary>
/// Runs seeds of a scenario, each run alone on one thread, on <c>parallel</c> dedicated threads, then re-runs
/// the determinism sample and every failing seed and compares trace hashes.
/// </summary>
/// <remarks>
/// With one thread, each run is also checked for thread-pool work: the simulator's own guards catch work that
/// posts back to a node from another thread, and this catches work that escaped and never came back.
/// </remarks>
public static class BatchRunner
{
    public static BatchSummary Run(ScenarioEntry scenario, SeedRange seeds, RunSpec template, int parallel, Action<int, int>? progress)
    {
        var wall = Stopwatch.StartNew();
        int count = checked((int)seeds.Count);
        var results = new RunResult[count];
        int next = -1, done = 0;
        bool guardPool = parallel == 1;

        void Worker()
        {
            while (true)
            {
                int index = Interlocked.Increment(ref next);
                if (index >= count)
                {
                    return;
                }
                RunSpec spec = template with { Scenario = scenario.Name, Seed = seeds.First + (ulong)index };
                results[index] = RunGuarded(scenario, spec, guardPool);
                Interlocked.Increment(ref done);
            }
        }

        var threads = new List<Thread>();
        for (int i = 0; i < Math.Max(1, parallel); i++)
        {
            var thread = new Thread(Worker, 64 * 1024 * 1024) { IsBackground = true, Name = "sim-" + i };
            thread.Start();
            threads.Add(thread);
        }
        int lastReported = -1;
        while (!threads.TrueForAll(t => t.Join(parallel == 1 ? 500 : 200)))
        {
            int now = Volatile.Read(ref done);
            if (now != lastReported)
            {
                progress?.Invoke(now, count);
                lastReported = now;
            }
        }
        progress?.Invoke(count, count);

        // Determinism: a sample of seeds and every failing seed run again must give the same trace hash.
        var mismatches = new List<string>();
        int checks = 0;
        foreach (RunResult first in results)
        {
            if (first.Passed && !SimRunner.IsDeterminismSample(first.Spec.Seed))
            {
                continue;
            }
            checks++;
            RunResult second = RunGuarded(scenario, first.Spec, guardPool);
            if (second.TraceHash != first.TraceHash || second.Failure != first.Failure)
            {
                mismatches.Add($"seed {first.Spec.Seed}: trace {first.TraceHashHex} then {second.TraceHashHex} ({first.Failure ?? "pass"} / {second.Failure ?? "pass"})");
            }
        }
        return new BatchSummary(scenario, results, mismatches, checks, wall.Elapsed.TotalSeconds);
    }

    public static RunResult RunGuarded(ScenarioEntry scenario, RunSpec spec, bool guardPool)
    {
        long poolBefore = guardPool ? ThreadPool.CompletedWorkItemCount + ThreadPool.PendingWorkItemCount : 0;
        RunResult result = SimRunner.Run(scenario, spec);
        if (guardPool && result.Passed)
        {
            long poolAfter = ThreadPool.CompletedWorkItemCount + ThreadPool.PendingWorkItemCount;
            if (poolAfter != poolBefore)
            {
                result = result with { Failure = $"work escaped the scheduler: {poolAfter - poolBefore} thread-pool work item(s) ran during the run" };
            }
        }
        return result;
    }
}
