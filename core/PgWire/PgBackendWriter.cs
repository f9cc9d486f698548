using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Kernel.Expr;
using Kernel.Runtime;

namespace Kernel.PgWire;

/// <summary>
/// Builds backend messages into one buffer; <see cref="Flush"/> hands everything buffered to the connection in a
/// single send.
/// </summary>
/// <remarks>
/// A message is written as <see cref="Begin"/>, fields, <see cref="End"/>; <see cref="End"/> patches the length.
/// Messages never nest (checked). Strings are UTF-8 and NUL-terminated; a NUL inside one would cut the message, so
/// it is dropped.
/// </remarks>
public sealed class PgBackendWriter
{
    private byte[] _buffer = new byte[8192];
    private int _length;
    private int _messageStart = -1; // where the open message's type byte is, or -1

    /// <summary>Bytes buffered and not yet flushed.</summary>
    public int BufferedBytes => _length;

    /// <summary>The buffered bytes (for tests and for callers that send them themselves).</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(0, _length);

    public void Begin(byte type)
    {
        if (_messageStart >= 0)
        {
            throw new InvalidOperationException($"backend message '{(char)type}' begun inside '{(char)_buffer[_messageStart]}'");
        }
        _messageStart = _length;
        WriteByte(type);
        WriteInt32(0); // patched by End
    }

    public void End()
    {
        if (_messageStart < 0)
        {
            throw new InvalidOperationException("backend message ended without Begin");
        }
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_messageStart + 1), _length - _messageStart - 1);
        _messageStart = -1;
    }

    /// <summary>Drops a message begun but not ended (an encoding failure halfway through a row).</summary>
    public void Abandon()
    {
        if (_messageStart >= 0)
        {
            _length = _messageStart;
            _messageStart = -1;
        }
    }

    public void WriteByte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void WriteInt16(short value)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }

    public void WriteInt32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void WriteInt64(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    public void WriteBytes(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>UTF-8 without a terminator.</summary>
    public void WriteUtf8(string value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    /// <summary>UTF-8 with its NUL terminator; embedded NULs are dropped.</summary>
    public void WriteCString(string value)
    {
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            value = value.Replace("\0", "", StringComparison.Ordinal);
        }
        WriteUtf8(value);
        WriteByte(0);
    }

    /// <summary>Reserves a 4-byte length to fill in later with <see cref="PatchInt32"/>; returns its offset.</summary>
    public int ReserveInt32()
    {
        int at = _length;
        WriteInt32(0);
        return at;
    }

    public void PatchInt32(int offset, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(offset), value);

    public int Position => _length;

    /// <summary>Sends everything buffered as one send; false when the connection is closed.</summary>
    public bool Flush(IConnection connection)
    {
        if (_messageStart >= 0)
        {
            throw new InvalidOperationException("flush inside an unfinished backend message");
        }
        if (_length == 0)
        {
            return connection.IsOpen;
        }
        NetStatus status = connection.Send(_buffer.AsSpan(0, _length));
        Clear();
        return status == NetStatus.Ok;
    }

    public void Clear()
    {
        _length = 0;
        _messageStart = -1;
        if (_buffer.Length > 1 << 20)
        {
            _buffer = new byte[8192]; // do not keep a huge buffer after one large result
        }
    }

    // --- Messages ---

    public void AuthenticationOk()
    {
        Begin((byte)'R');
        WriteInt32(0);
        End();
    }

    public void ParameterStatus(string name, string value)
    {
        Begin((byte)'S');
        WriteCString(name);
        WriteCString(value);
        End();
    }

    public void BackendKeyData(int processId, int secretKey)
    {
        Begin((byte)'K');
        WriteInt32(processId);
        WriteInt32(secretKey);
        End();
    }

    public void ReadyForQuery(char status)
    {
        Begin((byte)'Z');
        WriteByte((byte)status);
        End();
    }

    /// <summary>NegotiateProtocolVersion: the newest minor version we speak and the protocol options we did not recognize.</summary>
    public void NegotiateProtocolVersion(int newestMinor, IReadOnlyList<string> unrecognizedOptions)
    {
        Begin((byte)'v');
        WriteInt32(newestMinor);
        WriteInt32(unrecognizedOptions.Count);
        foreach (string option in unrecognizedOptions)
        {
            WriteCString(option);
        }
        End();
    }

    /// <summary>ErrorResponse ('E') or NoticeResponse ('N') with fields S, V, C, M and, when present, D, H, P.</summary>
    public void ErrorOrNotice(PgError error, bool isNotice)
    {
        Begin(isNotice ? (byte)'N' : (byte)'E');
        WriteField('S', error.Severity);
        WriteField('V', error.Severity);
        WriteField('C', error.SqlState);
        WriteField('M', error.Message);
        if (error.Detail is not null)
        {
            WriteField('D', error.Detail);
        }
        if (error.Hint is not null)
        {
            WriteField('H', error.Hint);
        }
        if (error.Position is int position)
        {
            WriteField('P', position.ToString(CultureInfo.InvariantCulture));
        }
        WriteByte(0);
        End();
    }

    /// <summary>RowDescription with one format code per column (0 text, 1 binary); null formats means all text.</summary>
    public void RowDescription(IReadOnlyList<PgColumn> columns, IReadOnlyList<short>? formats)
    {
        Begin((byte)'T');
        WriteInt16(checked((short)columns.Count));
        for (int i = 0; i < columns.Count; i++)
        {
            SqlType type = columns[i].Type;
            WriteCString(columns[i].Name);
            WriteInt32(0); // table oid
            WriteInt16(0); // column attribute number
            WriteInt32(type.Oid);
            WriteInt16(type.PgSize);
            WriteInt32(type.PgModifier);
            WriteInt16(formats is null ? (short)0 : formats[i]);
        }
        End();
    }

    public void ParameterDescription(IReadOnlyList<SqlType> types)
    {
        Begin((byte)'t');
        WriteInt16(checked((short)types.Count));
        foreach (SqlType type in types)
        {
            WriteInt32(type.Oid);
        }
        End();
    }

    public void CommandComplete(string tag)
    {
        Begin((byte)'C');
        WriteCString(tag);
        End();
    }

    public void Empty(byte type)
    {
        Begin(type);
        End();
    }

    public void CopyOutResponse(int columnCount)
    {
        Begin((byte)'H');
        WriteByte(0); // text format
        WriteInt16(checked((short)columnCount));
        for (int i = 0; i < columnCount; i++)
        {
            WriteInt16(0);
        }
        End();
    }

    public void CopyData(ReadOnlySpan<byte> data)
    {
        Begin((byte)'d');
        WriteBytes(data);
        End();
    }

    private void WriteField(char code, string value)
    {
        WriteByte((byte)code);
        WriteCString(value);
    }

    private void Ensure(int more)
    {
        if (_buffer.Length - _length >= more)
        {
            return;
        }
        long wanted = Math.Max((long)_buffer.Length * 2, (long)_length + more);
        if (wanted > Array.MaxLength)
        {
            throw new InvalidOperationException($"backend buffer would exceed {Array.MaxLength} bytes");
        }
        Array.Resize(ref _buffer, (int)wanted);
    }
}
