using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;

namespace Kernel.Persist.Shard;

/// <summary>A decoded Consensus version and the complete version its chain starts from (its own seqno when complete).</summary>
public readonly record struct StateVersion(ShardState State, ulong ChainBase);

/// <summary>
/// Reads runs of Consensus versions, which may be incremental (<see cref="Encoding.StateCodec.EncodeIncremental"/>):
/// each is decoded on top of the one before it, and a run that begins inside a chain is read from the chain's
/// complete version.
/// </summary>
public static class StateVersions
{
    /// <summary>
    /// Decodes consecutive <paramref name="versions"/>, the first on top of <paramref name="predecessor"/> when that
    /// is the version before it. Stops (without error) at the first version it cannot decode for want of the version
    /// before it, that is at the start of the run or after a gap (a concurrent truncation): <paramref name="stoppedAt"/>
    /// is then that version's index and <paramref name="stoppedChainBase"/> its chain's start; otherwise
    /// <paramref name="stoppedAt"/> is the count. Corrupt bytes are an error.
    /// </summary>
    public static PersistResult<List<StateVersion>> Decode(
        PersistContext context, ShardId shard, IReadOnlyList<VersionedData> versions, StateVersion? predecessor,
        out int stoppedAt, out ulong stoppedChainBase)
    {
        var decoded = new List<StateVersion>(versions.Count);
        ShardState? previous = predecessor?.State;
        stoppedChainBase = 0;
        stoppedAt = versions.Count;
        for (int i = 0; i < versions.Count; i++)
        {
            VersionedData version = versions[i];
            string what = $"consensus state of shard {shard} at seqno {version.SeqNo}";
            ShardState? state = context.States.DecodeVersion(what, version.Data, previous, out ulong chainBase, out bool needsPredecessor, out string error);
            if (state is null)
            {
                if (needsPredecessor)
                {
                    stoppedAt = i;
                    stoppedChainBase = chainBase;
                    return decoded;
                }
                stoppedAt = i;
                return new PersistError(PersistErrorKind.Corrupt, error);
            }
            if (state.Shard != shard || state.SeqNo != version.SeqNo)
            {
                stoppedAt = i;
                return new PersistError(PersistErrorKind.Corrupt, $"{what} is corrupt: it holds shard {state.Shard} at seqno {state.SeqNo}");
            }
            decoded.Add(new StateVersion(state, chainBase));
            previous = state;
        }
        return decoded;
    }

    /// <summary>
    /// The versions from <paramref name="from"/> on (at most <paramref name="limit"/> scanned per page, every one
    /// returned decoded), reading from an earlier chain start when <paramref name="from"/> is inside a chain. A
    /// version that a concurrent truncation removed mid-read makes this return the versions read so far.
    /// </summary>
    public static async Task<PersistResult<List<StateVersion>>> ReadAsync(PersistContext context, ShardId shard, ulong from, int limit, CancellationToken cancellationToken = default)
    {
        LocationError? last = null;
        for (int attempt = 0; attempt < context.Config.RetriesMax; attempt++)
        {
            if (attempt > 0)
            {
                await context.BackoffAsync(attempt, cancellationToken);
            }
            (PersistResult<List<StateVersion>>? read, LocationError? error) = await TryReadAsync(context, shard, from, limit);
            if (read is PersistResult<List<StateVersion>> done)
            {
                return done;
            }
            last = error;
        }
        return PersistError.From(last!, $"scanning the states of {shard}");
    }

    /// <summary>One attempt of <see cref="ReadAsync"/>; a location error (to retry) instead of a result.</summary>
    private static async Task<(PersistResult<List<StateVersion>>?, LocationError?)> TryReadAsync(PersistContext context, ShardId shard, ulong from, int limit)
    {
        int pageVersions = Math.Max(1, context.Config.ScanPageVersions);
        ulong start = from;
        bool movedBack = false;
        StateVersion? previous = null;
        var result = new List<StateVersion>();
        while (result.Count < limit)
        {
            LocationResult<IReadOnlyList<VersionedData>> page = await context.Consensus.ScanAsync(shard.Value, start, pageVersions);
            if (!page.IsOk)
            {
                return (null, page.Error);
            }
            if (page.Value!.Count == 0)
            {
                break;
            }
            PersistResult<List<StateVersion>> decoded = Decode(context, shard, page.Value, previous, out int stoppedAt, out ulong chainBase);
            if (!decoded.IsOk)
            {
                return (decoded.Error!, null);
            }
            foreach (StateVersion version in decoded.Value!)
            {
                if (version.State.SeqNo >= from && result.Count < limit)
                {
                    result.Add(version);
                }
            }
            if (stoppedAt < page.Value.Count)
            {
                if (!movedBack && previous is null && decoded.Value.Count == 0 && chainBase < start)
                {
                    // The run began inside a chain: read it from the chain's complete version.
                    movedBack = true;
                    start = chainBase;
                    continue;
                }
                // A gap (a truncation ran meanwhile), or the chain's start is gone: what was read is a prefix of the answer.
                break;
            }
            if (decoded.Value.Count > 0)
            {
                previous = decoded.Value[^1];
            }
            start = page.Value[^1].SeqNo + 1;
        }
        return (result, null);
    }
}
