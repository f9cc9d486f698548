using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Enumeration;
using System.Threading.Tasks;
using Kernel.Runtime;
using Microsoft.Win32.SafeHandles;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// <see cref="IDurableStorage"/> over a real data directory: positional reads and writes on file handles,
/// fsync for flushes, rename(2) for atomic replace and an fsync of the directory for directory sync.
/// </summary>
/// <remarks>
/// Every call does its work synchronously on the calling thread (the node loop) and returns a completed
/// <see cref="ValueTask"/>: file calls on a local disk are short, and doing them inline keeps the order of
/// operations exactly the order the node issued them. OS exceptions are caught here and become
/// <see cref="IoResult"/> failures; only bugs (a negative offset) throw.
/// <para>
/// <see cref="Dispose"/> is how a crash closes the node's files: it may be called from the host's thread
/// while the loop still runs, so the set of open files is guarded by <c>_gate</c>, and every later call
/// returns <see cref="IoStatus.Closed"/>. What a crash cannot do here is drop unflushed writes: they sit in
/// the OS page cache and survive a process crash (only a machine crash loses them). Tests of lost writes
/// belong in the simulator.
/// </para>
/// </remarks>
public sealed class FileStorage : IDurableStorage, IDisposable
{
    // Every entry, hidden ones included (dot-files count as hidden on Unix), and no attribute check that would stat.
    private static readonly EnumerationOptions s_listOptions = new() { AttributesToSkip = 0, IgnoreInaccessible = false };

    private readonly object _gate = new();
    private readonly HashSet<FileStorageFile> _openFiles = []; // guarded by _gate
    private bool _disposed; // guarded by _gate

    /// <param name="rootDirectory">The data directory; it must exist. Storage paths are relative to it.</param>
    public FileStorage(string rootDirectory)
    {
        RootDirectory = Path.GetFullPath(rootDirectory);
    }

    public string RootDirectory { get; }

