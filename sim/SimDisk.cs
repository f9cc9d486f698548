using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>
/// A node's simulated disk. It outlives the node's incarnations, and a crash decides what of it was durable.
/// </summary>
/// <remarks>
/// File data: each file keeps its durable bytes (as of its last successful fsync) and the list of writes since.
/// At a crash each unflushed write survives, is lost, or (torn) survives as a prefix of 512-byte sectors, as
/// the run's fault profile decides; without those faults everything survives, as after a process kill.
/// Directory entries: creates, renames and deletes go into a journal; syncing a directory commits the journal
/// up to the last operation that touched that directory (an ordered-journal file system such as ext4 behaves
/// so), and a crash keeps a prefix of the uncommitted rest, each operation lost with the
/// run's unflushed-loss probability.
/// </remarks>
public sealed class SimDisk
{
    private const int SectorBytes = 512;

    private readonly SimNode _node;
    private Dictionary<string, Entry> _durable = new(StringComparer.Ordinal);
    private Dictionary<string, Entry> _live = new(StringComparer.Ordinal);
    private readonly List<MetaOp> _journal = [];

    internal SimDisk(SimNode node) => _node = node;

    internal sealed class Inode
    {
        public byte[] Data = [];
        public int Length;
        public byte[] DurableData = [];
        public int DurableLength;
        public readonly List<(long Offset, byte[]? Bytes, long NewLength)> Pending = [];

        /// <summary>The handle holding the file's lock; it lapses when that handle closes or its incarnation ends.</summary>
        public SimFile? LockHolder;

        public readonly Queue<(SimFile File, TaskCompletionSource<IoResult> Granted)> LockWaiters = new();
    }

    private sealed record Entry(Inode? File)
    {
        public bool IsDirectory => File is null;
    }

    private readonly record struct MetaOp(string Path, string? Target, Entry? Created)
    {
        public bool Touches(string directory) =>
            StoragePath.Parent(Path) == directory || (Target is not null && StoragePath.Parent(Target) == directory);
    }

    internal bool DirectoryExists(string path) => path.Length == 0 || (_live.TryGetValue(path, out Entry? e) && e.IsDirectory);

    internal bool TryGetFile(string path, out Inode inode)
    {
        inode = null!;
        if (_live.TryGetValue(path, out Entry? e) && e.File is not null)
        {
            inode = e.File;
            return true;
        }
        return false;
    }

    internal bool Exists(string path) => _live.ContainsKey(path);

    internal Inode CreateFile(string path)
    {
        var inode = new Inode();
        Apply(new MetaOp(path, null, new Entry(inode)));
        return inode;
    }

    internal void CreateDirectory(string path) => Apply(new MetaOp(path, null, new Entry((Inode?)null)));

    internal void Delete(string path) => Apply(new MetaOp(path, null, null));

    internal void Rename(string from, string to) => Apply(new MetaOp(from, to, null));

    internal bool HasChildren(string directory)
    {
        foreach (string path in _live.Keys)
        {
            if (StoragePath.Parent(path) == directory)
            {
                return true;
            }
        }
        return false;
    }

    internal List<DirectoryEntry> List(string directory)
    {
        var result = new List<DirectoryEntry>();
        foreach ((string path, Entry entry) in _live)
        {
            if (StoragePath.Parent(path) == directory)
            {
                result.Add(new DirectoryEntry(StoragePath.Name(path), entry.IsDirectory));
            }
        }
        result.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return result;
    }

    internal void SyncDirectory(string directory)
    {
        int last = _journal.FindLastIndex(op => op.Touches(directory));
        for (int i = 0; i <= last; i++)
        {
            ApplyTo(_durable, _journal[i]);
        }
        _journal.RemoveRange(0, last + 1);
    }

    internal static void Write(Inode inode, long offset, byte[] bytes)
    {
        long end = offset + bytes.Length;
        Grow(ref inode.Data, end);
        bytes.CopyTo(inode.Data, offset);
        inode.Length = (int)Math.Max(inode.Length, end);
        inode.Pending.Add((offset, bytes, -1));
    }

