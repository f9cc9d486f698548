using System;
using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Runtime.InteropServices;
using Kernel.Persist.Data;
using Kernel.Persist.Native;

namespace Kernel.Persist.Encoding;

/// <summary>
/// The durable form of a batch part: updates stored column by column (row lengths, times, diffs, then each
/// row column as a kind stream and a value stream), compressed with zstd and checksummed with xxHash64.
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <code>
/// u32 magic "KPP1" | u8 format (1) | u8 compression (1 = zstd) | u16 reserved (0)
/// u32 update count | u32 raw payload bytes | u32 compressed payload bytes
/// compressed payload
/// u64 xxHash64 of everything before it
/// </code>
/// Raw payload: varint column count C; per update a varint row length; per update a varint time; per update a
/// zigzag varint diff; then for each column j &lt; C, over the updates whose row has column j: one kind byte each,
/// then the values (zigzag varint for bool/int64/date/timestamp, 8 raw bytes for float64, 16 for decimal,
/// varint length and bytes for string and bytes).
/// <para>Decoding checks the length, magic, checksum, decompressed size and that the payload is consumed
/// exactly. Any failure is an error message naming the blob key: a corrupt part is never data.</para>
/// </remarks>
public sealed class PartCodec
{
    private const uint Magic = 0x3150504B; // "KPP1" little-endian
    private const byte FormatVersion = 1;
    private const byte CompressionZstd = 1;
    private const int HeaderBytes = 4 + 1 + 1 + 2 + 4 + 4 + 4;
    private const int TrailerBytes = 8;
    private const int ColumnsMax = 4096;

    // Strict UTF-8: a string with a lone surrogate cannot round-trip, so encoding it is a caller bug (throws).
    private static readonly System.Text.UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly ICompressor _compressor;
    private readonly IChecksum _checksum;

    public PartCodec(ICompressor compressor, IChecksum checksum)
    {
        _compressor = compressor;
        _checksum = checksum;
    }

    public static PartCodec Default { get; } = new(ZstdCompressor.Shared, XxHash64Checksum.Shared);

    /// <summary>The encoded part as an array of exactly its size.</summary>
    public byte[] Encode(IReadOnlyList<Update> updates)
    {
        using EncodedPart part = EncodeRented(updates);
        return part.ToArray();
    }

    /// <summary>
    /// The encoded part in a buffer rented from the shared array pool, for a caller that only writes it out: it
    /// disposes the result once the write has completed. Column bytes go through pooled scratch too, so a large
    /// part costs no fresh large arrays, whose zeroing and first-touch page faults cost several times the encoding.
    /// </summary>
    public EncodedPart EncodeRented(IReadOnlyList<Update> updates) => updates switch
    {
        List<Update> list => EncodeRented(CollectionsMarshal.AsSpan(list)),
        Update[] array => EncodeRented(array.AsSpan()),
        _ => EncodeRented([.. updates]),
    };

