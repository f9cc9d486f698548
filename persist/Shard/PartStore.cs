using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;
using Kernel.Persist.Encoding;
using Kernel.Persist.Location;

namespace Kernel.Persist.Shard;

/// <summary>Writes, fetches and deletes batch parts in Blob, with retries and the error classes of <see cref="PersistError"/>.</summary>
internal static class PartStore
{
    /// <summary>The most updates a fetch allocates room for up front, whatever the state's references say.</summary>
    private const long PresizeUpdatesMax = 1 << 20;

    public static string PartKey(ShardId shard, string writer, string id) => $"{shard}/p/{writer}/{id}";

    public static string RollupKey(ShardId shard, ulong seqno) => $"{shard}/r/{seqno:D20}";

    /// <summary>The prefix of every blob a shard owns.</summary>
    public static string ShardPrefix(ShardId shard) => shard.Value + "/";

    /// <summary>
    /// Consolidated <paramref name="updates"/> as parts of at most <see cref="PersistConfig.PartUpdatesMax"/> updates
    /// each. With <paramref name="inlineBytesMax"/> above zero, a batch that encodes to one part of at most that many
    /// bytes is returned inline (in the reference, for the state to carry) and nothing is written to Blob.
    /// </summary>
    public static async Task<PersistResult<ImmutableArray<PartRef>>> WriteAsync(
        PersistContext context, ShardId shard, string writer, List<Update> updates, CancellationToken cancellationToken, int inlineBytesMax = 0) =>
        await WriteEncodedAsync(context, shard, writer, Encode(context.Parts, updates, context.Config.PartUpdatesMax), cancellationToken, inlineBytesMax);

    /// <summary>
    /// Consolidated <paramref name="updates"/> encoded as parts of at most <paramref name="partUpdatesMax"/> updates
    /// each, in rented buffers (<see cref="WriteEncodedAsync"/> returns them). Pure, so it may run off the loop
    /// (<see cref="PersistContext.Compute"/>).
    /// </summary>
    public static List<(EncodedPart Part, int Updates)> Encode(PartCodec codec, List<Update> updates, int partUpdatesMax)
    {
        int partMax = Math.Max(1, partUpdatesMax);
        var encoded = new List<(EncodedPart, int)>(Math.Max(1, (updates.Count + partMax - 1) / partMax));
        ReadOnlySpan<Update> all = CollectionsMarshal.AsSpan(updates);
        for (int start = 0; start < all.Length; start += partMax)
        {
            ReadOnlySpan<Update> chunk = all.Slice(start, Math.Min(partMax, all.Length - start));
            encoded.Add((codec.EncodeRented(chunk), chunk.Length));
        }
        return encoded;
    }

    /// <summary>
    /// Writes parts encoded by <see cref="Encode"/> and disposes them: a single part of at most
    /// <paramref name="inlineBytesMax"/> bytes is returned inline and nothing is written.
    /// </summary>
    public static async Task<PersistResult<ImmutableArray<PartRef>>> WriteEncodedAsync(
        PersistContext context, ShardId shard, string writer, List<(EncodedPart Part, int Updates)> encoded, CancellationToken cancellationToken, int inlineBytesMax = 0)
    {
        try
        {
            ImmutableArray<PartRef>.Builder parts = ImmutableArray.CreateBuilder<PartRef>(encoded.Count);
            foreach ((EncodedPart part, int updates) in encoded)
            {
                PersistResult<bool> written = await WriteOneAsync(context, shard, writer, part, updates, inline: encoded.Count == 1 && part.Length <= inlineBytesMax, parts, cancellationToken);
                if (!written.IsOk)
                {
                    return written.Error!;
                }
            }
            return parts.ToImmutable();
        }
        finally
        {
            // The rented buffers go back to the pool once Blob has the bytes (every backend copies or writes them out
            // before its set completes); an inline part was copied out to live in the state.
            foreach ((EncodedPart part, _) in encoded)
            {
                part.Dispose();
            }
        }
    }

    /// <summary>Adds one encoded part to <paramref name="parts"/>, inline or written to Blob; on failure deletes what <paramref name="parts"/> wrote.</summary>
    private static async Task<PersistResult<bool>> WriteOneAsync(
        PersistContext context, ShardId shard, string writer, EncodedPart encoded, int updates, bool inline, ImmutableArray<PartRef>.Builder parts, CancellationToken cancellationToken)
    {
        string key = PartKey(shard, writer, context.NewId(""));
        if (inline)
        {
            parts.Add(new PartRef(key, encoded.Length, updates) { Inline = encoded.ToArray() });
            return true;
        }
        PersistResult<bool> set = await SetAsync(context, key, encoded.Memory, cancellationToken);
        if (!set.IsOk)
        {
            await DeleteAllAsync(context, parts, cancellationToken);
            return set.Error!;
        }
        parts.Add(new PartRef(key, encoded.Length, updates));
        return true;
    }