    internal static void SetLength(Inode inode, long length)
    {
        Grow(ref inode.Data, length);
        if (length < inode.Length)
        {
            Array.Clear(inode.Data, (int)length, inode.Length - (int)length);
        }
        inode.Length = (int)length;
        inode.Pending.Add((0, null, length));
    }

    internal static void Flush(Inode inode)
    {
        inode.DurableData = inode.Data.AsSpan(0, inode.Length).ToArray();
        inode.DurableLength = inode.Length;
        inode.Pending.Clear();
    }

    /// <summary>A failed fsync may leave the dirty pages dropped (Linux marks them clean): the file reverts to its durable bytes.</summary>
    internal static void DropDirtyPages(Inode inode)
    {
        inode.Data = inode.DurableData.AsSpan(0, inode.DurableLength).ToArray();
        inode.Length = inode.DurableLength;
        inode.Pending.Clear();
    }

    /// <summary>Resolves what a crash leaves on the disk.</summary>
    internal void Crash(IRandom random, FaultProfile faults)
    {
        // The journal survives as a prefix: each operation in turn made it to disk unless lost, and nothing after a lost one did.
        int kept = 0;
        while (kept < _journal.Count && !random.Chance(faults.LoseUnflushedProbability))
        {
            kept++;
        }
        for (int i = 0; i < kept; i++)
        {
            ApplyTo(_durable, _journal[i]);
        }
        int lostOps = _journal.Count - kept;
        _journal.Clear();

        int lostWrites = 0, tornWrites = 0;
        var seen = new HashSet<Inode>(ReferenceEqualityComparer.Instance);
        // Resolve every file reachable before or after the crash, in path order so the draws are reproducible.
        var paths = new List<string>(_live.Keys);
        paths.AddRange(_durable.Keys);
        paths.Sort(string.CompareOrdinal);
        foreach (string path in paths)
        {
            Inode? inode = (_live.GetValueOrDefault(path) ?? _durable.GetValueOrDefault(path))?.File;
            if (inode is null || !seen.Add(inode))
            {
                continue;
            }
            ResolveFile(inode, random, faults, ref lostWrites, ref tornWrites);
        }
        foreach (Entry entry in _durable.Values)
        {
            if (entry.File is { } inode && seen.Add(inode))
            {
                ResolveFile(inode, random, faults, ref lostWrites, ref tornWrites);
            }
        }
        _live = new Dictionary<string, Entry>(_durable, StringComparer.Ordinal);
        if (lostOps + lostWrites + tornWrites > 0)
        {
            _node.World.Record(_node, "disk-loss", string.Create(CultureInfo.InvariantCulture, $"{lostOps} directory ops, {lostWrites} writes lost, {tornWrites} torn"));
        }
    }

    private static void ResolveFile(Inode inode, IRandom random, FaultProfile faults, ref int lost, ref int torn)
    {
        byte[] data = inode.DurableData.AsSpan(0, inode.DurableLength).ToArray();
        int length = inode.DurableLength;
        foreach ((long offset, byte[]? bytes, long newLength) in inode.Pending)
        {
            if (random.Chance(faults.LoseUnflushedProbability))
            {
                lost++;
                continue;
            }
            if (bytes is null)
            {
                Grow(ref data, newLength);
                if (newLength < length)
                {
                    Array.Clear(data, (int)newLength, length - (int)newLength);
                }
                length = (int)newLength;
                continue;
            }
            int count = bytes.Length;
            if (count > SectorBytes && random.Chance(faults.TornWriteProbability))
            {
                count = random.Next((count / SectorBytes) + 1) * SectorBytes;
                torn++;
            }
            Grow(ref data, offset + count);
            bytes.AsSpan(0, count).CopyTo(data.AsSpan((int)offset));
            length = (int)Math.Max(length, offset + count);
        }
        inode.Data = data;
        inode.Length = length;
        inode.DurableData = data.AsSpan(0, length).ToArray();
        inode.DurableLength = length;
        inode.Pending.Clear();
    }

    private void Apply(MetaOp op)
    {
        ApplyTo(_live, op);
        _journal.Add(op);
    }

    private static void ApplyTo(Dictionary<string, Entry> names, MetaOp op)
    {
        if (op.Created is not null)
        {
            names[op.Path] = op.Created;
        }
        else if (op.Target is not null)
        {
            if (names.Remove(op.Path, out Entry? moved))
            {
                names[op.Target] = moved;
            }
        }
        else
        {
            names.Remove(op.Path);
        }
    }