    public ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode)
    {
        if (StoragePath.Validate(path) is string invalid)
        {
            return new(IoResult<IDurableFile>.Fail(IoStatus.InvalidPath, invalid));
        }
        if (IsDisposed)
        {
            return new(IoResult<IDurableFile>.Fail(IoStatus.Closed, ClosedMessage));
        }
        FileMode fileMode = mode switch
        {
            OpenMode.OpenExisting => FileMode.Open,
            OpenMode.CreateNew => FileMode.CreateNew,
            OpenMode.OpenOrCreate => FileMode.OpenOrCreate,
            _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown open mode"),
        };
        // Creating a file is the costly open: the kernel allocates an inode (on ext4 it also scans the inode table
        // for recently deleted ones), tens of microseconds that a busy node loop writing blobs paid on its own thread
        // (8% of the loop's samples under persist benchmark (c)). A pool thread does it then, and the caller resumes
        // on its loop. A loop with nothing else queued does it itself: nothing waits behind it, and the caller would
        // otherwise also wait for a pool thread to wake (the reasoning of SharedFlush's in-line fsync).
        return mode == OpenMode.CreateNew ? OffBusyLoop(() => Open(path, fileMode)) : new(Open(path, fileMode));
    }

    private IoResult<IDurableFile> Open(string path, FileMode fileMode)
    {
        SafeFileHandle handle;
        try
        {
            // Share everything: POSIX semantics, where a node may hold a file open twice, or rename and
            // delete over an open file. Without sharing, .NET would take an advisory exclusive lock.
            handle = File.OpenHandle(FullPath(path), fileMode, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception exception)
        {
            return Classify(exception, $"open '{path}'");
        }
        var file = new FileStorageFile(this, path, handle);
        lock (_gate)
        {
            if (!_disposed)
            {
                _openFiles.Add(file);
                return IoResult<IDurableFile>.Ok(file);
            }
        }
        // A crash closed the storage while the file was being opened.
        handle.Dispose();
        return IoResult<IDurableFile>.Fail(IoStatus.Closed, ClosedMessage);
    }

    public ValueTask<IoResult> DeleteAsync(string path)
    {
        if (Check(path, allowRoot: false) is IoResult failure)
        {
            return new(failure);
        }
        // As creation: garbage collection deletes a blob for about every one it writes.
        return OffBusyLoop(() => Delete(path));
    }

    /// <summary>Runs a costly system call on a pool thread when the caller's loop has other work queued, else in line.</summary>
    private static ValueTask<T> OffBusyLoop<T>(Func<T> call) =>
        NodeLoop.CallerMayBlock() ? new(call()) : new(Task.Run(call));

    private IoResult Delete(string path)
    {
        string full = FullPath(path);
        try
        {
            if (File.Exists(full))
            {
                File.Delete(full);
            }
            else if (Directory.Exists(full))
            {
                Directory.Delete(full, recursive: false);
            }
            else
            {
                return IoResult.Fail(IoStatus.NotFound, $"'{path}' does not exist");
            }
            return IoResult.Ok;
        }
        catch (Exception exception)
        {
            return Classify(exception, $"delete '{path}'");
        }
    }

    public ValueTask<IoResult> RenameAsync(string from, string to)
    {
        if (Check(from, allowRoot: false) is IoResult fromFailure)
        {
            return new(fromFailure);
        }
        if (Check(to, allowRoot: false) is IoResult toFailure)
        {
            return new(toFailure);
        }
        string fromFull = FullPath(from);
        try
        {
            if (Directory.Exists(fromFull))
            {
                // rename(2) replaces only empty directories; .NET refuses any existing target, which is stricter but safe.
                Directory.Move(fromFull, FullPath(to));
            }
            else
            {
                // rename(2): the target is replaced atomically, so readers see the old file or the new one, never neither.
                File.Move(fromFull, FullPath(to), overwrite: true);
            }
            return new(IoResult.Ok);
        }
        catch (Exception exception)
        {
            return new(Classify(exception, $"rename '{from}' to '{to}'"));
        }
    }

    public ValueTask<IoResult> CreateDirectoryAsync(string path)
    {
        if (Check(path, allowRoot: true) is IoResult failure)
        {
            return new(failure);
        }
        try
        {
            Directory.CreateDirectory(FullPath(path));
            return new(IoResult.Ok);
        }
        catch (Exception exception)
        {
            return new(Classify(exception, $"create directory '{path}'"));
        }
    }

    public ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory)
    {
        if (Check(directory, allowRoot: true) is IoResult failure)
        {
            return new(IoResult<IReadOnlyList<DirectoryEntry>>.Fail(failure.Status, failure.Error));
        }
        try
        {
            // FileSystemEnumerable reads names and types from the directory entries themselves (d_type): no stat per
            // file, which dominated consensus head reads on directories of a few hundred versions.
            var listing = new FileSystemEnumerable<DirectoryEntry>(
                FullPath(directory),
                static (ref FileSystemEntry entry) => new DirectoryEntry(entry.FileName.ToString(), entry.IsDirectory),
                s_listOptions);
            var entries = new List<DirectoryEntry>(listing);
            // The OS returns entries in hash or creation order; the seam promises ordinal order, as the simulator gives.
            entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
            return new(IoResult<IReadOnlyList<DirectoryEntry>>.Ok(entries));
        }
        catch (Exception exception)
        {
            IoResult classified = Classify(exception, $"list '{directory}'");
            return new(IoResult<IReadOnlyList<DirectoryEntry>>.Fail(classified.Status, classified.Error));
        }
    }

    public ValueTask<IoResult> SyncDirectoryAsync(string directory)
    {
        if (Check(directory, allowRoot: true) is IoResult failure)
        {
            return new(failure);
        }
        // Off the node's loop: directory syncs are rarer and slower than a log's fsyncs (a journal commit). Not even
        // on an idle loop: work that is in flight there (background compaction, say) would wait behind the sync, and
        // in line, persist benchmark (b) with upkeep in the background went from 0.35 to 1.3 ms a commit.
        string fullPath = FullPath(directory);
        return new(Task.Run(() => DirectorySync.Sync(fullPath, directory)));
    }

    /// <summary>Closes every open file; later calls, on the storage or its files, return <see cref="IoStatus.Closed"/>.</summary>
    public void Dispose()
    {
        FileStorageFile[] files;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            files = [.. _openFiles];
            _openFiles.Clear();
        }
        foreach (FileStorageFile file in files)
        {
            file.CloseHandle();
        }
    }

    internal const string ClosedMessage = "the storage was closed (the node stopped or crashed)";

    internal void Forget(FileStorageFile file)
    {
        lock (_gate)
        {
            _openFiles.Remove(file);
        }
    }

    /// <summary>Turns an OS exception into the seam's result; the message names the operation and keeps the OS's words.</summary>
    internal static IoResult Classify(Exception exception, string operation)
    {
        IoStatus status = exception switch
        {
            FileNotFoundException or DirectoryNotFoundException => IoStatus.NotFound,
            ObjectDisposedException => IoStatus.Closed,
            IOException io when IsAlreadyExists(io) => IoStatus.AlreadyExists,
            IOException io when IsNotEmpty(io) => IoStatus.NotEmpty,
            _ => IoStatus.IoError,
        };
        return IoResult.Fail(status, $"{operation}: {exception.Message}");
    }

    private bool IsDisposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    private IoResult? Check(string path, bool allowRoot)
    {
        if (StoragePath.Validate(path, allowRoot) is string invalid)
        {
            return IoResult.Fail(IoStatus.InvalidPath, invalid);
        }
        return IsDisposed ? IoResult.Fail(IoStatus.Closed, ClosedMessage) : null;
    }

    private string FullPath(string path) =>
        path.Length == 0 ? RootDirectory : Path.Join(RootDirectory, path.Replace('/', Path.DirectorySeparatorChar));

    // On Unix .NET puts the errno in IOException.HResult; on Windows it is an HRESULT wrapping a Win32 error.
    private const int ErrnoAlreadyExists = 17; // EEXIST, the same on Linux and macOS
    private const int HResultFileExists = unchecked((int)0x80070050); // ERROR_FILE_EXISTS
    private const int HResultAlreadyExists = unchecked((int)0x800700B7); // ERROR_ALREADY_EXISTS
    private const int HResultDirectoryNotEmpty = unchecked((int)0x80070091); // ERROR_DIR_NOT_EMPTY

    private static bool IsAlreadyExists(IOException exception) =>
        exception.HResult is ErrnoAlreadyExists or HResultFileExists or HResultAlreadyExists;

    private static bool IsNotEmpty(IOException exception) =>
        exception.HResult == (OperatingSystem.IsMacOS() ? 66 : 39) // ENOTEMPTY
        || exception.HResult == HResultDirectoryNotEmpty;
}
