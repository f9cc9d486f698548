using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Runtime;

namespace Kernel.Persist.Shard;

/// <summary>What one garbage collection did.</summary>
public sealed record GcReport(ulong SeqNoSince, int BlobsDeleted, long VersionsTruncated);

/// <summary>What one maintenance pass did; null parts were not needed.</summary>
public sealed record MaintenanceReport(ExpiryReport? Expired, ulong? RollupSeqNo, GcReport? GarbageCollection);

/// <summary>
/// Background upkeep of a shard, safe to run from any process at any time, concurrently with anything:
/// expiring lapsed leases, writing rollups, and garbage collection.
/// </summary>
/// <remarks>
/// <para><b>Rollups</b>: every <see cref="PersistConfig.RollupEverySeqNos"/> seqnos a full copy of the current state is
/// written to Blob under a fresh key, then recorded in the state (keeping the newest few).</para>
/// <para><b>Garbage collection</b>: <c>seqno_since</c> is the least seqno any leased reader holds (the head when none
/// does). Every state from <c>seqno_since</c> to the head is live: a reader may be reading any of them. A blob key,
/// once dropped from the head state, is never referenced again (parts and rollups get fresh random keys), so a blob
/// referenced by a state below <c>seqno_since</c> and not by the state at <c>seqno_since</c> is referenced by no
/// live state, and a blob that is dead at the scan cannot come back to life while GC deletes it. GC therefore scans
/// the retained versions up to <c>seqno_since</c> only (its work is the garbage it finds, not the shard's history),
/// deletes those blobs, and only then truncates Consensus below the start of the chain of incremental versions
/// that the version at <c>seqno_since</c> belongs to (so every retained version stays decodable). A handle that
/// collected at a <c>seqno_since</c> skips the next pass while it is unchanged (a reader of a process that went
/// away holds it until its lease lapses). Blobs that no state ever referenced (a writer that crashed between
/// writing parts and appending) are left alone: GC cannot tell them from a write in progress.</para>
/// </remarks>
public static class Maintenance
{
    /// <summary>Runs the pass that <paramref name="state"/>'s seqno calls for, if any; errors are swallowed (it is upkeep).</summary>
    internal static async Task MaybeRunAsync(PersistContext context, ShardMachine machine, ShardState state, CancellationToken cancellationToken)
    {
        if (context.Config.InlineMaintenance && IsDue(context, state))
        {
            await RunAsync(context, machine, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a write that produced <paramref name="state"/> calls for a maintenance pass: every
    /// <see cref="PersistConfig.MaintenanceEverySeqNos"/> seqnos, at an offset fixed per shard, so that shards written
    /// in step (a benchmark's 32 writers, a table and the views that follow it) take turns instead of all stalling
    /// for their rollups and collections at the same moment.
    /// </summary>
    internal static bool IsDue(PersistContext context, ShardState state)
    {
        ulong every = (ulong)Math.Max(1, context.Config.MaintenanceEverySeqNos);
        return (state.SeqNo + StableHash.Of(state.Shard.Value) % every) % every == 0;
    }

    public static async Task<PersistResult<MaintenanceReport>> RunAsync(PersistContext context, ShardMachine machine, CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<ExpiryReport>> expired = await machine.ApplyAsync(
            "expire lapsed leases", StateTransitions.ExpireLapsed, cancellationToken);
        if (!expired.IsOk)
        {
            return expired.Error!;
        }
        ulong? rollup = null;
        ShardState state = expired.Value.State;
        ulong newestRollup = 0;
        foreach (ulong seqno in state.Rollups.Keys)
        {
            newestRollup = Math.Max(newestRollup, seqno);
        }
        if (!state.IsTombstone && state.SeqNo >= newestRollup + (ulong)Math.Max(1, context.Config.RollupEverySeqNos))
        {
            PersistResult<ulong> written = await WriteRollupAsync(context, machine, cancellationToken);
            if (!written.IsOk)
            {
                return written.Error!;
            }
            rollup = written.Value;
        }
        PersistResult<GcReport> gc = await CollectGarbageAsync(context, machine, cancellationToken);
        if (!gc.IsOk)
        {
            return gc.Error!;
        }
        return new MaintenanceReport(expired.Value.Changed ? expired.Value.Outcome : null, rollup, gc.Value);
    }

    /// <summary>Writes a rollup of the current state and records it; the value is the rolled-up seqno.</summary>
    public static async Task<PersistResult<ulong>> WriteRollupAsync(PersistContext context, ShardMachine machine, CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> fetched = await machine.FetchAsync(cancellationToken);
        if (!fetched.IsOk)
        {
            return fetched.Error!;
        }
        ShardState state = fetched.Value!;
        string key = PartStore.RollupKey(state.Shard, state.SeqNo) + "-" + context.NewId("");
        Encoding.StateCodec states = context.States;
        byte[] encoded = await context.Compute.RunAsync(() => states.Encode(state));
        PersistResult<bool> set = await PartStore.SetAsync(context, key, encoded, cancellationToken);
        if (!set.IsOk)
        {
            return set.Error!;
        }
        PersistResult<Applied<bool>> recorded = await machine.ApplyAsync(
            "record rollup", (current, _) => StateTransitions.AddRollup(current, state.SeqNo, key, context.Config.RollupsKept), cancellationToken);
        if (!recorded.IsOk)
        {
            return recorded.Error!;
        }
        if (!recorded.Value.Outcome && !recorded.Value.Uncertain)
        {
            // Not recorded (another rollup of the same seqno won, or the shard was dropped): this blob is litter.
            await PartStore.DeleteAsync(context, key, cancellationToken);
        }
        return state.SeqNo;
    }

    public static async Task<PersistResult<GcReport>> CollectGarbageAsync(PersistContext context, ShardMachine machine, CancellationToken cancellationToken = default)
    {
        PersistResult<ShardState> fetched = await machine.FetchAsync(cancellationToken);
        if (!fetched.IsOk)
        {
            return fetched.Error!;
        }
        ShardState head = fetched.Value!;
        ulong seqNoSince = head.SeqNoSince;
        if (machine.Collected is { } collected && collected.State.SeqNo >= seqNoSince)
        {
            // This handle already collected everything below this seqno_since: a reader still holds it (one of a
            // process that went away, say, until its lease lapses), and scanning again would find nothing new.
            return new GcReport(seqNoSince, 0, 0);
        }
        if (machine.Collected is { } last)
        {
            PersistResult<GcReport> resumed = await CollectAsync(context, machine, head, last, cancellationToken);
            if (!resumed.IsOk || resumed.Value is not null)
            {
                return resumed;
            }
        }
        // Without a previous pass to resume from, or when its versions were truncated meanwhile (a GC of another
        // process went further), the scan starts at the oldest retained version.
        return await CollectAsync(context, machine, head, null, cancellationToken);
    }

    /// <summary>
    /// One collection at <paramref name="head"/>'s seqno_since. With <paramref name="resume"/> (the version at the
    /// seqno_since of this handle's last complete pass) the scan starts after it instead of at the oldest retained
    /// version: everything that pass saw dead was deleted and everything older was truncated down to its chain, so
    /// only what <paramref name="resume"/> references and what later versions add can be garbage now. The value is
    /// null when the versions after <paramref name="resume"/> are gone (then the caller scans from the start).
    /// </summary>
    private static async Task<PersistResult<GcReport>> CollectAsync(
        PersistContext context, ShardMachine machine, ShardState head, StateVersion? resume, CancellationToken cancellationToken)
    {
        ulong seqNoSince = head.SeqNoSince;
        // Live: what the version at seqNoSince references (plus the head's, belt and braces). A key that an older
        // version references and that version does not was dropped before seqNoSince, and a dropped key is never
        // referenced again, so no version from seqNoSince on can hold it: the scan ends at seqNoSince, and its cost
        // is the garbage it finds, however far the head has moved on.
        var live = new HashSet<string>(head.ReferencedBlobKeys(), StringComparer.Ordinal);
        // Hashed while the scan adds every version's keys (each version repeats most of its predecessor's); sorted
        // once at the end, so that deletes run in the same order in every run.
        var dead = new HashSet<string>(StringComparer.Ordinal);
        bool sawSince = false;
        ulong oldest = ulong.MaxValue;
        // Versions are truncated only below the start of the chain that the version at seqNoSince belongs to, so
        // that it and every later version stay decodable (the first retained version is always complete).
        ulong truncateBelow = seqNoSince;
        StateVersion? previous = null;
        ulong from = 0;
        StateVersion? atSince = null;
        if (resume is { } start)
        {
            dead.UnionWith(start.State.ReferencedBlobKeys());
            previous = start;
            from = start.State.SeqNo + 1;
            oldest = start.ChainBase; // the last pass truncated below it
        }
        // Bounded: each page moves 'from' past at least one version, and the scan stops at seqNoSince.
        while (from <= seqNoSince && !sawSince)
        {
            PersistResult<IReadOnlyList<VersionedData>> page = await ScanAsync(context, head.Shard, from, (int)Math.Min(seqNoSince - from + 1, int.MaxValue), cancellationToken);
            if (!page.IsOk)
            {
                return page.Error!;
            }
            if (page.Value!.Count == 0)
            {
                break;
            }
            if (resume is not null && page.Value[0].SeqNo != from)
            {
                // Versions after the resumed one were truncated (by a GC that went further): scan from the start.
                return PersistResult<GcReport>.Ok(null!);
            }
            // Decoding is most of a pass's CPU; it runs off the loop (StateVersions.Decode reads only the codec).
            IReadOnlyList<VersionedData> versions = page.Value;
            StateVersion? after = previous;
            ShardId shard = head.Shard;
            (PersistResult<List<StateVersion>> decoded, int stoppedAt) = await context.Compute.RunAsync(() =>
            {
                PersistResult<List<StateVersion>> result = StateVersions.Decode(context, shard, versions, after, out int stopped, out _);
                return (result, stopped);
            });
            if (!decoded.IsOk)
            {
                return decoded.Error!;
            }
            if (stoppedAt < page.Value.Count)
            {
                // A version whose predecessor is gone: a concurrent GC, working from a newer head, truncated
                // between two pages. This run's view is stale, and the newer one does the work.
                return resume is null ? new GcReport(seqNoSince, 0, 0) : PersistResult<GcReport>.Ok(null!);
            }
            foreach (StateVersion version in decoded.Value!)
            {
                ShardState state = version.State;
                if (state.SeqNo > seqNoSince)
                {
                    break;
                }
                oldest = Math.Min(oldest, state.SeqNo);
                if (state.SeqNo == seqNoSince)
                {
                    sawSince = true;
                    atSince = version;
                    truncateBelow = version.ChainBase;
                    live.UnionWith(state.ReferencedBlobKeys());
                }
                else
                {
                    dead.UnionWith(state.ReferencedBlobKeys());
                }
            }
            previous = decoded.Value[^1];
            from = page.Value[^1].SeqNo + 1;
        }
        if (!sawSince)
        {
            // The version at seqNoSince is gone: a concurrent GC, working from a newer head, truncated it meanwhile.
            // This run's view is stale, and the newer one does the work.
            return resume is null ? new GcReport(seqNoSince, 0, 0) : PersistResult<GcReport>.Ok(null!);
        }
        dead.ExceptWith(live);
        var doomed = new List<string>(dead);
        doomed.Sort(StringComparer.Ordinal);
        int deleted = 0;
        foreach (string key in doomed)
        {
            if (!await PartStore.DeleteAsync(context, key, cancellationToken))
            {
                // Keep the versions that reference it, so a later GC finds it again.
                return new PersistError(PersistErrorKind.Unavailable, $"gc of {head.Shard}: could not delete blob '{key}'");
            }
            deleted++;
        }
        long truncated = 0;
        if (oldest < truncateBelow)
        {
            LocationResult<long> cut = await context.Consensus.TruncateAsync(head.Shard.Value, truncateBelow);
            if (!cut.IsOk)
            {
                return PersistError.From(cut.Error!, $"gc of {head.Shard}: truncating below {truncateBelow}");
            }
            truncated = cut.Value;
        }
        machine.Collected = atSince;
        return new GcReport(seqNoSince, deleted, truncated);
    }

    private static async Task<PersistResult<IReadOnlyList<VersionedData>>> ScanAsync(PersistContext context, ShardId shard, ulong from, int limit, CancellationToken cancellationToken)
    {
        LocationError? last = null;
        for (int attempt = 0; attempt < context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await context.BackoffAsync(attempt, cancellationToken);
            }
            LocationResult<IReadOnlyList<VersionedData>> page = await context.Consensus.ScanAsync(shard.Value, from, Math.Clamp(limit, 1, Math.Max(1, context.Config.ScanPageVersions)));
            if (page.IsOk)
            {
                return PersistResult<IReadOnlyList<VersionedData>>.Ok(page.Value!);
            }
            last = page.Error;
        }
        return PersistError.From(last!, $"scanning the states of {shard}");
    }
}
