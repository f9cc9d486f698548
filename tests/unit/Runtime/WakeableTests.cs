using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>Wake-able delays: a wake ends the wait early, a timeout ends it late, and neither throws.</summary>
public sealed class WakeableTests
{
    [Fact]
    public async Task Woken_ReturnsTrueEarly_WithoutAnException()
    {
        using var wake = new CancellationTokenSource();
        Task<bool> waiting = Wakeable.DelayAsync(new SystemClock(), TimeSpan.FromMinutes(5), wake.Token);
        Assert.False(waiting.IsCompleted);

        wake.Cancel();

        Assert.True(await waiting);
        Assert.Equal(TaskStatus.RanToCompletion, waiting.Status);
    }

    [Fact]
    public async Task AlreadyWoken_ReturnsTrueAtOnce()
    {
        using var wake = new CancellationTokenSource();
        wake.Cancel();

        Task<bool> waiting = Wakeable.DelayAsync(new SystemClock(), TimeSpan.FromMinutes(5), wake.Token);

        Assert.True(waiting.IsCompleted);
        Assert.True(await waiting);
    }

    [Fact]
    public async Task TimedOut_ReturnsFalse()
    {
        using var wake = new CancellationTokenSource();

        Assert.False(await Wakeable.DelayAsync(new SystemClock(), TimeSpan.FromMilliseconds(1), wake.Token));
    }

    [Fact]
    public async Task Quietly_SwallowsAFault()
    {
        await Wakeable.Quietly(Task.FromException(new InvalidOperationException("ignored")));
    }

    /// <summary>Real time, enough for these tests (the simulator's clock has its own contract tests).</summary>
    private sealed class SystemClock : IClock
    {
        public long MonotonicNanos => Environment.TickCount64 * 1_000_000;

        public DateTimeOffset WallNow => DateTimeOffset.UtcNow;

        public TimeProvider TimeProvider => TimeProvider.System;

        public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default) => Task.Delay(delay, cancellationToken);

        public IDisposable Schedule(TimeSpan due, Action callback) => throw new NotSupportedException();
    }
}
