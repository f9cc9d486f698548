using System;

namespace Kernel.Runtime;

/// <summary>
/// xoshiro256** seeded through SplitMix64. Not for secrets: for reproducible choices only.
/// </summary>
/// <remarks>Owned by one node loop; not thread-safe.</remarks>
public sealed class SeededRandom : IRandom
{
    private readonly ulong _seed;
    private ulong _s0, _s1, _s2, _s3;

    public SeededRandom(ulong seed)
    {
        _seed = seed;
        ulong x = seed;
        _s0 = StableHash.Mix(x++);
        _s1 = StableHash.Mix(x++);
        _s2 = StableHash.Mix(x++);
        _s3 = StableHash.Mix(x);
        if ((_s0 | _s1 | _s2 | _s3) == 0)
        {
            _s0 = 1; // the all-zero state is the one state xoshiro never leaves
        }
    }

    /// <summary>The seed this stream was created from (logged so a production run can be re-seeded).</summary>
    public ulong Seed => _seed;

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        }
        return (int)NextBelow((ulong)maxExclusive);
    }

    public long NextInt64(long minInclusive, long maxExclusive)
    {
        if (maxExclusive <= minInclusive)
        {
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must exceed the minimum");
        }
        return minInclusive + (long)NextBelow((ulong)(maxExclusive - minInclusive));
    }

    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool Chance(double probability) => probability > 0 && (probability >= 1 || NextDouble() < probability);

    public void NextBytes(Span<byte> destination)
    {
        while (destination.Length >= 8)
        {
            BitConverterLittleEndian(destination, NextUInt64());
            destination = destination[8..];
        }
        if (destination.Length > 0)
        {
            ulong last = NextUInt64();
            for (int i = 0; i < destination.Length; i++)
            {
                destination[i] = (byte)(last >> (i * 8));
            }
        }
    }

    public IRandom Fork(string name) => new SeededRandom(StableHash.Mix(StableHash.Add(StableHash.Add(StableHash.Offset, _seed), name)));

    // Lemire's nearly-divisionless bounded draw: unbiased, one multiply in the common case.
    private ulong NextBelow(ulong bound)
    {
        UInt128 product = (UInt128)NextUInt64() * bound;
        ulong low = (ulong)product;
        if (low < bound)
        {
            ulong threshold = (0 - bound) % bound;
            while (low < threshold)
            {
                product = (UInt128)NextUInt64() * bound;
                low = (ulong)product;
            }
        }
        return (ulong)(product >> 64);
    }

    private static void BitConverterLittleEndian(Span<byte> destination, ulong value) =>
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(destination, value);
}
