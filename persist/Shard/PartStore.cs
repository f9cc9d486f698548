using System;
using System.Collections.Generic;
using System.Collections.Immutable;
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
        PersistContext context, ShardId shard, string writer, List<Update> updates, CancellationToken cancellationToken, int inlineBytesMax = 0)
    {
        ImmutableArray<PartRef>.Builder parts = ImmutableArray.CreateBuilder<PartRef>();
        int partMax = Math.Max(1, context.Config.PartUpdatesMax);
        for (int start = 0; start < updates.Count; start += partMax)
        {
            List<Update> chunk = updates.GetRange(start, Math.Min(partMax, updates.Count - start));
            // The rented buffer goes back to the pool once Blob has the bytes (every backend copies or writes them out
            // before its set completes); an inline part is copied out of it to live in the state.
            using EncodedPart encoded = context.Parts.EncodeRented(chunk);
            string key = PartKey(shard, writer, context.NewId(""));
            if (chunk.Count == updates.Count && encoded.Length <= inlineBytesMax)
            {
                parts.Add(new PartRef(key, encoded.Length, chunk.Count) { Inline = encoded.ToArray() });
                continue;
            }
            PersistResult<bool> set = await SetAsync(context, key, encoded.Memory, cancellationToken);
            if (!set.IsOk)
            {
                await DeleteAllAsync(context, parts, cancellationToken);
                return set.Error!;
            }
            parts.Add(new PartRef(key, encoded.Length, chunk.Count));
        }
        return parts.ToImmutable();
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
        byte[] encoded;
        if (part.Inline is byte[] inline)
        {
            encoded = inline;
        }
        else
        {
            PersistResult<byte[]> bytes = await GetAsync(context, part.Key, cancellationToken);
            if (!bytes.IsOk)
            {
                return bytes.Error!;
            }
            encoded = bytes.Value!;
        }
        List<Update>? updates = context.Parts.Decode(part.Key, encoded, out string error);
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
