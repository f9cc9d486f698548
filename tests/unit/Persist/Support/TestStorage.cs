using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Unit.Persist.Support;

/// <summary>What an injected fault does to one storage operation.</summary>
public enum FaultAction
{
    None,

    /// <summary>Fail with <see cref="IoStatus.IoError"/> without doing anything.</summary>
    FailBefore,

    /// <summary>Do the operation, then report <see cref="IoStatus.IoError"/> anyway.</summary>
    FailAfter,
}

/// <summary>
/// An in-memory <see cref="IDurableStorage"/> test double with the seam's durability rules and a crash model,
/// so file backends can be tested for crash safety without the simulator.
/// </summary>
/// <remarks>
/// Files are inodes: a handle keeps writing to its inode after a rename or delete (POSIX). File bytes become
/// durable at flush. Creates, renames and deletes go into a journal; syncing a directory commits the journal up
/// to the last operation that touched it (an ordered-journal file system such as ext4); <see cref="Crash"/>
/// keeps a random prefix (or none) of the rest and reverts every file to its flushed bytes. Several
/// "processes" share one instance. With a <see cref="StepScheduler"/> every operation first yields, so
/// concurrent callers interleave deterministically. <see cref="Faults"/> injects I/O errors.
/// </remarks>
public sealed class TestStorage : IDurableStorage
{
    private readonly StepScheduler? _scheduler;
    private Dictionary<string, Inode?> _live = new(StringComparer.Ordinal); // null value: a directory
    private Dictionary<string, Inode?> _durable = new(StringComparer.Ordinal);
    private readonly List<MetaOp> _journal = [];
    private long _generation;

    public TestStorage(StepScheduler? scheduler = null)
    {
        _scheduler = scheduler;
    }

    /// <summary>Called before each operation with its name ("open", "write", "flush", "rename", "delete", "mkdir", "list", "sync") and path.</summary>
    public Func<string, string, FaultAction>? Faults { get; set; }

    public long Operations { get; private set; }

    /// <summary>
    /// Loses what was not durable: unflushed bytes, and the uncommitted journal except a random prefix when
    /// <paramref name="random"/> is given, or a random subset when <paramref name="anySubset"/> is also set (a file
    /// system that reorders unsynced directory operations: harsher than the seam promises to be, which is fine).
    /// </summary>
    public void Crash(IRandom? random = null, bool anySubset = false)
    {
        int keep = random is null ? 0 : random.Next(_journal.Count + 1);
        for (int i = 0; i < _journal.Count; i++)
        {
            bool survives = anySubset ? random is not null && random.Chance(0.5) : i < keep;
            if (survives)
            {
                Apply(_durable, _journal[i]);
            }
        }
        _journal.Clear();
        var survivors = new Dictionary<string, Inode?>(StringComparer.Ordinal);
        foreach ((string path, Inode? inode) in _durable)
        {
            if (ParentExists(_durable, path))
            {
                survivors[path] = inode;
            }
        }
        _durable = survivors;
        _live = new Dictionary<string, Inode?>(_durable, StringComparer.Ordinal);
        foreach (Inode? inode in _live.Values)
        {
            inode?.Revert();
        }
        _generation++;
    }

    /// <summary>Test hook: the live bytes of a file, or null.</summary>
    public byte[]? Peek(string path) => _live.TryGetValue(path, out Inode? inode) && inode is not null ? inode.Data.ToArray() : null;

    /// <summary>Test hook: replaces a file's live and durable bytes (corruption).</summary>
    public void Poke(string path, byte[] bytes)
    {
        Inode inode = _live[path] ?? throw new InvalidOperationException($"{path} is a directory");
        inode.Data = [.. bytes];
        inode.Durable = bytes;
    }

