using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Bench;

/// <summary>What a <see cref="CountingStorage"/> saw: calls and time per kind of storage operation.</summary>
public sealed class StorageCounts
{
    public const int Kinds = 9;

    public static readonly string[] Names = ["file fsync", "dir fsync", "rename", "create", "open", "write", "read", "delete", "list"];

    public long[] Calls { get; } = new long[Kinds];

    public long[] Ticks { get; } = new long[Kinds];

    public long WrittenBytes { get; set; }

    /// <summary>The n-th sync (file or directory) within an operation: its kind, total time and count over every operation.</summary>
    public (int Kind, long Ticks, long Count)[] SyncSteps { get; } = new (int, long, long)[StepsMax];

    public const int StepsMax = 16;

    /// <summary>"1 file fsync 310 µs, 2 dir fsync 250 µs, ...": the average time of each sync step of an operation, in order.</summary>
    public string StepProfile()
    {
        var parts = new List<string>();
        for (int i = 0; i < StepsMax && SyncSteps[i].Count > 0; i++)
        {
            (int kind, long ticks, long count) = SyncSteps[i];
            parts.Add(FormattableString.Invariant($"#{i + 1} {Names[kind]} {ticks * 1e6 / Stopwatch.Frequency / count:0} µs ({count})"));
        }
        return string.Join(", ", parts);
    }

    public void Add(StorageCounts other)
    {
        for (int i = 0; i < Kinds; i++)
        {
            Calls[i] += other.Calls[i];
            Ticks[i] += other.Ticks[i];
        }
        for (int i = 0; i < StepsMax; i++)
        {
            SyncSteps[i] = (other.SyncSteps[i].Count > 0 ? other.SyncSteps[i].Kind : SyncSteps[i].Kind, SyncSteps[i].Ticks + other.SyncSteps[i].Ticks, SyncSteps[i].Count + other.SyncSteps[i].Count);
        }
        WrittenBytes += other.WrittenBytes;
    }

    public void Reset()
    {
        Array.Clear(Calls);
        Array.Clear(Ticks);
        Array.Clear(SyncSteps);
        WrittenBytes = 0;
    }

    /// <summary>Per-operation averages over <paramref name="operations"/> operations: "2.0 file fsync (310 µs), ...".</summary>
    public string PerOperation(long operations)
    {
        var parts = new List<string>();
        for (int i = 0; i < Kinds; i++)
        {
            if (Calls[i] == 0)
            {
                continue;
            }
            double calls = (double)Calls[i] / operations;
            double micros = Ticks[i] * 1e6 / Stopwatch.Frequency / operations;
            parts.Add(FormattableString.Invariant($"{calls:0.0} {Names[i]} ({micros:0} µs)"));
        }
        return string.Join(", ", parts);
    }

    /// <summary>Seconds spent in storage calls per operation: what is left of an operation's time is CPU.</summary>
    public double IoSeconds(long operations)
    {
        long ticks = 0;
        foreach (long kind in Ticks)
        {
            ticks += kind;
        }
        return (double)ticks / Stopwatch.Frequency / Math.Max(1, operations);
    }
}

/// <summary>
/// A pass-through <see cref="IDurableStorage"/> that counts calls and time per kind of operation: the profile of
/// what one persist commit costs on the disk. Owned by one node loop (no locking).
/// </summary>
public sealed class CountingStorage(IDurableStorage inner) : IDurableStorage
{
    public const int FileSync = 0;
    public const int DirectorySync = 1;
    public const int Rename = 2;
    public const int Create = 3;
    public const int Open = 4;
    public const int Write = 5;
    public const int Read = 6;
    public const int Delete = 7;
    public const int List = 8;

    private int _step; // syncs so far in the current operation

    public StorageCounts Counts { get; } = new();

    /// <summary>Starts a new operation (one commit) for <see cref="StorageCounts.SyncSteps"/>.</summary>
    public void BeginOperation() => _step = 0;

    public async ValueTask<IoResult<IDurableFile>> OpenAsync(string path, OpenMode mode)
    {
        long start = Stopwatch.GetTimestamp();
        IoResult<IDurableFile> opened = await inner.OpenAsync(path, mode);
        Count(mode == OpenMode.OpenExisting ? Open : Create, start);
        return opened.IsOk ? IoResult<IDurableFile>.Ok(new CountingFile(this, opened.Value!)) : opened;
    }

    public async ValueTask<IoResult> DeleteAsync(string path)
    {
        long start = Stopwatch.GetTimestamp();
        IoResult result = await inner.DeleteAsync(path);
        Count(Delete, start);
        return result;
    }

    public async ValueTask<IoResult> RenameAsync(string from, string to)
    {
        long start = Stopwatch.GetTimestamp();
        IoResult result = await inner.RenameAsync(from, to);
        Count(Rename, start);
        return result;
    }

    public ValueTask<IoResult> CreateDirectoryAsync(string path) => inner.CreateDirectoryAsync(path);

    public async ValueTask<IoResult<IReadOnlyList<DirectoryEntry>>> ListAsync(string directory)
    {
        long start = Stopwatch.GetTimestamp();
        IoResult<IReadOnlyList<DirectoryEntry>> result = await inner.ListAsync(directory);
        Count(List, start);
        return result;
    }

    public async ValueTask<IoResult> SyncDirectoryAsync(string directory)
    {
        long start = Stopwatch.GetTimestamp();
        IoResult result = await inner.SyncDirectoryAsync(directory);
        Count(DirectorySync, start);
        return result;
    }

    private void Count(int kind, long start)
    {
        long ticks = Stopwatch.GetTimestamp() - start;
        Counts.Calls[kind]++;
        Counts.Ticks[kind] += ticks;
        if (kind is FileSync or DirectorySync && _step < StorageCounts.StepsMax)
        {
            (int _, long total, long count) = Counts.SyncSteps[_step];
            Counts.SyncSteps[_step++] = (kind, total + ticks, count + 1);
        }
    }

    private sealed class CountingFile(CountingStorage owner, IDurableFile file) : IDurableFile
    {
        public string Path => file.Path;

        public async ValueTask<IoResult<int>> ReadAsync(long offset, Memory<byte> buffer)
        {
            long start = Stopwatch.GetTimestamp();
            IoResult<int> result = await file.ReadAsync(offset, buffer);
            owner.Count(Read, start);
            return result;
        }

        public async ValueTask<IoResult> WriteAsync(long offset, ReadOnlyMemory<byte> data)
        {
            long start = Stopwatch.GetTimestamp();
            IoResult result = await file.WriteAsync(offset, data);
            owner.Count(Write, start);
            owner.Counts.WrittenBytes += data.Length;
            return result;
        }

        public async ValueTask<IoResult> FlushAsync()
        {
            long start = Stopwatch.GetTimestamp();
            IoResult result = await file.FlushAsync();
            owner.Count(FileSync, start);
            return result;
        }

        public ValueTask<IoResult<long>> GetLengthAsync() => file.GetLengthAsync();

        public ValueTask<IoResult> SetLengthAsync(long length) => file.SetLengthAsync(length);

        public ValueTask<IoResult> LockAsync() => file.LockAsync();

        public ValueTask<IoResult> UnlockAsync() => file.UnlockAsync();

        public void Dispose() => file.Dispose();
    }
}
