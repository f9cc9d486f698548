using System;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Microsoft.Win32.SafeHandles;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>An open file of a <see cref="FileStorage"/>: positional I/O on one handle.</summary>
/// <remarks>
/// The handle may be closed from another thread by a crash (<see cref="FileStorage.Dispose"/>); SafeHandle
/// reference counting keeps an operation already in the kernel safe, and later operations see
/// <see cref="ObjectDisposedException"/>, which becomes <see cref="IoStatus.Closed"/>.
/// </remarks>
internal sealed partial class FileStorageFile(FileStorage storage, string path, SafeFileHandle handle) : IDurableFile
{
    public string Path { get; } = path;

    public ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (handle.IsClosed)
        {
            return new(IoResult<int>.Fail(IoStatus.Closed, ClosedMessage));
        }
        try
        {
            // pread may return fewer bytes than asked before the end of file (signals, network file systems):
            // keep reading so that a short count means end of file, as the seam promises. Each pass reads at
            // least one byte or stops, so the loop runs at most buffer.Length times.
            int total = 0;
            while (total < buffer.Length)
            {
                int read = RandomAccess.Read(handle, buffer.Span[total..], offset + total);
                if (read == 0)
                {
                    break;
                }
                total += read;
            }
            return new(IoResult<int>.Ok(total));
        }
        catch (Exception exception)
        {
            IoResult failure = FileStorage.Classify(exception, $"read '{Path}'");
            return new(IoResult<int>.Fail(failure.Status, failure.Error));
        }
    }

    public ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (handle.IsClosed)
        {
            return new(IoResult.Fail(IoStatus.Closed, ClosedMessage));
        }
        try
        {
            // RandomAccess.Write writes every byte (it loops over short pwrites); a gap past the end reads as zeros.
            RandomAccess.Write(handle, data.Span, offset);
            return new(IoResult.Ok);
        }
        catch (Exception exception)
        {
            return new(FileStorage.Classify(exception, $"write '{Path}'"));
        }
    }

    public ValueTask<IoResult> FlushAsync()
    {
        if (handle.IsClosed)
        {
            return new(IoResult.Fail(IoStatus.Closed, ClosedMessage));
        }
        // Concurrent flushes of one file share fsyncs. An uncontended fsync on a fast device runs right here (two
        // thread hand-offs cost more than it); otherwise it runs on a pool thread, so that the node's loop serves
        // other work meanwhile, and the caller's await resumes on its loop (see SharedFlush).
        return new(SharedFlush.FlushAsync(handle, Path, Identity));
    }

    public ValueTask<IoResult<long>> GetLengthAsync()
    {
        if (handle.IsClosed)
        {
            return new(IoResult<long>.Fail(IoStatus.Closed, ClosedMessage));
        }
        try
        {
            return new(IoResult<long>.Ok(LengthOf(handle)));
        }
        catch (Exception exception)
        {
            IoResult failure = FileStorage.Classify(exception, $"length of '{Path}'");
            return new(IoResult<long>.Fail(failure.Status, failure.Error));
        }
    }

    public ValueTask<IoResult> SetLengthAsync(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        if (handle.IsClosed)
        {
            return new(IoResult.Fail(IoStatus.Closed, ClosedMessage));
        }
        try
        {
            RandomAccess.SetLength(handle, length);
            return new(IoResult.Ok);
        }
        catch (Exception exception)
        {
            return new(FileStorage.Classify(exception, $"set length of '{Path}'"));
        }
    }

    public async ValueTask<IoResult> LockAsync()
    {
        if (handle.IsClosed)
        {
            return IoResult.Fail(IoStatus.Closed, ClosedMessage);
        }
        // Handles of this process queue for the file without blocking a thread; only the first in line takes the
        // OS lock, which then contends only with other processes.
        if (_inProcess is null)
        {
            if (Identity is not (ulong, ulong) identity)
            {
                return IoResult.Fail(IoStatus.IoError, $"lock '{Path}': cannot identify the file (fstat failed)");
            }
            _inProcess = InProcessLocks.For(identity);
        }
        await _inProcess.WaitAsync();
        IoResult<bool> taken = FileLock.TryLock(handle, Path);
        IoResult result = !taken.IsOk ? taken.AsFailure()
            : taken.Value ? IoResult.Ok
            : await Task.Run(() => FileLock.Lock(handle, Path)); // another process holds it: wait on a pool thread
        if (result.IsOk)
        {
            Volatile.Write(ref _holdsLock, 1);
        }
        else
        {
            _inProcess.Release();
        }
        return result;
    }

    public ValueTask<IoResult> UnlockAsync()
    {
        if (Interlocked.Exchange(ref _holdsLock, 0) == 0)
        {
            return new(IoResult.Ok);
        }
        IoResult result = handle.IsClosed ? IoResult.Ok : FileLock.Unlock(handle, Path);
        _inProcess!.Release();
        return new(result);
    }

    private SemaphoreSlim? _inProcess;
    private (ulong, ulong)? _identity;
    private bool _identityRead;

    /// <summary>The file's device and inode, read once (fstat) for the handle's life; null when unreadable.</summary>
    private (ulong, ulong)? Identity
    {
        get
        {
            if (!_identityRead)
            {
                _identity = SharedFlush.Identity(handle);
                _identityRead = true;
            }
            return _identity;
        }
    }
    private int _holdsLock; // 1 while this handle holds the lock; a crash may close the handle from another thread

    public void Dispose()
    {
        storage.Forget(this);
        handle.Dispose(); // closing the descriptor drops the OS lock
        ReleaseInProcessLock();
    }

    private void ReleaseInProcessLock()
    {
        if (Interlocked.Exchange(ref _holdsLock, 0) == 1)
        {
            _inProcess!.Release();
        }
    }

    internal void CloseHandle()
    {
        handle.Dispose();
        ReleaseInProcessLock();
    }

    private const string ClosedMessage = "the file was closed (or its node stopped or crashed)";

    private static bool s_seekForLength = !OperatingSystem.IsWindows();

    /// <summary>
    /// The file's length from <c>lseek(SEEK_END)</c>, not <c>fstat</c> (<see cref="RandomAccess.GetLength"/>): a stat
    /// asks for the file's timestamps too, and Linux then gives the next write a fine-grained modification time, so
    /// every write changes the inode and every later <c>fdatasync</c> writes the inode block as well as the data (two
    /// device writes instead of one). Consensus checks a log's length before each operation, so on ext4 without a
    /// journal that was a second write in every commit: 2,000 appends of 949 bytes, each followed by <c>fdatasync</c>,
    /// issued 4,002 block requests with a p50 of 145-150 µs with a stat before each, and 2,064 with 104 µs with a seek.
    /// Positional reads and writes do not use the file offset, so moving it is harmless.
    /// </summary>
    private static long LengthOf(SafeFileHandle handle)
    {
        if (s_seekForLength)
        {
            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                long end = Lseek((int)handle.DangerousGetHandle(), 0, SeekEnd);
                if (end >= 0)
                {
                    return end;
                }
            }
            catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
            {
                s_seekForLength = false;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        return RandomAccess.GetLength(handle);
    }

    private const int SeekEnd = 2;

    [LibraryImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static partial long Lseek(int fd, long offset, int whence);
}
