using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.PgWire;

/// <summary>Builds frontend messages byte by byte, as a client library would.</summary>
public static class Frontend
{
    public static byte[] Startup(params (string Name, string Value)[] parameters) => StartupWithVersion(3 << 16, parameters);

    public static byte[] StartupWithVersion(int version, params (string Name, string Value)[] parameters)
    {
        var body = new List<byte>();
        AddInt32(body, version);
        foreach ((string name, string value) in parameters)
        {
            AddCString(body, name);
            AddCString(body, value);
        }
        body.Add(0);
        return Packet(body);
    }

    public static byte[] SslRequest() => Packet([.. Int32(80877103)]);

    public static byte[] CancelRequest(int processId, int secretKey) => Packet([.. Int32(80877102), .. Int32(processId), .. Int32(secretKey)]);

    public static byte[] Query(string sql) => Message('Q', CString(sql));

    public static byte[] Parse(string name, string sql, params int[] oids) =>
        Message('P', [.. CString(name), .. CString(sql), .. Int16((short)oids.Length), .. oids.SelectMany(Int32)]);

    public static byte[] Bind(string portal, string statement, short[] parameterFormats, byte[]?[] values, short[] resultFormats)
    {
        var body = new List<byte>();
        body.AddRange(CString(portal));
        body.AddRange(CString(statement));
        body.AddRange(Int16((short)parameterFormats.Length));
        foreach (short format in parameterFormats)
        {
            body.AddRange(Int16(format));
        }
        body.AddRange(Int16((short)values.Length));
        foreach (byte[]? value in values)
        {
            body.AddRange(Int32(value?.Length ?? -1));
            body.AddRange(value ?? []);
        }
        body.AddRange(Int16((short)resultFormats.Length));
        foreach (short format in resultFormats)
        {
            body.AddRange(Int16(format));
        }
        return Message('B', [.. body]);
    }

    public static byte[] Describe(char kind, string name) => Message('D', [(byte)kind, .. CString(name)]);

    public static byte[] Execute(string portal, int rowsMax) => Message('E', [.. CString(portal), .. Int32(rowsMax)]);

    public static byte[] Close(char kind, string name) => Message('C', [(byte)kind, .. CString(name)]);

    public static byte[] Sync() => Message('S', []);

    public static byte[] Flush() => Message('H', []);

    public static byte[] Terminate() => Message('X', []);

    public static byte[] Message(char type, byte[] body) => [(byte)type, .. Int32(body.Length + 4), .. body];

    public static byte[] CString(string value) => [.. Encoding.UTF8.GetBytes(value), 0];

    public static byte[] Int16(short value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(bytes, value);
        return bytes;
    }

    public static byte[] Int32(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    private static byte[] Packet(List<byte> body) => [.. Int32(body.Count + 4), .. body];

    private static void AddInt32(List<byte> list, int value) => list.AddRange(Int32(value));

    private static void AddCString(List<byte> list, string value) => list.AddRange(CString(value));
}

/// <summary>One backend message as a test reads it.</summary>
public sealed record BackendMessage(char Type, byte[] Body)
{
    /// <summary>The fields of an ErrorResponse or NoticeResponse, by code.</summary>
    public Dictionary<char, string> Fields()
    {
        var fields = new Dictionary<char, string>();
        int at = 0;
        while (at < Body.Length && Body[at] != 0)
        {
            char code = (char)Body[at++];
            int end = Array.IndexOf(Body, (byte)0, at);
            fields[code] = Encoding.UTF8.GetString(Body, at, end - at);
            at = end + 1;
        }
        return fields;
    }

    /// <summary>A DataRow's values (null for NULL).</summary>
    public List<byte[]?> Values()
    {
        Assert.Equal('D', Type);
        var values = new List<byte[]?>();
        int count = BinaryPrimitives.ReadInt16BigEndian(Body);
        int at = 2;
        for (int i = 0; i < count; i++)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(Body.AsSpan(at));
            at += 4;
            values.Add(length < 0 ? null : Body.AsSpan(at, length).ToArray());
            at += Math.Max(length, 0);
        }
        return values;
    }