    /// <summary>Test hook: every live path, sorted.</summary>
    public IReadOnlyList<string> Paths()
    {
        var paths = new List<string>(_live.Keys);
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    public async ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode)
    {
        await StepAsync();
        if (StoragePath.Validate(path) is string invalid)
        {
            return IoResult<IDurableFile>.Fail(IoStatus.InvalidPath, invalid);
        }
        FaultAction fault = Fault("open", path);
        if (fault == FaultAction.FailBefore)
        {
            return IoResult<IDurableFile>.Fail(IoStatus.IoError, "injected: open " + path);
        }
        if (!IsDirectory(_live, StoragePath.Parent(path)))
        {
            return IoResult<IDurableFile>.Fail(IoStatus.NotFound, $"directory of '{path}' does not exist");
        }
        _live.TryGetValue(path, out Inode? existing);
        bool exists = _live.ContainsKey(path);
        if (exists && existing is null)
        {
            return IoResult<IDurableFile>.Fail(IoStatus.AlreadyExists, $"'{path}' is a directory");
        }
        Inode inode;
        switch (mode)
        {
            case OpenMode.OpenExisting when !exists:
                return IoResult<IDurableFile>.Fail(IoStatus.NotFound, $"'{path}' does not exist");
            case OpenMode.CreateNew when exists:
                return IoResult<IDurableFile>.Fail(IoStatus.AlreadyExists, $"'{path}' exists");
            case OpenMode.CreateNew:
            case OpenMode.OpenOrCreate when !exists:
                inode = new Inode();
                _live[path] = inode;
                _journal.Add(new MetaOp(path, null, inode, IsDirectory: false));
                break;
            default:
                inode = existing!;
                break;
        }
        if (fault == FaultAction.FailAfter)
        {
            return IoResult<IDurableFile>.Fail(IoStatus.IoError, "injected after: open " + path);
        }
        return IoResult<IDurableFile>.Ok(new TestFile(this, path, inode, _generation));
    }

    public async ValueTask<IoResult> DeleteAsync(string path)
    {
        await StepAsync();
        if (StoragePath.Validate(path) is string invalid)
        {
            return IoResult.Fail(IoStatus.InvalidPath, invalid);
        }
        FaultAction fault = Fault("delete", path);
        if (fault == FaultAction.FailBefore)
        {
            return IoResult.Fail(IoStatus.IoError, "injected: delete " + path);
        }
        if (!_live.TryGetValue(path, out Inode? inode))
        {
            return IoResult.Fail(IoStatus.NotFound, $"'{path}' does not exist");
        }
        if (inode is null && HasChildren(path))
        {
            return IoResult.Fail(IoStatus.NotEmpty, $"'{path}' is not empty");
        }
        _live.Remove(path);
        _journal.Add(new MetaOp(path, null, null, IsDirectory: false, IsDelete: true));
        return fault == FaultAction.FailAfter ? IoResult.Fail(IoStatus.IoError, "injected after: delete " + path) : IoResult.Ok;
    }

    public async ValueTask<IoResult> RenameAsync(string from, string to)
    {
        await StepAsync();
        if ((StoragePath.Validate(from) ?? StoragePath.Validate(to)) is string invalid)
        {
            return IoResult.Fail(IoStatus.InvalidPath, invalid);
        }
        FaultAction fault = Fault("rename", from);
        if (fault == FaultAction.FailBefore)
        {
            return IoResult.Fail(IoStatus.IoError, $"injected: rename {from} to {to}");
        }
        if (!_live.TryGetValue(from, out Inode? inode) || inode is null)
        {
            return IoResult.Fail(IoStatus.NotFound, $"'{from}' does not exist or is a directory");
        }
        if (!IsDirectory(_live, StoragePath.Parent(to)))
        {
            return IoResult.Fail(IoStatus.NotFound, $"directory of '{to}' does not exist");
        }
        if (_live.TryGetValue(to, out Inode? target) && target is null)
        {
            return IoResult.Fail(IoStatus.AlreadyExists, $"'{to}' is a directory");
        }
        _live.Remove(from);
        _live[to] = inode;
        _journal.Add(new MetaOp(from, to, null, IsDirectory: false));
        return fault == FaultAction.FailAfter ? IoResult.Fail(IoStatus.IoError, $"injected after: rename {from} to {to}") : IoResult.Ok;
    }

