namespace Kernel.Runtime;

/// <summary>
/// Seeded randomness. Every draw in kernel code comes from one of these, so a simulated run is fully
/// determined by its seed.
/// </summary>
/// <remarks>
/// <see cref="Fork"/> derives a child stream from this stream's seed and the child's name only, never
/// from how many values were drawn so far: a subsystem that starts drawing more values does not shift
/// the values any other subsystem sees. Forking the same name twice yields the same stream.
/// </remarks>
public interface IRandom
{
    ulong NextUInt64();

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>); <paramref name="maxExclusive"/> must be positive.</summary>
    int Next(int maxExclusive);

    /// <summary>Uniform in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    long NextInt64(long minInclusive, long maxExclusive);

    /// <summary>Uniform in [0, 1).</summary>
    double NextDouble();

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    bool Chance(double probability);

    void NextBytes(System.Span<byte> destination);

    /// <summary>An independent named child stream; see remarks.</summary>
    IRandom Fork(string name);
}
