using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios.EndToEnd;

/// <summary>How a statement ended, as the client saw it.</summary>
public enum PgOutcome
{
    /// <summary>CommandComplete (and ReadyForQuery) arrived: the statement took effect.</summary>
    Ok,

    /// <summary>The server answered with an ErrorResponse and kept the session.</summary>
    Error,

    /// <summary>The connection broke or the answer did not come in time: the outcome is unknown.</summary>
    Lost,
}

/// <summary>The answer to one simple-protocol query: its rows in text format and its tag, or the error.</summary>
public sealed record PgReply(PgOutcome Outcome, List<string?[]> Rows, string Tag, string SqlState, string Message)
{
    public static PgReply Lost(string why) => new(PgOutcome.Lost, [], "", "", why);
}

/// <summary>
/// A deliberately small pgwire v3 client over a raw byte-stream connection: the startup handshake, simple Query,
/// and COPY TO STDOUT in text format. Any protocol surprise (a message it does not expect, a malformed length)
/// ends the connection and reports <see cref="PgOutcome.Lost"/>, so the workload treats it as an unknown outcome.
/// </summary>
/// <remarks>
/// One node loop owns a client. A receive that outlives a timeout is kept pending and reused by the next read,
/// so no bytes are lost when a COPY read times out.
/// </remarks>
public sealed class PgWireClient : IDisposable
{
    private const int MessageBytesMax = 16 * 1024 * 1024;

    private readonly INodeContext _context;
    private readonly IConnection _connection;
    private byte[] _buffer = new byte[4096];
    private int _start;
    private int _end;
    private Task<Received>? _pendingReceive;
    private bool _broken;

    private PgWireClient(INodeContext context, IConnection connection)
    {
        _context = context;
        _connection = connection;
    }

    /// <summary>False once the connection broke or a read failed; a broken client must be replaced.</summary>
    public bool IsUsable => !_broken && _connection.IsOpen;

    /// <summary>Connects and completes the startup handshake; null when either fails within <paramref name="timeout"/>.</summary>
    public static async Task<PgWireClient?> ConnectAsync(INodeContext context, Endpoint endpoint, TimeSpan timeout)
    {
        NetResult<IConnection> connected = await context.Network.ConnectAsync(endpoint, StreamMode.Raw);
        if (!connected.IsOk)
        {
            return null;
        }
        var client = new PgWireClient(context, connected.Unwrap());
        var startup = new List<byte>();
        AppendInt32(startup, 0); // length, patched below
        AppendInt32(startup, 3 << 16);
        foreach (string part in (string[])["user", "materialize", "database", "materialize", "application_name", context.NodeName])
        {
            startup.AddRange(Encoding.UTF8.GetBytes(part));
            startup.Add(0);
        }
        startup.Add(0);
        byte[] packet = [.. startup];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        if (client._connection.Send(packet) != NetStatus.Ok)
        {
            client.Dispose();
            return null;
        }
        long deadline = context.Clock.MonotonicNanos + (long)timeout.TotalNanoseconds;
        // Bounded: each pass consumes one message or ends the handshake.
        while (true)
        {
            (char type, byte[]? body) = await client.ReadMessageAsync(deadline);
            switch (type)
            {
                case 'Z':
                    return client;
                case 'R' when body!.Length >= 4 && BinaryPrimitives.ReadInt32BigEndian(body) == 0:
                case 'S' or 'K' or 'N':
                    continue;
                default:
                    client.Dispose();
                    return null;
            }
        }
    }

    /// <summary>Runs one simple query and collects its answer until ReadyForQuery.</summary>
    public async Task<PgReply> QueryAsync(string sql, TimeSpan timeout)
    {
        if (!SendQuery(sql))
        {
            return PgReply.Lost("send failed: connection closed");
        }
        long deadline = _context.Clock.MonotonicNanos + (long)timeout.TotalNanoseconds;
        var rows = new List<string?[]>();
        string tag = "";
        PgReply? error = null;
        while (true)
        {
            (char type, byte[]? body) = await ReadMessageAsync(deadline);
            switch (type)
            {
                case 'T' or 'S' or 'N' or 'I':
                    continue;
                case 'D':
                    string?[]? row = ParseDataRow(body!);
                    if (row is null)
                    {
                        return Break("malformed DataRow");
                    }
                    rows.Add(row);
                    continue;
                case 'C':
                    tag = CString(body!, 0, out _);
                    continue;
                case 'E':
                    Dictionary<char, string> fields = ParseFields(body!);
                    error = new PgReply(PgOutcome.Error, [], "", fields.GetValueOrDefault('C', ""), fields.GetValueOrDefault('M', ""));
                    continue;
                case 'Z':
                    return error ?? new PgReply(PgOutcome.Ok, rows, tag, "", "");
                case '\0':
                    return PgReply.Lost("connection lost or timed out");
                default:
                    return Break($"unexpected message '{type}' during a query");
            }
        }
    }

    /// <summary>Sends a query expected to start COPY TO STDOUT; read its lines with <see cref="NextCopyLineAsync"/>.</summary>
    public bool StartCopy(string sql) => SendQuery(sql);

