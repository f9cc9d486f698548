using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Encoding;
using Kernel.Runtime;

namespace Kernel.Persist.Location.Remote;

/// <summary>
/// The client side of the location protocol: one connection to a <see cref="LocationServer"/>, opened on first
/// use and again after it breaks, carrying any number of concurrent calls.
/// </summary>
/// <remarks>
/// Error classification, which persist's retry logic depends on:
/// <list type="bullet">
/// <item>not connected, or the request could not be sent: determinate (the server never saw it);</item>
/// <item>the connection broke or the reply did not come within the timeout after the request was sent:
/// indeterminate for calls that write, determinate for reads (a read that may have run changed nothing);</item>
/// <item>an error reply: the server's own classification.</item>
/// </list>
/// Owned by one node loop.
/// </remarks>
public sealed class RemoteLocation(INodeContext context, Endpoint server, TimeSpan callTimeout)
{
    private readonly Dictionary<ulong, TaskCompletionSource<Received>> _pending = [];
    private IConnection? _connection;
    private Task<IConnection?>? _connecting;
    private ulong _nextId;

    public Endpoint Server => server;

    internal async ValueTask<(bool Ok, byte[] Reply, LocationError? Error)> CallAsync(LocationWire.Op op, Action<ByteWriter> arguments)
    {
        IConnection? connection = await ConnectedAsync();
        if (connection is null)
        {
            return (false, [], LocationError.Determinate($"cannot reach the location server {server} for {op}"));
        }
        ulong id = ++_nextId;
        ByteWriter request = LocationWire.Request(id, op);
        arguments(request);
        var reply = new TaskCompletionSource<Received>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending.Add(id, reply);
        if (connection.Send(request.WrittenSpan) != NetStatus.Ok)
        {
            _pending.Remove(id);
            Drop(connection, "send failed");
            return (false, [], LocationError.Determinate($"could not send {op} to {server}"));
        }
        Received received;
        using (var timeout = new CancellationTokenSource(callTimeout, context.Clock.TimeProvider))
        using (timeout.Token.Register(() => reply.TrySetResult(Received.Closed("timed out", NetStatus.TimedOut))))
        {
            received = await reply.Task;
        }
        _pending.Remove(id);
        if (!received.IsFrame)
        {
            string what = $"{op} to {server}: {received.Reason}";
            return (false, [], LocationWire.IsWrite(op) ? LocationError.Indeterminate(what) : LocationError.Determinate(what));
        }
        var reader = new ByteReader(received.Payload);
        reader.ReadUInt64();
        var status = (LocationWire.Status)reader.ReadByte();
        byte[] body = received.Payload.AsSpan(9).ToArray();
        if (status == LocationWire.Status.Ok)
        {
            return (true, body, null);
        }
        var message = new ByteReader(body);
        string text = LocationWire.ReadString(ref message);
        return (false, [], status == LocationWire.Status.Indeterminate ? LocationError.Indeterminate(text) : LocationError.Determinate(text));
    }

    /// <summary>A reply that did not decode: the server is broken or not a location server; whether a write happened is unknown.</summary>
    internal static LocationError Malformed(LocationWire.Op op) =>
        LocationWire.IsWrite(op) ? LocationError.Indeterminate($"malformed reply to {op}") : LocationError.Determinate($"malformed reply to {op}");

    private async Task<IConnection?> ConnectedAsync()
    {
        if (_connection is { IsOpen: true })
        {
            return _connection;
        }
        // Concurrent callers share one connection attempt.
        _connecting ??= ConnectAsync();
        Task<IConnection?> connecting = _connecting;
        IConnection? connection = await connecting;
        if (_connecting == connecting)
        {
            _connecting = null;
        }
        return connection;
    }

    private async Task<IConnection?> ConnectAsync()
    {
        using var timeout = new CancellationTokenSource(callTimeout, context.Clock.TimeProvider);
        NetResult<IConnection> result = await context.Network.ConnectAsync(server, timeout.Token);
        if (!result.IsOk)
        {
            return null;
        }
        IConnection connection = result.Unwrap();
        _connection = connection;
        context.Spawn("location-replies", () => ReceiveRepliesAsync(connection));
        return connection;
    }

    private async Task ReceiveRepliesAsync(IConnection connection)
    {
        while (true)
        {
            Received frame = await connection.ReceiveAsync();
            if (!frame.IsFrame)
            {
                Drop(connection, frame.Reason);
                return;
            }
            if (frame.Payload.Length < 9)
            {
                Drop(connection, "malformed reply");
                return;
            }
            ulong id = new ByteReader(frame.Payload).ReadUInt64();
            if (_pending.TryGetValue(id, out TaskCompletionSource<Received>? waiting))
            {
                waiting.TrySetResult(frame);
            }
        }
    }

    private void Drop(IConnection connection, string reason)
    {
        if (_connection != connection)
        {
            return;
        }
        _connection = null;
        connection.Dispose();
        // Every call still waiting on this connection gets its answer now: unknown.
        foreach (TaskCompletionSource<Received> waiting in new List<TaskCompletionSource<Received>>(_pending.Values))
        {
            waiting.TrySetResult(Received.Closed("connection lost: " + reason));
        }
    }
}