    /// <inheritdoc cref="EncodeRented(IReadOnlyList{Update})"/>
    public EncodedPart EncodeRented(ReadOnlySpan<Update> updates)
    {
        using ByteWriter columns = EncodeColumns(updates);
        ReadOnlySpan<byte> raw = columns.WrittenSpan;
        byte[] part = ArrayPool<byte>.Shared.Rent(HeaderBytes + _compressor.CompressBound(raw.Length) + TrailerBytes);
        int compressed = _compressor.Compress(raw, part.AsSpan(HeaderBytes, part.Length - HeaderBytes - TrailerBytes));
        Span<byte> header = part.AsSpan(0, HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        header[4] = FormatVersion;
        header[5] = CompressionZstd;
        header[6] = 0;
        header[7] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)updates.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)raw.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)compressed);
        int bodyBytes = HeaderBytes + compressed;
        BinaryPrimitives.WriteUInt64LittleEndian(part.AsSpan(bodyBytes), _checksum.Hash(part.AsSpan(0, bodyBytes)));
        return new EncodedPart(part, bodyBytes + TrailerBytes);
    }

    /// <summary>The updates, or null and a reason naming <paramref name="key"/>.</summary>
    public List<Update>? Decode(string key, ReadOnlySpan<byte> encoded, out string error)
    {
        string Fail(string why) => $"blob part '{key}' is corrupt: {why}";
        if (encoded.Length < HeaderBytes + TrailerBytes)
        {
            error = Fail($"{encoded.Length} bytes is shorter than a part header");
            return null;
        }
        var header = new ByteReader(encoded[..HeaderBytes]);
        uint magic = header.ReadUInt32();
        byte format = header.ReadByte();
        byte compression = header.ReadByte();
        header.ReadBytes(2);
        uint count = header.ReadUInt32();
        uint rawBytes = header.ReadUInt32();
        uint compressedBytes = header.ReadUInt32();
        if (magic != Magic)
        {
            error = Fail("bad magic number");
            return null;
        }
        if ((ulong)encoded.Length != HeaderBytes + (ulong)compressedBytes + TrailerBytes)
        {
            error = Fail($"the header promises {compressedBytes} compressed bytes but the part is {encoded.Length} bytes (truncated?)");
            return null;
        }
        int bodyBytes = encoded.Length - TrailerBytes;
        ulong expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(encoded[bodyBytes..]);
        if (_checksum.Hash(encoded[..bodyBytes]) != expected)
        {
            error = Fail("checksum mismatch");
            return null;
        }
        if (format != FormatVersion || compression != CompressionZstd)
        {
            error = Fail($"unknown format {format} or compression {compression}");
            return null;
        }
        if (rawBytes > int.MaxValue || count > rawBytes)
        {
            error = Fail($"implausible sizes: {count} updates in {rawBytes} bytes");
            return null;
        }
        if (!_compressor.TryDecompress(encoded[HeaderBytes..bodyBytes], (int)rawBytes, out byte[] raw, out string decompressError))
        {
            error = Fail(decompressError);
            return null;
        }
        List<Update>? updates = DecodeColumns(raw, (int)count, out string columnsError);
        error = updates is null ? Fail(columnsError) : "";
        return updates;
    }

    // Over a span: each column is a pass over the updates, and a list's enumerator through the interface cost
    // two interface calls per update and pass (most of a compaction's encoding time in a profile).
    private static ByteWriter EncodeColumns(ReadOnlySpan<Update> updates)
    {
        int columns = 0;
        foreach (ref readonly Update update in updates)
        {
            columns = Math.Max(columns, update.Row.Count);
        }
        if (columns > ColumnsMax)
        {
            throw new ArgumentException($"rows of {columns} columns exceed the part format's {ColumnsMax}", nameof(updates));
        }
        ByteWriter writer = ByteWriter.Pooled(EstimateColumnBytes(updates));
        writer.WriteVarUInt64((ulong)columns);
        foreach (ref readonly Update update in updates)
        {
            writer.WriteVarUInt64((ulong)update.Row.Count);
        }
        foreach (ref readonly Update update in updates)
        {
            writer.WriteVarUInt64(update.Time);
        }
        foreach (ref readonly Update update in updates)
        {
            writer.WriteVarInt64(update.Diff);
        }
        for (int column = 0; column < columns; column++)
        {
            foreach (ref readonly Update update in updates)
            {
                if (column < update.Row.Count)
                {
                    writer.WriteByte((byte)update.Row[column].Kind);
                }
            }
            foreach (ref readonly Update update in updates)
            {
                if (column < update.Row.Count)
                {
                    WriteValue(writer, update.Row[column]);
                }
            }
        }
        return writer;
    }

    /// <summary>
    /// The raw payload's size, so that the buffer is allocated once: an upper bound except for strings, which are
    /// counted one byte per UTF-16 unit (exact for ASCII); the writer grows in the rare case it is short.
    /// </summary>
    private static int EstimateColumnBytes(ReadOnlySpan<Update> updates)
    {
        const int VarintBytesMax = 10;
        long bytes = VarintBytesMax;
        foreach (ref readonly Update update in updates)
        {
            bytes += 3 * VarintBytesMax; // row length, time, diff
            foreach (Datum datum in update.Row.Datums)
            {
                bytes += 1 + datum.Kind switch
                {
                    DatumKind.Null => 0,
                    DatumKind.Float64 => 8,
                    DatumKind.Decimal => 16,
                    DatumKind.String => VarintBytesMax + datum.AsString.Length,
                    DatumKind.Bytes => VarintBytesMax + datum.BytesUnsafe.Length,
                    _ => VarintBytesMax,
                };
            }
        }
        return (int)Math.Min(bytes, Array.MaxLength);
    }

    private static void WriteValue(ByteWriter writer, Datum datum)
    {
        switch (datum.Kind)
        {
            case DatumKind.Null:
                break;
            case DatumKind.Bool:
            case DatumKind.Int64:
            case DatumKind.Date:
            case DatumKind.Timestamp:
                writer.WriteVarInt64(datum.RawBits);
                break;
            case DatumKind.Float64:
                writer.WriteUInt64((ulong)datum.RawBits);
                break;
            case DatumKind.Decimal:
                Span<int> parts = stackalloc int[4];
                decimal.GetBits(datum.AsDecimal, parts);
                foreach (int part in parts)
                {
                    writer.WriteUInt32((uint)part);
                }
                break;
            case DatumKind.String:
                writer.WriteString(datum.AsString, s_utf8);
                break;
            case DatumKind.Bytes:
                writer.WriteVarUInt64((ulong)datum.BytesUnsafe.Length);
                writer.WriteBytes(datum.BytesUnsafe);
                break;
            default:
                throw new InvalidOperationException($"unknown datum kind {datum.Kind}");
        }
    }

    private static List<Update>? DecodeColumns(byte[] raw, int count, out string error)
    {
        var reader = new ByteReader(raw);
        int columns = reader.ReadCount(ColumnsMax);
        var lengths = new int[count];
        for (int i = 0; i < count; i++)
        {
            lengths[i] = reader.ReadCount(columns);
        }
        var times = new ulong[count];
        for (int i = 0; i < count; i++)
        {
            times[i] = reader.ReadVarUInt64();
        }
        var diffs = new long[count];
        for (int i = 0; i < count; i++)
        {
            diffs[i] = reader.ReadVarInt64();
        }
        if (reader.Failed)
        {
            error = "the row lengths, times or diffs are cut short";
            return null;
        }
        var rows = new Datum[count][];
        for (int i = 0; i < count; i++)
        {
            rows[i] = lengths[i] == 0 ? [] : new Datum[lengths[i]];
        }
        var kinds = new DatumKind[count];
        for (int column = 0; column < columns; column++)
        {
            for (int i = 0; i < count; i++)
            {
                if (column < lengths[i])
                {
                    byte kind = reader.ReadByte();
                    if (kind > (byte)DatumKind.Timestamp)
                    {
                        error = $"unknown datum kind {kind} in column {column}";
                        return null;
                    }
                    kinds[i] = (DatumKind)kind;
                }
            }
            for (int i = 0; i < count; i++)
            {
                if (column < lengths[i])
                {
                    rows[i][column] = ReadValue(ref reader, kinds[i]);
                }
            }
            if (reader.Failed)
            {
                error = $"column {column} is cut short or malformed";
                return null;
            }
        }
        if (!reader.AtEnd)
        {
            error = $"{reader.Remaining} bytes left over after the last column";
            return null;
        }
        var updates = new List<Update>(count);
        for (int i = 0; i < count; i++)
        {
            updates.Add(new Update(Row.Own(rows[i]), times[i], diffs[i]));
        }
        error = "";
        return updates;
    }

    private static Datum ReadValue(ref ByteReader reader, DatumKind kind)
    {
        switch (kind)
        {
            case DatumKind.Null:
                return Datum.Null;
            case DatumKind.Bool:
            case DatumKind.Int64:
            case DatumKind.Date:
            case DatumKind.Timestamp:
                return Datum.FromRaw(kind, reader.ReadVarInt64());
            case DatumKind.Float64:
                return Datum.FromRaw(kind, (long)reader.ReadUInt64());
            case DatumKind.Decimal:
            {
                Span<int> parts = stackalloc int[4];
                for (int i = 0; i < 4; i++)
                {
                    parts[i] = (int)reader.ReadUInt32();
                }
                if (reader.Failed)
                {
                    return Datum.Null;
                }
                // The scale byte and sign bit are validated by the decimal constructor; bad bits are corruption.
                int flags = parts[3];
                int scale = (flags >> 16) & 0xFF;
                if ((flags & 0x7F00FFFF) != 0 || scale > 28)
                {
                    reader.ReadBytes(int.MaxValue); // marks the reader failed
                    return Datum.Null;
                }
                return Datum.FromDecimal(new decimal(parts));
            }
            case DatumKind.String:
            {
                int length = reader.ReadCount(reader.Remaining);
                ReadOnlySpan<byte> bytes = reader.ReadBytes(length);
                if (reader.Failed || !TryDecodeUtf8(bytes, out string text))
                {
                    reader.ReadBytes(int.MaxValue);
                    return Datum.Null;
                }
                return Datum.FromString(text);
            }
            case DatumKind.Bytes:
            {
                int length = reader.ReadCount(reader.Remaining);
                ReadOnlySpan<byte> bytes = reader.ReadBytes(length);
                return reader.Failed ? Datum.Null : Datum.FromBytes(bytes);
            }
            default:
                reader.ReadBytes(int.MaxValue);
                return Datum.Null;
        }
    }

    private static bool TryDecodeUtf8(ReadOnlySpan<byte> bytes, out string text)
    {
        try
        {
            text = s_utf8.GetString(bytes);
            return true;
        }
        catch (System.Text.DecoderFallbackException)
        {
            text = "";
            return false;
        }
    }
}

/// <summary>An encoded part in a pooled buffer (<see cref="PartCodec.EncodeRented(ReadOnlySpan{Update})"/>); dispose it once written.</summary>
public sealed class EncodedPart : IDisposable
{
    private byte[]? _buffer;

    internal EncodedPart(byte[] buffer, int length)
    {
        _buffer = buffer;
        Length = length;
    }

    public int Length { get; }

    /// <summary>The part's bytes; valid until <see cref="Dispose"/>.</summary>
    public ReadOnlyMemory<byte> Memory => Buffer.AsMemory(0, Length);

    public byte[] ToArray() => Buffer.AsSpan(0, Length).ToArray();

    public void Dispose()
    {
        if (_buffer is { } buffer)
        {
            _buffer = null;
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(EncodedPart));
}