    /// <summary>
    /// The next COPY data line (without its newline); null with TimedOut set when none arrived
    /// within <paramref name="timeout"/>; null with an ended reply when the COPY ended (an error, CopyDone, or a lost connection).
    /// </summary>
    public async Task<(string? Line, bool TimedOut, PgReply? Ended)> NextCopyLineAsync(TimeSpan timeout)
    {
        long deadline = _context.Clock.MonotonicNanos + (long)timeout.TotalNanoseconds;
        while (true)
        {
            (char type, byte[]? body) = await ReadMessageAsync(deadline, keepOnTimeout: true);
            switch (type)
            {
                case 'H' or 'S' or 'N' or 'T':
                    continue;
                case 'd':
                    string line = Encoding.UTF8.GetString(body!);
                    return (line.EndsWith('\n') ? line[..^1] : line, false, null);
                case 'c' or 'C':
                    continue;
                case 'E':
                    Dictionary<char, string> fields = ParseFields(body!);
                    return (null, false, new PgReply(PgOutcome.Error, [], "", fields.GetValueOrDefault('C', ""), fields.GetValueOrDefault('M', "")));
                case 'Z':
                    return (null, false, new PgReply(PgOutcome.Ok, [], "", "", ""));
                case '\u0001':
                    return (null, true, null);
                case '\0':
                    return (null, false, PgReply.Lost("connection lost"));
                default:
                    return (null, false, Break($"unexpected message '{type}' during COPY"));
            }
        }
    }

    public void Dispose()
    {
        _broken = true;
        _connection.Dispose();
    }

    private PgReply Break(string why)
    {
        Dispose();
        return PgReply.Lost(why);
    }

    private bool SendQuery(string sql)
    {
        if (!IsUsable)
        {
            return false;
        }
        byte[] text = Encoding.UTF8.GetBytes(sql);
        var message = new byte[1 + 4 + text.Length + 1];
        message[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + text.Length + 1);
        text.CopyTo(message, 5);
        if (_connection.Send(message) != NetStatus.Ok)
        {
            Dispose();
            return false;
        }
        return true;
    }

    /// <summary>
    /// The next whole backend message; type '\0' when the connection ended or the deadline passed (the client is then
    /// broken), or '\u0001' on a timeout when <paramref name="keepOnTimeout"/> asks to keep the connection.
    /// </summary>
    private async Task<(char Type, byte[]? Body)> ReadMessageAsync(long deadlineNanos, bool keepOnTimeout = false)
    {
        // Bounded: each pass either returns or appends at least one received byte.
        while (true)
        {
            if (_end - _start >= 5)
            {
                int length = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(_start + 1));
                if (length < 4 || length > MessageBytesMax)
                {
                    Dispose();
                    return ('\0', null);
                }
                if (_end - _start >= 1 + length)
                {
                    char type = (char)_buffer[_start];
                    byte[] body = _buffer.AsSpan(_start + 5, length - 4).ToArray();
                    _start += 1 + length;
                    return (type, body);
                }
            }
            if (_broken)
            {
                return ('\0', null);
            }
            long remaining = deadlineNanos - _context.Clock.MonotonicNanos;
            if (remaining <= 0)
            {
                return TimedOut(keepOnTimeout);
            }
            _pendingReceive ??= ReceiveOnLoopAsync();
            if (!_pendingReceive.IsCompleted)
            {
                using var cancel = new CancellationTokenSource();
                Task delay = _context.Clock.Delay(TimeSpan.FromTicks(Math.Max(1, remaining / 100)), cancel.Token);
                Task first = await Task.WhenAny(_pendingReceive, delay);
                cancel.Cancel(); // not CancelAsync: it runs the callbacks on the thread pool, outside the node loop
                if (first != _pendingReceive)
                {
                    return TimedOut(keepOnTimeout);
                }
            }
            Received received = await _pendingReceive;
            _pendingReceive = null;
            if (!received.IsFrame)
            {
                Dispose();
                return ('\0', null);
            }
            Append(received.Payload);
        }
    }

    /// <summary>
    /// The next chunk as a Task that completes on this node's loop. Not <c>ValueTask.AsTask()</c>: a value-task source
    /// that runs continuations asynchronously would complete it on the thread pool, outside the simulator.
    /// </summary>
    private async Task<Received> ReceiveOnLoopAsync() => await _connection.ReceiveAsync();

    private (char, byte[]?) TimedOut(bool keep)
    {
        if (keep)
        {
            return ('\u0001', null);
        }
        Dispose();
        return ('\0', null);
    }

    private void Append(byte[] bytes)
    {
        if (_start > 0 && _end + bytes.Length > _buffer.Length)
        {
            Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }
        if (_end + bytes.Length > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _end + bytes.Length));
        }
        bytes.CopyTo(_buffer, _end);
        _end += bytes.Length;
    }

    private static string?[]? ParseDataRow(byte[] body)
    {
        if (body.Length < 2)
        {
            return null;
        }
        int count = BinaryPrimitives.ReadInt16BigEndian(body);
        var values = new string?[Math.Max(0, count)];
        int at = 2;
        for (int i = 0; i < values.Length; i++)
        {
            if (at + 4 > body.Length)
            {
                return null;
            }
            int length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(at));
            at += 4;
            if (length < 0)
            {
                continue;
            }
            if (at + length > body.Length)
            {
                return null;
            }
            values[i] = Encoding.UTF8.GetString(body, at, length);
            at += length;
        }
        return values;
    }

    private static Dictionary<char, string> ParseFields(byte[] body)
    {
        var fields = new Dictionary<char, string>();
        int at = 0;
        while (at < body.Length && body[at] != 0)
        {
            char code = (char)body[at];
            fields[code] = CString(body, at + 1, out at);
        }
        return fields;
    }

    private static string CString(byte[] body, int from, out int next)
    {
        int end = Array.IndexOf(body, (byte)0, from);
        if (end < 0)
        {
            end = body.Length;
        }
        next = end + 1;
        return Encoding.UTF8.GetString(body, from, end - from);
    }

    private static void AppendInt32(List<byte> list, int value)
    {
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        list.AddRange(bytes);
    }
}
