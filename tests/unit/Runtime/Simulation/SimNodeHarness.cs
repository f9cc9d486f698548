using System;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Sim;

namespace Kernel.Tests.Unit.Runtime.Simulation;

/// <summary>
/// Runs test bodies as nodes of a fresh simulated world: one thread, virtual time, latency drawn from the seed
/// but no faults (the contract describes the seams when nothing goes wrong).
/// </summary>
public sealed class SimNodeHarness(ulong seed) : NodeHarness
{
    public override Task RunNodeAsync(Func<INodeContext, Task> body) => Run(body, null);

    public override Task RunNodesAsync(Func<INodeContext, Task> first, Func<INodeContext, Task> second) => Run(first, second);

    private Task Run(Func<INodeContext, Task> first, Func<INodeContext, Task>? second)
    {
        FaultProfile latencyOnly = FaultProfile.Draw(new SeededRandom(seed).Fork("swarm"), FaultKinds.NetworkDelay | FaultKinds.DiskLatency);
        var world = new SimWorld(new SimRunConfig(seed, latencyOnly, new RandomWalkStrategy(new SeededRandom(seed)), new SimLimits(), KeepLog: false));
        ExceptionDispatchInfo? thrown = null;
        Func<INodeContext, Task> Capture(Func<INodeContext, Task> body) => async context =>
        {
            try
            {
                await body(context);
            }
            catch (Exception e)
            {
                thrown ??= ExceptionDispatchInfo.Capture(e);
                throw;
            }
        };
        world.AddNode("node-a", () => new DelegateNode(Capture(first)), SimNodeOptions.Workload);
        if (second is not null)
        {
            world.AddNode("node-b", () => new DelegateNode(Capture(second)), SimNodeOptions.Workload);
        }
        string? failure = world.Run();
        thrown?.Throw();
        return failure is null ? Task.CompletedTask : throw new InvalidOperationException("simulated run failed: " + failure);
    }
}

public sealed class SimStorageContractTests : StorageContractTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 11);
}

public sealed class SimNetworkContractTests : NetworkContractTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 12);
}

public sealed class SimClockContractTests : ClockContractTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 13);
}

public sealed class SimComputeContractTests : ComputeContractTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 17);
}
