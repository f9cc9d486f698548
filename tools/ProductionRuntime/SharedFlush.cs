using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Microsoft.Win32.SafeHandles;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// Group commit at the disk: flushes of one file (one inode, through any handle, from any node of this process)
/// share fsyncs. One fsync runs at a time per file; requests that arrive while it runs wait for the next one,
/// which covers them all, as an fsync covers every write to the file that completed before it started.
/// </summary>
/// <remarks>
/// Many writers appending to one log and each syncing it is the case this is for: without sharing, their fsyncs
/// queue in the kernel one behind another; with it, the second and later callers of a round cost nothing.
/// </remarks>
internal static unsafe partial class SharedFlush
{
    private static readonly object s_gate = new();

    /// <summary>Callers run an uncontended fsync themselves while recent fsyncs averaged at most this long.</summary>
    private static readonly long s_inlineFlushTicksMax = Stopwatch.Frequency / 1000; // 1 ms

    /// <summary>A moving average (weight 1/8 per fsync) of how long fsyncs took, in Stopwatch ticks.</summary>
    private static long s_recentFlushTicks;

    private static readonly Dictionary<(ulong Device, ulong Inode), Group> s_groups = []; // guarded by s_gate

    private sealed class Group((ulong, ulong) identity)
    {
        public readonly (ulong, ulong) Identity = identity;
        public List<(SafeFileHandle Handle, string Path, TaskCompletionSource<IoResult> Done)> Waiting = []; // guarded by s_gate
        public bool Active; // guarded by s_gate
    }

    /// <summary>Flushes the file behind <paramref name="handle"/>, sharing the fsync with concurrent callers for the same file.</summary>
    /// <param name="handle">Any open handle of the file.</param>
    /// <param name="path">The file's storage path, for error messages.</param>
    /// <param name="identity">The file's device and inode (<see cref="Identity"/>); null: flush alone.</param>
    public static Task<IoResult> FlushAsync(SafeFileHandle handle, string path, (ulong, ulong)? identity)
    {
        if (!OperatingSystem.IsLinux() || identity is null)
        {
            return Task.Run(() => Flush(handle, path));
        }
        // Completed on the flushing thread: an awaiting node loop gets its continuation posted back to it, so no
        // caller's code runs on that thread, and skipping a pool hop here saves tens of microseconds per commit.
        var done = new TaskCompletionSource<IoResult>();
        Group group;
        lock (s_gate)
        {
            if (!s_groups.TryGetValue(identity.Value, out Group? existing))
            {
                existing = new Group(identity.Value);
                s_groups.Add(identity.Value, existing);
            }
            group = existing;
            if (group.Active || Volatile.Read(ref s_recentFlushTicks) > s_inlineFlushTicksMax || !NodeLoop.CallerMayBlock())
            {
                group.Waiting.Add((handle, path, done));
                if (!group.Active)
                {
                    group.Active = true;
                    _ = Task.Run(() => Rounds(group));
                }
                return done.Task;
            }
            group.Active = true;
        }
        // No fsync of this file is running, fsyncs on this machine are fast, and the caller's node loop has nothing
        // else to run: run it here, on the caller's thread. Handing it to a pool thread and back costs two thread
        // wake-ups, which on a small virtual machine took longer than the fsync itself (persist benchmark (b): 532 µs
        // a commit with the hand-off, 264 µs without, next to a 251 µs fdatasync floor). Otherwise the fsync goes to
        // the pool, as below: on a device whose fsyncs are slow, or with other work queued (more commits to gather
        // into the next group), blocking the loop would stall that work.
        long started = Stopwatch.GetTimestamp();
        IoResult result = Flush(handle, path);
        Observe(Stopwatch.GetTimestamp() - started);
        bool more;
        lock (s_gate)
        {
            more = group.Waiting.Count > 0;
            if (!more)
            {
                group.Active = false;
                s_groups.Remove(group.Identity);
            }
        }
        if (more)
        {
            // Callers that arrived meanwhile need an fsync that starts after their writes: the next rounds.
            _ = Task.Run(() => Rounds(group));
        }
        return Task.FromResult(result);
    }