    private static void Grow(ref byte[] data, long length)
    {
        if (length > int.MaxValue)
        {
            throw new InvalidOperationException("simulated files are limited to 2 GiB");
        }
        if (data.Length < length)
        {
            Array.Resize(ref data, (int)Math.Max(length, Math.Min(int.MaxValue, data.Length * 2L)));
        }
    }
}

/// <summary>One incarnation's <see cref="IDurableStorage"/>: every operation completes after a drawn latency, on the node's loop.</summary>
internal sealed class SimDiskView(SimNode node, long epoch) : IDurableStorage
{
    private SimDisk Disk => node.Disk;

    private SimWorld World => node.World;

    public ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode) => Operate<IDurableFile>(path, "open", write: false, () =>
    {
        if (!Disk.DirectoryExists(StoragePath.Parent(path)))
        {
            return IoResult<IDurableFile>.Fail(IoStatus.NotFound, $"directory of '{path}' does not exist");
        }
        bool exists = Disk.TryGetFile(path, out SimDisk.Inode inode);
        if (!exists && Disk.Exists(path))
        {
            return IoResult<IDurableFile>.Fail(IoStatus.AlreadyExists, $"'{path}' is a directory");
        }
        switch (mode)
        {
            case OpenMode.OpenExisting when !exists:
                return IoResult<IDurableFile>.Fail(IoStatus.NotFound, $"'{path}' does not exist");
            case OpenMode.CreateNew when exists:
                return IoResult<IDurableFile>.Fail(IoStatus.AlreadyExists, $"'{path}' already exists");
        }
        if (!exists)
        {
            inode = Disk.CreateFile(path);
        }
        return IoResult<IDurableFile>.Ok(new SimFile(node, epoch, path, inode));
    });

    public ValueTask<IoResult> DeleteAsync(string path) => Operate(path, "delete", () =>
    {
        if (!Disk.Exists(path))
        {
            return IoResult.Fail(IoStatus.NotFound, $"'{path}' does not exist");
        }
        if (Disk.HasChildren(path))
        {
            return IoResult.Fail(IoStatus.NotEmpty, $"directory '{path}' is not empty");
        }
        Disk.Delete(path);
        return IoResult.Ok;
    });

    public ValueTask<IoResult> RenameAsync(string from, string to)
    {
        if (StoragePath.Validate(to) is { } error)
        {
            return ValueTask.FromResult(IoResult.Fail(IoStatus.InvalidPath, error));
        }
        return Operate(from, "rename", () =>
        {
            if (!Disk.TryGetFile(from, out _))
            {
                return IoResult.Fail(IoStatus.NotFound, $"'{from}' does not exist or is a directory");
            }
            if (!Disk.DirectoryExists(StoragePath.Parent(to)))
            {
                return IoResult.Fail(IoStatus.NotFound, $"directory of '{to}' does not exist");
            }
            if (Disk.Exists(to) && !Disk.TryGetFile(to, out _))
            {
                return IoResult.Fail(IoStatus.AlreadyExists, $"'{to}' is a directory");
            }
            Disk.Rename(from, to);
            return IoResult.Ok;
        });
    }

    public ValueTask<IoResult> CreateDirectoryAsync(string path) => Operate(path, "mkdir", () =>
    {
        string[] segments = path.Split('/');
        string current = "";
        foreach (string segment in segments)
        {
            current = StoragePath.Combine(current, segment);
            if (Disk.DirectoryExists(current))
            {
                continue;
            }
            if (Disk.Exists(current))
            {
                return IoResult.Fail(IoStatus.AlreadyExists, $"'{current}' is a file");
            }
            Disk.CreateDirectory(current);
        }
        return IoResult.Ok;
    });

    public ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory) =>
        Operate<IReadOnlyList<DirectoryEntry>>(directory, "list", write: false, allowRoot: true, () =>
            Disk.DirectoryExists(directory)
                ? IoResult<IReadOnlyList<DirectoryEntry>>.Ok(Disk.List(directory))
                : IoResult<IReadOnlyList<DirectoryEntry>>.Fail(IoStatus.NotFound, $"directory '{directory}' does not exist"));

    public ValueTask<IoResult> SyncDirectoryAsync(string directory) => Operate(directory, "syncdir", allowRoot: true, operation: () =>
    {
        if (!Disk.DirectoryExists(directory))
        {
            return IoResult.Fail(IoStatus.NotFound, $"directory '{directory}' does not exist");
        }
        Disk.SyncDirectory(directory);
        return IoResult.Ok;
    });

    private ValueTask<IoResult> Operate(string path, string label, Func<IoResult> operation, bool allowRoot = false) =>
        Unwrap(Operate<bool>(path, label, write: true, allowRoot, () =>
        {
            IoResult result = operation();
            return result.IsOk ? IoResult<bool>.Ok(true) : result;
        }));

    private ValueTask<IoResult<T>> Operate<T>(string path, string label, bool write, Func<IoResult<T>> operation) =>
        Operate(path, label, write, allowRoot: false, operation);

    private ValueTask<IoResult<T>> Operate<T>(string path, string label, bool write, bool allowRoot, Func<IoResult<T>> operation)
    {
        if (StoragePath.Validate(path, allowRoot) is { } error)
        {
            return ValueTask.FromResult(IoResult<T>.Fail(IoStatus.InvalidPath, error));
        }
        return SimIo.Complete(node, epoch, label + " " + path, write, operation);
    }

    private static async ValueTask<IoResult> Unwrap(ValueTask<IoResult<bool>> pending)
    {
        IoResult<bool> result = await pending;
        return result.IsOk ? IoResult.Ok : result.AsFailure();
    }
}

