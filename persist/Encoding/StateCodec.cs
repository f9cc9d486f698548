using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Google.Protobuf;
using Kernel.Persist.Data;
using Kernel.Persist.Encoding.Proto;
using Kernel.Persist.Native;
using Kernel.Persist.Shard;

namespace Kernel.Persist.Encoding;

/// <summary>
/// The durable form of a <see cref="ShardState"/>, used for Consensus versions and Blob rollups alike: the
/// protobuf message <c>ProtoShardState</c> (Encoding/Proto/persist.proto) in a small checksummed envelope.
/// </summary>
/// <remarks>
/// Envelope, little-endian: <c>u32 magic "KPS1" | u8 format (1) | u8 compression (0 none, 1 zstd) | u16 reserved |
/// u32 protobuf bytes | payload | u64 xxHash64 of everything before</c>. States above
/// <see cref="CompressAboveBytes"/> are compressed. Decoding checks the envelope, the checksum, the protobuf, and
/// the state's own invariants; any failure is an error naming what was decoded.
/// </remarks>
public sealed class StateCodec
{
    public const int CompressAboveBytes = 4096;
    private const uint Magic = 0x3153504B; // "KPS1" little-endian
    private const byte FormatVersion = 1;
    private const int HeaderBytes = 4 + 1 + 1 + 2 + 4;
    private const int TrailerBytes = 8;
    private const int StateBytesMax = 256 * 1024 * 1024;

    private readonly ICompressor _compressor;
    private readonly IChecksum _checksum;

    public StateCodec(ICompressor compressor, IChecksum checksum)
    {
        _compressor = compressor;
        _checksum = checksum;
    }

    public static StateCodec Default { get; } = new(ZstdCompressor.Shared, XxHash64Checksum.Shared);

    public byte[] Encode(ShardState state)
    {
        byte[] proto = ToProto(state).ToByteArray();
        bool compress = proto.Length > CompressAboveBytes;
        byte[] payload = compress ? _compressor.Compress(proto) : proto;
        var writer = new ByteWriter(HeaderBytes + payload.Length + TrailerBytes);
        writer.WriteUInt32(Magic);
        writer.WriteByte(FormatVersion);
        writer.WriteByte(compress ? (byte)1 : (byte)0);
        writer.WriteByte(0);
        writer.WriteByte(0);
        writer.WriteUInt32((uint)proto.Length);
        writer.WriteBytes(payload);
        writer.WriteUInt64(_checksum.Hash(writer.WrittenSpan));
        return writer.ToArray();
    }

    /// <summary>The state, or null and a reason that starts with <paramref name="what"/> (a consensus key and seqno, or a rollup's blob key).</summary>
    public ShardState? Decode(string what, ReadOnlySpan<byte> encoded, out string error)
    {
        string Fail(string why) => $"{what} is corrupt: {why}";
        if (encoded.Length < HeaderBytes + TrailerBytes)
        {
            error = Fail($"{encoded.Length} bytes is shorter than a state header");
            return null;
        }
        var header = new ByteReader(encoded[..HeaderBytes]);
        uint magic = header.ReadUInt32();
        byte format = header.ReadByte();
        byte compression = header.ReadByte();
        header.ReadBytes(2);
        uint protoBytes = header.ReadUInt32();
        if (magic != Magic)
        {
            error = Fail("bad magic number");
            return null;
        }
        int bodyBytes = encoded.Length - TrailerBytes;
        if (_checksum.Hash(encoded[..bodyBytes]) != System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(encoded[bodyBytes..]))
        {
            error = Fail("checksum mismatch (truncated or damaged)");
            return null;
        }
        if (format != FormatVersion || compression > 1 || protoBytes > StateBytesMax)
        {
            error = Fail($"unknown format {format}, compression {compression} or size {protoBytes}");
            return null;
        }
        ReadOnlySpan<byte> payload = encoded[HeaderBytes..bodyBytes];
        byte[] proto;
        if (compression == 1)
        {
            if (!_compressor.TryDecompress(payload, (int)protoBytes, out proto, out string decompressError))
            {
                error = Fail(decompressError);
                return null;
            }
        }
        else
        {
            if (payload.Length != protoBytes)
            {
                error = Fail($"the header promises {protoBytes} bytes but {payload.Length} follow");
                return null;
            }
            proto = payload.ToArray();
        }
        ProtoShardState message;
        try
        {
            message = ProtoShardState.Parser.ParseFrom(proto);
        }
        catch (InvalidProtocolBufferException exception)
        {
            error = Fail("protobuf: " + exception.Message);
            return null;
        }
        ShardState? state = FromProto(message, out string shapeError);
        if (state is null)
        {
            error = Fail(shapeError);
            return null;
        }
        if (state.CheckInvariants() is string broken)
        {
            error = Fail("invariant broken: " + broken);
            return null;
        }
        error = "";
        return state;
    }

