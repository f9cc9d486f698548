using System;
using System.Buffers;
using System.Buffers.Binary;
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

    /// <summary>A complete version: every field and every batch (Consensus versions that start a chain, and rollups).</summary>
    public byte[] Encode(ShardState state) => Seal(ToProto(state, state.Batches, 0, state.Batches.Length));

    /// <summary>
    /// An incremental version of <paramref name="state"/>: only the batches that differ from
    /// <paramref name="predecessor"/> (the version at seqno - 1), the unchanged ones being named by how many
    /// lead and trail; every other field is complete. Appends and merges change a short run of batches, so the
    /// version a commit writes stays small however many batches the shard holds.
    /// <paramref name="chainBase"/> is the complete version the predecessor's chain starts from.
    /// </summary>
    public byte[] EncodeIncremental(ShardState state, ShardState predecessor, ulong chainBase)
    {
        ImmutableArray<HollowBatch> before = predecessor.Batches;
        ImmutableArray<HollowBatch> after = state.Batches;
        int keptBefore = 0;
        while (keptBefore < before.Length && keptBefore < after.Length && SameBatch(before[keptBefore], after[keptBefore]))
        {
            keptBefore++;
        }
        int keptAfter = 0;
        while (keptAfter < before.Length - keptBefore && keptAfter < after.Length - keptBefore
            && SameBatch(before[before.Length - 1 - keptAfter], after[after.Length - 1 - keptAfter]))
        {
            keptAfter++;
        }
        ProtoShardState message = ToProto(state, after, keptBefore, after.Length - keptAfter);
        message.ChainBaseSeqno = chainBase;
        message.BatchesKeptBefore = (uint)keptBefore;
        message.BatchesKeptAfter = (uint)keptAfter;
        message.PredecessorBatches = (uint)before.Length;
        return Seal(message);

        static bool SameBatch(HollowBatch a, HollowBatch b) => ReferenceEquals(a, b) || a.SameAs(b);
    }

    /// <summary>
    /// The sealed bytes of <paramref name="message"/>: header, the protobuf (compressed above
    /// <see cref="CompressAboveBytes"/>), xxHash64 of both. Serialized straight into the result (or, when compressed,
    /// into a pooled buffer): this runs for every state a commit writes.
    /// </summary>
    private byte[] Seal(ProtoShardState message)
    {
        int protoLength = message.CalculateSize();
        if (protoLength <= CompressAboveBytes)
        {
            byte[] plain = new byte[HeaderBytes + protoLength + TrailerBytes];
            message.WriteTo(plain.AsSpan(HeaderBytes, protoLength));
            return Finish(plain, compressed: false, protoLength, protoLength);
        }
        byte[] proto = ArrayPool<byte>.Shared.Rent(protoLength);
        byte[] scratch = ArrayPool<byte>.Shared.Rent(_compressor.CompressBound(protoLength));
        try
        {
            message.WriteTo(proto.AsSpan(0, protoLength));
            int payloadLength = _compressor.Compress(proto.AsSpan(0, protoLength), scratch);
            byte[] sealedBytes = new byte[HeaderBytes + payloadLength + TrailerBytes];
            scratch.AsSpan(0, payloadLength).CopyTo(sealedBytes.AsSpan(HeaderBytes));
            return Finish(sealedBytes, compressed: true, protoLength, payloadLength);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(proto);
            ArrayPool<byte>.Shared.Return(scratch);
        }
    }

    /// <summary>Writes the header and the trailing checksum around a payload already in place.</summary>
    private byte[] Finish(byte[] sealedBytes, bool compressed, int protoLength, int payloadLength)
    {
        Span<byte> header = sealedBytes.AsSpan(0, HeaderBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        header[4] = FormatVersion;
        header[5] = compressed ? (byte)1 : (byte)0;
        header[6] = 0;
        header[7] = 0;
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)protoLength);
        int bodyLength = HeaderBytes + payloadLength;
        BinaryPrimitives.WriteUInt64LittleEndian(sealedBytes.AsSpan(bodyLength), _checksum.Hash(sealedBytes.AsSpan(0, bodyLength)));
        return sealedBytes;
    }

    /// <summary>
    /// A complete state (a rollup, or a complete Consensus version), or null and a reason that starts with
    /// <paramref name="what"/> (a consensus key and seqno, or a rollup's blob key). An incremental version is
    /// an error here: it needs its predecessor (<see cref="DecodeVersion"/>).
    /// </summary>
    public ShardState? Decode(string what, ReadOnlySpan<byte> encoded, out string error) =>
        DecodeVersion(what, encoded, null, out _, out _, out error);

    /// <summary>
    /// A Consensus version: complete, or incremental and applied to <paramref name="predecessor"/>, which must be
    /// the version at seqno - 1. <paramref name="chainBase"/> is the complete version the chain leading here starts
    /// from (the version's own seqno when it is complete). Null with <paramref name="needsPredecessor"/> set: the
    /// version is incremental and <paramref name="predecessor"/> is not the version before it (decode the chain
    /// from <paramref name="chainBase"/>); null without it: the bytes are corrupt, as <paramref name="error"/> says.
    /// </summary>
    public ShardState? DecodeVersion(string what, ReadOnlySpan<byte> encoded, ShardState? predecessor, out ulong chainBase, out bool needsPredecessor, out string error)
    {
        chainBase = 0;
        needsPredecessor = false;
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
        byte[]? decompressed = null;
        if (compression == 1)
        {
            if (!_compressor.TryDecompress(payload, (int)protoBytes, out decompressed, out string decompressError))
            {
                error = Fail(decompressError);
                return null;
            }
        }
        else if (payload.Length != protoBytes)
        {
            error = Fail($"the header promises {protoBytes} bytes but {payload.Length} follow");
            return null;
        }
        ProtoShardState message;
        try
        {
            // An uncompressed payload is parsed where it lies, without a copy.
            message = decompressed is null ? ProtoShardState.Parser.ParseFrom(payload) : ProtoShardState.Parser.ParseFrom(decompressed);
        }
        catch (InvalidProtocolBufferException exception)
        {
            error = Fail("protobuf: " + exception.Message);
            return null;
        }
        if (message.ChainBaseSeqno == 0)
        {
            chainBase = message.Seqno;
        }
        else
        {
            chainBase = message.ChainBaseSeqno;
            if (message.ChainBaseSeqno >= message.Seqno)
            {
                error = Fail($"its chain starts at seqno {message.ChainBaseSeqno}, not before its own seqno {message.Seqno}");
                return null;
            }
            if (predecessor is null || predecessor.SeqNo + 1 != message.Seqno || predecessor.Shard.Value != message.ShardId)
            {
                needsPredecessor = true;
                error = $"{what} is incremental: it needs the version before it";
                return null;
            }
        }
        ShardState? state = FromProto(message, message.ChainBaseSeqno == 0 ? null : predecessor, out string shapeError);
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

    /// <summary>Every field of <paramref name="state"/>, with only <paramref name="batches"/>[from, to) as its batches.</summary>
    private static ProtoShardState ToProto(ShardState state, ImmutableArray<HollowBatch> batches, int from, int to)
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
        for (int i = from; i < to; i++)
        {
            HollowBatch batch = batches[i];
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

    /// <summary>The state <paramref name="message"/> holds; an incremental one takes its unchanged batches from <paramref name="predecessor"/>.</summary>
    private static ShardState? FromProto(ProtoShardState message, ShardState? predecessor, out string error)
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
        if (predecessor is not null)
        {
            int count = predecessor.Batches.Length;
            if (message.PredecessorBatches != count || (long)message.BatchesKeptBefore + message.BatchesKeptAfter > count)
            {
                error = $"it keeps {message.BatchesKeptBefore} + {message.BatchesKeptAfter} batches of a predecessor with {message.PredecessorBatches}, but the predecessor has {count}";
                return null;
            }
        }
        else if (message.BatchesKeptBefore != 0 || message.BatchesKeptAfter != 0)
        {
            error = "a complete version keeps batches of a predecessor";
            return null;
        }
        var changed = new List<HollowBatch>(message.Batches.Count);
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
            changed.Add(new HollowBatch(new BatchDescription(FromProto(batch.Lower), FromProto(batch.Upper), FromProto(batch.Since)), parts.MoveToImmutable()));
        }
        // An incremental version takes its predecessor's batches, with the ones it replaces swapped for its own.
        ImmutableArray<HollowBatch> batches = predecessor is null
            ? [.. changed]
            : predecessor.Batches
                .RemoveRange((int)message.BatchesKeptBefore, predecessor.Batches.Length - (int)message.BatchesKeptBefore - (int)message.BatchesKeptAfter)
                .InsertRange((int)message.BatchesKeptBefore, changed);
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
            Batches = batches,
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
