using System;
using System.Diagnostics;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// How long an idle node loop spins for new work before it sleeps, adapted to the gaps the loop has seen: between
/// <see cref="Min"/> and <see cref="Max"/>.
/// </summary>
/// <remarks>
/// A node's work comes as requests and their completions: a client's next statement, a reply from another node of
/// this process, an fsync or a peek handed to another thread. Their gaps are often a few hundred microseconds, longer
/// than a short spin and shorter than the ~100 µs a sleeping loop takes to wake on a virtual machine; an idle node's
/// gaps are seconds. So the window follows the gaps: a gap the window covered leaves it as it is; a gap it missed
/// by a little (at most <see cref="Max"/>) doubles it, since a longer spin would have caught that work; a longer gap
/// halves it, since spinning there only burns a core. A busy loop therefore spins through its gaps and an idle one
/// spins <see cref="Min"/> after each wake-up, as before this adapted.
/// <para>Measured (e2e-latency, 1,000,000 rows, three alternating rounds, a fixed 50 µs spin against this window):
/// UPDATE acknowledged p50 0.41-0.48 ms against 0.32-0.37 ms, write-to-visible through a SELECT 0.57-0.71 ms against
/// 0.48-0.56 ms, <c>SELECT 1</c> 0.15-0.19 ms against 0.12-0.15 ms, for 1.0-1.1 against 1.3 cores busy during the
/// updates. An idle <c>kernel start</c> used 1.3% and 1.5% of a core over 10 s.</para>
/// </remarks>
public static class IdleSpinWindow
{
    /// <summary>The shortest window: what an idle loop spins after each wake-up.</summary>
    public static readonly TimeSpan Min = TimeSpan.FromMicroseconds(50);

    /// <summary>The longest window: a gap beyond it is idleness, not the wait for a completion.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromMicroseconds(500);

    /// <summary><see cref="Min"/> in <see cref="Stopwatch"/> ticks, the window a loop starts with.</summary>
    public static long InitialTicks { get; } = ToTicks(Min);

    private static readonly long s_maxTicks = ToTicks(Max);

    /// <summary>The window after an idle gap of <paramref name="gapTicks"/> that the window <paramref name="windowTicks"/> was spun for.</summary>
    public static long Next(long windowTicks, long gapTicks)
    {
        if (gapTicks <= windowTicks)
        {
            return windowTicks;
        }
        if (gapTicks <= s_maxTicks)
        {
            return Math.Min(s_maxTicks, windowTicks * 2);
        }
        return Math.Max(InitialTicks, windowTicks / 2);
    }

    /// <summary>A duration in <see cref="Stopwatch"/> ticks.</summary>
    public static long ToTicks(TimeSpan duration) => (long)(duration.TotalSeconds * Stopwatch.Frequency);
}
