using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Unit.Persist.Support;

/// <summary>
/// A manual <see cref="IClock"/>. With <c>autoAdvance</c>, a delay jumps time forward and completes at once
/// (straight-line tests); otherwise delays become timers that a <see cref="StepScheduler"/> fires when idle.
/// </summary>
public sealed class TestClock : IClock
{
    private readonly bool _autoAdvance;
    private readonly SortedList<(long DueNanos, long Sequence), TaskCompletionSource> _timers = [];
    private long _sequence;

    public TestClock(bool autoAdvance = true, DateTimeOffset? start = null)
    {
        _autoAdvance = autoAdvance;
        WallStart = start ?? new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);
    }

    public DateTimeOffset WallStart { get; }

    public long MonotonicNanos { get; private set; }

    public DateTimeOffset WallNow => WallStart + TimeSpan.FromTicks(MonotonicNanos / 100);

    public TimeProvider TimeProvider => throw new NotSupportedException("persist does not use the BCL time provider");

    internal StepScheduler? Scheduler { get; set; }

    public void Advance(TimeSpan by) => MonotonicNanos += (long)(by.TotalMilliseconds * 1_000_000);

    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default)
    {
        long nanos = Math.Max(0, (long)(delay.TotalMilliseconds * 1_000_000));
        if (_autoAdvance)
        {
            MonotonicNanos += nanos;
            return Task.CompletedTask;
        }
        var timer = new TaskCompletionSource();
        (long, long) key = (MonotonicNanos + nanos, _sequence++);
        _timers.Add(key, timer);
        if (cancellationToken.CanBeCanceled)
        {
            // A canceled delay leaves the timers and ends now, as a real one does (runs inline in Cancel()).
            cancellationToken.Register(() =>
            {
                if (_timers.Remove(key))
                {
                    timer.TrySetCanceled(cancellationToken);
                }
            });
        }
        return timer.Task;
    }

    public IDisposable Schedule(TimeSpan due, Action callback) => throw new NotSupportedException("persist does not schedule callbacks");

    /// <summary>Jumps to the earliest timer and fires it; false when there is none.</summary>
    internal bool FireNextTimer()
    {
        if (_timers.Count == 0)
        {
            return false;
        }
        ((long due, long _), TaskCompletionSource timer) = (_timers.Keys[0], _timers.Values[0]);
        _timers.RemoveAt(0);
        MonotonicNanos = Math.Max(MonotonicNanos, due);
        timer.SetResult();
        return true;
    }
}