    private static ProtoShardState ToProto(ShardState state)
    {
        var message = new ProtoShardState
        {
            FormatVersion = FormatVersion,
            ShardId = state.Shard.Value,
            Seqno = state.SeqNo,
            WalltimeMs = (ulong)state.WalltimeMs,
            Since = ToProto(state.Since),
            Upper = ToProto(state.Upper),
            LastGcSeqno = state.LastGcSeqNo,
        };
        foreach (HollowBatch batch in state.Batches)
        {
            var proto = new ProtoBatch
            {
                Lower = ToProto(batch.Description.Lower),
                Upper = ToProto(batch.Description.Upper),
                Since = ToProto(batch.Description.Since),
            };
            foreach (PartRef part in batch.Parts)
            {
                var partProto = new ProtoPartRef { Key = part.Key, EncodedSizeBytes = (ulong)part.EncodedSizeBytes, Updates = (ulong)part.Updates };
                if (part.Inline is byte[] inline)
                {
                    partProto.Inline = Google.Protobuf.ByteString.CopyFrom(inline);
                }
                proto.Parts.Add(partProto);
            }
            message.Batches.Add(proto);
        }
        foreach ((string id, LeasedReaderState reader) in state.LeasedReaders)
        {
            message.LeasedReaders.Add(new ProtoLeasedReader
            {
                Id = id,
                Since = ToProto(reader.Since),
                SeqnoHold = reader.SeqNoHold,
                LastHeartbeatMs = (ulong)reader.LastHeartbeatMs,
                LeaseDurationMs = (ulong)reader.LeaseDurationMs,
                Purpose = reader.Purpose,
            });
        }
        foreach ((string id, CriticalReaderState reader) in state.CriticalReaders)
        {
            message.CriticalReaders.Add(new ProtoCriticalReader { Id = id, Since = ToProto(reader.Since), Opaque = reader.Opaque, Purpose = reader.Purpose });
        }
        foreach ((string id, WriterState writer) in state.Writers)
        {
            message.Writers.Add(new ProtoWriter
            {
                Id = id,
                TokenHigh = writer.LastToken.High,
                TokenLow = writer.LastToken.Low,
                MostRecentWriteUpper = ToProto(writer.MostRecentWriteUpper),
                LastHeartbeatMs = (ulong)writer.LastHeartbeatMs,
                LeaseDurationMs = (ulong)writer.LeaseDurationMs,
                Purpose = writer.Purpose,
            });
        }
        foreach ((ulong seqno, string key) in state.Rollups)
        {
            message.Rollups.Add(new ProtoRollup { Seqno = seqno, Key = key });
        }
        return message;
    }

