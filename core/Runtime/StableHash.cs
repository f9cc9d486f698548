using System;
using System.Text;

namespace Kernel.Runtime;

/// <summary>
/// FNV-1a 64-bit hashing that gives the same value in every process (unlike <c>string.GetHashCode</c>).
/// Used for seeds, memo keys and trace hashes; data checksums use xxHash64 instead.
/// </summary>
public static class StableHash
{
    public const ulong Offset = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    public static ulong Add(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }
        return hash;
    }

    public static ulong Add(ulong hash, ulong value)
    {
        for (int i = 0; i < 8; i++)
        {
            hash = (hash ^ (byte)(value >> (i * 8))) * Prime;
        }
        return hash;
    }

    public static ulong Add(ulong hash, string text)
    {
        Span<byte> buffer = text.Length <= 256 ? stackalloc byte[Encoding.UTF8.GetMaxByteCount(text.Length)] : new byte[Encoding.UTF8.GetMaxByteCount(text.Length)];
        int written = Encoding.UTF8.GetBytes(text, buffer);
        // A terminator keeps ("ab","c") and ("a","bc") apart when strings are chained.
        return Add(Add(hash, buffer[..written]), 0xFFUL);
    }

    public static ulong Of(string text) => Add(Offset, text);

    /// <summary>SplitMix64 finaliser: spreads a value's bits; used to turn hashes into generator seeds.</summary>
    public static ulong Mix(ulong value)
    {
        value += 0x9E3779B97F4A7C15UL;
        value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9UL;
        value = (value ^ (value >> 27)) * 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }
}
