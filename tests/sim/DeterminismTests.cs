using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

public class DeterminismTests
{
    /// <summary>Property: a run is a function of (scenario, strategy, faults, seed): the same seed twice gives the same trace hash, and different seeds give different ones.</summary>
    [Theory]
    [InlineData("wal")]
    [InlineData("lock-service")]
    [InlineData("ping-pong")]
    public void SameSeed_InOneProcess_SameTraceHash(string name)
    {
        ScenarioEntry scenario = SimAssert.Scenario(name);
        for (ulong seed = 1; seed <= 20; seed++)
        {
            RunResult first = SimRunner.Run(scenario, new RunSpec(name, seed));
            RunResult second = SimRunner.Run(scenario, new RunSpec(name, seed));
            Assert.Equal(first.TraceHashHex, second.TraceHashHex);
            Assert.Equal(first.Steps, second.Steps);
        }
        Assert.NotEqual(
            SimRunner.Run(scenario, new RunSpec(name, 1)).TraceHashHex,
            SimRunner.Run(scenario, new RunSpec(name, 2)).TraceHashHex);
    }

    /// <summary>
    /// Property: determinism across processes. Two separate processes replaying the same seed print the same
    /// trace hash as this one computes, so nothing process-specific (string hash seeds, identity hashes,
    /// dictionary order of randomized keys) leaks into a run.
    /// </summary>
    [Theory]
    [InlineData("wal", 7UL)]
    [InlineData("lock-service-racy", 3UL)]
    public void SameSeed_InSeparateProcesses_SameTraceHash(string name, ulong seed)
    {
        string inProcess = SimRunner.Run(SimAssert.Scenario(name), new RunSpec(name, seed)).TraceHashHex;

        string first = ReplayInNewProcess(name, seed);
        string second = ReplayInNewProcess(name, seed);

        Assert.Equal(first, second);
        Assert.Equal(inProcess, first);
    }

    private static string ReplayInNewProcess(string scenario, ulong seed)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Kernel.Cli.dll");
        Assert.True(File.Exists(cli), $"the command line is not next to the tests: {cli}");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { cli, "sim", "replay", "--scenario", scenario, "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json" })
        {
            start.ArgumentList.Add(arg);
        }
        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(120_000), "replay did not finish");
        using JsonDocument json = JsonDocument.Parse(output.Trim() is { Length: > 0 } text ? text : throw new InvalidOperationException("no output; stderr: " + error));
        return json.RootElement.GetProperty("traceHash").GetString()!;
    }
}
