using System;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>
/// The semantics of <see cref="ICompute"/> that every implementation must give: the work runs exactly once and its
/// value or exception reaches the caller, and the caller's await resumes on the node's own loop.
/// </summary>
public abstract class ComputeContractTests
{
    protected abstract NodeHarness Harness { get; }

    [Fact]
    public Task Run_Work_ReturnsItsValueOnTheNodeThread() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;
        int runs = 0;

        long sum = await context.Compute.RunAsync(() =>
        {
            runs++;
            long total = 0;
            for (int i = 1; i <= 1000; i++)
            {
                total += i;
            }
            return total;
        });

        Assert.Equal(500_500, sum);
        Assert.Equal(1, runs);
        Assert.Equal(nodeThread, Environment.CurrentManagedThreadId);
    });

    [Fact]
    public Task Run_WorkThrows_ExceptionReachesCallerOnNodeThread() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(() => context.Compute.RunAsync<int>(() => throw new InvalidOperationException("corrupt part")));

        Assert.Equal("corrupt part", thrown.Message);
        Assert.Equal(nodeThread, Environment.CurrentManagedThreadId);
    });

    [Fact]
    public Task Run_ManyAtOnce_EachValueReachesItsCaller() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;
        var pending = new Task<int>[16];
        for (int i = 0; i < pending.Length; i++)
        {
            int input = i;
            pending[i] = context.Compute.RunAsync(() => input * input);
        }

        int[] values = await Task.WhenAll(pending);

        for (int i = 0; i < values.Length; i++)
        {
            Assert.Equal(i * i, values[i]);
        }
        Assert.Equal(nodeThread, Environment.CurrentManagedThreadId);
    });
}