    /// <summary>Sets a blob, retrying; a set is idempotent for a fixed key and value, so indeterminate errors retry safely.</summary>
    public static async Task<PersistResult<bool>> SetAsync(PersistContext context, string key, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        LocationError? last = null;
        for (int attempt = 0; attempt < context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await context.BackoffAsync(attempt, cancellationToken);
            }
            LocationResult set = await context.Blob.SetAsync(key, value);
            if (set.IsOk)
            {
                return true;
            }
            last = set.Error;
        }
        return PersistError.From(last!, $"writing blob '{key}'");
    }

    /// <summary>The bytes of a blob that must exist; a missing one is <see cref="PersistErrorKind.BlobMissing"/>.</summary>
    public static async Task<PersistResult<byte[]>> GetAsync(PersistContext context, string key, CancellationToken cancellationToken)
    {
        LocationError? last = null;
        for (int attempt = 0; attempt < context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await context.BackoffAsync(attempt, cancellationToken);
            }
            LocationResult<byte[]?> got = await context.Blob.GetAsync(key);
            if (got.IsOk)
            {
                return got.Value is byte[] value
                    ? value
                    : new PersistError(PersistErrorKind.BlobMissing, $"blob '{key}' is referenced but missing");
            }
            last = got.Error;
        }
        return PersistError.From(last!, $"reading blob '{key}'");
    }

    public static async Task<PersistResult<List<Update>>> FetchAsync(PersistContext context, PartRef part, CancellationToken cancellationToken)
    {
        PersistResult<byte[]> encoded = await FetchEncodedAsync(context, part, cancellationToken);
        return encoded.IsOk ? Decode(context.Parts, part, encoded.Value!) : encoded.Error!;
    }

    /// <summary>A part's encoded bytes: its inline bytes, or its blob.</summary>
    public static async Task<PersistResult<byte[]>> FetchEncodedAsync(PersistContext context, PartRef part, CancellationToken cancellationToken) =>
        part.Inline is byte[] inline ? PersistResult<byte[]>.Ok(inline) : await GetAsync(context, part.Key, cancellationToken);

    /// <summary>The updates of a fetched part, checked against its reference. Pure, so it may run off the loop.</summary>
    public static PersistResult<List<Update>> Decode(PartCodec codec, PartRef part, byte[] encoded)
    {
        List<Update>? updates = codec.Decode(part.Key, encoded, out string error);
        if (updates is null)
        {
            return new PersistError(PersistErrorKind.Corrupt, error);
        }
        if (updates.Count != part.Updates)
        {
            return new PersistError(PersistErrorKind.Corrupt, $"blob part '{part.Key}' is corrupt: it holds {updates.Count} updates, the state says {part.Updates}");
        }
        return updates;
    }

    /// <summary>Every update of <paramref name="batches"/> that passes <paramref name="keep"/>, not consolidated.</summary>
    public static async Task<PersistResult<List<Update>>> FetchBatchesAsync(
        PersistContext context, IReadOnlyList<HollowBatch> batches, Func<Update, bool> keep, CancellationToken cancellationToken)
    {
        // Sized for every update the references promise (bounded: a damaged state cannot make it allocate much).
        long promised = 0;
        foreach (HollowBatch batch in batches)
        {
            foreach (PartRef part in batch.Parts)
            {
                promised = Math.Min(PresizeUpdatesMax, promised + Math.Clamp(part.Updates, 0, PresizeUpdatesMax));
            }
        }
        var result = new List<Update>((int)promised);
        foreach (HollowBatch batch in batches)
        {
            foreach (PartRef part in batch.Parts)
            {
                PersistResult<List<Update>> fetched = await FetchAsync(context, part, cancellationToken);
                if (!fetched.IsOk)
                {
                    return fetched.Error!;
                }
                foreach (Update update in fetched.Value!)
                {
                    if (keep(update))
                    {
                        result.Add(update);
                    }
                }
            }
        }
        return result;
    }

    /// <summary>Deletes the Blob parts among <paramref name="parts"/> (inline ones have nothing in Blob); best effort.</summary>
    public static async Task DeleteAllAsync(PersistContext context, IEnumerable<PartRef> parts, CancellationToken cancellationToken)
    {
        foreach (PartRef part in parts)
        {
            if (!part.IsInline)
            {
                await DeleteAsync(context, part.Key, cancellationToken);
            }
        }
    }

    /// <summary>Deletes a blob, retrying; best effort (an orphan blob is litter, never wrong data).</summary>
    public static async Task<bool> DeleteAsync(PersistContext context, string key, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await context.BackoffAsync(attempt, cancellationToken);
            }
            LocationResult<long?> deleted = await context.Blob.DeleteAsync(key);
            if (deleted.IsOk)
            {
                return true;
            }
        }
        return false;
    }
}
