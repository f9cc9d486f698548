using System.Collections.Generic;
using Kernel.Sim;
using Kernel.Sim.Scenarios;
using Xunit;

namespace Kernel.Tests.Sim;

internal static class SimAssert
{
    public static ScenarioEntry Scenario(string name)
    {
        Assert.True(ScenarioCatalog.TryFind(name, out IReadOnlyList<ScenarioEntry> entries), $"no scenario {name}");
        return Assert.Single(entries);
    }

    /// <summary>Runs seeds first..last and returns the first failing run, or null.</summary>
    public static RunResult? FirstFailure(ScenarioEntry scenario, ulong first, ulong last, StrategyKind? strategy = null, FaultMode faults = FaultMode.Tolerated)
    {
        for (ulong seed = first; seed <= last; seed++)
        {
            RunResult result = SimRunner.Run(scenario, new RunSpec(scenario.Name, seed, strategy, faults));
            if (!result.Passed)
            {
                return result;
            }
        }
        return null;
    }

    /// <summary>Runs seeds first..last and fails with the replay command of the first failing seed.</summary>
    public static void AllPass(ScenarioEntry scenario, ulong first, ulong last, FaultMode faults = FaultMode.Tolerated)
    {
        RunResult? failure = FirstFailure(scenario, first, last, faults: faults);
        Assert.True(failure is null, failure is null ? "" : $"{failure.Failure}\nreplay: {failure.Spec.ReplayCommand} --trace");
    }

    public static void Replays(RunResult original)
    {
        RunResult again = SimRunner.Run(Scenario(original.Spec.Scenario), original.Spec);
        Assert.Equal(original.TraceHashHex, again.TraceHashHex);
        Assert.Equal(original.Failure, again.Failure);
        Assert.Equal(original.Steps, again.Steps);
    }
}
