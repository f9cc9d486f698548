using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Persist.Location;

/// <summary>One version of a consensus key: a sequence number and the bytes stored at it.</summary>
public sealed record VersionedData(ulong SeqNo, byte[] Data)
{
    /// <summary>Sequence numbers fit in a PostgreSQL bigint.</summary>
    public const ulong SeqNoMax = long.MaxValue;
}

public enum CasOutcome
{
    Committed,

    /// <summary>The key's head was not the expected one; nothing was written.</summary>
    ExpectationMismatch,
}

/// <summary>
/// A linearizable, versioned log of byte values per key: persist's shard states. Backends:
/// <see cref="MemoryConsensus"/>, <see cref="FileConsensus"/> (safe across processes on one machine) and
/// PostgreSQL (project Kernel.Persist.Postgres).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every operation is linearizable: each takes effect at one instant between its call and its return.</item>
/// <item><see cref="CompareAndSetAsync"/> writes <c>next</c> only if the key's head is <c>expected</c> (null: the key has no
/// versions at all). <c>next.SeqNo</c> must be <c>expected + 1</c>; for a first write it may be any value up to
/// <see cref="VersionedData.SeqNoMax"/>. A wrong seqno is a bug and throws.</item>
/// <item>Versions below a truncation point disappear; the head never does, so a key once written never becomes empty.</item>
/// <item>Failures are <see cref="LocationError"/> results, classified determinate or indeterminate; never exceptions.</item>
/// </list>
/// </remarks>
public interface IConsensus
{
    /// <summary>The newest version, or null when the key has none.</summary>
    ValueTask<LocationResult<VersionedData?>> HeadAsync(string key);

    ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next);

    /// <summary>Up to <paramref name="limit"/> versions with seqno at least <paramref name="from"/>, ascending.</summary>
    ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit);

    /// <summary>
    /// Deletes every version below <paramref name="seqno"/> and returns how many were deleted. A determinate
    /// error when the key has no versions or <paramref name="seqno"/> is above the head (which must survive).
    /// </summary>
    ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno);

    /// <summary>Every key that has at least one version, sorted ordinally.</summary>
    ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync();
}

/// <summary>Argument checks shared by the consensus backends; a failed check is a caller bug.</summary>
public static class ConsensusChecks
{
    public static void CompareAndSetArguments(string key, ulong? expected, VersionedData next)
    {
        if (BlobKeys.Validate(key) is string invalid)
        {
            throw new ArgumentException(invalid, nameof(key));
        }
        ArgumentNullException.ThrowIfNull(next);
        if (next.SeqNo > VersionedData.SeqNoMax)
        {
            throw new ArgumentOutOfRangeException(nameof(next), next.SeqNo, "seqno above the maximum");
        }
        if (expected is ulong previous && next.SeqNo != previous + 1)
        {
            throw new ArgumentException($"the new seqno {next.SeqNo} must be the expected seqno {previous} plus one", nameof(next));
        }
    }

    public static void Key(string key)
    {
        if (BlobKeys.Validate(key) is string invalid)
        {
            throw new ArgumentException(invalid, nameof(key));
        }
    }
}
