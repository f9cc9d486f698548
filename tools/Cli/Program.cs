using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Help;
using System.Globalization;
using System.Text.Json;
using Kernel.Sim;
using Kernel.Sim.Scenarios;

namespace Kernel.Tools.Cli;

/// <summary>The <c>kernel</c> command line: simulation runs now; <c>start</c>, <c>persist</c> and <c>slt</c> as they land.</summary>
public static class Program
{
    public static int Main(string[] args)
    {
        // A plain command rather than RootCommand, so help says "kernel" (the script's name), not the assembly's.
        var root = new Command("kernel", "Kernel: a streaming SQL database kernel tested by deterministic simulation.");
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());
        root.Subcommands.Add(StartCommand.Create());
        root.Subcommands.Add(StartCommand.CreateClusterd());
        root.Subcommands.Add(SimCommands.Create());
        root.Subcommands.Add(PersistCommands.Create());
        ParseResult parsed = root.Parse(args);
        return parsed.Invoke();
    }
}

internal static class SimCommands
{
    public static Command Create()
    {
        var sim = new Command("sim", "Run, replay and list deterministic simulation scenarios.");
        sim.Subcommands.Add(CreateRun());
        sim.Subcommands.Add(CreateReplay());
        sim.Subcommands.Add(CreateList());
        return sim;
    }

    private static Option<string> ScenarioOption(string defaultValue) => new("--scenario")
    {
        Description = $"Scenario name (see `kernel sim list`), or '{ScenarioCatalog.ExamplesName}' for every scenario without a planted bug.",
        DefaultValueFactory = _ => defaultValue,
    };

    private static Option<string> StrategyOption() => new("--strategy")
    {
        Description = "Exploration strategy: portfolio (each seed picks one), random, pct or sticky.",
        DefaultValueFactory = _ => "portfolio",
    };

    private static Option<string> FaultsOption() => new("--faults")
    {
        Description = "Faults to inject: tolerated (what the scenario claims to survive), all, or none.",
        DefaultValueFactory = _ => "tolerated",
    };

    private static Command CreateRun()
    {
        Option<string> scenario = ScenarioOption(ScenarioCatalog.ExamplesName);
        var seeds = new Option<string>("--seeds") { Description = "Seeds to run, A..B inclusive.", DefaultValueFactory = _ => "1..200" };
        var parallel = new Option<int>("--parallel") { Description = "Runs at once, each on its own thread.", DefaultValueFactory = _ => 1 };
        Option<string> strategy = StrategyOption();
        Option<string> faults = FaultsOption();
        var command = new Command("run", "Run a scenario over a range of seeds and summarise.") { scenario, seeds, parallel, strategy, faults };
        command.SetAction(result =>
        {
            if (!TryResolve(result.GetValue(scenario)!, result.GetValue(strategy)!, result.GetValue(faults)!, out IReadOnlyList<ScenarioEntry> entries, out RunSpec template))
            {
                return 2;
            }
            if (!SeedRange.TryParse(result.GetValue(seeds)!, out SeedRange range, out string error))
            {
                Console.Error.WriteLine("error: --seeds " + error);
                return 2;
            }
            int threads = result.GetValue(parallel);
            if (threads is < 1 or > 256)
            {
                Console.Error.WriteLine("error: --parallel must be between 1 and 256");
                return 2;
            }
            return RunBatches(entries, range, template, threads);
        });
        return command;
    }

