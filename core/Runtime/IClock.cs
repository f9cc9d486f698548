using System;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// A node's view of time. Simulated nodes get virtual time that jumps to the next timer; production
/// nodes get the system clock. Timer callbacks and delay continuations always run on the node's loop.
/// </summary>
/// <remarks>
/// Monotonic time never goes back within one incarnation of a node. Wall time is for humans and for
/// timestamps that leave the node; it may jump either way (the simulator skews and drifts it), so
/// nothing that must be ordered may be ordered by it.
/// </remarks>
public interface IClock
{
    /// <summary>Nanoseconds since an arbitrary origin fixed for the node's incarnation.</summary>
    long MonotonicNanos { get; }

    /// <summary>The node's idea of the current UTC time.</summary>
    DateTimeOffset WallNow { get; }

    /// <summary>The same clock for BCL APIs: <c>Task.Delay(ts, tp)</c>, <c>new CancellationTokenSource(ts, tp)</c>, <c>WaitAsync(ts, tp)</c>.</summary>
    TimeProvider TimeProvider { get; }

    /// <summary>Completes after <paramref name="delay"/>, on the node's loop.</summary>
    Task Delay(TimeSpan delay, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="callback"/> once on the node's loop after <paramref name="due"/>, unless disposed first.</summary>
    IDisposable Schedule(TimeSpan due, Action callback);
}
