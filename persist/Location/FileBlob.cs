using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Persist.Location;

/// <summary>
/// <see cref="IBlob"/> as one file per key in a directory of the node's <see cref="IDurableStorage"/>.
/// Safe for several processes sharing the directory on one machine.
/// </summary>
/// <remarks>
/// Layout: <c>{root}/{FileNames.Encode(key)}</c>. Temporary files are <c>{encoded}.{random}.tmp</c>; an encoded
/// key never contains '.', so listings skip them.
/// <para>
/// Set publishes atomically: write a temporary file with a unique name, flush it, rename it over the key's
/// file (rename replaces atomically), then sync the directory. A reader therefore sees the old value or the
/// whole new one, and after a crash the key holds one of them. Error classes: a failure before the rename
/// leaves the key untouched (determinate); a failed rename or directory sync may or may not have published
/// (indeterminate). Delete removes the file and syncs the directory; it is idempotent.
/// </para>
/// </remarks>
public sealed class FileBlob : IBlob
{
    private const int TempNameAttemptsMax = 8;

    private readonly IDurableStorage _storage;
    private readonly IRandom _random;
    private readonly string _root;
    private bool _rootReady; // set once the root directory is known to exist durably

    /// <param name="storage">The node's disk.</param>
    /// <param name="random">Source of temporary file names.</param>
    /// <param name="root">The directory, relative to the storage root, that holds the blobs; created on demand.</param>
    public FileBlob(IDurableStorage storage, IRandom random, string root)
    {
        if (StoragePath.Validate(root) is string invalid)
        {
            throw new ArgumentException(invalid, nameof(root));
        }
        _storage = storage;
        _random = random;
        _root = root;
    }

    public async ValueTask<LocationResult<byte[]?>> GetAsync(string key)
    {
        ConsensusChecks.Key(key);
        string path = PathOf(key);
        IoResult<byte[]> read = await StorageIo.ReadAllAsync(_storage, path);
        if (read.IsOk)
        {
            return LocationResult<byte[]?>.Ok(read.Value);
        }
        if (read.Status == IoStatus.NotFound)
        {
            return LocationResult<byte[]?>.Ok(null);
        }
        // A read changes nothing, so a failed one is determinate.
        return LocationError.Determinate($"blob get '{key}' ({path}): {read.Status}: {read.Error}");
    }

    public async ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value)
    {
        ConsensusChecks.Key(key);
        LocationResult ready = await EnsureRootAsync();
        if (!ready.IsOk)
        {
            return ready;
        }
        string encoded = FileNames.Encode(key);
        string target = StoragePath.Combine(_root, encoded);
        string? temp = null;
        for (int attempt = 0; attempt < TempNameAttemptsMax && temp is null; attempt++)
        {
            string candidate = StoragePath.Combine(_root, encoded + "." + FileNames.RandomId(_random) + ".tmp");
            IoResult written = await StorageIo.CreateAndFlushAsync(_storage, candidate, value);
            if (written.IsOk)
            {
                temp = candidate;
            }
            else if (written.Status != IoStatus.AlreadyExists)
            {
                return LocationError.Determinate($"blob set '{key}': writing {candidate}: {written}");
            }
        }
        if (temp is null)
        {
            return LocationError.Determinate($"blob set '{key}': no unused temporary name after {TempNameAttemptsMax} attempts");
        }
        IoResult renamed = await _storage.RenameAsync(temp, target);
        if (!renamed.IsOk)
        {
            // Leave no litter if the rename did not happen; if it did, the temp name is gone and this is a no-op.
            await _storage.DeleteAsync(temp);
            return renamed.Status == IoStatus.IoError || renamed.Status == IoStatus.Closed
                ? LocationError.Indeterminate($"blob set '{key}': rename to {target}: {renamed}")
                : LocationError.Determinate($"blob set '{key}': rename to {target}: {renamed}");
        }
        IoResult synced = await _storage.SyncDirectoryAsync(_root);
        return synced.IsOk
            ? LocationResult.Ok
            : LocationError.Indeterminate($"blob set '{key}': sync of {_root} after publishing: {synced}");
    }

    public async ValueTask<LocationResult<long?>> DeleteAsync(string key)
    {
        ConsensusChecks.Key(key);
        string path = PathOf(key);
        IoResult<IDurableFile> opened = await _storage.OpenAsync(path, OpenMode.OpenExisting);
        if (opened.Status == IoStatus.NotFound)
        {
            return LocationResult<long?>.Ok(null);
        }
        long? size = null;
        if (opened.IsOk)
        {
            using IDurableFile file = opened.Value!;
            IoResult<long> length = await file.GetLengthAsync();
            size = length.IsOk ? length.Value : null;
        }
        IoResult deleted = await _storage.DeleteAsync(path);
        if (deleted.Status == IoStatus.NotFound)
        {
            // Someone else deleted it between our look and our delete: still idempotent success.
            return LocationResult<long?>.Ok(null);
        }
        if (!deleted.IsOk)
        {
            return LocationError.Indeterminate($"blob delete '{key}' ({path}): {deleted}");
        }
        IoResult synced = await _storage.SyncDirectoryAsync(_root);
        return synced.IsOk
            ? LocationResult<long?>.Ok(size ?? 0)
            : LocationError.Indeterminate($"blob delete '{key}': sync of {_root}: {synced}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix)
    {
        IoResult<IReadOnlyList<DirectoryEntry>> listed = await _storage.ListAsync(_root);
        var keys = new List<BlobMetadata>();
        if (listed.Status == IoStatus.NotFound)
        {
            return LocationResult<IReadOnlyList<BlobMetadata>>.Ok(keys);
        }
        if (!listed.IsOk)
        {
            return LocationError.Determinate($"blob list '{prefix}': listing {_root}: {listed.Status}: {listed.Error}");
        }
        foreach (DirectoryEntry entry in listed.Value!)
        {
            if (entry.IsDirectory || FileNames.Decode(entry.Name) is not string key || !key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }
            IoResult<IDurableFile> opened = await _storage.OpenAsync(StoragePath.Combine(_root, entry.Name), OpenMode.OpenExisting);
            if (opened.Status == IoStatus.NotFound)
            {
                continue; // deleted since the listing
            }
            if (!opened.IsOk)
            {
                return LocationError.Determinate($"blob list '{prefix}': opening {entry.Name}: {opened.Status}: {opened.Error}");
            }
            using IDurableFile file = opened.Value!;
            IoResult<long> length = await file.GetLengthAsync();
            if (!length.IsOk)
            {
                return LocationError.Determinate($"blob list '{prefix}': size of {entry.Name}: {length.Status}: {length.Error}");
            }
            keys.Add(new BlobMetadata(key, length.Value));
        }
        keys.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return LocationResult<IReadOnlyList<BlobMetadata>>.Ok(keys);
    }

    private string PathOf(string key) => StoragePath.Combine(_root, FileNames.Encode(key));

    private async ValueTask<LocationResult> EnsureRootAsync()
    {
        if (_rootReady)
        {
            return LocationResult.Ok;
        }
        // The directory's own entry must be durable before files in it can be.
        IoResult created = await StorageIo.EnsureDirectoryAsync(_storage, _root);
        if (!created.IsOk)
        {
            return LocationError.Determinate($"blob: creating {_root}: {created}");
        }
        _rootReady = true;
        return LocationResult.Ok;
    }
}
