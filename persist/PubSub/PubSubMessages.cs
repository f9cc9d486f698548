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
}

/// <summary>
/// The pubsub wire format, one framed message each: kind (1 byte), seqno (8 bytes big-endian), shard id (UTF-8).
/// </summary>
internal static class PubSubMessages
{
    public const int ShardBytesMax = 64;

    public static byte[] Encode(PubSubKind kind, ShardId shard, ulong seqNo)
    {
        byte[] frame = new byte[9 + System.Text.Encoding.UTF8.GetByteCount(shard.Value)];
        frame[0] = (byte)kind;
        BinaryPrimitives.WriteUInt64BigEndian(frame.AsSpan(1, 8), seqNo);
        System.Text.Encoding.UTF8.GetBytes(shard.Value, frame.AsSpan(9));
        return frame;
    }

    /// <summary>False for anything that is not a well-formed message.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, out PubSubKind kind, out ShardId shard, out ulong seqNo)
    {
        kind = default;
        shard = default;
        seqNo = 0;
        if (frame.Length < 10 || frame.Length > 9 + ShardBytesMax || frame[0] is not ((byte)PubSubKind.Subscribe or (byte)PubSubKind.Publish))
        {
            return false;
        }
        kind = (PubSubKind)frame[0];
        seqNo = BinaryPrimitives.ReadUInt64BigEndian(frame.Slice(1, 8));
        string text;
        try
        {
            text = new System.Text.UTF8Encoding(false, true).GetString(frame[9..]);
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
