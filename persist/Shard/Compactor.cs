using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;

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

    /// <summary>True when the merge was applied; false when its inputs were gone (not an error).</summary>
    public static async Task<PersistResult<bool>> CompactAsync(PersistContext context, ShardMachine machine, MergeRequest request, CancellationToken cancellationToken = default)
    {
        var runs = new List<List<Update>>(request.Inputs.Length);
        foreach (HollowBatch input in request.Inputs)
        {
            PersistResult<List<Update>> fetched = await PartStore.FetchBatchesAsync(context, [input], static _ => true, cancellationToken);
            if (fetched.Error is { Kind: PersistErrorKind.BlobMissing })
            {
                // A concurrent compaction replaced these inputs and GC already removed them: nothing to do.
                return false;
            }
            if (!fetched.IsOk)
            {
                return fetched.Error!;
            }
            runs.Add(fetched.Value!);
        }
        // Each input is sorted (parts are written consolidated), so the inputs are merged rather than sorted together.
        List<Update> updates = Consolidation.MergeAndConsolidate(runs, request.Since);
        // A merge of inline batches that still fits one inline part stays inline: the merge is then one Consensus
        // write and no Blob write. Bounded by the inputs' inline bytes, so a merge never grows the state's inline data.
        long inputInlineBytes = 0;
        foreach (HollowBatch input in request.Inputs)
        {
            foreach (PartRef part in input.Parts)
            {
                inputInlineBytes += part.Inline?.Length ?? 0;
            }
        }
        int inlineBytesMax = (int)Math.Min(context.Config.InlinePartBytesMax, inputInlineBytes);
        PersistResult<ImmutableArray<PartRef>> parts = await PartStore.WriteAsync(context, machine.Shard, WriterName, updates, cancellationToken, inlineBytesMax);
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
}