/// <summary>Latency and I/O errors shared by every simulated disk operation.</summary>
internal static class SimIo
{
    public static ValueTask<IoResult<T>> Complete<T>(SimNode node, long epoch, string what, bool write, Func<IoResult<T>> operation)
    {
        SimWorld world = node.World;
        if (node.Epoch != epoch)
        {
            return ValueTask.FromResult(IoResult<T>.Fail(IoStatus.Closed, "the node has restarted"));
        }
        FaultProfile f = world.Faults;
        IRandom r = world.DiskRandom;
        double ms = SimWorld.Exponential(r, f.DiskLatencyMeanMs);
        if (world.ChaosActive && r.Chance(f.DiskSpikeProbability))
        {
            ms += 10 + r.Next(490);
        }
        bool ioError = world.ChaosActive && r.Chance(f.IoErrorProbability);
        // A failed write may or may not have reached the disk.
        bool appliedDespiteError = ioError && write && r.Chance(0.5);
        var completion = new TaskCompletionSource<IoResult<T>>(TaskCreationOptions.RunContinuationsAsynchronously);
        world.Schedule(node, (long)(ms * 1_000_000), "disk", () =>
        {
            if (ioError)
            {
                if (appliedDespiteError)
                {
                    operation();
                }
                world.Record(node, "io-error", what);
                completion.SetResult(IoResult<T>.Fail(IoStatus.IoError, $"injected I/O error: {what}"));
                return;
            }
            completion.SetResult(operation());
        });
        return new ValueTask<IoResult<T>>(completion.Task);
    }
}

internal sealed class SimFile(SimNode node, long epoch, string path, SimDisk.Inode inode) : IDurableFile
{
    private bool _closed;

    public string Path => path;

