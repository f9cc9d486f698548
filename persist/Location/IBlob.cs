using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Persist.Location;

/// <summary>
/// Durable, linearizable storage of immutable byte values by key: persist's batch parts and state rollups.
/// Backends: <see cref="MemoryBlob"/>, <see cref="FileBlob"/> (over the storage seam), S3 on paper.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="SetAsync"/> is atomic: a reader sees the previous value (or none) or the whole new value, never a mix.</item>
/// <item><see cref="DeleteAsync"/> is idempotent: deleting a missing key succeeds.</item>
/// <item>Persist writes each key once (keys carry random parts), so last-writer-wins on a key never matters.</item>
/// <item><see cref="SetAsync"/> does not keep <c>value</c> once it completes: callers write from pooled buffers.</item>
/// <item>Failures are <see cref="LocationError"/> results, classified determinate or indeterminate; never exceptions.</item>
/// </list>
/// Keys are non-empty, at most <see cref="BlobKeys.LengthMax"/> characters.
/// </remarks>
public interface IBlob
{
    /// <summary>The value, or null when the key is absent.</summary>
    ValueTask<LocationResult<byte[]?>> GetAsync(string key);

    ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value);

    /// <summary>Removes the key; the value is the size of what was deleted, or null when it was already absent.</summary>
    ValueTask<LocationResult<long?>> DeleteAsync(string key);

    /// <summary>Every key that starts with <paramref name="prefix"/> (ordinal), with its size, sorted ordinally.</summary>
    ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix);
}

public readonly record struct BlobMetadata(string Key, long SizeBytes);

/// <summary>Validation shared by every Blob and Consensus backend.</summary>
public static class BlobKeys
{
    public const int LengthMax = 200;

    /// <summary>Null when <paramref name="key"/> is acceptable, else the reason.</summary>
    public static string? Validate(string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "the key is empty";
        }
        if (key.Length > LengthMax)
        {
            return $"the key '{key[..40]}...' is longer than {LengthMax} characters";
        }
        foreach (char c in key)
        {
            if (char.IsControl(c))
            {
                return $"the key '{key}' contains a control character";
            }
        }
        return null;
    }
}
