using System;
using System.Runtime.InteropServices;
using Kernel.Runtime;
using Microsoft.Win32.SafeHandles;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// Whole-file exclusive locks owned by an open file description: Linux's "OFD" locks (fcntl F_OFD_SETLK).
/// </summary>
/// <remarks>
/// Why not the alternatives: classic POSIX record locks (F_SETLK) belong to the process, so two handles of one
/// process never exclude each other and closing any descriptor of the file drops them all; flock(2) would be
/// per description too, but .NET itself takes a shared flock on every file it opens with sharing, which an
/// exclusive flock would then collide with. OFD locks conflict between any two descriptions, are released when
/// the last descriptor of the description closes (so at process death), and are independent of flock.
/// </remarks>
internal static unsafe partial class FileLock
{
    private const int CommandSetLock = 37; // F_OFD_SETLK
    private const int CommandSetLockWait = 38; // F_OFD_SETLKW
    private const short TypeWrite = 1; // F_WRLCK
    private const short TypeUnlock = 2; // F_UNLCK
    private const int ErrnoInterrupted = 4; // EINTR
    private const int ErrnoAgain = 11; // EAGAIN
    private const int ErrnoAccess = 13; // EACCES
    private const int EintrRetriesMax = 64;

    /// <summary>struct flock on Linux (the same layout on x86-64 and arm64).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct Flock
    {
        public short Type;
        public short Whence;
        public long Start;
        public long Length;
        public int Pid;
    }

    /// <summary>Takes the lock without waiting; false when another description holds it.</summary>
    public static IoResult<bool> TryLock(SafeFileHandle handle, string path) => Set(handle, path, TypeWrite, wait: false);

    /// <summary>Takes the lock, blocking the calling thread until it is free.</summary>
    public static IoResult Lock(SafeFileHandle handle, string path)
    {
        IoResult<bool> result = Set(handle, path, TypeWrite, wait: true);
        return result.IsOk ? IoResult.Ok : result.AsFailure();
    }

    public static IoResult Unlock(SafeFileHandle handle, string path)
    {
        IoResult<bool> result = Set(handle, path, TypeUnlock, wait: false);
        return result.IsOk ? IoResult.Ok : result.AsFailure();
    }

    private static IoResult<bool> Set(SafeFileHandle handle, string path, short type, bool wait)
    {
        if (!OperatingSystem.IsLinux())
        {
            return IoResult<bool>.Fail(IoStatus.IoError, $"lock '{path}': file locks need Linux (open file description locks)");
        }
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            // The whole file, now and as it grows: start 0, length 0. Pid must be 0 for OFD locks.
            var request = new Flock { Type = type, Whence = 0, Start = 0, Length = 0, Pid = 0 };
            for (int attempt = 0; ; attempt++)
            {
                if (Fcntl(fd, wait ? CommandSetLockWait : CommandSetLock, &request) == 0)
                {
                    return IoResult<bool>.Ok(true);
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno == ErrnoInterrupted && attempt < EintrRetriesMax)
                {
                    continue;
                }
                if (!wait && errno is ErrnoAgain or ErrnoAccess)
                {
                    return IoResult<bool>.Ok(false);
                }
                return IoResult<bool>.Fail(IoStatus.IoError, $"lock '{path}': fcntl: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }
        catch (ObjectDisposedException)
        {
            return IoResult<bool>.Fail(IoStatus.Closed, $"lock '{path}': the file was closed");
        }
        catch (Exception exception) when (exception is DllNotFoundException or EntryPointNotFoundException)
        {
            return IoResult<bool>.Fail(IoStatus.IoError, $"lock '{path}': libc is unavailable: {exception.Message}");
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, Flock* request);
}

/// <summary>One queue per locked file (device and inode) for the handles of this process, ahead of the OS lock.</summary>
internal static class InProcessLocks
{
    private static readonly System.Collections.Generic.Dictionary<(ulong, ulong), System.Threading.SemaphoreSlim> s_locks = [];

    public static System.Threading.SemaphoreSlim For((ulong, ulong) identity)
    {
        lock (s_locks)
        {
            if (!s_locks.TryGetValue(identity, out System.Threading.SemaphoreSlim? semaphore))
            {
                semaphore = new System.Threading.SemaphoreSlim(1, 1);
                s_locks.Add(identity, semaphore);
            }
            return semaphore;
        }
    }
}