    private static ShardState? FromProto(ProtoShardState message, out string error)
    {
        if (message.FormatVersion != FormatVersion)
        {
            error = $"state format {message.FormatVersion} is not {FormatVersion}";
            return null;
        }
        if (message.Since is null || message.Upper is null)
        {
            error = "since or upper is missing";
            return null;
        }
        ImmutableList<HollowBatch>.Builder batches = ImmutableList.CreateBuilder<HollowBatch>();
        foreach (ProtoBatch batch in message.Batches)
        {
            if (batch.Lower is null || batch.Upper is null || batch.Since is null)
            {
                error = "a batch description is missing a frontier";
                return null;
            }
            ImmutableArray<PartRef>.Builder parts = ImmutableArray.CreateBuilder<PartRef>(batch.Parts.Count);
            foreach (ProtoPartRef part in batch.Parts)
            {
                byte[]? inline = part.HasInline ? part.Inline.ToByteArray() : null;
                if (inline is not null && inline.LongLength != (long)part.EncodedSizeBytes)
                {
                    error = $"inline part '{part.Key}' holds {inline.Length} bytes, its reference says {part.EncodedSizeBytes}";
                    return null;
                }
                parts.Add(new PartRef(part.Key, (long)part.EncodedSizeBytes, (long)part.Updates) { Inline = inline });
            }
            batches.Add(new HollowBatch(new BatchDescription(FromProto(batch.Lower), FromProto(batch.Upper), FromProto(batch.Since)), parts.MoveToImmutable()));
        }
        ImmutableSortedDictionary<string, LeasedReaderState>.Builder leased = ImmutableSortedDictionary.CreateBuilder<string, LeasedReaderState>(StringComparer.Ordinal);
        foreach (ProtoLeasedReader reader in message.LeasedReaders)
        {
            if (reader.Since is null || !leased.TryAdd(reader.Id, new LeasedReaderState(FromProto(reader.Since), reader.SeqnoHold, (long)reader.LastHeartbeatMs, (long)reader.LeaseDurationMs, reader.Purpose)))
            {
                error = $"leased reader '{reader.Id}' is malformed or repeated";
                return null;
            }
        }
        ImmutableSortedDictionary<string, CriticalReaderState>.Builder critical = ImmutableSortedDictionary.CreateBuilder<string, CriticalReaderState>(StringComparer.Ordinal);
        foreach (ProtoCriticalReader reader in message.CriticalReaders)
        {
            if (reader.Since is null || !critical.TryAdd(reader.Id, new CriticalReaderState(FromProto(reader.Since), reader.Opaque, reader.Purpose)))
            {
                error = $"critical reader '{reader.Id}' is malformed or repeated";
                return null;
            }
        }
        ImmutableSortedDictionary<string, WriterState>.Builder writers = ImmutableSortedDictionary.CreateBuilder<string, WriterState>(StringComparer.Ordinal);
        foreach (ProtoWriter writer in message.Writers)
        {
            var state = new WriterState(
                new IdempotencyToken(writer.TokenHigh, writer.TokenLow),
                writer.MostRecentWriteUpper is null ? Frontier.Minimum : FromProto(writer.MostRecentWriteUpper),
                (long)writer.LastHeartbeatMs,
                (long)writer.LeaseDurationMs,
                writer.Purpose);
            if (!writers.TryAdd(writer.Id, state))
            {
                error = $"writer '{writer.Id}' is repeated";
                return null;
            }
        }
        ImmutableSortedDictionary<ulong, string>.Builder rollups = ImmutableSortedDictionary.CreateBuilder<ulong, string>();
        foreach (ProtoRollup rollup in message.Rollups)
        {
            if (!rollups.TryAdd(rollup.Seqno, rollup.Key))
            {
                error = $"rollup at seqno {rollup.Seqno} is repeated";
                return null;
            }
        }
        error = "";
        return new ShardState
        {
            Shard = new ShardId(message.ShardId),
            SeqNo = message.Seqno,
            WalltimeMs = (long)message.WalltimeMs,
            Since = FromProto(message.Since),
            Upper = FromProto(message.Upper),
            Batches = batches.ToImmutable(),
            LeasedReaders = leased.ToImmutable(),
            CriticalReaders = critical.ToImmutable(),
            Writers = writers.ToImmutable(),
            Rollups = rollups.ToImmutable(),
            LastGcSeqNo = message.LastGcSeqno,
        };
    }

    private static ProtoFrontier ToProto(Frontier frontier) =>
        frontier.IsEmpty ? new ProtoFrontier { Empty = true } : new ProtoFrontier { Time = frontier.Time };

    private static Frontier FromProto(ProtoFrontier frontier) => frontier.Empty ? Frontier.Empty : Frontier.At(frontier.Time);
}
