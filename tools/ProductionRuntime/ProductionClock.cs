using System;
using System.Diagnostics;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>The system clock for one node incarnation: Stopwatch for monotonic time, UTC for wall time.</summary>
/// <remarks>
/// Timers come from <see cref="LoopTimeProvider"/>, so <see cref="Delay"/>, <see cref="Schedule"/> and any BCL
/// API given <see cref="TimeProvider"/> run their callbacks on the node's loop, never on the thread pool.
/// </remarks>
public sealed class ProductionClock : IClock
{
    private const long NanosPerSecond = 1_000_000_000;
    private readonly long _originTimestamp = Stopwatch.GetTimestamp();
    private readonly LoopTimeProvider _timeProvider;

    public ProductionClock(NodeLoop loop)
    {
        _timeProvider = new LoopTimeProvider(loop);
    }

    public long MonotonicNanos
    {
        get
        {
            long ticks = Stopwatch.GetTimestamp() - _originTimestamp;
            // Linux reports nanosecond ticks; elsewhere scale through 128 bits so long uptimes cannot overflow.
            return Stopwatch.Frequency == NanosPerSecond ? ticks : (long)((Int128)ticks * NanosPerSecond / Stopwatch.Frequency);
        }
    }

    public DateTimeOffset WallNow => _timeProvider.GetUtcNow();

    public TimeProvider TimeProvider => _timeProvider;

    /// <summary>A negative delay (other than infinite) counts as zero, as a deadline already passed.</summary>
    public Task Delay(TimeSpan delay, CancellationToken cancellationToken = default) =>
        Task.Delay(ClampDue(delay), _timeProvider, cancellationToken);

    /// <summary>Disposing the handle on the loop before the callback ran guarantees it never runs.</summary>
    public IDisposable Schedule(TimeSpan due, Action callback) =>
        _timeProvider.CreateTimer(static state => ((Action)state!)(), callback, ClampDue(due), Timeout.InfiniteTimeSpan);

    private static TimeSpan ClampDue(TimeSpan due) => due < TimeSpan.Zero && due != Timeout.InfiniteTimeSpan ? TimeSpan.Zero : due;
}

/// <summary>
/// <see cref="TimeProvider.System"/> time, with timers whose callbacks are posted to a node loop instead of
/// running on the thread pool, and whose one-shot callbacks never run before their due time by the Stopwatch.
/// </summary>
/// <remarks>
/// .NET timers count whole milliseconds of a coarse tick, so a system timer may fire up to about a millisecond
/// before its due time as <see cref="ProductionClock.MonotonicNanos"/> measures it. The seam promises that a
/// delay lasts at least as long as asked (the simulator gives exactly that), so a one-shot timer that fires
/// early is re-armed for the rest. Periodic timers pass through uncorrected: their ticks may be that early.
/// </remarks>
public sealed class LoopTimeProvider(NodeLoop loop) : TimeProvider
{
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        new LoopTimer(loop, callback, state, dueTime, period);

    /// <remarks>
    /// The system timer fires on the thread pool and posts to the loop. <c>_disposed</c> is checked again on
    /// the loop, so a timer disposed on the loop before its posted callback runs never calls back, even when
    /// the system timer had already fired.
    /// </remarks>
    private sealed class LoopTimer : ITimer
    {
        private readonly NodeLoop _loop;
        private readonly TimerCallback _callback;
        private readonly object? _state;
        private readonly ITimer _inner;
        private volatile bool _disposed;
        private long _dueTimestamp; // Stopwatch timestamp of a one-shot timer's due time; long.MaxValue otherwise

        public LoopTimer(NodeLoop loop, TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            _loop = loop;
            _callback = callback;
            _state = state;
            SetDue(dueTime, period);
            // Created last: with a zero due time the system timer may fire before the constructor returns.
            _inner = TimeProvider.System.CreateTimer(static self => ((LoopTimer)self!).OnFired(), this, dueTime, period);
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            if (_disposed)
            {
                return false;
            }
            SetDue(dueTime, period);
            return _inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            _disposed = true;
            _inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        private void SetDue(TimeSpan dueTime, TimeSpan period)
        {
            long due = period == Timeout.InfiniteTimeSpan && dueTime != Timeout.InfiniteTimeSpan
                ? Stopwatch.GetTimestamp() + (long)Math.Ceiling(dueTime.Ticks * ((double)Stopwatch.Frequency / TimeSpan.TicksPerSecond))
                : long.MaxValue;
            Volatile.Write(ref _dueTimestamp, due);
        }

        private void OnFired()
        {
            if (!_disposed)
            {
                _loop.Post(static self => ((LoopTimer)self!).RunOnLoop(), this);
            }
        }

        private void RunOnLoop()
        {
            if (_disposed)
            {
                return;
            }
            long due = Volatile.Read(ref _dueTimestamp);
            long earlyTicks = due == long.MaxValue ? 0 : due - Stopwatch.GetTimestamp();
            if (earlyTicks > 0)
            {
                // Re-arm for the rest, rounded up to the timer's millisecond resolution; the due time stays put.
                double earlyMs = earlyTicks * 1000.0 / Stopwatch.Frequency;
                _inner.Change(TimeSpan.FromMilliseconds(Math.Max(1, Math.Ceiling(earlyMs))), Timeout.InfiniteTimeSpan);
                return;
            }
            _callback(_state);
        }
    }
}
