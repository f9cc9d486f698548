using System;

namespace Kernel.PgWire;

/// <summary>
/// Cuts a raw byte stream from a client into frontend messages, whatever the chunking: a message may arrive over
/// many chunks, and one chunk may hold many messages.
/// </summary>
/// <remarks>
/// Two framings: before the session starts, packets are <c>int32 length, body</c> (startup, SSLRequest,
/// GSSENCRequest, CancelRequest); after it, <c>byte type, int32 length, body</c>. The length counts itself but not the
/// type byte. A length outside the limits is a protocol violation: the stream cannot be resynchronized, so the
/// reader stays failed. The buffer grows only as bytes arrive, never to a declared length, so a lying length
/// costs nothing until the bytes exist.
/// </remarks>
public sealed class PgFrontendReader(int messageBytesMax, int startupPacketBytesMax)
{
    private byte[] _buffer = new byte[4096];
    private int _start; // first unread byte
    private int _end; // one past the last buffered byte
    private string? _violation;

    /// <summary>True while packets have no type byte (until the startup message has been read).</summary>
    public bool ExpectStartup { get; set; } = true;

    /// <summary>Bytes received and not yet returned as messages.</summary>
    public int BufferedBytes => _end - _start;

    /// <summary>Adds received bytes.</summary>
    public void Append(ReadOnlySpan<byte> chunk)
    {
        if (chunk.Length > _buffer.Length - _end)
        {
            int live = _end - _start;
            if (live + chunk.Length <= _buffer.Length / 2 || live + chunk.Length <= _buffer.Length && _start > 0)
            {
                _buffer.AsSpan(_start, live).CopyTo(_buffer);
            }
            else
            {
                long wanted = Math.Max((long)_buffer.Length * 2, (long)live + chunk.Length);
                var grown = new byte[(int)Math.Min(wanted, Array.MaxLength)];
                _buffer.AsSpan(_start, live).CopyTo(grown);
                _buffer = grown;
            }
            _start = 0;
            _end = live;
        }
        chunk.CopyTo(_buffer.AsSpan(_end));
        _end += chunk.Length;
    }

    /// <summary>
    /// The next whole message, if buffered. <see cref="PgReadStatus.Violation"/> carries the reason; after it the
    /// reader returns the same violation forever.
    /// </summary>
    public PgReadStatus TryRead(out PgFrontendMessage message, out string violation)
    {
        message = default;
        violation = _violation ?? "";
        if (_violation is not null)
        {
            return PgReadStatus.Violation;
        }
        int headerBytes = ExpectStartup ? 4 : 5;
        int available = _end - _start;
        if (available < headerBytes)
        {
            return PgReadStatus.NeedMore;
        }
        ReadOnlySpan<byte> header = _buffer.AsSpan(_start, headerBytes);
        byte type = ExpectStartup ? (byte)0 : header[0];
        int length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header[(headerBytes - 4)..]);
        int minimum = ExpectStartup ? 8 : 4;
        int maximum = ExpectStartup ? startupPacketBytesMax : messageBytesMax;
        if (length < minimum || length > maximum)
        {
            _violation = ExpectStartup
                ? $"invalid length of startup packet: {length}"
                : $"invalid message length {length} for message type '{Printable(type)}' (limit {maximum})";
            violation = _violation;
            return PgReadStatus.Violation;
        }
        int total = length + (ExpectStartup ? 0 : 1);
        if (available < total)
        {
            return PgReadStatus.NeedMore;
        }
        byte[] body = _buffer.AsSpan(_start + headerBytes, total - headerBytes).ToArray();
        _start += total;
        if (_start == _end)
        {
            _start = 0;
            _end = 0;
        }
        message = new PgFrontendMessage(type, body);
        return PgReadStatus.Message;
    }

    /// <summary>The type byte as a character for messages, or its code when it is not printable.</summary>
    public static string Printable(byte type) => type is >= 0x20 and < 0x7F ? ((char)type).ToString() : "\\x" + type.ToString("x2", System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>What <see cref="PgFrontendReader.TryRead"/> found.</summary>
public enum PgReadStatus
{
    NeedMore,
    Message,
    Violation,
}

/// <summary>One frontend message: its type byte (0 for a startup-phase packet) and its body after the length.</summary>
public readonly record struct PgFrontendMessage(byte Type, byte[] Body);
