using System;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

public sealed class IdleSpinWindowTests
{
    private static readonly long s_min = IdleSpinWindow.ToTicks(IdleSpinWindow.Min);
    private static readonly long s_max = IdleSpinWindow.ToTicks(IdleSpinWindow.Max);

    private static long Micros(int micros) => IdleSpinWindow.ToTicks(TimeSpan.FromMicroseconds(micros));

    /// <summary>Gaps of 300 µs (a request and its completion) grow the window until it covers them, then it stays.</summary>
    [Fact]
    public void GapsJustPastTheWindow_GrowItUntilItCoversThem_ThenItStays()
    {
        long window = IdleSpinWindow.InitialTicks;
        Assert.Equal(s_min, window);
        for (int i = 0; i < 10; i++)
        {
            window = IdleSpinWindow.Next(window, Micros(300));
        }
        Assert.True(window >= Micros(300), $"window {window} ticks does not cover a 300 µs gap");
        Assert.True(window <= s_max);
        Assert.Equal(window, IdleSpinWindow.Next(window, Micros(10)));
    }

    /// <summary>The window never passes Max, and gaps longer than Max (idleness) shrink it back to Min, never below.</summary>
    [Fact]
    public void LongGaps_ShrinkTheWindowToMin_AndNothingPassesMax()
    {
        long window = IdleSpinWindow.InitialTicks;
        for (int i = 0; i < 20; i++)
        {
            window = IdleSpinWindow.Next(window, s_max);
        }
        Assert.Equal(s_max, window);
        for (int i = 0; i < 20; i++)
        {
            window = IdleSpinWindow.Next(window, Micros(1_000_000));
        }
        Assert.Equal(s_min, window);
    }
}