/// <summary>An <see cref="IBlob"/> served by a <see cref="LocationServer"/> on another node.</summary>
public sealed class RemoteBlob(RemoteLocation location) : IBlob
{
    public async ValueTask<LocationResult<byte[]?>> GetAsync(string key)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.BlobGet, w => LocationWire.WriteString(w, key));
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        byte present = reader.ReadByte();
        byte[]? value = present == 1 ? LocationWire.ReadBytes(ref reader) : null;
        return reader.Failed || present > 1 || !reader.AtEnd ? RemoteLocation.Malformed(LocationWire.Op.BlobGet) : LocationResult<byte[]?>.Ok(value);
    }

    public async ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value)
    {
        if (value.Length > LocationWire.ValueBytesMax)
        {
            return LocationError.Determinate($"blob '{key}' is larger than the location protocol carries");
        }
        var (ok, _, error) = await location.CallAsync(LocationWire.Op.BlobSet, w =>
        {
            LocationWire.WriteString(w, key);
            LocationWire.WriteBytes(w, value.Span);
        });
        return ok ? LocationResult.Ok : error!;
    }

    public async ValueTask<LocationResult<long?>> DeleteAsync(string key)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.BlobDelete, w => LocationWire.WriteString(w, key));
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        ulong? size = LocationWire.ReadOptionalUInt64(ref reader);
        return reader.Failed || !reader.AtEnd ? RemoteLocation.Malformed(LocationWire.Op.BlobDelete) : LocationResult<long?>.Ok(size is ulong s ? (long)s : null);
    }

    public async ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.BlobList, w => LocationWire.WriteString(w, prefix));
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        int count = reader.ReadCount(LocationWire.ListCountMax);
        var keys = new List<BlobMetadata>(Math.Min(count, 1024));
        for (int i = 0; i < count && !reader.Failed; i++)
        {
            keys.Add(new BlobMetadata(LocationWire.ReadString(ref reader), (long)reader.ReadVarUInt64()));
        }
        return reader.Failed || !reader.AtEnd
            ? RemoteLocation.Malformed(LocationWire.Op.BlobList)
            : LocationResult<IReadOnlyList<BlobMetadata>>.Ok(keys);
    }
}

/// <summary>An <see cref="IConsensus"/> served by a <see cref="LocationServer"/> on another node.</summary>
public sealed class RemoteConsensus(RemoteLocation location) : IConsensus
{
    public async ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.ConsensusHead, w => LocationWire.WriteString(w, key));
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        VersionedData? head = ReadVersioned(ref reader);
        return reader.Failed || !reader.AtEnd ? RemoteLocation.Malformed(LocationWire.Op.ConsensusHead) : LocationResult<VersionedData?>.Ok(head);
    }

    public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        ConsensusChecks.CompareAndSetArguments(key, expected, next);
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.ConsensusCompareAndSet, w =>
        {
            LocationWire.WriteString(w, key);
            LocationWire.WriteOptionalUInt64(w, expected);
            w.WriteVarUInt64(next.SeqNo);
            LocationWire.WriteBytes(w, next.Data);
        });
        if (!ok)
        {
            return error!;
        }
        return reply.Length == 1 && reply[0] <= (byte)CasOutcome.ExpectationMismatch
            ? LocationResult<CasOutcome>.Ok((CasOutcome)reply[0])
            : RemoteLocation.Malformed(LocationWire.Op.ConsensusCompareAndSet);
    }

    public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.ConsensusScan, w =>
        {
            LocationWire.WriteString(w, key);
            w.WriteVarUInt64(from);
            w.WriteVarUInt64((ulong)Math.Max(0, limit));
        });
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        int count = reader.ReadCount(LocationWire.ListCountMax);
        var versions = new List<VersionedData>(Math.Min(count, 1024));
        for (int i = 0; i < count && !reader.Failed; i++)
        {
            if (ReadVersioned(ref reader) is { } version)
            {
                versions.Add(version);
            }
        }
        return reader.Failed || !reader.AtEnd || versions.Count != count
            ? RemoteLocation.Malformed(LocationWire.Op.ConsensusScan)
            : LocationResult<IReadOnlyList<VersionedData>>.Ok(versions);
    }

    public async ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.ConsensusTruncate, w =>
        {
            LocationWire.WriteString(w, key);
            w.WriteVarUInt64(seqno);
        });
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        ulong deleted = reader.ReadVarUInt64();
        return reader.Failed || !reader.AtEnd ? RemoteLocation.Malformed(LocationWire.Op.ConsensusTruncate) : LocationResult<long>.Ok((long)deleted);
    }

    public async ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync()
    {
        var (ok, reply, error) = await location.CallAsync(LocationWire.Op.ConsensusList, _ => { });
        if (!ok)
        {
            return error!;
        }
        var reader = new ByteReader(reply);
        int count = reader.ReadCount(LocationWire.ListCountMax);
        var keys = new List<string>(Math.Min(count, 1024));
        for (int i = 0; i < count && !reader.Failed; i++)
        {
            keys.Add(LocationWire.ReadString(ref reader));
        }
        return reader.Failed || !reader.AtEnd ? RemoteLocation.Malformed(LocationWire.Op.ConsensusList) : LocationResult<IReadOnlyList<string>>.Ok(keys);
    }

    private static VersionedData? ReadVersioned(ref ByteReader reader)
    {
        byte present = reader.ReadByte();
        if (present != 1)
        {
            if (present > 1)
            {
                reader.ReadBytes(-1);
            }
            return null;
        }
        ulong seqno = reader.ReadVarUInt64();
        return new VersionedData(seqno, LocationWire.ReadBytes(ref reader));
    }
}