    private static Command CreateReplay()
    {
        Option<string> scenario = ScenarioOption("");
        scenario.Required = true;
        var seed = new Option<string>("--seed") { Description = "The seed to replay.", Required = true };
        Option<string> strategy = StrategyOption();
        Option<string> faults = FaultsOption();
        var trace = new Option<bool>("--trace") { Description = "Print the readable event log (virtual time, node, event)." };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object." };
        var command = new Command("replay", "Re-run one seed exactly, optionally printing its event log.") { scenario, seed, strategy, faults, trace, json };
        command.SetAction(result =>
        {
            if (!TryResolve(result.GetValue(scenario)!, result.GetValue(strategy)!, result.GetValue(faults)!, out IReadOnlyList<ScenarioEntry> entries, out RunSpec template))
            {
                return 2;
            }
            if (entries.Count != 1)
            {
                Console.Error.WriteLine("error: replay needs one scenario name, not a group");
                return 2;
            }
            if (!SeedRange.TryParse(result.GetValue(seed)!, out SeedRange single, out string error) || single.Count != 1)
            {
                Console.Error.WriteLine("error: --seed " + (error.Length > 0 ? error : "must be one seed"));
                return 2;
            }
            RunSpec spec = template with { Scenario = entries[0].Name, Seed = single.First, KeepLog = result.GetValue(trace) };
            RunResult run = BatchRunner.RunGuarded(entries[0], spec, guardPool: true);
            if (result.GetValue(json))
            {
                PrintJson(run);
            }
            else
            {
                if (spec.KeepLog)
                {
                    foreach (string line in run.Log)
                    {
                        Console.WriteLine(line);
                    }
                    Console.WriteLine();
                }
                Console.WriteLine($"scenario {spec.Scenario}  seed {spec.Seed}  strategy {run.Strategy}");
                Console.WriteLine($"faults   {run.FaultProfile}");
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"steps    {run.Steps}  virtual {run.VirtualSeconds:0.000}s  events {run.Events}"));
                Console.WriteLine($"trace    {run.TraceHashHex}");
                Console.WriteLine(run.Passed ? "result   pass" : "result   FAIL: " + run.Failure);
            }
            return run.Passed ? 0 : 1;
        });
        return command;
    }

    private static Command CreateList()
    {
        var command = new Command("list", "List the scenarios.");
        command.SetAction(_ =>
        {
            foreach (ScenarioEntry entry in ScenarioCatalog.All)
            {
                Console.WriteLine($"{entry.Name,-22} {entry.Description}");
            }
            Console.WriteLine($"{ScenarioCatalog.ExamplesName,-22} every scenario above without a planted bug");
            return 0;
        });
        return command;
    }

    private static bool TryResolve(string scenarioName, string strategyName, string faultsName, out IReadOnlyList<ScenarioEntry> entries, out RunSpec template)
    {
        template = new RunSpec("", 0);
        if (!ScenarioCatalog.TryFind(scenarioName, out entries))
        {
            var names = new List<string>();
            foreach (ScenarioEntry entry in ScenarioCatalog.All)
            {
                names.Add(entry.Name);
            }
            Console.Error.WriteLine($"error: unknown scenario '{scenarioName}'. Known: {string.Join(", ", names)}, {ScenarioCatalog.ExamplesName}.");
            return false;
        }
        if (!Strategies.TryParse(strategyName, out StrategyKind? strategy))
        {
            Console.Error.WriteLine($"error: unknown strategy '{strategyName}'. Use portfolio, random, pct or sticky.");
            return false;
        }
        FaultMode? faults = faultsName.ToUpperInvariant() switch
        {
            "TOLERATED" => FaultMode.Tolerated,
            "ALL" => FaultMode.All,
            "NONE" => FaultMode.None,
            _ => null,
        };
        if (faults is null)
        {
            Console.Error.WriteLine($"error: unknown fault mode '{faultsName}'. Use tolerated, all or none.");
            return false;
        }
        template = new RunSpec("", 0, strategy, faults.Value);
        return true;
    }

    private static int RunBatches(IReadOnlyList<ScenarioEntry> entries, SeedRange range, RunSpec template, int parallel)
    {
        int exitCode = 0;
        foreach (ScenarioEntry entry in entries)
        {
            Console.WriteLine($"== {entry.Name}: seeds {range}, {parallel} thread(s), faults {template.Faults.ToString().ToLowerInvariant()}");
            Console.WriteLine($"   {entry.Description}");
            BatchSummary summary = BatchRunner.Run(entry, range, template, parallel, (done, total) =>
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"   {done}/{total} seeds")));
            PrintSummary(summary);
            if (summary.Failures > 0 || summary.DeterminismFailures.Count > 0)
            {
                exitCode = 1;
            }
        }
        return exitCode;
    }

    private static void PrintSummary(BatchSummary summary)
    {
        const int FailuresShownMax = 10;
        int shown = 0;
        var byStrategy = new SortedDictionary<string, (int Runs, int Failures)>(StringComparer.Ordinal);
        foreach (RunResult result in summary.Results)
        {
            string kind = result.Strategy.Split(' ')[0];
            (int runs, int failures) = byStrategy.GetValueOrDefault(kind);
            byStrategy[kind] = (runs + 1, failures + (result.Passed ? 0 : 1));
            if (!result.Passed && shown++ < FailuresShownMax)
            {
                Console.WriteLine($"   FAIL seed {result.Spec.Seed} ({result.Strategy}; faults {result.FaultProfile})");
                Console.WriteLine($"        {FirstLine(result.Failure!)}");
                Console.WriteLine($"        replay: {result.Spec.ReplayCommand} --trace");
            }
        }
        if (shown > FailuresShownMax)
        {
            Console.WriteLine($"   ... and {shown - FailuresShownMax} more failing seeds");
        }
        foreach (string mismatch in summary.DeterminismFailures)
        {
            Console.WriteLine("   NONDETERMINISM " + mismatch);
        }
        var goals = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (RunResult result in summary.Results)
        {
            foreach ((string goal, long hits) in result.SometimesHits)
            {
                goals[goal] = goals.GetValueOrDefault(goal) + hits;
            }
        }
        foreach ((string goal, long hits) in goals)
        {
            if (hits == 0)
            {
                Console.WriteLine($"   coverage goal never reached: {goal}");
            }
        }
        double wall = Math.Max(summary.WallSeconds, 1e-9);
        var perStrategy = new List<string>();
        foreach ((string kind, (int runs, int failures)) in byStrategy)
        {
            perStrategy.Add($"{kind} {failures}/{runs}");
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   seeds {summary.Results.Count}, failures {summary.Failures} (by strategy: {string.Join(", ", perStrategy)}), determinism re-runs {summary.DeterminismChecks} with {summary.DeterminismFailures.Count} mismatches"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"   {summary.Steps / wall:N0} events/s, {summary.Results.Count / wall * 60:N0} seeds/min, simulated {summary.VirtualSeconds:0.0}s in {wall:0.00}s wall ({summary.VirtualSeconds / wall:0.0}x)"));
        if (summary.Scenario.HasPlantedBug)
        {
            Console.WriteLine(summary.Failures > 0
                ? "   planted bug found, as expected"
                : "   planted bug NOT found in this seed range");
        }
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOf('\n', StringComparison.Ordinal);
        return newline < 0 ? text : text[..newline];
    }

    private static void PrintJson(RunResult run)
    {
        using var stream = Console.OpenStandardOutput();
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = false });
        writer.WriteStartObject();
        writer.WriteString("scenario", run.Spec.Scenario);
        writer.WriteNumber("seed", run.Spec.Seed);
        writer.WriteString("strategy", run.Strategy);
        writer.WriteString("faults", run.FaultProfile);
        writer.WriteBoolean("passed", run.Passed);
        writer.WriteString("failure", run.Failure);
        writer.WriteNumber("steps", run.Steps);
        writer.WriteNumber("virtualSeconds", run.VirtualSeconds);
        writer.WriteString("traceHash", run.TraceHashHex);
        writer.WriteEndObject();
        writer.Flush();
        stream.Write("\n"u8);
    }
}
