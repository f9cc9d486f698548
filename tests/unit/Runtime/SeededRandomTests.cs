using System;
using System.Collections.Generic;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

public class SeededRandomTests
{
    [Fact]
    public void SameSeed_SameSequence()
    {
        var a = new SeededRandom(42);
        var b = new SeededRandom(42);
        for (int i = 0; i < 1000; i++)
        {
            Assert.Equal(a.NextUInt64(), b.NextUInt64());
        }
    }

    [Fact]
    public void Fork_DrawsInParent_DoNotShiftChild()
    {
        var quiet = new SeededRandom(7);
        var busy = new SeededRandom(7);
        for (int i = 0; i < 100; i++)
        {
            busy.NextUInt64(); // one subsystem draws more values...
        }

        IRandom fromQuiet = quiet.Fork("network");
        IRandom fromBusy = busy.Fork("network");

        for (int i = 0; i < 100; i++)
        {
            Assert.Equal(fromQuiet.NextUInt64(), fromBusy.NextUInt64()); // ...and another sees the same stream
        }
    }

    [Fact]
    public void Fork_DifferentNames_DifferentStreams()
    {
        var root = new SeededRandom(7);
        Assert.NotEqual(root.Fork("disk").NextUInt64(), root.Fork("network").NextUInt64());
        Assert.NotEqual(root.Fork("a").NextUInt64(), new SeededRandom(8).Fork("a").NextUInt64());
    }

    [Fact]
    public void Next_StaysInRange_AndCoversIt()
    {
        var random = new SeededRandom(1);
        var seen = new HashSet<int>();
        for (int i = 0; i < 10_000; i++)
        {
            int value = random.Next(10);
            Assert.InRange(value, 0, 9);
            seen.Add(value);
        }
        Assert.Equal(10, seen.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => random.Next(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => random.NextInt64(5, 5));
    }

    [Fact]
    public void NextDouble_IsInUnitInterval_WithPlausibleMean()
    {
        var random = new SeededRandom(3);
        double sum = 0;
        for (int i = 0; i < 100_000; i++)
        {
            double value = random.NextDouble();
            Assert.InRange(value, 0.0, 0.9999999999999999);
            sum += value;
        }
        Assert.InRange(sum / 100_000, 0.49, 0.51);
    }

    [Fact]
    public void Chance_Extremes_AreCertain()
    {
        var random = new SeededRandom(5);
        for (int i = 0; i < 100; i++)
        {
            Assert.False(random.Chance(0));
            Assert.True(random.Chance(1));
        }
    }
}

public class StableHashTests
{
    [Fact]
    public void Of_KnownInputs_MatchFnv1a64WithTerminator()
    {
        // FNV-1a 64 by hand from the published constants: the UTF-8 bytes of "a", then the terminator as a
        // little-endian 64-bit 0xFF (FF 00 00 00 00 00 00 00).
        const ulong Prime = 1099511628211UL;
        ulong expected = unchecked((StableHash.Offset ^ (ulong)'a') * Prime);
        foreach (byte b in new byte[] { 0xFF, 0, 0, 0, 0, 0, 0, 0 })
        {
            expected = unchecked((expected ^ b) * Prime);
        }
        Assert.Equal(expected, StableHash.Of("a"));
    }

    [Fact]
    public void Add_ChainedStrings_KeepBoundaries() =>
        Assert.NotEqual(StableHash.Add(StableHash.Of("ab"), "c"), StableHash.Add(StableHash.Of("a"), "bc"));
}

public class EndpointTests
{
    [Theory]
    [InlineData("localhost:6875", "localhost", 6875)]
    [InlineData("clusterd-1:2100", "clusterd-1", 2100)]
    [InlineData("::1:5432", "::1", 5432)]
    public void TryParse_Valid_Splits(string text, string host, int port)
    {
        Assert.True(Endpoint.TryParse(text, out Endpoint endpoint, out _));
        Assert.Equal(new Endpoint(host, port), endpoint);
        Assert.Equal(text, endpoint.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("host")]
    [InlineData(":80")]
    [InlineData("host:")]
    [InlineData("host:0")]
    [InlineData("host:65536")]
    [InlineData("host:-1")]
    [InlineData("host:8o")]
    public void TryParse_Invalid_ExplainsWhy(string text)
    {
        Assert.False(Endpoint.TryParse(text, out _, out string error));
        Assert.Contains(text.Length == 0 ? "''" : text, error, StringComparison.Ordinal);
    }
}
