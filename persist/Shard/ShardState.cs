using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Persist.Shard;

/// <summary>
/// One columnar part of a batch: a pointer to it in Blob, or, for a small part, the encoded part itself
/// (<see cref="Inline"/>), carried in the shard state so that a small append costs no Blob write.
/// </summary>
/// <remarks>
/// An inline part still has a unique <see cref="Key"/> (never written to Blob): parts are told apart by key, so
/// equality ignores the inline bytes' identity and compares key, size, count and whether the part is inline.
/// </remarks>
public sealed record PartRef(string Key, long EncodedSizeBytes, long Updates)
{
    /// <summary>The encoded part (as <c>PartCodec</c> writes it) when it lives in the state; null when it lives in Blob under <see cref="Key"/>.</summary>
    public byte[]? Inline { get; init; }

    public bool IsInline => Inline is not null;

    public bool Equals(PartRef? other) =>
        other is not null && string.Equals(Key, other.Key, StringComparison.Ordinal) && EncodedSizeBytes == other.EncodedSizeBytes
        && Updates == other.Updates && IsInline == other.IsInline;

    // Size and count only: string hashes are randomized per process, and nothing observable may depend on them.
    public override int GetHashCode() => unchecked((int)EncodedSizeBytes * 31 + (int)Updates);
}

/// <summary>
/// The time interval a batch covers and how far its times have been advanced: the batch holds exactly the
/// shard's updates with times in [<see cref="Lower"/>, <see cref="Upper"/>), each time below
/// <see cref="Since"/> advanced to it.
/// </summary>
public readonly record struct BatchDescription(Frontier Lower, Frontier Upper, Frontier Since)
{
    public override string ToString() => $"[{Lower}, {Upper}) since {Since}";
}

/// <summary>A batch whose data lives in Blob: its description and its parts.</summary>
public sealed record HollowBatch(BatchDescription Description, ImmutableArray<PartRef> Parts)
{
    public long Updates
    {
        get
        {
            long total = 0;
            foreach (PartRef part in Parts)
            {
                total += part.Updates;
            }
            return total;
        }
    }

    public bool IsEmpty => Parts.IsEmpty;

    /// <summary>Same description and the same parts, in order: what a merge result checks before replacing inputs.</summary>
    public bool SameAs(HollowBatch other)
    {
        if (Description != other.Description || Parts.Length != other.Parts.Length)
        {
            return false;
        }
        for (int i = 0; i < Parts.Length; i++)
        {
            if (Parts[i] != other.Parts[i])
            {
                return false;
            }
        }
        return true;
    }
}

/// <summary>
/// A reader with a lease: it holds the shard's since at <see cref="Since"/> and holds GC back at
/// <see cref="SeqNoHold"/> (the oldest state whose blobs it may still fetch). Expired when its lease lapses.
/// </summary>
public sealed record LeasedReaderState(Frontier Since, ulong SeqNoHold, long LastHeartbeatMs, long LeaseDurationMs, string Purpose);

/// <summary>
/// A reader that never expires on its own: it holds the since and carries an opaque token (a controller's epoch)
/// that <c>compare_and_downgrade_since</c> checks, so a stale holder is fenced out. Holds no seqno.
/// </summary>
public sealed record CriticalReaderState(Frontier Since, ulong Opaque, string Purpose);

/// <summary>A writer: the token of its last committed write (for idempotent retries) and its lease.</summary>
public sealed record WriterState(IdempotencyToken LastToken, Frontier MostRecentWriteUpper, long LastHeartbeatMs, long LeaseDurationMs, string Purpose);

/// <summary>
/// One version of a shard's durable state, stored in Consensus at <see cref="SeqNo"/>. Immutable: transitions
/// (<see cref="StateTransitions"/>) return new states.
/// </summary>
/// <remarks>
/// Invariants, checked by <see cref="CheckInvariants"/> before every write and after every read:
/// <list type="bullet">
/// <item>batches tile [<see cref="Frontier.Minimum"/>, <see cref="Upper"/>): contiguous, each non-empty interval;
///   none at all once the shard is dropped (a tombstone);</item>
/// <item>every batch's since is at most the shard's since;</item>
/// <item>with readers, <see cref="Since"/> is the meet of their sinces; leased readers hold seqnos at most <see cref="SeqNo"/>;</item>
/// <item>across versions, since and upper never regress (checked by <see cref="CheckSuccessor"/>).</item>
/// </list>
/// </remarks>
public sealed record ShardState
{
    /// <summary>The seqno of a shard's first state.</summary>
    public const ulong InitialSeqNo = 1;

    public required ShardId Shard { get; init; }

    public required ulong SeqNo { get; init; }

    /// <summary>Wall time (ms since the Unix epoch) of the transition that wrote this state; for people, not for ordering.</summary>
    public required long WalltimeMs { get; init; }

    public required Frontier Since { get; init; }

    public required Frontier Upper { get; init; }

    /// <remarks>
    /// An array, not an <see cref="ImmutableList{T}"/>: merges keep a shard to a few dozen batches, so copying the
    /// references on an append costs less than a tree's insertion, and the walks every append makes (inline bytes,
    /// merge planning, invariants) run over contiguous memory (over the tree they took 8% of a loop committing to 32 shards).
    /// </remarks>
    public required ImmutableArray<HollowBatch> Batches { get; init; }

    public required ImmutableSortedDictionary<string, LeasedReaderState> LeasedReaders { get; init; }

    public required ImmutableSortedDictionary<string, CriticalReaderState> CriticalReaders { get; init; }

    public required ImmutableSortedDictionary<string, WriterState> Writers { get; init; }

