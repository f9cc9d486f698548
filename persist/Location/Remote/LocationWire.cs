using System;

using Kernel.Persist.Encoding;

namespace Kernel.Persist.Location.Remote;

/// <summary>
/// The frames of the location protocol: Blob and Consensus calls carried over one <see cref="Kernel.Runtime.IConnection"/>.
/// </summary>
/// <remarks>
/// Request: <c>[u64 request id][u8 op][arguments]</c>. Reply: <c>[u64 request id][u8 status][value or error message]</c>.
/// Strings and byte strings are a varint length and the bytes (UTF-8 for strings); optional values are a
/// presence byte then the value. Requests on one connection may be answered in any order; the id pairs them.
/// A frame that does not decode is answered with a determinate error when its id can be read, and closes the
/// connection otherwise.
/// </remarks>
internal static class LocationWire
{
    /// <summary>Values above this are refused by both sides; persist parts are far smaller.</summary>
    public const int ValueBytesMax = 48 * 1024 * 1024;

    public const int ListCountMax = 10_000_000;

    public enum Op : byte
    {
        BlobGet = 1,
        BlobSet = 2,
        BlobDelete = 3,
        BlobList = 4,
        ConsensusHead = 10,
        ConsensusCompareAndSet = 11,
        ConsensusScan = 12,
        ConsensusTruncate = 13,
        ConsensusList = 14,
    }

    public enum Status : byte
    {
        Ok = 0,
        Determinate = 1,
        Indeterminate = 2,
    }

    /// <summary>Whether an operation can change state: a write whose outcome is unknown is indeterminate, a read never is.</summary>
    public static bool IsWrite(Op op) => op is Op.BlobSet or Op.BlobDelete or Op.ConsensusCompareAndSet or Op.ConsensusTruncate;

    public static ByteWriter Request(ulong id, Op op)
    {
        var writer = new ByteWriter();
        writer.WriteUInt64(id);
        writer.WriteByte((byte)op);
        return writer;
    }

    public static ByteWriter Reply(ulong id, Status status)
    {
        var writer = new ByteWriter();
        writer.WriteUInt64(id);
        writer.WriteByte((byte)status);
        return writer;
    }

    public static void WriteString(ByteWriter writer, string value)
    {
        int count = System.Text.Encoding.UTF8.GetByteCount(value);
        writer.WriteVarUInt64((ulong)count);
        Span<byte> bytes = count <= 512 ? stackalloc byte[count] : new byte[count];
        System.Text.Encoding.UTF8.GetBytes(value, bytes);
        writer.WriteBytes(bytes);
    }

    public static void WriteBytes(ByteWriter writer, ReadOnlySpan<byte> value)
    {
        writer.WriteVarUInt64((ulong)value.Length);
        writer.WriteBytes(value);
    }

    public static void WriteOptionalUInt64(ByteWriter writer, ulong? value)
    {
        writer.WriteByte(value.HasValue ? (byte)1 : (byte)0);
        if (value is ulong present)
        {
            writer.WriteVarUInt64(present);
        }
    }

    public static string ReadString(ref ByteReader reader) => System.Text.Encoding.UTF8.GetString(reader.ReadBytes(reader.ReadCount(BlobKeys.LengthMax * 4 + 1024)));

    public static byte[] ReadBytes(ref ByteReader reader) => reader.ReadBytes(reader.ReadCount(ValueBytesMax)).ToArray();

    public static ulong? ReadOptionalUInt64(ref ByteReader reader)
    {
        byte present = reader.ReadByte();
        if (present > 1)
        {
            reader.ReadBytes(-1); // marks the reader failed
            return null;
        }
        return present == 1 ? reader.ReadVarUInt64() : null;
    }
}
