using System;
using System.Collections.Generic;
using System.Globalization;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>What determines a run: the scenario, the seed, the forced strategy (else the seed's pick from the portfolio) and the fault mode.</summary>
public sealed record RunSpec(string Scenario, ulong Seed, StrategyKind? Strategy = null, FaultMode Faults = FaultMode.Tolerated, bool KeepLog = false)
{
    /// <summary>The command that reproduces this run.</summary>
    public string ReplayCommand
    {
        get
        {
            string command = string.Create(CultureInfo.InvariantCulture, $"./kernel sim replay --scenario {Scenario} --seed {Seed}");
            if (Strategy is { } strategy)
            {
                command += " --strategy " + strategy switch { StrategyKind.RandomWalk => "random", StrategyKind.Pct => "pct", _ => "sticky" };
            }
            if (Faults != FaultMode.Tolerated)
            {
                command += " --faults " + Faults.ToString().ToLowerInvariant();
            }
            return command;
        }
    }
}

public sealed record RunResult(
    RunSpec Spec,
    string Strategy,
    string FaultProfile,
    string? Failure,
    long Steps,
    double VirtualSeconds,
    ulong TraceHash,
    long Events,
    IReadOnlyList<string> Log,
    IReadOnlyDictionary<string, long> SometimesHits)
{
    public bool Passed => Failure is null;

    public string TraceHashHex => TraceHash.ToString("x16", CultureInfo.InvariantCulture);
}

/// <summary>Runs one seed of one scenario on the calling thread.</summary>
public static class SimRunner
{
    public static RunResult Run(ScenarioEntry entry, RunSpec spec)
    {
        SimScenario scenario = entry.Create();
        // The seed is mixed with the scenario's name so that seed 7 of two scenarios are unrelated runs (variants of one
        // scenario share theirs).
        ulong seed = StableHash.Mix(StableHash.Add(StableHash.Of(scenario.SeedName), spec.Seed));
        var root = new SeededRandom(seed);
        FaultKinds allowed = spec.Faults switch
        {
            FaultMode.Tolerated => scenario.Tolerates,
            FaultMode.All => FaultKinds.All,
            _ => FaultKinds.None,
        };
        FaultProfile faults = allowed == FaultKinds.None ? FaultProfile.Calm : FaultProfile.Draw(root.Fork("swarm"), allowed);
        IStrategy strategy = Strategies.Create(spec.Strategy, root.Fork("strategy"), scenario.ExpectedSteps);
        // How far ahead the strategy may pull events: none for some seeds (pure latency order), up to a few ms for others.
        long windowNanos = root.Fork("window").Next(4) switch { 0 => 0, 1 => 100_000, 2 => 1_000_000, _ => 5_000_000 };
        var world = new SimWorld(new SimRunConfig(seed, faults, strategy, scenario.Limits, spec.KeepLog, windowNanos));
        string? failure;
        try
        {
            scenario.Setup(world);
            failure = world.Run();
            if (failure is null)
            {
                failure = scenario.Check(world);
                if (failure is not null)
                {
                    world.Fail(failure);
                }
            }
        }
        catch (Exception e)
        {
            world.Fail("the scenario threw: " + SimWorld.Describe(e));
            failure = world.Failure;
        }
        return new RunResult(
            spec,
            strategy.Describe(),
            faults.ToString(),
            failure,
            world.Steps,
            world.NowSeconds,
            world.Trace.Hash,
            world.Trace.EventCount,
            world.Trace.Log,
            new Dictionary<string, long>(world.SometimesHits, StringComparer.Ordinal));
    }

    /// <summary>
    /// Whether a seed is in the sample re-run to check determinism (about one in twenty, as FoundationDB's
    /// harness does); failing seeds are always re-run.
    /// </summary>
    public static bool IsDeterminismSample(ulong seed) => StableHash.Mix(seed ^ 0x5EED) % 20 == 0;
}
