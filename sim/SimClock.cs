using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>
/// A node's wall clock over virtual time: a fixed origin, plus the skew and drift drawn for the run, plus any
/// steps chaos applied. Monotonic time is the world's virtual time itself and never goes back.
/// </summary>
internal sealed class SimClock(SimNode node)
{
    /// <summary>Every run starts on the same date, so wall times are reproducible.</summary>
    public static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private long _stepNanos;

    public DateTimeOffset WallNow
    {
        get
        {
            FaultProfile f = node.World.Faults;
            long now = node.World.NowNanos;
            double offsetMs = f.ClockSkewMs * (node.Index % 2 == 0 ? 1 : -1) / (1 + node.Index);
            double driftNanos = now * f.ClockDriftPpm * 1e-6 * (node.Index % 2 == 0 ? 1 : -1);
            long wall = now + (long)(offsetMs * 1e6) + (long)driftNanos + _stepNanos;
            return Origin.AddTicks(wall / 100);
        }
    }

    public void StepWall(long nanos) => _stepNanos += nanos;
}

internal sealed class SimNodeClock : IClock
{
    private readonly SimNode _node;

    public SimNodeClock(SimNode node, long epoch)
    {
        _node = node;
        TimeProvider = new SimTimeProvider(node, epoch);
    }

    public long MonotonicNanos => _node.World.NowNanos;

    public DateTimeOffset WallNow => _node.Clock.WallNow;

    public TimeProvider TimeProvider { get; }

    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default) => Task.Delay(delay, TimeProvider, cancellationToken);

    public IDisposable Schedule(TimeSpan due, Action callback) => TimeProvider.CreateTimer(static state => ((Action)state!)(), callback, due, Timeout.InfiniteTimeSpan);
}

/// <summary>The BCL's view of virtual time: timers become world events on the node's loop.</summary>
internal sealed class SimTimeProvider(SimNode node, long epoch) : TimeProvider
{
    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => node.World.NowNanos;

    public override DateTimeOffset GetUtcNow() => node.Clock.WallNow;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new SimTimer(node, epoch, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class SimTimer(SimNode node, long epoch, TimerCallback callback, object? state) : ITimer
    {
        private SimEvent? _pending;
        private long _periodNanos = -1;
        private bool _disposed;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }
            _pending?.Cancel();
            _pending = null;
            _periodNanos = period == Timeout.InfiniteTimeSpan ? -1 : Math.Max(1, period.Ticks * 100);
            if (dueTime != Timeout.InfiniteTimeSpan && node.Epoch == epoch)
            {
                Arm(Math.Max(0, dueTime.Ticks * 100));
            }
            return true;
        }

        public void Dispose()
        {
            _disposed = true;
            _pending?.Cancel();
            _pending = null;
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void Arm(long delayNanos) => _pending = node.World.Schedule(node, delayNanos, "timer", Fire);

        private void Fire()
        {
            _pending = null;
            if (_disposed)
            {
                return;
            }
            if (_periodNanos > 0)
            {
                Arm(_periodNanos);
            }
            callback(state);
        }
    }
}