    public ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer)
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult<IoResult<int>>(closed);
        }
        if (offset < 0)
        {
            return ValueTask.FromResult(IoResult<int>.Fail(IoStatus.InvalidPath, "negative offset"));
        }
        return SimIo.Complete(node, epoch, "read " + path, write: false, () =>
        {
            if (offset >= inode.Length)
            {
                return IoResult<int>.Ok(0);
            }
            int count = (int)Math.Min(buffer.Length, inode.Length - offset);
            inode.Data.AsSpan((int)offset, count).CopyTo(buffer.Span);
            SimWorld world = node.World;
            if (count > 0 && world.ChaosActive && world.DiskRandom.Chance(world.Faults.CorruptReadProbability))
            {
                int bit = world.DiskRandom.Next(count * 8);
                buffer.Span[bit / 8] ^= (byte)(1 << (bit % 8));
                world.Record(node, "corrupt-read", path);
            }
            return IoResult<int>.Ok(count);
        });
    }

    public ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult(closed);
        }
        if (offset < 0)
        {
            return ValueTask.FromResult(IoResult.Fail(IoStatus.InvalidPath, "negative offset"));
        }
        byte[] copy = data.ToArray(); // the caller may reuse its buffer once the call returns
        return Void(SimIo.Complete(node, epoch, "write " + path, write: true, () =>
        {
            SimDisk.Write(inode, offset, copy);
            return IoResult<bool>.Ok(true);
        }));
    }

    public ValueTask<IoResult> FlushAsync()
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult(closed);
        }
        var pending = SimIo.Complete(node, epoch, "fsync " + path, write: false, () =>
        {
            SimDisk.Flush(inode);
            return IoResult<bool>.Ok(true);
        });
        return FlushResult(pending);
    }

    public ValueTask<IoResult<long>> GetLengthAsync()
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult<IoResult<long>>(closed);
        }
        return ValueTask.FromResult(IoResult<long>.Ok(inode.Length));
    }

    public ValueTask<IoResult> SetLengthAsync(long length)
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult(closed);
        }
        if (length < 0)
        {
            return ValueTask.FromResult(IoResult.Fail(IoStatus.InvalidPath, "negative length"));
        }
        return Void(SimIo.Complete(node, epoch, "truncate " + path, write: true, () =>
        {
            SimDisk.SetLength(inode, length);
            return IoResult<bool>.Ok(true);
        }));
    }

    public ValueTask<IoResult> LockAsync()
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult(closed);
        }
        if (!HoldsLiveLock(inode.LockHolder))
        {
            inode.LockHolder = this;
            return ValueTask.FromResult(IoResult.Ok);
        }
        if (inode.LockHolder == this)
        {
            return ValueTask.FromResult(IoResult.Fail(IoStatus.IoError, $"lock '{path}': this handle already holds it"));
        }
        var granted = new TaskCompletionSource<IoResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        inode.LockWaiters.Enqueue((this, granted));
        return new ValueTask<IoResult>(granted.Task);
    }

    public ValueTask<IoResult> UnlockAsync()
    {
        if (Check() is { } closed)
        {
            return ValueTask.FromResult(closed);
        }
        ReleaseLock();
        return ValueTask.FromResult(IoResult.Ok);
    }

    public void Dispose()
    {
        _closed = true;
        ReleaseLock();
    }

    /// <summary>A crash or restart ends the incarnation, and with it every lock its handles held (the OS drops them).</summary>
    private static bool HoldsLiveLock(SimFile? holder) => holder is not null && !holder._closed && holder.IsCurrent;

    private bool IsCurrent => node.Epoch == epoch;

    private void ReleaseLock()
    {
        if (inode.LockHolder != this)
        {
            return;
        }
        inode.LockHolder = null;
        // Hand the lock to the first waiter still alive, in arrival order.
        while (inode.LockWaiters.Count > 0)
        {
            (SimFile next, TaskCompletionSource<IoResult> granted) = inode.LockWaiters.Dequeue();
            if (!next._closed && next.IsCurrent)
            {
                inode.LockHolder = next;
                granted.SetResult(IoResult.Ok);
                return;
            }
        }
    }

    private IoResult? Check() =>
        _closed ? IoResult.Fail(IoStatus.Closed, $"'{path}' is closed")
        : node.Epoch != epoch ? IoResult.Fail(IoStatus.Closed, "the node has restarted")
        : null;

    private async ValueTask<IoResult> FlushResult(ValueTask<IoResult<bool>> pending)
    {
        IoResult<bool> result = await pending;
        if (result.IsOk)
        {
            return IoResult.Ok;
        }
        if (result.Status == IoStatus.IoError && node.World.DiskRandom.Chance(0.5))
        {
            SimDisk.DropDirtyPages(inode);
        }
        return result.AsFailure();
    }

    private static async ValueTask<IoResult> Void(ValueTask<IoResult<bool>> pending)
    {
        IoResult<bool> result = await pending;
        return result.IsOk ? IoResult.Ok : result.AsFailure();
    }
}
