using System;

namespace Kernel.Persist.Native;

/// <summary>Block compression for batch parts and rollups. The production implementation is <see cref="ZstdCompressor"/>.</summary>
public interface ICompressor
{
    /// <summary>A short, stable name written into nothing durable; for diagnostics.</summary>
    string Name { get; }

    byte[] Compress(ReadOnlySpan<byte> source);

    /// <summary>
    /// Decompresses a frame that must expand to exactly <paramref name="expectedLength"/> bytes. Corrupt input, a
    /// different length or any library error is a false result with a reason, never an exception.
    /// </summary>
    bool TryDecompress(ReadOnlySpan<byte> source, int expectedLength, out byte[] result, out string error);
}

/// <summary>A 64-bit content checksum. The production implementation is <see cref="XxHash64Checksum"/>.</summary>
public interface IChecksum
{
    ulong Hash(ReadOnlySpan<byte> data);
}
