using System;
using System.Buffers.Binary;
using System.Text;

namespace Kernel.PgWire;

/// <summary>
/// Reads the fields of one message body. A read past the end or a string without its terminator marks the reader
/// failed (and returns a default value) instead of throwing: the caller checks <see cref="Failed"/> once after
/// reading all fields and answers with a protocol violation.
/// </summary>
internal struct PgBodyReader(byte[] body)
{
    private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private int _position;

    public string? Failure { get; private set; }

    public readonly bool Failed => Failure is not null;

    public readonly int Remaining => body.Length - _position;

    public short ReadInt16()
    {
        if (!Has(2))
        {
            return 0;
        }
        short value = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(_position));
        _position += 2;
        return value;
    }

    public int ReadInt32()
    {
        if (!Has(4))
        {
            return 0;
        }
        int value = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(_position));
        _position += 4;
        return value;
    }

    public byte ReadByte()
    {
        if (!Has(1))
        {
            return 0;
        }
        return body[_position++];
    }

    public ReadOnlySpan<byte> ReadBytes(int count)
    {
        if (count < 0)
        {
            Fail($"invalid field length {count}");
            return default;
        }
        if (!Has(count))
        {
            return default;
        }
        ReadOnlySpan<byte> bytes = body.AsSpan(_position, count);
        _position += count;
        return bytes;
    }

    /// <summary>A NUL-terminated UTF-8 string.</summary>
    public string ReadCString()
    {
        if (Failed)
        {
            return "";
        }
        int terminator = body.AsSpan(_position).IndexOf((byte)0);
        if (terminator < 0)
        {
            Fail("invalid string in message");
            return "";
        }
        ReadOnlySpan<byte> bytes = body.AsSpan(_position, terminator);
        _position += terminator + 1;
        try
        {
            return s_strictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            Fail("invalid byte sequence for encoding \"UTF8\" in message");
            return "";
        }
    }

    /// <summary>Fails unless the whole body was read.</summary>
    public void ExpectEnd()
    {
        if (!Failed && _position != body.Length)
        {
            Fail("invalid message format");
        }
    }

    public void Fail(string reason) => Failure ??= reason;

    private bool Has(int count)
    {
        if (Failed)
        {
            return false;
        }
        if (body.Length - _position < count)
        {
            Fail("insufficient data left in message");
            return false;
        }
        return true;
    }
}
