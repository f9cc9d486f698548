using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.IO;
using Google.Protobuf;
using Kernel.Expr;
using Kernel.Net.Proto;
using Kernel.Persist.Data;

namespace Kernel.Net.Compute;

/// <summary>
/// The wire form of the controller protocol: one <see cref="ComputeCommand"/> or <see cref="ComputeResponse"/> per
/// network frame: a 5-byte envelope (family tag and body length) and the protobuf message of
/// <c>net/Proto/compute.proto</c>.
/// </summary>
/// <remarks>
/// Round trips are exact: every record decodes to one that is structurally equal to what was encoded (doubles,
/// decimals and strings bit for bit). Decoding never throws: garbage, truncated or semantically broken bytes (an
/// unknown enum value, a missing required field, a projection past its input's columns) give false and a reason,
/// and never a partly built message. Strings outside row values (names, URIs, messages) travel as protobuf
/// strings, so a lone surrogate in them is replaced; row values carry any string exactly.
/// </remarks>
public static partial class ComputeProtocol
{
    /// <summary>How deep a plan may nest on the wire (protobuf's default of 100 is too shallow for real plans).</summary>
    public const int NestingDepthMax = 1000;

    /// <summary>Bytes before the protobuf body: a tag naming the message family, then the body's length (u32, little-endian).</summary>
    public const int EnvelopeBytes = 5;

    private const byte CommandTag = 0xC1;
    private const byte ResponseTag = 0xC2;

    public static byte[] EncodeCommand(ComputeCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        return Envelope(CommandTag, ToProto(command));
    }

    public static byte[] EncodeResponse(ComputeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return Envelope(ResponseTag, ToProto(response));
    }

