using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;
using Kernel.Persist.Encoding;

namespace Kernel.Persist.Shard;

/// <summary>
/// Performs <see cref="MergeRequest"/>s: physical compaction (adjacent batches become one) and logical
/// compaction (times advanced to the request's since, then consolidated: equal row and time summed, zeros
/// dropped). A read at any time at or beyond the since sees the same collection before and after.
/// </summary>
/// <remarks>
/// The result replaces its inputs only if they are all still in the shard, unchanged (another compaction or a
/// drop may have replaced them meanwhile); otherwise its freshly written parts are deleted and nothing changed.
/// The inputs' blobs are left to garbage collection, because readers holding older states may still read them.
/// </remarks>
public static class Compactor
{
    public const string WriterName = "compactor";

    /// <summary>
    /// Merges of at most this many encoded input bytes run on the caller's loop rather than <see cref="PersistContext.Compute"/>:
    /// a few inline batches, which cost less than the two thread hand-offs. Anything larger goes to Compute, even the
    /// merges of a shard's deferred inline batches (several KiB): a loop committing to many shards is the process's bottleneck,
    /// and such a merge is a few hundred microseconds of its CPU.
    /// </summary>
    public const int InlineMergeBytesMax = 4 * 1024;

    /// <summary>True when the merge was applied; false when its inputs were gone (not an error).</summary>
    /// <remarks>
    /// The loop fetches the inputs' bytes and writes the output's; decoding, merging and encoding, most of a merge's
    /// CPU, run on <see cref="PersistContext.Compute"/>, so that a loop writing many shards keeps committing meanwhile.
    /// </remarks>
    public static async Task<PersistResult<bool>> CompactAsync(PersistContext context, ShardMachine machine, MergeRequest request, CancellationToken cancellationToken = default)
    {
        var fetched = new List<(PartRef Part, byte[] Bytes)>[request.Inputs.Length];
        long inputInlineBytes = 0;
        long inputBytes = 0;
        for (int i = 0; i < request.Inputs.Length; i++)
        {
            ImmutableArray<PartRef> inputParts = request.Inputs[i].Parts;
            fetched[i] = new List<(PartRef, byte[])>(inputParts.Length);
            foreach (PartRef part in inputParts)
            {
                inputInlineBytes += part.Inline?.Length ?? 0;
                PersistResult<byte[]> bytes = await PartStore.FetchEncodedAsync(context, part, cancellationToken);
                if (bytes.Error is { Kind: PersistErrorKind.BlobMissing })
                {
                    // A concurrent compaction replaced these inputs and GC already removed them: nothing to do.
                    return false;
                }
                if (!bytes.IsOk)
                {
                    return bytes.Error!;
                }
                fetched[i].Add((part, bytes.Value!));
                inputBytes += bytes.Value!.Length;
            }
        }
        PartCodec codec = context.Parts;
        Frontier since = request.Since;
        int partUpdatesMax = context.Config.PartUpdatesMax;
        // A small merge (a few inline batches, the usual one behind a small write) costs less than handing it to
        // another thread and back, so it runs here.
        PersistResult<List<(EncodedPart Part, int Updates)>> merged = inputBytes <= InlineMergeBytesMax
            ? Merge(codec, fetched, since, partUpdatesMax)
            : await context.Compute.RunAsync(() => Merge(codec, fetched, since, partUpdatesMax));
        if (!merged.IsOk)
        {
            return merged.Error!;
        }
        // A merge of inline batches that still fits one inline part stays inline: the merge is then one Consensus
        // write and no Blob write. Bounded by the inputs' inline bytes, so a merge never grows the state's inline data.
        int inlineBytesMax = (int)Math.Min(context.Config.InlinePartBytesMax, inputInlineBytes);
        PersistResult<ImmutableArray<PartRef>> parts = await PartStore.WriteEncodedAsync(context, machine.Shard, WriterName, merged.Value!, cancellationToken, inlineBytesMax);
        if (!parts.IsOk)
        {
            return parts.Error!;
        }
        var output = new HollowBatch(request.Output, parts.Value);
        PersistResult<Applied<bool>> applied = await machine.ApplyAsync(
            "apply merge result", (state, _) => StateTransitions.ApplyMergeResult(state, request.Inputs, output), cancellationToken);
        if (applied.IsOk && applied.Value.Outcome)
        {
            return true;
        }
        // Not applied (or unknown because Consensus failed): the new parts are referenced by no state we know of.
        // After an indeterminate failure they might be, even when a retry then found the merge no longer applies
        // (the first attempt committed and a later compaction replaced its output): only delete on a definite "no".
        if (applied.IsOk && !applied.Value.Uncertain)
        {
            await PartStore.DeleteAllAsync(context, parts.Value, cancellationToken);
            return false;
        }
        return applied.IsOk ? false : applied.Error!;
    }

    /// <summary>
    /// Decodes the inputs' parts, merges and consolidates them at <paramref name="since"/> and encodes the result:
    /// pure, so it runs off the loop. Each input is sorted (parts are written consolidated), so the inputs are
    /// merged rather than sorted together.
    /// </summary>
    private static PersistResult<List<(EncodedPart Part, int Updates)>> Merge(
        PartCodec codec, List<(PartRef Part, byte[] Bytes)>[] inputs, Frontier since, int partUpdatesMax)
    {
        var runs = new List<List<Update>>(inputs.Length);
        foreach (List<(PartRef Part, byte[] Bytes)> input in inputs)
        {
            List<Update>? run = null;
            foreach ((PartRef part, byte[] bytes) in input)
            {
                PersistResult<List<Update>> decoded = PartStore.Decode(codec, part, bytes);
                if (!decoded.IsOk)
                {
                    return decoded.Error!;
                }
                if (run is null)
                {
                    run = decoded.Value!;
                }
                else
                {
                    run.AddRange(decoded.Value!);
                }
            }
            runs.Add(run ?? []);
        }
        List<Update> updates = Consolidation.MergeAndConsolidate(runs, since);
        return PartStore.Encode(codec, updates, partUpdatesMax);
    }
}
