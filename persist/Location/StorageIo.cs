using System;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Persist.Location;

/// <summary>Whole-file reads and writes over <see cref="IDurableStorage"/>, shared by the file backends.</summary>
internal static class StorageIo
{
    /// <summary>Files larger than this are refused (a corrupt length, or a bug): persist's values are far smaller.</summary>
    public const long FileBytesMax = 1L << 30;

    /// <summary>Reads a whole file. NotFound is a status, not an error, so callers can branch on it.</summary>
    public static async ValueTask<IoResult<byte[]>> ReadAllAsync(IDurableStorage storage, string path)
    {
        IoResult<IDurableFile> opened = await storage.OpenAsync(path, OpenMode.OpenExisting);
        if (!opened.IsOk)
        {
            return opened.AsFailure();
        }
        using IDurableFile file = opened.Value!;
        IoResult<long> length = await file.GetLengthAsync();
        if (!length.IsOk)
        {
            return length.AsFailure();
        }
        if (length.Value > FileBytesMax)
        {
            return IoResult<byte[]>.Fail(IoStatus.IoError, $"'{path}' is {length.Value} bytes, more than any persist file");
        }
        byte[] buffer = new byte[length.Value];
        int offset = 0;
        // Bounded: each read makes progress or ends the loop.
        while (offset < buffer.Length)
        {
            IoResult<int> read = await file.ReadAsync(offset, buffer.AsMemory(offset));
            if (!read.IsOk)
            {
                return read.AsFailure();
            }
            if (read.Value == 0)
            {
                // The file shrank under us; only a truncation by someone else does that.
                return IoResult<byte[]>.Fail(IoStatus.IoError, $"'{path}' ended at {offset} of {buffer.Length} bytes while being read");
            }
            offset += read.Value;
        }
        return IoResult<byte[]>.Ok(buffer);
    }

    /// <summary>
    /// Creates <paramref name="path"/> exclusively, writes <paramref name="data"/> and flushes it. On failure it
    /// tries to delete what it created. AlreadyExists means nothing was touched.
    /// </summary>
    public static async ValueTask<IoResult> CreateAndFlushAsync(IDurableStorage storage, string path, ReadOnlyMemory<byte> data)
    {
        IoResult<IDurableFile> created = await storage.OpenAsync(path, OpenMode.CreateNew);
        if (!created.IsOk)
        {
            return created.AsFailure();
        }
        IoResult outcome;
        using (IDurableFile file = created.Value!)
        {
            outcome = data.Length == 0 ? IoResult.Ok : await file.WriteAsync(0, data);
            if (outcome.IsOk)
            {
                outcome = await file.FlushAsync();
            }
        }
        if (!outcome.IsOk)
        {
            await storage.DeleteAsync(path);
        }
        return outcome;
    }

    public static async ValueTask<IoResult<bool>> ExistsAsync(IDurableStorage storage, string path)
    {
        IoResult<IDurableFile> opened = await storage.OpenAsync(path, OpenMode.OpenExisting);
        if (opened.IsOk)
        {
            opened.Value!.Dispose();
            return IoResult<bool>.Ok(true);
        }
        return opened.Status == IoStatus.NotFound ? IoResult<bool>.Ok(false) : opened.AsFailure();
    }

    /// <summary>Creates <paramref name="directory"/> and makes its entry, and every ancestor's, durable.</summary>
    public static async ValueTask<IoResult> EnsureDirectoryAsync(IDurableStorage storage, string directory)
    {
        IoResult created = await storage.CreateDirectoryAsync(directory);
        if (!created.IsOk)
        {
            return created;
        }
        // Sync from the directory's parent up to the root: each sync makes one level's new entry durable.
        string current = directory;
        while (current.Length > 0)
        {
            current = StoragePath.Parent(current);
            IoResult synced = await storage.SyncDirectoryAsync(current);
            if (!synced.IsOk)
            {
                return synced;
            }
        }
        return IoResult.Ok;
    }
}
