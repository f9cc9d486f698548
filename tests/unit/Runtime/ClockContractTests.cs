using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>
/// The semantics of <see cref="IClock"/> that every implementation must give: delays last at least as long as
/// asked in monotonic time, and timer callbacks and continuations run on the node's own loop thread. Nothing
/// here asserts an upper bound on time: production timers may run late, simulated ones exactly on time.
/// </summary>
public abstract class ClockContractTests
{
    private static readonly TimeSpan s_shortDelay = TimeSpan.FromMilliseconds(30);

    protected abstract NodeHarness Harness { get; }

    [Fact]
    public Task Delay_Requested_ElapsesAtLeastThatLongInMonotonicNanos() => Harness.RunNodeAsync(async context =>
    {
        long start = context.Clock.MonotonicNanos;

        await context.Clock.Delay(s_shortDelay);

        Assert.True(context.Clock.MonotonicNanos - start >= ToNanos(s_shortDelay), "the delay ended early");
    });

    [Fact]
    public Task Delay_Completed_ResumesOnNodeThread() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;

        await context.Clock.Delay(TimeSpan.FromMilliseconds(5));

        Assert.Equal(nodeThread, Environment.CurrentManagedThreadId);
    });

    [Fact]
    public Task Delay_CanceledWhileWaiting_ThrowsOperationCanceled() => Harness.RunNodeAsync(async context =>
    {
        using var cancel = new CancellationTokenSource();
        using IDisposable timer = context.Clock.Schedule(TimeSpan.FromMilliseconds(10), cancel.Cancel);

        // An hour: only the cancellation can end this delay within the harness's time limit.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => context.Clock.Delay(TimeSpan.FromHours(1), cancel.Token));
    });

    [Fact]
    public Task Schedule_Due_FiresOnceOnNodeThreadNoEarlierThanDue() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;
        long start = context.Clock.MonotonicNanos;
        var fired = Rendezvous.Create<(int Thread, long Nanos)>();
        int calls = 0;

        using IDisposable timer = context.Clock.Schedule(s_shortDelay, () =>
        {
            calls++;
            fired.TrySetResult((Environment.CurrentManagedThreadId, context.Clock.MonotonicNanos));
        });
        (int thread, long nanos) = await fired.Task;
        await context.Clock.Delay(s_shortDelay * 2);

        Assert.Equal(nodeThread, thread);
        Assert.True(nanos - start >= ToNanos(s_shortDelay), "the callback fired early");
        Assert.Equal(1, calls);
    });

    [Fact]
    public Task Schedule_DisposedBeforeDue_NeverFires() => Harness.RunNodeAsync(async context =>
    {
        bool fired = false;
        IDisposable timer = context.Clock.Schedule(TimeSpan.FromMilliseconds(10), () => fired = true);

        timer.Dispose();
        await context.Clock.Delay(TimeSpan.FromMilliseconds(60));

        Assert.False(fired);
    });

    [Fact]
    public Task TimeProvider_CreateTimer_CallbackRunsOnNodeThread() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;
        var fired = Rendezvous.Create<int>();

        using ITimer timer = context.Clock.TimeProvider.CreateTimer(
            _ => fired.TrySetResult(Environment.CurrentManagedThreadId), null, TimeSpan.FromMilliseconds(5), Timeout.InfiniteTimeSpan);

        Assert.Equal(nodeThread, await fired.Task);
    });

    [Fact]
    public Task TimeProvider_TaskDelay_TakesAtLeastTheDelayAndResumesOnNodeThread() => Harness.RunNodeAsync(async context =>
    {
        int nodeThread = Environment.CurrentManagedThreadId;
        long start = context.Clock.MonotonicNanos;

        await Task.Delay(s_shortDelay, context.Clock.TimeProvider);

        Assert.True(context.Clock.MonotonicNanos - start >= ToNanos(s_shortDelay), "the delay ended early");
        Assert.Equal(nodeThread, Environment.CurrentManagedThreadId);
    });

    [Fact]
    public Task MonotonicNanos_AcrossDelaysAndYields_NeverDecreases() => Harness.RunNodeAsync(async context =>
    {
        long previous = context.Clock.MonotonicNanos;
        for (int i = 0; i < 20; i++)
        {
            if (i % 2 == 0)
            {
                await Task.Yield();
            }
            else
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(1));
            }
            long now = context.Clock.MonotonicNanos;
            Assert.True(now >= previous, $"monotonic time went back from {previous} to {now}");
            previous = now;
        }
    });

    private static long ToNanos(TimeSpan span) => span.Ticks * 100;
}