    private static void Observe(long ticks)
    {
        long recent = Volatile.Read(ref s_recentFlushTicks);
        // Racy read-modify-write: a lost update only delays the average by one sample.
        Volatile.Write(ref s_recentFlushTicks, recent + (ticks - recent) / 8);
    }

    /// <summary>fdatasync(2) on Linux, fsync elsewhere (F_FULLFSYNC on macOS); a failure is reported, never retried (after a failed fsync the page cache is suspect).</summary>
    public static IoResult Flush(SafeFileHandle handle, string path)
    {
        if (handle.IsClosed)
        {
            return IoResult.Fail(IoStatus.Closed, "the file was closed (or its node stopped or crashed)");
        }
        try
        {
            if (OperatingSystem.IsLinux())
            {
                return DataSync(handle, path);
            }
            RandomAccess.FlushToDisk(handle);
            return IoResult.Ok;
        }
        catch (Exception exception)
        {
            return FileStorage.Classify(exception, $"flush '{path}'");
        }
    }

    private static void Rounds(Group group)
    {
        while (true)
        {
            List<(SafeFileHandle Handle, string Path, TaskCompletionSource<IoResult> Done)> round;
            lock (s_gate)
            {
                if (group.Waiting.Count == 0)
                {
                    group.Active = false;
                    s_groups.Remove(group.Identity);
                    return;
                }
                round = group.Waiting;
                group.Waiting = [];
            }
            // Every caller in the round finished its writes before it asked: one fsync through any open handle covers them.
            IoResult result = IoResult.Fail(IoStatus.Closed, "the file was closed (or its node stopped or crashed)");
            foreach ((SafeFileHandle handle, string path, _) in round)
            {
                if (!handle.IsClosed)
                {
                    long started = Stopwatch.GetTimestamp();
                    result = Flush(handle, path);
                    Observe(Stopwatch.GetTimestamp() - started);
                    if (result.Status != IoStatus.Closed)
                    {
                        break;
                    }
                }
            }
            foreach ((_, _, TaskCompletionSource<IoResult> done) in round)
            {
                done.SetResult(result);
            }
        }
    }

    /// <summary>
    /// fdatasync(2): the file's data and the metadata needed to read it back (its size) are durable, which is all
    /// the seam promises; unlike fsync it skips timestamps, which would cost a journal commit on every append.
    /// </summary>
    private static IoResult DataSync(SafeFileHandle handle, string path)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            for (int attempt = 0; ; attempt++)
            {
                if (Fdatasync((int)handle.DangerousGetHandle()) == 0)
                {
                    return IoResult.Ok;
                }
                int errno = Marshal.GetLastPInvokeError();
                if (errno != 4 || attempt >= 64) // EINTR
                {
                    return IoResult.Fail(IoStatus.IoError, $"flush '{path}': fdatasync: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    /// <summary>The file's device and inode numbers (fstat), or null when they cannot be read.</summary>
    internal static (ulong, ulong)? Identity(SafeFileHandle handle)
    {
        bool added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            // struct stat begins with st_dev and st_ino, both 64-bit, on Linux x86-64 and arm64 alike.
            byte* buffer = stackalloc byte[256];
            if (Fstat((int)handle.DangerousGetHandle(), buffer) != 0)
            {
                return null;
            }
            return (*(ulong*)buffer, *(ulong*)(buffer + 8));
        }
        catch (Exception exception) when (exception is ObjectDisposedException or DllNotFoundException or EntryPointNotFoundException)
        {
            return null;
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int Fdatasync(int fd);

    [LibraryImport("libc", EntryPoint = "fstat", SetLastError = true)]
    private static partial int Fstat(int fd, byte* buffer);
}
