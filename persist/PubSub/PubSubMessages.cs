using System;
using System.Buffers.Binary;
using Kernel.Persist.Shard;

namespace Kernel.Persist.PubSub;

/// <summary>What a pubsub frame says.</summary>
internal enum PubSubKind : byte
{
    /// <summary>Client to server: send me announcements for this shard.</summary>
    Subscribe = 1,

    /// <summary>Client to server: I committed this seqno; server to client: someone did.</summary>
    Publish = 2,

    /// <summary>As <see cref="Publish"/>, carrying the committed version's bytes as written to Consensus.</summary>
    PublishState = 3,
}

/// <summary>
/// The pubsub wire format, one framed message each: kind (1 byte), seqno (8 bytes big-endian), shard id (UTF-8).
/// <see cref="PubSubKind.PublishState"/> puts the shard id's length (1 byte) before it and the version's bytes after.
/// </summary>
internal static class PubSubMessages
{
    public const int ShardBytesMax = 64;

    /// <summary>Versions larger than this are announced without their bytes (listeners then read Consensus).</summary>
    public const int PushedBytesMax = 64 * 1024;

    /// <summary>A <see cref="PubSubKind.PublishState"/> frame for <paramref name="version"/>, or a plain announcement when it is too large.</summary>
    public static byte[] EncodePublish(ShardId shard, ulong seqNo, byte[]? version)
    {
        int shardBytes = System.Text.Encoding.UTF8.GetByteCount(shard.Value);
        if (version is null || version.Length > PushedBytesMax || shardBytes > ShardBytesMax)
        {
            return Encode(PubSubKind.Publish, shard, seqNo);
        }
        byte[] frame = new byte[10 + shardBytes + version.Length];
        frame[0] = (byte)PubSubKind.PublishState;
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(1, 8), seqNo);
        frame[9] = (byte)shardBytes;
        System.Text.Encoding.UTF8.GetBytes(shard.Value, frame.AsSpan(10));
        version.CopyTo(frame.AsSpan(10 + shardBytes));
        return frame;
    }

    public static byte[] Encode(PubSubKind kind, ShardId shard, ulong seqNo)
    {
        byte[] frame = new byte[9 + System.Text.Encoding.UTF8.GetByteCount(shard.Value)];
        frame[0] = (byte)kind;
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(1, 8), seqNo);
        System.Text.Encoding.UTF8.GetBytes(shard.Value, frame.AsSpan(9));
        return frame;
    }

    /// <summary>
    /// False for anything that is not a well-formed message. <paramref name="version"/> gets the bytes a
    /// <see cref="PubSubKind.PublishState"/> carries (null for the other kinds).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out PubSubKind kind, out ShardId shard, out ulong seqNo, out byte[]? version)
    {
        kind = default;
        shard = default;
        seqNo = 0;
        version = null;
        if (frame.Length < 10 || frame[0] is not ((byte)PubSubKind.Subscribe or (byte)PubSubKind.Publish or (byte)PubSubKind.PublishState))
        {
            return false;
        }
        kind = (PubSubKind)frame[0];
        seqNo = BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(1, 8));
        ReadOnlySpan<byte> shardBytes = frame[9..];
        if (kind == PubSubKind.PublishState)
        {
            int length = frame[9];
            // A state frame carries at least one byte of version.
            if (length == 0 || length > ShardBytesMax || frame.Length < 11 + length || frame.Length > 10 + length + PushedBytesMax)
            {
                return false;
            }
            shardBytes = frame.Slice(10, length);
            version = frame[(10 + length)..].ToArray();
        }
        else if (frame.Length > 9 + ShardBytesMax)
        {
            return false;
        }
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, true).GetString(shardBytes);
        }
        catch (ArgumentException)
        {
            return false;
        }
        if (!ShardId.TryParse(text, out shard, out _))
        {
            return false;
        }
        return true;
    }
}