    public async ValueTask<IoResult> CreateDirectoryAsync(string path)
    {
        await StepAsync();
        if (StoragePath.Validate(path, allowRoot: true) is string invalid)
        {
            return IoResult.Fail(IoStatus.InvalidPath, invalid);
        }
        if (Fault("mkdir", path) != FaultAction.None)
        {
            return IoResult.Fail(IoStatus.IoError, "injected: mkdir " + path);
        }
        if (path.Length == 0)
        {
            return IoResult.Ok;
        }
        string current = "";
        foreach (string segment in path.Split('/'))
        {
            current = StoragePath.Combine(current, segment);
            if (_live.TryGetValue(current, out Inode? inode))
            {
                if (inode is not null)
                {
                    return IoResult.Fail(IoStatus.AlreadyExists, $"'{current}' is a file");
                }
                continue;
            }
            _live[current] = null;
            _journal.Add(new MetaOp(current, null, null, IsDirectory: true));
        }
        return IoResult.Ok;
    }

    public async ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory)
    {
        await StepAsync();
        if (StoragePath.Validate(directory, allowRoot: true) is string invalid)
        {
            return IoResult<IReadOnlyList<DirectoryEntry>>.Fail(IoStatus.InvalidPath, invalid);
        }
        if (Fault("list", directory) != FaultAction.None)
        {
            return IoResult<IReadOnlyList<DirectoryEntry>>.Fail(IoStatus.IoError, "injected: list " + directory);
        }
        if (!IsDirectory(_live, directory))
        {
            return IoResult<IReadOnlyList<DirectoryEntry>>.Fail(IoStatus.NotFound, $"'{directory}' does not exist");
        }
        var entries = new List<DirectoryEntry>();
        foreach ((string path, Inode? inode) in _live)
        {
            if (path.Length > 0 && StoragePath.Parent(path) == directory)
            {
                entries.Add(new DirectoryEntry(StoragePath.Name(path), inode is null));
            }
        }
        entries.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return IoResult<IReadOnlyList<DirectoryEntry>>.Ok(entries);
    }

    public async ValueTask<IoResult> SyncDirectoryAsync(string directory)
    {
        await StepAsync();
        if (StoragePath.Validate(directory, allowRoot: true) is string invalid)
        {
            return IoResult.Fail(IoStatus.InvalidPath, invalid);
        }
        FaultAction fault = Fault("sync", directory);
        if (fault == FaultAction.FailBefore)
        {
            return IoResult.Fail(IoStatus.IoError, "injected: sync " + directory);
        }
        if (!IsDirectory(_live, directory))
        {
            return IoResult.Fail(IoStatus.NotFound, $"'{directory}' does not exist");
        }
        int last = _journal.FindLastIndex(op => op.Touches(directory));
        for (int i = 0; i <= last; i++)
        {
            Apply(_durable, _journal[i]);
        }
        _journal.RemoveRange(0, last + 1);
        return fault == FaultAction.FailAfter ? IoResult.Fail(IoStatus.IoError, "injected after: sync " + directory) : IoResult.Ok;
    }

    private async ValueTask StepAsync()
    {
        Operations++;
        if (_scheduler is not null)
        {
            await _scheduler.YieldAsync();
        }
    }

    private FaultAction Fault(string operation, string path) => Faults?.Invoke(operation, path) ?? FaultAction.None;

    private bool HasChildren(string directory)
    {
        foreach (string path in _live.Keys)
        {
            if (path.Length > 0 && StoragePath.Parent(path) == directory)
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsDirectory(Dictionary<string, Inode?> names, string path) =>
        path.Length == 0 || (names.TryGetValue(path, out Inode? inode) && inode is null);

    private static bool ParentExists(Dictionary<string, Inode?> names, string path)
    {
        string parent = StoragePath.Parent(path);
        return parent.Length == 0 || (IsDirectory(names, parent) && ParentExists(names, parent));
    }

    private static void Apply(Dictionary<string, Inode?> names, MetaOp op)
    {
        if (op.IsDelete)
        {
            names.Remove(op.Path);
        }
        else if (op.Target is string to)
        {
            if (names.Remove(op.Path, out Inode? inode))
            {
                names[to] = inode;
            }
        }
        else
        {
            names[op.Path] = op.IsDirectory ? null : op.Created;
        }
    }

    private bool IsCurrent(long generation) => generation == _generation;

    private sealed record MetaOp(string Path, string? Target, Inode? Created, bool IsDirectory, bool IsDelete = false)
    {
        public bool Touches(string directory) =>
            StoragePath.Parent(Path) == directory || (Target is not null && StoragePath.Parent(Target) == directory);
    }

    private sealed class Inode
    {
        public List<byte> Data { get; set; } = [];

        public byte[] Durable { get; set; } = [];

        public void Revert() => Data = [.. Durable];

        /// <summary>The handle holding the lock; it lapses when that handle closes or a crash ends its generation.</summary>
        public TestFile? LockHolder { get; set; }

        public Queue<(TestFile File, TaskCompletionSource<IoResult> Granted)> LockWaiters { get; } = new();
    }

    private sealed class TestFile(TestStorage storage, string path, Inode inode, long generation) : IDurableFile
    {
        private bool _disposed;

        public string Path => path;

        public async ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer)
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            if (storage.Fault("read", path) != FaultAction.None)
            {
                return IoResult<int>.Fail(IoStatus.IoError, "injected: read " + path);
            }
            if (offset >= inode.Data.Count)
            {
                return IoResult<int>.Ok(0);
            }
            int count = (int)Math.Min(buffer.Length, inode.Data.Count - offset);
            for (int i = 0; i < count; i++)
            {
                buffer.Span[i] = inode.Data[(int)offset + i];
            }
            return IoResult<int>.Ok(count);
        }

        public async ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            FaultAction fault = storage.Fault("write", path);
            if (fault == FaultAction.FailBefore)
            {
                return IoResult.Fail(IoStatus.IoError, "injected: write " + path);
            }
            while (inode.Data.Count < offset + data.Length)
            {
                inode.Data.Add(0);
            }
            for (int i = 0; i < data.Length; i++)
            {
                inode.Data[(int)offset + i] = data.Span[i];
            }
            return fault == FaultAction.FailAfter ? IoResult.Fail(IoStatus.IoError, "injected after: write " + path) : IoResult.Ok;
        }

        public async ValueTask<IoResult> FlushAsync()
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            if (storage.Fault("flush", path) == FaultAction.FailBefore)
            {
                return IoResult.Fail(IoStatus.IoError, "injected: flush " + path);
            }
            inode.Durable = inode.Data.ToArray();
            return IoResult.Ok;
        }

        public async ValueTask<IoResult<long>> GetLengthAsync()
        {
            await storage.StepAsync();
            return Closed() is IoResult closed ? closed : IoResult<long>.Ok(inode.Data.Count);
        }

        public async ValueTask<IoResult> SetLengthAsync(long length)
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            if (length < inode.Data.Count)
            {
                inode.Data.RemoveRange((int)length, inode.Data.Count - (int)length);
            }
            while (inode.Data.Count < length)
            {
                inode.Data.Add(0);
            }
            return IoResult.Ok;
        }

        public async ValueTask<IoResult> LockAsync()
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            if (inode.LockHolder is not { } holder || holder.Closed() is not null)
            {
                inode.LockHolder = this;
                return IoResult.Ok;
            }
            if (holder == this)
            {
                return IoResult.Fail(IoStatus.IoError, $"lock '{path}': this handle already holds it");
            }
            var granted = new TaskCompletionSource<IoResult>();
            inode.LockWaiters.Enqueue((this, granted));
            return await granted.Task;
        }

        public async ValueTask<IoResult> UnlockAsync()
        {
            await storage.StepAsync();
            if (Closed() is IoResult closed)
            {
                return closed;
            }
            ReleaseLock();
            return IoResult.Ok;
        }

        public void Dispose()
        {
            _disposed = true;
            ReleaseLock();
        }

        private void ReleaseLock()
        {
            if (inode.LockHolder != this)
            {
                return;
            }
            inode.LockHolder = null;
            while (inode.LockWaiters.Count > 0)
            {
                (TestFile next, TaskCompletionSource<IoResult> granted) = inode.LockWaiters.Dequeue();
                if (next.Closed() is null)
                {
                    inode.LockHolder = next;
                    granted.SetResult(IoResult.Ok);
                    return;
                }
            }
        }

        private IoResult? Closed() =>
            _disposed || !storage.IsCurrent(generation) ? IoResult.Fail(IoStatus.Closed, $"'{path}' is closed") : null;
    }
}
