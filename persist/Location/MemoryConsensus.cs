using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Persist.Location;

/// <summary>
/// An in-memory <see cref="IConsensus"/>: for tests, and for simulated nodes that model Consensus as a separate
/// service (share one instance between nodes). Operations complete synchronously and are trivially linearizable.
/// </summary>
/// <remarks>Owned by one event loop (or one simulator thread); not thread-safe.</remarks>
public sealed class MemoryConsensus : IConsensus
{
    // Each key's live versions, ascending by seqno; a key once written always keeps its head.
    private readonly SortedDictionary<string, List<VersionedData>> _keys = new(StringComparer.Ordinal);

    public ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
    {
        ConsensusChecks.Key(key);
        VersionedData? head = _keys.TryGetValue(key, out List<VersionedData>? versions) ? Copy(versions[^1]) : null;
        return ValueTask.FromResult(LocationResult<VersionedData?>.Ok(head));
    }

    public ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        ConsensusChecks.CompareAndSetArguments(key, expected, next);
        _keys.TryGetValue(key, out List<VersionedData>? versions);
        ulong? head = versions?[^1].SeqNo;
        if (head != expected)
        {
            return ValueTask.FromResult(LocationResult<CasOutcome>.Ok(CasOutcome.ExpectationMismatch));
        }
        if (versions is null)
        {
            versions = [];
            _keys.Add(key, versions);
        }
        versions.Add(Copy(next));
        return ValueTask.FromResult(LocationResult<CasOutcome>.Ok(CasOutcome.Committed));
    }

    public ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
    {
        ConsensusChecks.Key(key);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var result = new List<VersionedData>();
        if (_keys.TryGetValue(key, out List<VersionedData>? versions))
        {
            foreach (VersionedData version in versions)
            {
                if (result.Count >= limit)
                {
                    break;
                }
                if (version.SeqNo >= from)
                {
                    result.Add(Copy(version));
                }
            }
        }
        return ValueTask.FromResult(LocationResult<IReadOnlyList<VersionedData>>.Ok(result));
    }

    public ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        ConsensusChecks.Key(key);
        if (!_keys.TryGetValue(key, out List<VersionedData>? versions))
        {
            return ValueTask.FromResult(LocationResult<long>.Fail(LocationError.Determinate($"consensus key '{key}' has no versions to truncate")));
        }
        if (seqno > versions[^1].SeqNo)
        {
            return ValueTask.FromResult(LocationResult<long>.Fail(LocationError.Determinate(
                $"cannot truncate consensus key '{key}' below seqno {seqno}: its head is {versions[^1].SeqNo}")));
        }
        int removed = versions.RemoveAll(version => version.SeqNo < seqno);
        return ValueTask.FromResult(LocationResult<long>.Ok(removed));
    }

    public ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() =>
        ValueTask.FromResult(LocationResult<IReadOnlyList<string>>.Ok(new List<string>(_keys.Keys)));

    private static VersionedData Copy(VersionedData version) => new(version.SeqNo, (byte[])version.Data.Clone());
}
