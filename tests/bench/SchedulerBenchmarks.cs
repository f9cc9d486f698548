using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using Kernel.Runtime;
using Kernel.Sim;
using Kernel.Sim.Scenarios;

namespace Kernel.Tests.Bench;

/// <summary>
/// Simulator scheduling cost. <see cref="BareLoop"/> is the floor: the same async continuations pumped by the
/// smallest possible single-threaded loop, with no strategy, no time and no trace. Each benchmark reports the
/// time per step (OperationsPerInvoke), so steps per second is its reciprocal.
/// </summary>
[MemoryDiagnoser]
[System.Diagnostics.CodeAnalysis.SuppressMessage("Performance", "CA1822", Justification = "BenchmarkDotNet runs instance methods")]
public class SchedulerBenchmarks
{
    private const int Steps = 200_000;

    [Benchmark(Baseline = true, OperationsPerInvoke = Steps)]
    public int BareLoop() => BareEventLoop.Run(Steps);

    [Benchmark(OperationsPerInvoke = Steps)]
    public long SimulatorTrivialSteps()
    {
        var entry = new ScenarioEntry("yield", "one node yielding", false, () => new YieldScenario(Steps));
        RunResult result = SimRunner.Run(entry, new RunSpec("yield", 1, StrategyKind.RandomWalk, FaultMode.None));
        return result.Passed ? result.Steps : throw new InvalidOperationException(result.Failure);
    }

    /// <summary>Two nodes, each yielding: the strategy has a real choice at every step.</summary>
    [Benchmark(OperationsPerInvoke = Steps)]
    public long SimulatorTrivialStepsTwoNodes()
    {
        var entry = new ScenarioEntry("yield2", "two nodes yielding", false, () => new YieldScenario(Steps / 2, nodes: 2));
        RunResult result = SimRunner.Run(entry, new RunSpec("yield2", 1, StrategyKind.Pct, FaultMode.None));
        return result.Passed ? result.Steps : throw new InvalidOperationException(result.Failure);
    }

    /// <summary>The ping-pong scenario with tolerated faults, 100 rounds; reported per run, not per step.</summary>
    [Benchmark]
    public long PingPongRun()
    {
        ScenarioEntry entry = ScenarioCatalog.All[0];
        RunResult result = SimRunner.Run(entry, new RunSpec(entry.Name, 1));
        return result.Passed ? result.Steps : throw new InvalidOperationException(result.Failure);
    }
}

internal sealed class YieldScenario(int yields, int nodes = 1) : SimScenario
{
    public override string Name => "yield";

    public override string Description => "nodes that only yield";

    public override SimLimits Limits => new(StepsMax: 100_000_000);

    public override void Setup(SimWorld world)
    {
        for (int i = 0; i < nodes; i++)
        {
            world.AddNode("n" + i.ToString(System.Globalization.CultureInfo.InvariantCulture), () => new Yielder(yields), SimNodeOptions.Workload);
        }
    }

    private sealed class Yielder(int yields) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            for (int i = 0; i < yields; i++)
            {
                await Task.Yield();
            }
        }
    }
}

/// <summary>The floor: a FIFO of posted callbacks on one thread, with async code yielding into it.</summary>
internal sealed class BareEventLoop : SynchronizationContext
{
    private readonly Queue<(SendOrPostCallback, object?)> _queue = new();

    public override void Post(SendOrPostCallback d, object? state) => _queue.Enqueue((d, state));

    public static int Run(int yields)
    {
        var loop = new BareEventLoop();
        SynchronizationContext? previous = Current;
        SetSynchronizationContext(loop);
        try
        {
            Task task = Yielding(yields);
            int steps = 0;
            while (loop._queue.TryDequeue(out (SendOrPostCallback Callback, object? State) item))
            {
                item.Callback(item.State);
                steps++;
            }
            return task.IsCompletedSuccessfully ? steps : throw new InvalidOperationException("loop stopped early");
        }
        finally
        {
            SetSynchronizationContext(previous);
        }
    }

    private static async Task Yielding(int yields)
    {
        for (int i = 0; i < yields; i++)
        {
            await Task.Yield();
        }
    }
}
