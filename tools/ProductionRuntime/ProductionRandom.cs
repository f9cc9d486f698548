using System;
using System.Security.Cryptography;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>Seeds for production nodes: unpredictable, but logged so a run's random choices can be replayed.</summary>
public static class ProductionRandom
{
    public static ulong NewSeed()
    {
        Span<byte> bytes = stackalloc byte[sizeof(ulong)];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    /// <summary>A <see cref="SeededRandom"/> from a fresh seed; its <see cref="SeededRandom.Seed"/> is the value to log.</summary>
    public static SeededRandom Create() => new(NewSeed());
}
