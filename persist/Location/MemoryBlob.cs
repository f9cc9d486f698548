using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Persist.Location;

/// <summary>
/// An in-memory <see cref="IBlob"/>: for tests, and for simulated nodes that model Blob as a separate service
/// (share one instance between nodes). Operations complete synchronously; it never fails on its own (wrap it
/// in <see cref="UnreliableBlob"/> for faults).
/// </summary>
/// <remarks>Owned by one event loop (or one simulator thread); not thread-safe.</remarks>
public sealed class MemoryBlob : IBlob
{
    private readonly SortedDictionary<string, byte[]> _values = new(StringComparer.Ordinal);

    public int Count => _values.Count;

    public ValueTask<LocationResult<byte[]?>> GetAsync(string key)
    {
        ConsensusChecks.Key(key);
        return ValueTask.FromResult(LocationResult<byte[]?>.Ok(_values.TryGetValue(key, out byte[]? value) ? (byte[])value.Clone() : null));
    }

    public ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value)
    {
        ConsensusChecks.Key(key);
        _values[key] = value.ToArray();
        return ValueTask.FromResult(LocationResult.Ok);
    }

    public ValueTask<LocationResult<long?>> DeleteAsync(string key)
    {
        ConsensusChecks.Key(key);
        long? size = _values.Remove(key, out byte[]? value) ? value.Length : null;
        return ValueTask.FromResult(LocationResult<long?>.Ok(size));
    }

    public ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix)
    {
        var keys = new List<BlobMetadata>();
        foreach ((string key, byte[] value) in _values)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                keys.Add(new BlobMetadata(key, value.Length));
            }
        }
        return ValueTask.FromResult(LocationResult<IReadOnlyList<BlobMetadata>>.Ok(keys));
    }

    /// <summary>Test hook: replaces a stored value without any checks (to model corruption).</summary>
    public void OverwriteForTest(string key, byte[] value) => _values[key] = value;
}
