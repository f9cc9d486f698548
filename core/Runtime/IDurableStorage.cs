using System;
using System.Collections.Generic;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// A node's disk. Paths are relative to the node's data directory, use '/' as separator, and may not
/// climb out of it. Production maps them onto real files; the simulator keeps them in memory and
/// decides, at a crash, which unflushed bytes survive.
/// </summary>
/// <remarks>
/// Durability rules, the same for both implementations:
/// <list type="bullet">
/// <item>bytes written to a file are durable only after <see cref="IDurableFile.FlushAsync"/> (fsync) succeeds;</item>
/// <item>creating, renaming or deleting a directory entry is durable only after <see cref="SyncDirectoryAsync"/> on its directory;</item>
/// <item><see cref="RenameAsync"/> atomically replaces the target, so write-temp, flush, rename, sync-directory publishes a whole file;</item>
/// <item>directory operations (create, rename, delete) become durable in the order they were issued: a crash keeps a
/// prefix of them, and a successful <see cref="SyncDirectoryAsync"/> makes every earlier one durable, in any directory.
/// This is what a file system with one ordered metadata journal does (ext4, XFS); production data directories must
/// live on one. It lets a protocol issue several dependent renames and make them all durable with one sync.</item>
/// </list>
/// Every operation returns an <see cref="IoResult"/>; I/O failures are results, never exceptions.
/// </remarks>
public interface IDurableStorage
{
    ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode);

    ValueTask<IoResult> DeleteAsync(string path);

    /// <summary>Moves <paramref name="from"/> to <paramref name="to"/>, replacing an existing file atomically.</summary>
    ValueTask<IoResult> RenameAsync(string from, string to);

    /// <summary>Creates the directory and any missing parents; succeeds if it already exists.</summary>
    ValueTask<IoResult> CreateDirectoryAsync(string path);

    /// <summary>The names (not paths) of the entries of a directory, sorted ordinally. "" is the root.</summary>
    ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory);

    /// <summary>Makes earlier creates, renames and deletes in <paramref name="directory"/> durable (fsync of the directory).</summary>
    ValueTask<IoResult> SyncDirectoryAsync(string directory);
}

/// <summary>An open file. Reads see every completed write, flushed or not.</summary>
public interface IDurableFile : IDisposable
{
    string Path { get; }

    /// <summary>Reads up to <c>buffer.Length</c> bytes at <paramref name="offset"/>; the value is the count read (0 at end of file).</summary>
    ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer);

    /// <summary>Writes at <paramref name="offset"/>, extending the file (with zeros) if needed. Not durable until flushed.</summary>
    ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data);

    /// <summary>fsync: every earlier write to this file is durable once this succeeds.</summary>
    ValueTask<IoResult> FlushAsync();

    ValueTask<IoResult<long>> GetLengthAsync();

    /// <summary>Truncates or extends with zeros; like a write, durable only after a flush.</summary>
    ValueTask<IoResult> SetLengthAsync(long length);

    /// <summary>
    /// Takes the exclusive lock on the whole file for this handle, waiting while another handle holds it, whether
    /// that handle belongs to this node, another node or another process. The lock is advisory (only other
    /// <see cref="LockAsync"/> calls respect it), not reentrant, and released by <see cref="UnlockAsync"/>, by
    /// disposing the handle, and by the death of its process: a crash never leaves a file locked.
    /// </summary>
    ValueTask<IoResult> LockAsync();

    /// <summary>Releases this handle's lock; a no-op when it holds none.</summary>
    ValueTask<IoResult> UnlockAsync();
}

public enum OpenMode
{
    /// <summary>Fails with <see cref="IoStatus.NotFound"/> if the file is missing.</summary>
    OpenExisting,

    /// <summary>Fails with <see cref="IoStatus.AlreadyExists"/> if the file exists.</summary>
    CreateNew,

    OpenOrCreate,
}

public enum IoStatus
{
    Ok,
    NotFound,
    AlreadyExists,
    InvalidPath,

    /// <summary>The device reported an error; the operation may or may not have taken effect.</summary>
    IoError,

    /// <summary>The file handle was closed (or its node crashed).</summary>
    Closed,

    NotEmpty,
}

public readonly record struct DirectoryEntry(string Name, bool IsDirectory);

/// <summary>The outcome of a storage operation without a value.</summary>
public readonly struct IoResult
{
    private IoResult(IoStatus status, string error)
    {
        Status = status;
        Error = error;
    }

    public IoStatus Status { get; }

    public string Error { get; }

    public bool IsOk => Status == IoStatus.Ok;

    public static IoResult Ok => default;

    public static IoResult Fail(IoStatus status, string error) => new(status, error);

    public override string ToString() => IsOk ? "ok" : $"{Status}: {Error}";
}

/// <summary>The outcome of a storage operation that produces a value.</summary>
public readonly struct IoResult<T>
{
    private IoResult(T? value, IoStatus status, string error)
    {
        Value = value;
        Status = status;
        Error = error;
    }

    public T? Value { get; }

    public IoStatus Status { get; }

    public string Error { get; }

    public bool IsOk => Status == IoStatus.Ok;

    public static IoResult<T> Ok(T value) => new(value, IoStatus.Ok, "");

    public static IoResult<T> Fail(IoStatus status, string error) => new(default, status, error);

    public static implicit operator IoResult<T>(IoResult failure) =>
        failure.IsOk ? throw new InvalidOperationException("only failures convert") : Fail(failure.Status, failure.Error);

    /// <summary>The same failure without the value type.</summary>
    public IoResult AsFailure() => IoResult.Fail(Status, Error);

    /// <summary>The value of a successful result; a bug to call on a failed one.</summary>
    public T Unwrap() => IsOk ? Value! : throw new InvalidOperationException($"storage operation failed: {Status}: {Error}");

    public override string ToString() => IsOk ? $"ok {Value}" : $"{Status}: {Error}";
}
