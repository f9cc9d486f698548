using System;

namespace Kernel.Persist.Native;

/// <summary>Block compression for batch parts and rollups. The production implementation is <see cref="ZstdCompressor"/>.</summary>
public interface ICompressor
{
    /// <summary>A short, stable name written into nothing durable; for diagnostics.</summary>
    string Name { get; }

    byte[] Compress(ReadOnlySpan<byte> source);

    /// <summary>The most bytes compressing <paramref name="sourceLength"/> bytes can take.</summary>
    int CompressBound(int sourceLength);

    /// <summary>
    /// Compresses into <paramref name="destination"/>, which must hold at least <see cref="CompressBound"/> bytes;
    /// the value is the count written. The bytes are the same as <see cref="Compress(ReadOnlySpan{byte})"/> returns.
    /// </summary>
    int Compress(ReadOnlySpan<byte> source, Span<byte> destination);

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