    /// <summary>Full-state copies in Blob: seqno → key.</summary>
    public required ImmutableSortedDictionary<ulong, string> Rollups { get; init; }

    /// <summary>The seqno below which the last garbage collection truncated Consensus.</summary>
    public required ulong LastGcSeqNo { get; init; }

    public static ShardState Initial(ShardId shard, long walltimeMs) => new()
    {
        Shard = shard,
        SeqNo = InitialSeqNo,
        WalltimeMs = walltimeMs,
        Since = Frontier.Minimum,
        Upper = Frontier.Minimum,
        Batches = [],
        LeasedReaders = ImmutableSortedDictionary.Create<string, LeasedReaderState>(StringComparer.Ordinal),
        CriticalReaders = ImmutableSortedDictionary.Create<string, CriticalReaderState>(StringComparer.Ordinal),
        Writers = ImmutableSortedDictionary.Create<string, WriterState>(StringComparer.Ordinal),
        Rollups = ImmutableSortedDictionary<ulong, string>.Empty,
        LastGcSeqNo = 0,
    };

    /// <summary>Dropped: since and upper empty, nothing held. Every operation on it is a no-op or an error.</summary>
    public bool IsTombstone => Since.IsEmpty && Upper.IsEmpty && Batches.IsEmpty && LeasedReaders.IsEmpty && CriticalReaders.IsEmpty && Writers.IsEmpty;

    /// <summary>The oldest seqno any leased reader may still read blobs from: GC keeps everything live at or above it.</summary>
    public ulong SeqNoSince
    {
        get
        {
            ulong since = SeqNo;
            foreach (LeasedReaderState reader in LeasedReaders.Values)
            {
                since = Math.Min(since, reader.SeqNoHold);
            }
            return since;
        }
    }

    /// <summary>Every blob key this state references: parts in Blob (not inline ones) and rollups.</summary>
    public IEnumerable<string> ReferencedBlobKeys()
    {
        foreach (HollowBatch batch in Batches)
        {
            foreach (PartRef part in batch.Parts)
            {
                if (!part.IsInline)
                {
                    yield return part.Key;
                }
            }
        }
        foreach (string rollup in Rollups.Values)
        {
            yield return rollup;
        }
    }

    /// <summary>The bytes of every inline part: what small appends add to each state version until compaction moves them to Blob.</summary>
    public long InlineBytes()
    {
        long total = 0;
        foreach (HollowBatch batch in Batches)
        {
            foreach (PartRef part in batch.Parts)
            {
                total += part.Inline?.Length ?? 0;
            }
        }
        return total;
    }

    /// <summary>The meet of every reader's since, or null with no readers.</summary>
    public Frontier? ReaderSinceMeet()
    {
        Frontier? meet = null;
        foreach (LeasedReaderState reader in LeasedReaders.Values)
        {
            meet = meet is Frontier m ? Frontier.Meet(m, reader.Since) : reader.Since;
        }
        foreach (CriticalReaderState reader in CriticalReaders.Values)
        {
            meet = meet is Frontier m ? Frontier.Meet(m, reader.Since) : reader.Since;
        }
        return meet;
    }

    /// <summary>Null when every invariant holds, else the first one broken.</summary>
    public string? CheckInvariants()
    {
        Frontier expectedLower = Frontier.Minimum;
        if (Since.IsEmpty != Upper.IsEmpty && Since.IsEmpty)
        {
            return $"{Shard} v{SeqNo}: since is empty but upper {Upper} is not";
        }
        if (Since.IsEmpty && Upper.IsEmpty)
        {
            if (!Batches.IsEmpty)
            {
                return $"{Shard} v{SeqNo}: a dropped shard still has {Batches.Length} batches";
            }
        }
        else
        {
            foreach (HollowBatch batch in Batches)
            {
                BatchDescription d = batch.Description;
                if (d.Lower != expectedLower)
                {
                    return $"{Shard} v{SeqNo}: batch {d} does not start at {expectedLower}";
                }
                if (d.Lower >= d.Upper)
                {
                    return $"{Shard} v{SeqNo}: batch {d} covers no time";
                }
                if (d.Since > Since)
                {
                    return $"{Shard} v{SeqNo}: batch {d} is compacted past the shard's since {Since}";
                }
                expectedLower = d.Upper;
            }
            if (expectedLower != Upper)
            {
                return $"{Shard} v{SeqNo}: batches end at {expectedLower}, not at the upper {Upper}";
            }
        }
        if (ReaderSinceMeet() is Frontier meet && meet != Since && !(Since.IsEmpty && Upper.IsEmpty))
        {
            return $"{Shard} v{SeqNo}: since {Since} is not the meet {meet} of the readers' sinces";
        }
        foreach ((string id, LeasedReaderState reader) in LeasedReaders)
        {
            if (reader.SeqNoHold > SeqNo)
            {
                return $"{Shard} v{SeqNo}: reader {id} holds future seqno {reader.SeqNoHold}";
            }
        }
        return null;
    }

    /// <summary>Null when <paramref name="next"/> may follow this state, else why not.</summary>
    public string? CheckSuccessor(ShardState next)
    {
        if (next.Shard != Shard)
        {
            return $"state of {next.Shard} follows state of {Shard}";
        }
        if (next.SeqNo != SeqNo + 1)
        {
            return $"{Shard}: v{next.SeqNo} follows v{SeqNo}";
        }
        if (next.Since < Since)
        {
            return $"{Shard} v{next.SeqNo}: since regressed from {Since} to {next.Since}";
        }
        if (next.Upper < Upper)
        {
            return $"{Shard} v{next.SeqNo}: upper regressed from {Upper} to {next.Upper}";
        }
        return next.CheckInvariants();
    }
}
