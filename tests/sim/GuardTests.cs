using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Sim;
using Xunit;

namespace Kernel.Tests.Sim;

/// <summary>
/// Property: work that escapes the simulator's control fails the run instead of making it silently
/// nondeterministic. These nodes break the rules on purpose (the analyzer would reject them in kernel code).
/// </summary>
public class GuardTests
{
    [Fact]
    public void TaskRun_InNodeCode_FailsRunAsEscape()
    {
        // The pool work outlasts the step that started it, so its continuation comes back from a pool thread. (Work
        // that finishes before the await looks at it leaves no trace here; the command line's thread-pool counter
        // catches that case.)
        RunResult result = RunNode(async _ => await Task.Run(() => Thread.Sleep(50)));

        Assert.False(result.Passed);
        Assert.Contains("escaped", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void ConfigureAwaitFalse_InNodeCode_FailsRunAsEscape()
    {
        RunResult result = RunNode(async context =>
        {
            await context.Clock.Delay(TimeSpan.FromMilliseconds(1)).ConfigureAwait(false);
            await context.Clock.Delay(TimeSpan.FromMilliseconds(1));
        });

        Assert.False(result.Passed);
        Assert.Contains("escaped", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void AwaitNeverCompleted_NoTimers_FailsRunAsDeadlock()
    {
        RunResult result = RunNode(async _ => await new TaskCompletionSource().Task);

        Assert.False(result.Passed);
        Assert.Contains("no runnable work and no timers", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void AlwaysFalse_InNodeCode_FailsRunWithMessage()
    {
        RunResult result = RunNode(context =>
        {
            context.Always(false, "the invariant under test");
            return Task.CompletedTask;
        });

        Assert.False(result.Passed);
        Assert.Contains("the invariant under test", result.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void WellBehavedNode_Passes()
    {
        RunResult result = RunNode(async context =>
        {
            await Task.Yield();
            await context.Clock.Delay(TimeSpan.FromSeconds(1));
            using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(5), context.Clock.TimeProvider);
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Task.Delay(Timeout.InfiniteTimeSpan, context.Clock.TimeProvider, timeout.Token));
        });

        Assert.True(result.Passed, result.Failure);
        Assert.True(result.VirtualSeconds >= 1.005, "virtual time covers the delays");
    }

    private static RunResult RunNode(Func<INodeContext, Task> body)
    {
        var entry = new ScenarioEntry("guard", "one node running a test body", false, () => new OneNode(body));
        return SimRunner.Run(entry, new RunSpec("guard", 1, Faults: FaultMode.None));
    }

    private sealed class OneNode(Func<INodeContext, Task> body) : SimScenario
    {
        public override string Name => "guard";

        public override string Description => "one node running a test body";

        public override void Setup(SimWorld world) => world.AddNode("node", () => new Body(body), SimNodeOptions.Workload);

        private sealed class Body(Func<INodeContext, Task> body) : INode
        {
            public Task RunAsync(INodeContext context) => body(context);
        }
    }
}
