using System;
using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Kernel.Sim;
using Kernel.Sim.Scenarios;
using Kernel.Tests.Bench.EndToEnd;

namespace Kernel.Tests.Bench;

/// <summary>
/// <c>dotnet run -c Release --project tests/bench -- [BenchmarkDotNet args]</c> runs the BenchmarkDotNet suites;
/// <c>-- sim-throughput [seeds]</c> runs each example scenario over a seed range and prints steps per second,
/// seeds per minute and the simulated-to-wall time ratio; <c>-- persist [--quick] [--no-postgres]</c> runs the
/// persist commit-path benchmarks next to their physical floors (<see cref="PersistBenchmarks"/>);
/// <c>-- e2e-latency [--quick] [--rows N] [--groups G] [--updates U]</c> measures write-to-visible latency on the
/// real <c>kernel start</c> process next to PostgreSQL 15 (<see cref="EndToEndLatencyBenchmark"/>).
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "persist")
        {
            return PersistBenchmarks.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "e2e-latency")
        {
            return EndToEndLatencyBenchmark.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == "sim-throughput")
        {
            return SimThroughput(args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500);
        }
        // In-process: the benchmarks need no generated project, and the runtime is the one this SDK ships.
        IConfig config = DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
        return 0;
    }

    private static int SimThroughput(int seeds)
    {
        Console.WriteLine($"{"scenario",-14} {"seeds",6} {"steps/s",12} {"seeds/min",10} {"sim:wall",10}");
        foreach (ScenarioEntry entry in ScenarioCatalog.All)
        {
            if (entry.HasPlantedBug)
            {
                continue;
            }
            SimRunner.Run(entry, new RunSpec(entry.Name, 0)); // warm-up
            long steps = 0;
            double simulated = 0;
            var wall = Stopwatch.StartNew();
            for (int seed = 1; seed <= seeds; seed++)
            {
                RunResult result = SimRunner.Run(entry, new RunSpec(entry.Name, (ulong)seed));
                steps += result.Steps;
                simulated += result.VirtualSeconds;
            }
            double seconds = wall.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{entry.Name,-14} {seeds,6} {steps / seconds,12:N0} {seeds / seconds * 60,10:N0} {simulated / seconds,9:N0}x"));
        }
        return 0;
    }
}
