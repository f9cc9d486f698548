using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Encoding;
using Kernel.Runtime;

namespace Kernel.Persist.Location.Remote;

/// <summary>
/// Serves a node's <see cref="IBlob"/> and <see cref="IConsensus"/> to persist clients on other nodes over the
/// location protocol (<see cref="LocationWire"/>). It adds nothing to their semantics: each request is one call
/// on the backend, and the backend's error classification is passed through unchanged.
/// </summary>
/// <remarks>
/// Requests on a connection run concurrently, as independent clients would, so the backend sees real
/// interleavings. Runs on the node loop that calls <see cref="RunAsync"/>.
/// </remarks>
public sealed class LocationServer(INodeContext context, IBlob? blob, IConsensus? consensus)
{
    /// <summary>Accepts connections on <paramref name="port"/> until the listener fails; returns false if it could not listen.</summary>
    public async Task<bool> RunAsync(int port)
    {
        NetResult<IListener> listening = context.Network.Listen(port);
        if (!listening.IsOk)
        {
            context.Trace("location-listen-failed", listening.Error);
            return false;
        }
        using IListener listener = listening.Unwrap();
        while (true)
        {
            NetResult<IConnection> accepted = await listener.AcceptAsync(context.Stopping);
            if (!accepted.IsOk)
            {
                return true;
            }
            IConnection connection = accepted.Unwrap();
            context.Spawn("location-session", () => ServeAsync(connection));
        }
    }

    private async Task ServeAsync(IConnection connection)
    {
        using (connection)
        {
            while (true)
            {
                Received request = await connection.ReceiveAsync(context.Stopping);
                if (!request.IsFrame)
                {
                    return;
                }
                if (request.Payload.Length < 9)
                {
                    return; // not even an id to answer: the peer does not speak this protocol
                }
                byte[] frame = request.Payload;
                context.Spawn("location-request", async () =>
                {
                    byte[] reply = await HandleAsync(frame);
                    connection.Send(reply); // a closed connection drops the reply; the client treats the call as unknown
                });
            }
        }
    }

    private async Task<byte[]> HandleAsync(byte[] frame)
    {
        var header = new ByteReader(frame);
        ulong id = header.ReadUInt64();
        var op = (LocationWire.Op)header.ReadByte();
        try
        {
            return await DispatchAsync(id, op, frame.AsMemory(9));
        }
        catch (ArgumentException e)
        {
            // A backend's argument check: the client sent something no correct client sends.
            return Error(id, LocationError.Determinate($"refused {op}: {e.Message}"));
        }
    }

