using System;
using System.Buffers;
using System.Buffers.Binary;

namespace Kernel.Persist.Encoding;

/// <summary>A growable little-endian byte buffer with LEB128 varints, for the columnar and state encoders.</summary>
/// <remarks>
/// A pooled writer (<see cref="Pooled"/>) is scratch space: its buffer comes from and returns to the shared array
/// pool on <see cref="Dispose"/>, so a large part's column bytes neither allocate nor first-touch fresh pages on
/// every encode. Nothing may keep a span of it past <see cref="Dispose"/>.
/// </remarks>
internal sealed class ByteWriter : IDisposable
{
    private readonly bool _pooled;
    private byte[] _buffer;
    private int _length;

    public ByteWriter(int capacity = 256)
    {
        _buffer = new byte[Math.Max(16, capacity)];
    }

    private ByteWriter(byte[] rented)
    {
        _pooled = true;
        _buffer = rented;
    }

    /// <summary>A scratch writer on a buffer rented from the shared pool; dispose it to return the buffer.</summary>
    public static ByteWriter Pooled(int capacity) => new(ArrayPool<byte>.Shared.Rent(Math.Max(16, capacity)));

    public int Length => _length;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.AsSpan(0, _length);

    public byte[] ToArray() => _buffer.AsSpan(0, _length).ToArray();

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>A varint byte count, then the string's bytes in <paramref name="encoding"/>, written in place.</summary>
    public void WriteString(string value, System.Text.Encoding encoding)
    {
        int count = encoding.GetByteCount(value);
        WriteVarUInt64((ulong)count);
        Ensure(count);
        _length += encoding.GetBytes(value, _buffer.AsSpan(_length, count));
    }

    public void WriteUInt32(uint value)
    {
        Ensure(4);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteUInt64(ulong value)
    {
        Ensure(8);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    public void WriteVarUInt64(ulong value)
    {
        Ensure(10);
        while (value >= 0x80)
        {
            _buffer[_length++] = (byte)(value | 0x80);
            value >>= 7;
        }
        _buffer[_length++] = (byte)value;
    }

    public void WriteVarInt64(long value) => WriteVarUInt64((ulong)((value << 1) ^ (value >> 63)));

    /// <summary>Overwrites 8 bytes at <paramref name="offset"/> (a checksum slot written last).</summary>
    public void PatchUInt64(int offset, ulong value) => BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(offset, 8), value);

    public void PatchUInt32(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(offset, 4), value);

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }
        int capacity = Math.Max(_buffer.Length * 2, _length + extra);
        if (!_pooled)
        {
            Array.Resize(ref _buffer, capacity);
            return;
        }
        byte[] larger = ArrayPool<byte>.Shared.Rent(capacity);
        _buffer.AsSpan(0, _length).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = larger;
    }

    public void Dispose()
    {
        if (_pooled && _buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _length = 0;
        }
    }
}

/// <summary>
/// Reads what <see cref="ByteWriter"/> wrote. Never throws on bad input: a read past the end or a malformed
/// varint sets <see cref="Failed"/> and returns zeros, and the caller checks once at the end.
/// </summary>
internal ref struct ByteReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;

    public ByteReader(ReadOnlySpan<byte> data)
    {
        _data = data;
        _position = 0;
        Failed = false;
    }

    public bool Failed { get; private set; }

    public readonly int Remaining => _data.Length - _position;

    public readonly bool AtEnd => _position == _data.Length;

    public byte ReadByte()
    {
        if (Remaining < 1)
        {
            Failed = true;
            return 0;
        }
        return _data[_position++];
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0 || Remaining < count)
        {
            Failed = true;
            _position = _data.Length;
            return [];
        }
        ReadOnlySpan<byte> slice = _data.Slice(_position, count);
        _position += count;
        return slice;
    }

    public uint ReadUInt32()
    {
        ReadOnlySpan<byte> bytes = ReadBytes(4);
        return Failed ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(bytes);
    }

    public ulong ReadUInt64()
    {
        ReadOnlySpan<byte> bytes = ReadBytes(8);
        return Failed ? 0 : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    public ulong ReadVarUInt64()
    {
        ulong result = 0;
        for (int shift = 0; shift < 70; shift += 7)
        {
            byte b = ReadByte();
            if (Failed)
            {
                return 0;
            }
            if (shift == 63 && b > 1)
            {
                break; // more than 64 bits
            }
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
        Failed = true;
        return 0;
    }

    public long ReadVarInt64()
    {
        ulong raw = ReadVarUInt64();
        return (long)(raw >> 1) ^ -(long)(raw & 1);
    }

    /// <summary>A varint that must be a count no larger than <paramref name="max"/>.</summary>
    public int ReadCount(int max)
    {
        ulong raw = ReadVarUInt64();
        if (raw > (ulong)max)
        {
            Failed = true;
            return 0;
        }
        return (int)raw;
    }
}