    public List<string?> TextValues() => [.. Values().Select(v => v is null ? null : Encoding.UTF8.GetString(v))];

    /// <summary>The text of a CommandComplete tag (or other single-string message).</summary>
    public string Text() => Encoding.UTF8.GetString(Body, 0, Math.Max(0, Array.IndexOf(Body, (byte)0)));

    public override string ToString() => Type + (Type is 'E' or 'N' ? ":" + string.Join(",", Fields().Select(f => f.Key + "=" + f.Value)) : "");
}

/// <summary>Cuts a backend byte stream into messages, whatever the chunking (the test side of the codec).</summary>
public sealed class BackendParser
{
    private readonly List<byte> _pending = [];

    public void Append(ReadOnlySpan<byte> bytes) => _pending.AddRange(bytes.ToArray());

    /// <summary>The next message; <paramref name="singleByte"/> reads one unframed byte (the answer to SSLRequest).</summary>
    public BackendMessage? TryRead(bool singleByte = false)
    {
        if (singleByte)
        {
            if (_pending.Count < 1)
            {
                return null;
            }
            var answer = new BackendMessage((char)_pending[0], []);
            _pending.RemoveAt(0);
            return answer;
        }
        if (_pending.Count < 5)
        {
            return null;
        }
        int length = BinaryPrimitives.ReadInt32BigEndian(_pending.GetRange(1, 4).ToArray());
        Assert.InRange(length, 4, 1 << 30);
        if (_pending.Count < length + 1)
        {
            return null;
        }
        var message = new BackendMessage((char)_pending[0], _pending.GetRange(5, length - 4).ToArray());
        _pending.RemoveRange(0, length + 1);
        return message;
    }
}

/// <summary>A hand-written protocol client over a raw <see cref="IConnection"/>, for simulated tests.</summary>
public sealed class PgTestClient(IConnection connection)
{
    private readonly BackendParser _parser = new();

    public IConnection Connection => connection;

    public void Send(byte[] bytes) => Assert.Equal(NetStatus.Ok, connection.Send(bytes));

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public async Task<BackendMessage?> ReadAsync(bool singleByte = false)
    {
        // Each pass either returns or appends at least one byte from a finite stream.
        while (true)
        {
            if (_parser.TryRead(singleByte) is { } message)
            {
                return message;
            }
            Received chunk = await connection.ReceiveAsync();
            if (!chunk.IsFrame)
            {
                return null;
            }
            _parser.Append(chunk.Payload);
        }
    }

    /// <summary>Messages up to and including ReadyForQuery; fails if the connection closes first.</summary>
    public async Task<List<BackendMessage>> ReadUntilReadyAsync()
    {
        var messages = new List<BackendMessage>();
        // Bounded by the test's own expectations: no test expects more than a few thousand messages.
        for (int i = 0; i < 100_000; i++)
        {
            BackendMessage? message = await ReadAsync();
            Assert.True(message is not null, "the server closed the connection before ReadyForQuery; got " + string.Join(" ", messages));
            messages.Add(message);
            if (message.Type == 'Z')
            {
                return messages;
            }
        }
        throw new InvalidOperationException("no ReadyForQuery");
    }

    /// <summary>Sends a startup packet and reads through the first ReadyForQuery.</summary>
    public async Task<List<BackendMessage>> StartupAsync(string user = "tester")
    {
        Send(Frontend.Startup(("user", user), ("application_name", "hand")));
        return await ReadUntilReadyAsync();
    }

    /// <summary>Reads until the server closes; returns what came before.</summary>
    public async Task<List<BackendMessage>> ReadUntilClosedAsync()
    {
        var messages = new List<BackendMessage>();
        for (int i = 0; i < 100_000; i++)
        {
            BackendMessage? message = await ReadAsync();
            if (message is null)
            {
                return messages;
            }
            messages.Add(message);
        }
        throw new InvalidOperationException("the server never closed");
    }
}

public static class MessageList
{
    public static string Types(this IEnumerable<BackendMessage> messages) => new([.. messages.Select(m => m.Type)]);
}