    private async Task<byte[]> DispatchAsync(ulong id, LocationWire.Op op, ReadOnlyMemory<byte> arguments)
    {
        string key = "";
        ulong number = 0;
        ulong? expected = null;
        byte[] value = [];
        int limit = 0;
        var reader = new ByteReader(arguments.Span);
        switch (op)
        {
            case LocationWire.Op.BlobGet or LocationWire.Op.BlobDelete or LocationWire.Op.BlobList or LocationWire.Op.ConsensusHead:
                key = LocationWire.ReadString(ref reader);
                break;
            case LocationWire.Op.BlobSet:
                key = LocationWire.ReadString(ref reader);
                value = LocationWire.ReadBytes(ref reader);
                break;
            case LocationWire.Op.ConsensusCompareAndSet:
                key = LocationWire.ReadString(ref reader);
                expected = LocationWire.ReadOptionalUInt64(ref reader);
                number = reader.ReadVarUInt64();
                value = LocationWire.ReadBytes(ref reader);
                break;
            case LocationWire.Op.ConsensusScan:
                key = LocationWire.ReadString(ref reader);
                number = reader.ReadVarUInt64();
                limit = reader.ReadCount(int.MaxValue);
                break;
            case LocationWire.Op.ConsensusTruncate:
                key = LocationWire.ReadString(ref reader);
                number = reader.ReadVarUInt64();
                break;
            case LocationWire.Op.ConsensusList:
                break;
            default:
                return Error(id, LocationError.Determinate($"unknown location operation {(byte)op}"));
        }
        if (reader.Failed || !reader.AtEnd)
        {
            return Error(id, LocationError.Determinate($"malformed {op} request"));
        }
        bool isBlob = op is >= LocationWire.Op.BlobGet and <= LocationWire.Op.BlobList;
        if (isBlob ? blob is null : consensus is null)
        {
            return Error(id, LocationError.Determinate($"this node does not serve {(isBlob ? "Blob" : "Consensus")}"));
        }
        if (op is not (LocationWire.Op.ConsensusList or LocationWire.Op.BlobList) && BlobKeys.Validate(key) is { } badKey)
        {
            return Error(id, LocationError.Determinate(badKey));
        }

        switch (op)
        {
            case LocationWire.Op.BlobGet:
            {
                LocationResult<byte[]?> result = await blob!.GetAsync(key);
                return result.IsOk ? Reply(id, w => Optional(w, result.Value)) : Error(id, result.Error!);
            }
            case LocationWire.Op.BlobSet:
            {
                LocationResult result = await blob!.SetAsync(key, value);
                return result.IsOk ? Reply(id, _ => { }) : Error(id, result.Error!);
            }
            case LocationWire.Op.BlobDelete:
            {
                LocationResult<long?> result = await blob!.DeleteAsync(key);
                return result.IsOk ? Reply(id, w => LocationWire.WriteOptionalUInt64(w, result.Value is long size ? (ulong)size : null)) : Error(id, result.Error!);
            }
            case LocationWire.Op.BlobList:
            {
                LocationResult<IReadOnlyList<BlobMetadata>> result = await blob!.ListKeysAsync(key);
                return result.IsOk ? Reply(id, w =>
                {
                    w.WriteVarUInt64((ulong)result.Value!.Count);
                    foreach (BlobMetadata meta in result.Value)
                    {
                        LocationWire.WriteString(w, meta.Key);
                        w.WriteVarUInt64((ulong)meta.SizeBytes);
                    }
                }) : Error(id, result.Error!);
            }
            case LocationWire.Op.ConsensusHead:
            {
                LocationResult<VersionedData?> result = await consensus!.HeadAsync(key);
                return result.IsOk ? Reply(id, w => Versioned(w, result.Value)) : Error(id, result.Error!);
            }
            case LocationWire.Op.ConsensusCompareAndSet:
            {
                if (expected is ulong previous && number != previous + 1)
                {
                    return Error(id, LocationError.Determinate($"the new seqno {number} must be the expected seqno {previous} plus one"));
                }
                LocationResult<CasOutcome> result = await consensus!.CompareAndSetAsync(key, expected, new VersionedData(number, value));
                return result.IsOk ? Reply(id, w => w.WriteByte((byte)result.Value)) : Error(id, result.Error!);
            }
            case LocationWire.Op.ConsensusScan:
            {
                LocationResult<IReadOnlyList<VersionedData>> result = await consensus!.ScanAsync(key, number, limit);
                return result.IsOk ? Reply(id, w =>
                {
                    w.WriteVarUInt64((ulong)result.Value!.Count);
                    foreach (VersionedData version in result.Value)
                    {
                        Versioned(w, version);
                    }
                }) : Error(id, result.Error!);
            }
            case LocationWire.Op.ConsensusTruncate:
            {
                LocationResult<long> result = await consensus!.TruncateAsync(key, number);
                return result.IsOk ? Reply(id, w => w.WriteVarUInt64((ulong)result.Value)) : Error(id, result.Error!);
            }
            default:
            {
                LocationResult<IReadOnlyList<string>> result = await consensus!.ListKeysAsync();
                return result.IsOk ? Reply(id, w =>
                {
                    w.WriteVarUInt64((ulong)result.Value!.Count);
                    foreach (string listed in result.Value)
                    {
                        LocationWire.WriteString(w, listed);
                    }
                }) : Error(id, result.Error!);
            }
        }
    }

    private static void Optional(ByteWriter writer, byte[]? value)
    {
        writer.WriteByte(value is null ? (byte)0 : (byte)1);
        if (value is not null)
        {
            LocationWire.WriteBytes(writer, value);
        }
    }

    private static void Versioned(ByteWriter writer, VersionedData? version)
    {
        writer.WriteByte(version is null ? (byte)0 : (byte)1);
        if (version is not null)
        {
            writer.WriteVarUInt64(version.SeqNo);
            LocationWire.WriteBytes(writer, version.Data);
        }
    }

    private static byte[] Reply(ulong id, Action<ByteWriter> body)
    {
        ByteWriter writer = LocationWire.Reply(id, LocationWire.Status.Ok);
        body(writer);
        return writer.ToArray();
    }

    private static byte[] Error(ulong id, LocationError error)
    {
        ByteWriter writer = LocationWire.Reply(id, error.IsIndeterminate ? LocationWire.Status.Indeterminate : LocationWire.Status.Determinate);
        LocationWire.WriteString(writer, error.Message);
        return writer.ToArray();
    }
}