    // The protobuf body is written straight into the frame after the envelope: no intermediate buffer. The length
    // turns a truncated frame (which could otherwise parse as a shorter, valid message) into an error.
    private static byte[] Envelope(byte tag, IMessage message)
    {
        int size = message.CalculateSize();
        byte[] frame = new byte[EnvelopeBytes + size];
        frame[0] = tag;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(1), (uint)size);
        message.WriteTo(frame.AsSpan(EnvelopeBytes));
        return frame;
    }

    private static bool TryOpen(ReadOnlySpan<byte> encoded, byte tag, string what, out ReadOnlySpan<byte> body, out string error)
    {
        body = default;
        if (encoded.Length < EnvelopeBytes)
        {
            error = $"a {what} frame of {encoded.Length} bytes is shorter than its {EnvelopeBytes}-byte envelope";
            return false;
        }
        if (encoded[0] != tag)
        {
            error = $"a {what} frame starts with 0x{encoded[0]:x2}, not 0x{tag:x2}";
            return false;
        }
        uint length = BinaryPrimitives.ReadUInt32LittleEndian(encoded[1..]);
        if (length != (uint)(encoded.Length - EnvelopeBytes))
        {
            error = $"a {what} frame declares {length} body bytes but carries {encoded.Length - EnvelopeBytes} (truncated or padded)";
            return false;
        }
        body = encoded[EnvelopeBytes..];
        error = "";
        return true;
    }

    /// <summary>Decodes one command; false with a reason (and a null command) for anything that is not a valid encoding.</summary>
    public static bool TryDecodeCommand(ReadOnlySpan<byte> encoded, out ComputeCommand? command, out string error)
    {
        command = null;
        if (!TryOpen(encoded, CommandTag, "command", out ReadOnlySpan<byte> body, out error) || !TryParse(body, ProtoComputeCommand.Parser, out ProtoComputeCommand? proto, out error))
        {
            return false;
        }
        try
        {
            command = FromProto(proto!);
            return true;
        }
        catch (MalformedMessageException e)
        {
            error = "malformed compute command: " + e.Message;
            return false;
        }
    }

    /// <summary>Decodes one response; false with a reason (and a null response) for anything that is not a valid encoding.</summary>
    public static bool TryDecodeResponse(ReadOnlySpan<byte> encoded, out ComputeResponse? response, out string error)
    {
        response = null;
        if (!TryOpen(encoded, ResponseTag, "response", out ReadOnlySpan<byte> body, out error) || !TryParse(body, ProtoComputeResponse.Parser, out ProtoComputeResponse? proto, out error))
        {
            return false;
        }
        try
        {
            response = FromProto(proto!);
            return true;
        }
        catch (MalformedMessageException e)
        {
            error = "malformed compute response: " + e.Message;
            return false;
        }
    }

    private static bool TryParse<T>(ReadOnlySpan<byte> encoded, MessageParser<T> parser, out T? message, out string error)
        where T : class, IMessage<T>
    {
        message = null;
        try
        {
            message = parser.ParseFrom(encoded);
            error = "";
            return true;
        }
        catch (InvalidProtocolBufferException first) when (first.Message.Contains("nesting", StringComparison.Ordinal))
        {
            // Deeper than protobuf's default limit: parse again with ours (the span parser has no setting for it).
            try
            {
                using var stream = new MemoryStream(encoded.ToArray(), writable: false);
                using var input = CodedInputStream.CreateWithLimits(stream, encoded.Length + 1, NestingDepthMax);
                message = parser.ParseFrom(input);
                error = "";
                return true;
            }
            catch (InvalidProtocolBufferException e)
            {
                error = "undecodable protobuf: " + e.Message;
                return false;
            }
        }
        catch (InvalidProtocolBufferException e)
        {
            error = "undecodable protobuf: " + e.Message;
            return false;
        }
    }

    // ---- Commands ----

    private static ProtoComputeCommand ToProto(ComputeCommand command) => command switch
    {
        Hello h => new() { Hello = new ProtoHello { Nonce = h.Nonce, Epoch = h.Epoch, ProtocolVersion = h.ProtocolVersion } },
        CreateInstance c => new() { CreateInstance = new ProtoCreateInstance { BlobUri = c.BlobUri, ConsensusUri = c.ConsensusUri, Workers = c.Workers } },
        InitializationComplete => new() { InitializationComplete = new ProtoEmpty() },
        AllowWrites => new() { AllowWrites = new ProtoEmpty() },
        UpdateConfiguration u => new() { UpdateConfiguration = ToProto(u) },
        CreateDataflow d => new() { CreateDataflow = ToProto(d.Dataflow) },
        Schedule s => new() { Schedule = ToProto(s.Id) },
        AllowCompaction a => new() { AllowCompaction = new ProtoAllowCompaction { Id = ToProto(a.Id), Frontier = ToProto(a.Frontier) } },
        Peek p => new()
        {
            Peek = new ProtoPeek
            {
                Uuid = ToProto(p.Uuid), Target = ToProto(p.Target), Timestamp = p.Timestamp, Finishing = ToProto(p.Finishing), Lookup = ToProto(p.Lookup),
            },
        },
        CancelPeek c => new() { CancelPeek = ToProto(c.Uuid) },
        _ => throw new ArgumentException($"compute command {command.GetType().Name} has no encoding", nameof(command)),
    };

    private static ProtoPeekLookup? ToProto(PeekLookup? lookup)
    {
        if (lookup is null)
        {
            return null;
        }
        var writer = new RowPacking.Writer(RowPacking.CountDatums(lookup.Keys, static k => k));
        foreach (Row key in lookup.Keys)
        {
            writer.Add(key);
        }
        var proto = new ProtoPeekLookup { Keys = writer.Finish() };
        foreach (ScalarExpr predicate in lookup.Predicates)
        {
            proto.Predicates.Add(ToProto(predicate));
        }
        return proto;
    }

    private static PeekLookup FromProto(ProtoPeekLookup proto)
    {
        var reader = new RowPacking.Reader(Required(proto.Keys, "peek.lookup.keys"));
        var keys = ImmutableArray.CreateBuilder<Row>(reader.RowCount);
        for (int i = 0; i < reader.RowCount; i++)
        {
            keys.Add(reader.ReadRow());
        }
        reader.CheckConsumed();
        var predicates = ImmutableArray.CreateBuilder<ScalarExpr>(proto.Predicates.Count);
        foreach (ProtoScalarExpr predicate in proto.Predicates)
        {
            predicates.Add(FromProto(predicate));
        }
        return new PeekLookup(keys.MoveToImmutable(), predicates.MoveToImmutable());
    }

    private static ProtoUpdateConfiguration ToProto(UpdateConfiguration update)
    {
        var proto = new ProtoUpdateConfiguration();
        // Sorted by name whatever the dictionary's comparer, so equal configurations encode to equal bytes.
        var names = new List<string>(update.Parameters.Keys);
        names.Sort(StringComparer.Ordinal);
        foreach (string name in names)
        {
            proto.Parameters.Add(new ProtoParameter { Name = name, Value = update.Parameters[name] });
        }
        return proto;
    }

    private static ComputeCommand FromProto(ProtoComputeCommand proto) => proto.KindCase switch
    {
        ProtoComputeCommand.KindOneofCase.Hello => new Hello(proto.Hello.Nonce, proto.Hello.Epoch, proto.Hello.ProtocolVersion),
        ProtoComputeCommand.KindOneofCase.CreateInstance =>
            new CreateInstance(proto.CreateInstance.BlobUri, proto.CreateInstance.ConsensusUri, proto.CreateInstance.Workers),
        ProtoComputeCommand.KindOneofCase.InitializationComplete => new InitializationComplete(),
        ProtoComputeCommand.KindOneofCase.AllowWrites => new AllowWrites(),
        ProtoComputeCommand.KindOneofCase.UpdateConfiguration => FromProto(proto.UpdateConfiguration),
        ProtoComputeCommand.KindOneofCase.CreateDataflow => new CreateDataflow(FromProto(proto.CreateDataflow)),
        ProtoComputeCommand.KindOneofCase.Schedule => new Schedule(FromProto(proto.Schedule)),
        ProtoComputeCommand.KindOneofCase.AllowCompaction => new AllowCompaction(
            FromProto(Required(proto.AllowCompaction.Id, "allow_compaction.id")),
            FromProto(Required(proto.AllowCompaction.Frontier, "allow_compaction.frontier"))),
        ProtoComputeCommand.KindOneofCase.Peek => new Peek(
            FromProto(Required(proto.Peek.Uuid, "peek.uuid")),
            FromProto(Required(proto.Peek.Target, "peek.target")),
            proto.Peek.Timestamp,
            FromProto(Required(proto.Peek.Finishing, "peek.finishing")),
            proto.Peek.Lookup is null ? null : FromProto(proto.Peek.Lookup)),
        ProtoComputeCommand.KindOneofCase.CancelPeek => new CancelPeek(FromProto(proto.CancelPeek)),
        _ => throw new MalformedMessageException("no command kind is set (an empty or unknown message)"),
    };

    private static UpdateConfiguration FromProto(ProtoUpdateConfiguration proto)
    {
        ImmutableSortedDictionary<string, string>.Builder parameters = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        foreach (ProtoParameter parameter in proto.Parameters)
        {
            if (!parameters.TryAdd(parameter.Name, parameter.Value))
            {
                throw new MalformedMessageException($"configuration parameter '{parameter.Name}' appears twice");
            }
        }
        return new UpdateConfiguration(parameters.ToImmutable());
    }

    // ---- Responses ----

    private static ProtoComputeResponse ToProto(ComputeResponse response) => response switch
    {
        Frontiers f => new()
        {
            Frontiers = new ProtoFrontiers
            {
                Id = ToProto(f.Id),
                WriteFrontier = ToProtoOptional(f.WriteFrontier),
                InputFrontier = ToProtoOptional(f.InputFrontier),
                OutputFrontier = ToProtoOptional(f.OutputFrontier),
            },
        },
        PeekResponse p => new() { PeekResponse = ToProto(p) },
        SubscribeResponse s => new() { SubscribeResponse = ToProto(s) },
        Status s => new() { Status = new ProtoStatus { Kind = s.Kind, Detail = s.Detail } },
        _ => throw new ArgumentException($"compute response {response.GetType().Name} has no encoding", nameof(response)),
    };

    private static ProtoPeekResponse ToProto(PeekResponse response)
    {
        var proto = new ProtoPeekResponse { Uuid = ToProto(response.Uuid) };
        switch (response.Result)
        {
            case PeekRows rows:
            {
                var writer = new RowPacking.Writer(RowPacking.CountDatums(rows.Rows, static r => r.Row));
                var peekRows = new ProtoPeekRows();
                foreach ((Row row, long count) in rows.Rows)
                {
                    writer.Add(row);
                    peekRows.Counts.Add(count);
                }
                peekRows.Rows = writer.Finish();
                proto.Rows = peekRows;
                break;
            }
            case PeekError error:
                proto.Error = new ProtoError { SqlState = error.SqlState, Message = error.Message };
                break;
            case PeekCanceled:
                proto.Canceled = new ProtoEmpty();
                break;
            default:
                throw new ArgumentException($"peek result {response.Result?.GetType().Name ?? "null"} has no encoding", nameof(response));
        }
        return proto;
    }

    private static ProtoSubscribeResponse ToProto(SubscribeResponse response)
    {
        var proto = new ProtoSubscribeResponse { Id = ToProto(response.Id) };
        switch (response.Event)
        {
            case SubscribeBatch batch:
            {
                var writer = new RowPacking.Writer(RowPacking.CountDatums(batch.Updates, static u => u.Row));
                var protoBatch = new ProtoSubscribeBatch { Lower = ToProto(batch.Lower), Upper = ToProto(batch.Upper) };
                foreach (Update update in batch.Updates)
                {
                    writer.Add(update.Row);
                    protoBatch.Times.Add(update.Time);
                    protoBatch.Diffs.Add(update.Diff);
                }
                protoBatch.Rows = writer.Finish();
                proto.Batch = protoBatch;
                break;
            }
            case SubscribeError error:
                proto.Error = new ProtoError { SqlState = error.SqlState, Message = error.Message };
                break;
            case SubscribeDropped:
                proto.Dropped = new ProtoEmpty();
                break;
            default:
                throw new ArgumentException($"subscribe event {response.Event?.GetType().Name ?? "null"} has no encoding", nameof(response));
        }
        return proto;
    }

    private static ComputeResponse FromProto(ProtoComputeResponse proto)
    {
        switch (proto.KindCase)
        {
            case ProtoComputeResponse.KindOneofCase.Frontiers:
            {
                ProtoFrontiers f = proto.Frontiers;
                return new Frontiers(FromProto(Required(f.Id, "frontiers.id")), FromProtoOptional(f.WriteFrontier), FromProtoOptional(f.InputFrontier), FromProtoOptional(f.OutputFrontier));
            }
            case ProtoComputeResponse.KindOneofCase.PeekResponse:
            {
                ProtoPeekResponse p = proto.PeekResponse;
                PeekResult result = p.ResultCase switch
                {
                    ProtoPeekResponse.ResultOneofCase.Rows => FromProto(p.Rows),
                    ProtoPeekResponse.ResultOneofCase.Error => new PeekError(p.Error.SqlState, p.Error.Message),
                    ProtoPeekResponse.ResultOneofCase.Canceled => new PeekCanceled(),
                    _ => throw new MalformedMessageException("peek response has no result"),
                };
                return new PeekResponse(FromProto(Required(p.Uuid, "peek_response.uuid")), result);
            }
            case ProtoComputeResponse.KindOneofCase.SubscribeResponse:
            {
                ProtoSubscribeResponse s = proto.SubscribeResponse;
                SubscribeEvent subscribeEvent = s.EventCase switch
                {
                    ProtoSubscribeResponse.EventOneofCase.Batch => FromProto(s.Batch),
                    ProtoSubscribeResponse.EventOneofCase.Error => new SubscribeError(s.Error.SqlState, s.Error.Message),
                    ProtoSubscribeResponse.EventOneofCase.Dropped => new SubscribeDropped(),
                    _ => throw new MalformedMessageException("subscribe response has no event"),
                };
                return new SubscribeResponse(FromProto(Required(s.Id, "subscribe_response.id")), subscribeEvent);
            }
            case ProtoComputeResponse.KindOneofCase.Status:
                return new Status(proto.Status.Kind, proto.Status.Detail);
            default:
                throw new MalformedMessageException("no response kind is set (an empty or unknown message)");
        }
    }

    private static PeekRows FromProto(ProtoPeekRows proto)
    {
        var reader = new RowPacking.Reader(Required(proto.Rows, "peek_rows.rows"));
        if (proto.Counts.Count != reader.RowCount)
        {
            throw new MalformedMessageException($"peek rows carry {reader.RowCount} rows but {proto.Counts.Count} counts");
        }
        var rows = ImmutableArray.CreateBuilder<(Row, long)>(reader.RowCount);
        for (int i = 0; i < reader.RowCount; i++)
        {
            rows.Add((reader.ReadRow(), proto.Counts[i]));
        }
        reader.CheckConsumed();
        return new PeekRows(rows.MoveToImmutable());
    }

    private static SubscribeBatch FromProto(ProtoSubscribeBatch proto)
    {
        var reader = new RowPacking.Reader(Required(proto.Rows, "subscribe_batch.rows"));
        if (proto.Times.Count != reader.RowCount || proto.Diffs.Count != reader.RowCount)
        {
            throw new MalformedMessageException($"subscribe batch carries {reader.RowCount} rows, {proto.Times.Count} times and {proto.Diffs.Count} diffs");
        }
        var updates = ImmutableArray.CreateBuilder<Update>(reader.RowCount);
        for (int i = 0; i < reader.RowCount; i++)
        {
            updates.Add(new Update(reader.ReadRow(), proto.Times[i], proto.Diffs[i]));
        }
        reader.CheckConsumed();
        return new SubscribeBatch(
            FromProto(Required(proto.Lower, "subscribe_batch.lower")),
            FromProto(Required(proto.Upper, "subscribe_batch.upper")),
            updates.MoveToImmutable());
    }

    // ---- Small shared values ----

    private static T Required<T>(T? value, string field)
        where T : class => value ?? throw new MalformedMessageException($"required field {field} is missing");

    private static ProtoGlobalId ToProto(GlobalId id) => new() { Kind = (uint)id.Kind, Value = id.Value };

    private static GlobalId FromProto(ProtoGlobalId proto) => proto.Kind is (uint)GlobalIdKind.System or (uint)GlobalIdKind.User or (uint)GlobalIdKind.Transient
        ? new GlobalId((GlobalIdKind)proto.Kind, proto.Value)
        : throw new MalformedMessageException($"global id kind {proto.Kind} is not s, u or t");

    private static ProtoFrontier ToProto(Frontier frontier) => frontier.IsEmpty ? new() { Empty = true } : new() { Time = frontier.Time };

    private static Frontier FromProto(ProtoFrontier proto)
    {
        if (proto.Empty)
        {
            return proto.Time == 0 ? Frontier.Empty : throw new MalformedMessageException("an empty frontier carries a time");
        }
        return Frontier.At(proto.Time);
    }

    private static ProtoOptionalFrontier? ToProtoOptional(Frontier? frontier) => frontier is { } f ? new() { Frontier = ToProto(f) } : null;

    private static Frontier? FromProtoOptional(ProtoOptionalFrontier? proto) => proto is null ? null : FromProto(Required(proto.Frontier, "optional frontier"));

    private static ProtoPeekUuid ToProto(PeekUuid uuid) => new() { High = uuid.High, Low = uuid.Low };

    private static PeekUuid FromProto(ProtoPeekUuid proto) => new(proto.High, proto.Low);
}
