using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Postgres;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;
using Microsoft.Win32.SafeHandles;
using Npgsql;
using NpgsqlTypes;

using Kernel.Tests.Common;

namespace Kernel.Tests.Bench;

/// <summary>
/// <c>dotnet run -c Release --project tests/bench -- persist [--quick] [--no-postgres] [--only abcde]</c>: persist's durable
/// commit path on real files (and PostgreSQL), each number next to the physical floor measured in the same run
/// on the same file system (performance-notes.md B4).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>(a) floor: 4 KiB append + fdatasync (RandomAccess.Write, then fdatasync(2) through P/Invoke), p50/p99;
/// also a pre-allocated overwrite + fdatasync, and one atomic file publish (create, write, fsync, rename,
/// directory fsync: the least a crash-safe new file costs).</item>
/// <item>(b) one writer, 10-row batches: durable compare_and_append latency on FileBlob + LogConsensus (and, for comparison, the lock-free FileConsensus), with
/// the ratio to the floor's p50 (goal: at most 2x), and the per-commit count and time of every kind of storage
/// call (the profile).</item>
/// <item>(c) commits/s with 1, 8 and 32 writers, each on its own shard and its own node, all nodes sharing one persist
/// directory as the processes of <c>kernel start</c> do (goal: 20,000/s at 32); then 32 writers on 4 nodes and on one
/// node (concurrent tasks of one loop, as the sessions of one environmentd are). Each row notes the bytes written and
/// the process's CPU time per commit.</item>
/// <item>(d) MB/s of 1 MiB and 8 MiB batches of random bytes against writing and fsyncing the same bytes (goal 70%):
/// alone before the batches and between them, the faster of the two as the floor.</item>
/// <item>(e) PostgreSQL consensus compare_and_set next to SELECT 1 and an INSERT of the same row, on a throwaway
/// PostgreSQL 15 with default durability.</item>
/// </list>
/// Persist runs on <see cref="ProductionHost"/> nodes, one loop each, as in production. Everything lives in one
/// temporary directory (deleted at the end), so the floor and persist share a file system.
/// </remarks>
public static partial class PersistBenchmarks
{
    private const int FloorBlockBytes = 4096;
    private const int RowsPerSmallBatch = 10;
    private const int LargeRowBytes = 1024;
    private const int PostgresPayloadBytes = 512;

    /// <summary>The commit path alone: compaction and maintenance run elsewhere (a background worker).</summary>
    private static readonly PersistConfig s_commitPath = new() { InlineMaintenance = false };

    /// <summary>
    /// Sample counts and durations. <c>ThroughputWarmup</c> is how long (c)'s writers run before its window opens, so
    /// that the window measures commits, not the runtime compiling the commit path's hot methods (tiered
    /// compilation): with 32 node loops and a window that opened 50 ms after the start, the JIT took 14% of the CPU
    /// samples of a whole quick run, and with a 3 s warm-up the runtime's tiered-compilation thread still took 30-35%
    /// of a core through the first 4 s of a 32-writer window (per-thread CPU from /proc), quiet only after about 6 s of
    /// load: full mode warms up for 8 s. <c>LargeWarmup</c> is the same for (d): its large batches repeat, untimed, for that
    /// long before the timed ones (one untimed batch left the encoding loops in the JIT's first tier: with four timed
    /// 1 MiB batches, 7 ms of each commit was CPU outside I/O). <c>ThroughputDuration</c> is 10 s in full mode, so that a
    /// window holds several of the large merges that come every few seconds; runs of one build still differ by up to
    /// a quarter (with 5 s, 32 writers on one node gave 11,000 to 15,000 commits/s across runs of one build).
    /// <c>LargeIterations</c> is 32 in full mode: with 12, the p50 of one build's 1 MiB batches moved by half a
    /// millisecond between runs, and so did the raw floor's.
    /// </summary>
    private sealed record Settings(int FloorSamples, int LatencySamples, int WarmupCommits, TimeSpan ThroughputWarmup, TimeSpan ThroughputDuration, int LargeIterations,
        TimeSpan LargeWarmup, int PostgresSamples)
    {
        public static readonly Settings Full = new(2000, 2000, 100, TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(10), 32, TimeSpan.FromSeconds(3), 2000);

        public static readonly Settings Quick = new(300, 300, 30, TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1.5), 4, TimeSpan.FromSeconds(1.5), 300);
    }

    private sealed record ResultRow(string Measurement, string P50, string P99, string Rate, string Floor, string Ratio, string Goal);

    public static int Run(IReadOnlyList<string> args)
    {
        bool quick = Has(args, "--quick");
        string sections = "abcde";
        for (int i = 0; i + 1 < args.Count; i++)
        {
            if (args[i] == "--only")
            {
                sections = args[i + 1];
            }
        }
        if (Has(args, "--no-postgres"))
        {
            sections = sections.Replace("e", "", StringComparison.Ordinal);
        }
        return RunAsync(quick ? Settings.Quick : Settings.Full, quick, sections).GetAwaiter().GetResult();
    }

    private static bool Has(IReadOnlyList<string> args, string flag)
    {
        foreach (string arg in args)
        {
            if (arg == flag)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Runs the sections named in <paramref name="sections"/> (a-e); the floors (a) always run, as every ratio needs them.</summary>
    private static async Task<int> RunAsync(Settings settings, bool quick, string sections)
    {
        string root = Path.Join(Path.GetTempPath(), "kernel-bench-persist-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
        Directory.CreateDirectory(root);
        var rows = new List<ResultRow>();
        var notes = new List<string>();
        var wall = Stopwatch.StartNew();
        Console.WriteLine($"persist benchmarks ({(quick ? "quick" : "full")}), directory {root} on {FileSystemOf(root)}, {Environment.ProcessorCount} CPUs");
        try
        {
            using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = Path.Join(root, "nodes") });

            // (a) floors, on the same file system.
            string floorDirectory = Path.Join(root, "floor");
            Directory.CreateDirectory(floorDirectory);
            Progress("(a) floor: 4 KiB append + fdatasync");
            Stats append = Stats.Of(AppendAndFdatasync(Path.Join(floorDirectory, "append"), settings.FloorSamples, preallocate: false));
            Stats overwrite = Stats.Of(AppendAndFdatasync(Path.Join(floorDirectory, "overwrite"), settings.FloorSamples, preallocate: true));
            Stats publish = Stats.Of(await AtomicPublishAsync(floorDirectory, settings.FloorSamples));
            rows.Add(new("(a) floor: 4 KiB append + fdatasync", Micros(append.P50), Micros(append.P99), "", "", "1.00x", ""));
            rows.Add(new("(a) floor: 4 KiB overwrite (preallocated) + fdatasync", Micros(overwrite.P50), Micros(overwrite.P99), "", "", Ratio(overwrite.P50, append.P50), ""));
            rows.Add(new("(a) floor: atomic 4 KiB file publish (write, fsync, rename, dir fsync)", Micros(publish.P50), Micros(publish.P99), "", "", Ratio(publish.P50, append.P50), ""));

            // (b) serial latency, with the per-commit profile.
            if (sections.Contains('b', StringComparison.Ordinal))
            {
                Progress("(b) compare_and_append latency, one writer");
                foreach ((string name, PersistConfig? config, bool lockFree) in new (string, PersistConfig?, bool)[]
                {
                    ("commit path (upkeep untimed, between commits)", null, false),
                    ("upkeep inline, before each append returns (default config)", PersistConfig.Default with { UpkeepInBackground = false }, false),
                    ("upkeep in the background", PersistConfig.Default with { UpkeepInBackground = true }, false),
                    ("commit path, lock-free FileConsensus instead of the log", null, true),
                })
                {
                    LatencyRun run = await SerialLatencyAsync(host, "latency-" + rows.Count, settings, config, lockFree);
                    rows.Add(new($"(b) compare_and_append, 10 rows, {name}", Micros(run.Latency.P50), Micros(run.Latency.P99), PerSecond(1 / run.Latency.Mean),
                        Micros(append.P50), Ratio(run.Latency.P50, append.P50), "p50 <= 2.00x floor" + Met(run.Latency.P50 <= 2 * append.P50)));
                    notes.Add($"(b) {name}: per commit {run.Counts.PerOperation(run.Commits)}; {run.AllocatedBytesPerCommit / 1024.0:0.0} KiB allocated per commit");
                    notes.Add($"(b) {name}: sync steps of a commit, in order: {run.Counts.StepProfile()}");
                }
            }

            // (c) throughput: one shard and one node (loop thread) per writer.
            if (sections.Contains('c', StringComparison.Ordinal))
            {
                Progress("(c) commits/s with 1, 8 and 32 writers (default config: upkeep inline)");
                foreach ((int writers, int loops) in new[] { (1, 1), (8, 8), (32, 32), (32, 4), (32, 1) })
                {
                    string shared = Path.Join(root, $"tp-{writers}-{loops}-persist");
                    Directory.CreateDirectory(shared);
                    ThroughputRun run = await ThroughputAsync(host, $"tp-{writers}-{loops}", shared, writers, loops, settings, PersistConfig.Default);
                    string label = loops == writers
                        ? $"(c) commits/s, {writers} writer{(writers == 1 ? "" : "s")} ({loops} node{(loops == 1 ? "" : "s")})"
                        : $"(c) commits/s, {writers} writers on {loops} node{(loops == 1 ? "" : "s")} (async within a loop)";
                    rows.Add(new(label, Micros(run.Latency.P50), Micros(run.Latency.P99), PerSecond(run.CommitsPerSecond),
                        PerSecond(1 / append.P50) + " fdatasync/s", "", writers == 32 ? ">= 20,000/s" + Met(run.CommitsPerSecond >= 20_000) : ""));
                    notes.Add($"(c) {writers} writers on {loops} nodes: per commit {run.Counts.PerOperation(run.Commits)}; "
                        + $"{run.Counts.WrittenBytes / (double)run.Commits:0} bytes written; process CPU {run.ProcessCpu.TotalMicroseconds / run.Commits:0} µs "
                        + $"({run.ProcessCpu.TotalSeconds / settings.ThroughputDuration.TotalSeconds:0.00} of {Environment.ProcessorCount} cores busy)"
                        + (run.LoopsCpu is TimeSpan loopCpu ? $", of which the node loops {loopCpu.TotalMicroseconds / run.Commits:0} µs ({loopCpu.TotalSeconds / settings.ThroughputDuration.TotalSeconds:0.00} cores); " : "; ")
                        + $"{run.Gc.AllocatedBytes / 1024.0 / run.Commits:0.0} KiB allocated, GC pauses {run.Gc.Pauses.TotalMicroseconds / run.Commits:0} µs "
                        + $"({run.Gc.Collections} collections in the window, {run.Gc.Pauses.TotalSeconds / settings.ThroughputDuration.TotalSeconds:P0} of it paused)");
                }
            }

            // (d) large batches against raw sequential write + fsync of the same bytes.
            if (sections.Contains('d', StringComparison.Ordinal))
            {
                Progress("(d) 1 MiB and 8 MiB batches");
                foreach (int mebibytes in new[] { 1, 8 })
                {
                    LargeRun run = await LargeBatchesAsync(host, $"large-{mebibytes}", mebibytes, floorDirectory, settings);
                    // The floor is the faster of the two raw measurements: the interleaved one shares the disk with
                    // persist's background compaction of the batches before it, the quiet one shares it with nothing.
                    double floor = Math.Min(run.Raw.P50, run.QuietRaw.P50);
                    rows.Add(new($"(d) {mebibytes} MiB batch (encoded {run.EncodedBytes / 1048576.0:0.00} MiB)", Millis(run.Persist.P50), Millis(run.Persist.P99),
                        MegabytesPerSecond(run.EncodedBytes / run.Persist.P50), MegabytesPerSecond(run.EncodedBytes / floor) + " raw write+fsync",
                        Ratio(floor, run.Persist.P50), ">= 0.70x raw" + Met(floor / run.Persist.P50 >= 0.7)));
                    notes.Add($"(d) {mebibytes} MiB: raw write+fsync p50 {Millis(run.QuietRaw.P50)} alone before the batches (p99 {Millis(run.QuietRaw.P99)}), " +
                        $"{Millis(run.Raw.P50)} between them (p99 {Millis(run.Raw.P99)}); per commit {run.Counts.PerOperation(run.Commits)}; " +
                        $"not in I/O (sort, encode, compress, state, GC) ~{Millis(run.Persist.Mean - run.Counts.IoSeconds(run.Commits))}, " +
                        $"of which GC pauses {Millis(run.Gc.Pauses.TotalSeconds / run.Commits)} ({run.Gc.Gen2Collections / (double)run.Commits:0.0} gen2 collections per commit)");
                }
            }

            // (e) PostgreSQL consensus.
            if (sections.Contains('e', StringComparison.Ordinal))
            {
                Progress("(e) PostgreSQL 15: starting a throwaway cluster");
                string problem = PostgresCluster.MissingBinaries() ?? "";
                PostgresCluster? cluster = problem.Length == 0 ? await PostgresCluster.StartAsync(Path.Join(root, "postgres"), durable: true) : null;
                if (cluster is null)
                {
                    notes.Add("(e) skipped: " + problem);
                }
                else
                {
                    await using (cluster)
                    {
                        Progress("(e) PostgreSQL: SELECT 1, INSERT, compare_and_set, compare_and_append on FileBlob + PostgreSQL");
                        PostgresRun run = await PostgresAsync(host, cluster.ConnectionString, settings);
                        rows.Add(new("(e) floor: SELECT 1 round trip", Micros(run.Select.P50), Micros(run.Select.P99), "", "", "", ""));
                        rows.Add(new($"(e) floor: INSERT of a {PostgresPayloadBytes} B row (autocommit)", Micros(run.Insert.P50), Micros(run.Insert.P99), "", "", Ratio(run.Insert.P50, run.Select.P50) + " SELECT 1", ""));
                        rows.Add(new($"(e) consensus compare_and_set, {PostgresPayloadBytes} B", Micros(run.Cas.P50), Micros(run.Cas.P99), PerSecond(1 / run.Cas.Mean),
                            Micros(run.Insert.P50) + " INSERT", Ratio(run.Cas.P50, run.Insert.P50), ""));
                        rows.Add(new("(e) compare_and_append, 10 rows, FileBlob + PostgreSQL consensus (default config)", Micros(run.Append.P50), Micros(run.Append.P99), "",
                            Micros(run.Insert.P50) + " INSERT", Ratio(run.Append.P50, run.Insert.P50), ""));
                        notes.Add($"(e) PostgreSQL 15 with fsync=on, synchronous_commit=on (defaults); the shard state written by the append is {run.StateBytes} B");
                    }
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
        }

        Console.WriteLine();
        PrintTable(rows);
        Console.WriteLine();
        foreach (string note in notes)
        {
            Console.WriteLine("- " + note);
        }
        Console.WriteLine(FormattableString.Invariant($"- total {wall.Elapsed.TotalSeconds:0.0} s"));
        return 0;
    }

    // ---- (a) floors ----

    /// <summary>4 KiB writes at the end of a file (or over a preallocated, fsynced region), each followed by fdatasync.</summary>
    private static double[] AppendAndFdatasync(string path, int samples, bool preallocate)
    {
        byte[] block = new byte[FloorBlockBytes];
        new Random(1).NextBytes(block);
        int warmup = Math.Max(10, samples / 10);
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite);
        if (preallocate)
        {
            byte[] zeros = new byte[(long)FloorBlockBytes * (samples + warmup)];
            RandomAccess.Write(handle, zeros, 0);
            RandomAccess.FlushToDisk(handle);
        }
        var latencies = new double[samples];
        for (int i = 0; i < samples + warmup; i++)
        {
            long start = Stopwatch.GetTimestamp();
            RandomAccess.Write(handle, block, (long)i * FloorBlockBytes);
            Fdatasync(handle);
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i >= warmup)
            {
                latencies[i - warmup] = seconds;
            }
        }
        return latencies;
    }

    /// <summary>The least a crash-safe new file costs: write a temporary file, fsync it, rename it into place, fsync the directory.</summary>
    private static async Task<double[]> AtomicPublishAsync(string directory, int samples)
    {
        byte[] block = new byte[FloorBlockBytes];
        new Random(2).NextBytes(block);
        using var storage = new FileStorage(directory);
        int warmup = Math.Max(10, samples / 10);
        var latencies = new double[samples];
        for (int i = 0; i < samples + warmup; i++)
        {
            string temp = $"publish-{i}.tmp";
            long start = Stopwatch.GetTimestamp();
            using (IDurableFile file = (await storage.OpenAsync(temp, OpenMode.CreateNew)).Unwrap())
            {
                Check(await file.WriteAsync(0, block));
                Check(await file.FlushAsync());
            }
            Check(await storage.RenameAsync(temp, $"publish-{i}"));
            Check(await storage.SyncDirectoryAsync(""));
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            if (i >= warmup)
            {
                latencies[i - warmup] = seconds;
            }
        }
        return latencies;
    }

    // ---- (b) serial latency ----

    private sealed record LatencyRun(Stats Latency, StorageCounts Counts, long Commits, double AllocatedBytesPerCommit);

    /// <summary>
    /// One writer appending 10-row batches in a closed loop. With a <paramref name="config"/> the handle does its own
    /// upkeep as that config says (inline before an append returns, or in the background after). Without, the timed call is the
    /// commit alone, and the same upkeep (the merges each append asks for, maintenance every 32 commits) runs
    /// between commits, untimed and uncounted, on its own machine as a background worker would: the shard's
    /// state stays as small as in production instead of growing by a batch per commit, and the writer's next
    /// commit pays what a background compaction costs it (its cached state is stale: one lost compare-and-set
    /// and a fresh read of the head).
    /// </summary>
    private static async Task<LatencyRun> SerialLatencyAsync(ProductionHost host, string name, Settings settings, PersistConfig? config, bool lockFreeConsensus)
    {
        LatencyRun? result = null;
        await RunNodesAsync(host, name, 1, async (context, _) =>
        {
            var storage = new CountingStorage(context.Storage);
            PersistClient client = FileClient(context, storage, config ?? s_commitPath, lockFreeConsensus);
            ShardId shard = ShardId.New(context.Random);
            WriteHandle writer = (await client.OpenWriterAsync(shard, "bench")).Unwrap();
            var upkeep = new ShardMachine(client.Context, shard);
            ulong time = 0;
            var latencies = new double[settings.LatencySamples];
            long allocated = 0;
            for (int i = -settings.WarmupCommits; i < latencies.Length; i++)
            {
                if (i == 0)
                {
                    storage.Counts.Reset();
                }
                storage.BeginOperation();
                long allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                AppendResult appended = await AppendSmallAsync(writer, time++);
                long ticks = Stopwatch.GetTimestamp() - start;
                if (i >= 0)
                {
                    latencies[i] = (double)ticks / Stopwatch.Frequency;
                    allocated += GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
                }
                if (config is null)
                {
                    StorageCounts saved = Snapshot(storage.Counts);
                    // A background compactor reads the state first: a machine answers a transition that changes
                    // nothing from its cached state, so a stale one would find the merge's inputs missing.
                    if (!appended.Merges.IsEmpty)
                    {
                        (await upkeep.FetchAsync()).Unwrap();
                    }
                    foreach (MergeRequest merge in appended.Merges)
                    {
                        (await Compactor.CompactAsync(client.Context, upkeep, merge)).Unwrap();
                    }
                    if ((i + settings.WarmupCommits) % 32 == 31)
                    {
                        (await client.RunMaintenanceAsync(shard)).Unwrap();
                    }
                    Restore(storage.Counts, saved);
                }
            }
            result = new LatencyRun(Stats.Of(latencies), storage.Counts, latencies.Length, (double)allocated / latencies.Length);
        });
        return result!;
    }

    private static StorageCounts Snapshot(StorageCounts counts)
    {
        var copy = new StorageCounts();
        copy.Add(counts);
        return copy;
    }

    private static void Restore(StorageCounts counts, StorageCounts saved)
    {
        counts.Reset();
        counts.Add(saved);
    }

    // ---- (c) throughput ----

    private sealed record ThroughputRun(double CommitsPerSecond, Stats Latency, StorageCounts Counts, long Commits, TimeSpan ProcessCpu, TimeSpan? LoopsCpu, GcShare Gc);

    /// <summary>The garbage collector's share of a window: pause time, collections (all, and gen2) and bytes allocated.</summary>
    private sealed record GcShare(TimeSpan Pauses, int Collections, int Gen2Collections, long AllocatedBytes)
    {
        /// <summary>The process's totals so far; a window's share is the difference of two readings.</summary>
        public static GcShare Now() => new(GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(2), GC.GetTotalAllocatedBytes(precise: true));

        public static GcShare operator -(GcShare after, GcShare before) => new(
            after.Pauses - before.Pauses, after.Collections - before.Collections, after.Gen2Collections - before.Gen2Collections, after.AllocatedBytes - before.AllocatedBytes);
    }

    /// <summary>
    /// <paramref name="writers"/> writers, each on its own shard, spread evenly over <paramref name="loops"/> nodes.
    /// Every node opens its writers, then all start together and append in a closed loop: through the warm-up, uncounted,
    /// then through the window.
    /// </summary>
    private static async Task<ThroughputRun> ThroughputAsync(ProductionHost host, string name, string persistDirectory, int writers, int loops, Settings settings, PersistConfig config)
    {
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var go = new TaskCompletionSource<(long Start, long End)>(TaskCreationOptions.RunContinuationsAsynchronously);
        int readyCount = 0;
        var counts = new StorageCounts();
        var latencies = new List<double>();
        long commits = 0;
        long? loopTicks = 0;
        object gate = new();
        Task nodes = RunNodesAsync(host, name, loops, async (context, index) =>
        {
            // Every node opens the one persist directory through its own storage, as the processes of `kernel start` do.
            using var files = new FileStorage(persistDirectory);
            var storage = new CountingStorage(files);
            PersistClient client = FileClient(context, storage, config);
            var handles = new List<WriteHandle>();
            for (int w = index; w < writers; w += loops)
            {
                handles.Add((await client.OpenWriterAsync(ShardId.New(context.Random), "bench")).Unwrap());
            }
            var times = new ulong[handles.Count];
            for (int h = 0; h < handles.Count; h++)
            {
                for (int i = 0; i < 5; i++)
                {
                    await AppendSmallAsync(handles[h], times[h]++);
                }
            }
            if (Interlocked.Increment(ref readyCount) == loops)
            {
                ready.SetResult();
            }
            (long start, long end) = await go.Task;
            var mine = new List<double>();
            long committed = 0;
            async Task WriterAsync(int h)
            {
                // Bounded by the end of the measurement window.
                while (Stopwatch.GetTimestamp() < end)
                {
                    long before = Stopwatch.GetTimestamp();
                    await AppendSmallAsync(handles[h], times[h]++);
                    long after = Stopwatch.GetTimestamp();
                    if (before >= start && after <= end)
                    {
                        committed++;
                        mine.Add((double)(after - before) / Stopwatch.Frequency);
                    }
                }
            }
            // The storage calls of the warm-up are not the window's, nor is the loop's CPU (read on the loop).
            long? loopTicksAtStart = null;
            async Task ResetCountsAtStartAsync()
            {
                while (Stopwatch.GetTimestamp() < start)
                {
                    await Task.Delay(1);
                }
                storage.Counts.Reset();
                loopTicksAtStart = ThreadCpuTicks();
            }
            var running = new List<Task> { ResetCountsAtStartAsync() };
            for (int h = 0; h < handles.Count; h++)
            {
                running.Add(WriterAsync(h));
            }
            await Task.WhenAll(running);
            long? loopTicksInWindow = ThreadCpuTicks() - loopTicksAtStart;
            lock (gate)
            {
                loopTicks = loopTicks is long sum && loopTicksInWindow is long spent ? sum + spent : null;
                counts.Add(storage.Counts);
                latencies.AddRange(mine);
                commits += committed;
            }
        });
        await Task.WhenAny(ready.Task, nodes);
        if (nodes.IsCompleted)
        {
            await nodes; // a node failed before it was ready: rethrow its failure
        }
        long startAt = Stopwatch.GetTimestamp() + (long)(settings.ThroughputWarmup.TotalSeconds * Stopwatch.Frequency);
        long endAt = startAt + (long)(settings.ThroughputDuration.TotalSeconds * Stopwatch.Frequency);
        go.SetResult((startAt, endAt));
        // The process's CPU time over the window (all threads: loops, fsync workers, GC), to give the CPU a commit costs.
        while (Stopwatch.GetTimestamp() < startAt)
        {
            await Task.Delay(1);
        }
        TimeSpan cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        GcShare gcBefore = GcShare.Now();
        while (Stopwatch.GetTimestamp() < endAt)
        {
            await Task.Delay(5);
        }
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        GcShare gc = GcShare.Now() - gcBefore;
        await nodes;
        TimeSpan? loopsCpu = loopTicks is long ticks ? TimeSpan.FromMilliseconds(ticks * 10.0) : null;
        return new ThroughputRun(commits / settings.ThroughputDuration.TotalSeconds, Stats.Of([.. latencies]), counts, Math.Max(1, commits), cpu, loopsCpu, gc);
    }

    /// <summary>
    /// The calling thread's CPU time so far in clock ticks of 10 ms (Linux: /proc/thread-self/stat), or null elsewhere.
    /// Read on a node's loop, it is the loop's CPU: with several writers on a loop the loop saturates first, so its
    /// CPU per commit says more than the throughput of one noisy run.
    /// </summary>
    private static long? ThreadCpuTicks()
    {
        try
        {
            if (!OperatingSystem.IsLinux())
            {
                return null;
            }
            // After the name's closing parenthesis: state is field 3 of stat(5), utime 14 and stime 15.
            string stat = File.ReadAllText("/proc/thread-self/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return null;
        }
    }

    // ---- (d) large batches ----

    private sealed record LargeRun(Stats Persist, Stats Raw, Stats QuietRaw, long EncodedBytes, StorageCounts Counts, long Commits, GcShare Gc);

    /// <summary>Batches of 1 KiB rows of random bytes (zstd cannot shrink them), alternating with a raw write + fsync of as many bytes.</summary>
    private static async Task<LargeRun> LargeBatchesAsync(ProductionHost host, string name, int mebibytes, string floorDirectory, Settings settings)
    {
        LargeRun? result = null;
        await RunNodesAsync(host, name, 1, async (context, _) =>
        {
            var storage = new CountingStorage(context.Storage);
            PersistClient client = FileClient(context, storage, s_commitPath with { PartUpdatesMax = 1 << 20 });
            WriteHandle writer = (await client.OpenWriterAsync(ShardId.New(context.Random), "bench")).Unwrap();
            var random = new Random(mebibytes);
            int rowCount = mebibytes * 1024 * 1024 / LargeRowBytes;
            var rows = new Row[rowCount];
            byte[] payload = new byte[LargeRowBytes];
            for (int i = 0; i < rowCount; i++)
            {
                random.NextBytes(payload);
                rows[i] = new Row(Datum.FromInt64(i), Datum.FromBytes(payload));
            }
            long encodedBytes = client.Context.Parts.Encode(Batch(rows, 0)).Length;
            byte[] raw = new byte[encodedBytes];
            random.NextBytes(raw);
            // The raw floor alone first, before this shard has batches to compact in the background: as many rounds
            // as the timed ones, after as many untimed.
            var quietTimes = new List<double>();
            for (int i = -settings.LargeIterations; i < settings.LargeIterations; i++)
            {
                double seconds = WriteAndFsync(Path.Join(floorDirectory, $"{name}-quiet-{i}"), raw);
                if (i >= 0)
                {
                    quietTimes.Add(seconds);
                }
            }
            var persistTimes = new List<double>();
            var rawTimes = new List<double>();
            ulong time = 0;
            // One round: a persist append of the batch, then a raw write + fsync of as many bytes; their times.
            async Task<(double Persist, double Raw)> RoundAsync(int round)
            {
                List<Update> batch = Batch(rows, time);
                storage.BeginOperation();
                long start = Stopwatch.GetTimestamp();
                AppendResult appended = (await writer.CompareAndAppendAsync(batch, Frontier.At(time), Frontier.At(time + 1))).Unwrap();
                double persistSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                if (appended.Status != AppendStatus.Appended)
                {
                    throw new InvalidOperationException($"large append {appended.Status}");
                }
                time++;
                return (persistSeconds, WriteAndFsync(Path.Join(floorDirectory, $"{name}-{round}"), raw));
            }

            // Untimed rounds warm up the code paths and the allocator: at least one, and for LargeWarmup or 128 rounds
            // (1 GiB of 8 MiB batches), whichever ends first.
            var warmup = Stopwatch.StartNew();
            int warmups = 0;
            do
            {
                await RoundAsync(-1 - warmups);
                warmups++;
            }
            while (warmup.Elapsed < settings.LargeWarmup && warmups < 128);
            storage.Counts.Reset();
            GcShare gcBefore = GcShare.Now();
            for (int i = 0; i < settings.LargeIterations; i++)
            {
                (double persistSeconds, double rawSeconds) = await RoundAsync(i);
                persistTimes.Add(persistSeconds);
                rawTimes.Add(rawSeconds);
            }
            // Pauses are process-wide and include the raw writes' share, which allocate nothing.
            result = new LargeRun(Stats.Of([.. persistTimes]), Stats.Of([.. rawTimes]), Stats.Of([.. quietTimes]), encodedBytes, storage.Counts, persistTimes.Count,
                GcShare.Now() - gcBefore);
        });
        return result!;
    }

    private static List<Update> Batch(Row[] rows, ulong time)
    {
        var batch = new List<Update>(rows.Length);
        foreach (Row row in rows)
        {
            batch.Add(new Update(row, time, 1));
        }
        return batch;
    }

    /// <summary>The raw comparison: a new file, one sequential write of every byte, fsync (what FileStorage's flush does).</summary>
    private static double WriteAndFsync(string path, byte[] bytes)
    {
        long start = Stopwatch.GetTimestamp();
        using (SafeFileHandle handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
        {
            RandomAccess.Write(handle, bytes, 0);
            RandomAccess.FlushToDisk(handle);
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        File.Delete(path);
        return seconds;
    }

    // ---- (e) PostgreSQL ----

    private sealed record PostgresRun(Stats Select, Stats Insert, Stats Cas, Stats Append, int StateBytes);

    private static async Task<PostgresRun> PostgresAsync(ProductionHost host, string connectionString, Settings settings)
    {
        PostgresRun? result = null;
        await RunNodesAsync(host, "postgres", 1, async (context, _) =>
        {
            await using NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
            await using (NpgsqlCommand create = dataSource.CreateCommand(
                "CREATE TABLE floor_insert (shard text NOT NULL, sequence_number bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (shard, sequence_number))"))
            {
                await create.ExecuteNonQueryAsync();
            }
            PostgresConsensus consensus = (await PostgresConsensus.OpenAsync(connectionString)).Unwrap();
            try
            {
                byte[] payload = new byte[PostgresPayloadBytes];
                new Random(3).NextBytes(payload);
                const string Key = "s00000000000000000000000000000001";
                if ((await consensus.CompareAndSetAsync(Key, null, new VersionedData(1, payload))).Unwrap() != CasOutcome.Committed)
                {
                    throw new InvalidOperationException("first compare_and_set lost");
                }
                int warmup = Math.Max(10, settings.PostgresSamples / 10);
                var select = new List<double>();
                var insert = new List<double>();
                var cas = new List<double>();
                ulong seqno = 1;
                // Interleaved, so that the disk's and the server's moods fall on all three alike.
                for (int i = 0; i < settings.PostgresSamples + warmup; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    await using (NpgsqlCommand command = dataSource.CreateCommand("SELECT 1"))
                    {
                        await command.ExecuteScalarAsync();
                    }
                    double selectSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

                    start = Stopwatch.GetTimestamp();
                    await using (NpgsqlCommand command = dataSource.CreateCommand("INSERT INTO floor_insert (shard, sequence_number, data) VALUES ($1, $2, $3)"))
                    {
                        command.Parameters.Add(new NpgsqlParameter { Value = Key, NpgsqlDbType = NpgsqlDbType.Text });
                        command.Parameters.Add(new NpgsqlParameter { Value = (long)i, NpgsqlDbType = NpgsqlDbType.Bigint });
                        command.Parameters.Add(new NpgsqlParameter { Value = payload, NpgsqlDbType = NpgsqlDbType.Bytea });
                        await command.ExecuteNonQueryAsync();
                    }
                    double insertSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

                    start = Stopwatch.GetTimestamp();
                    CasOutcome outcome = (await consensus.CompareAndSetAsync(Key, seqno, new VersionedData(seqno + 1, payload))).Unwrap();
                    double casSeconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (outcome != CasOutcome.Committed)
                    {
                        throw new InvalidOperationException("uncontended compare_and_set lost");
                    }
                    seqno++;
                    if (i >= warmup)
                    {
                        select.Add(selectSeconds);
                        insert.Add(insertSeconds);
                        cas.Add(casSeconds);
                    }
                }

                // A whole compare_and_append with its Consensus in PostgreSQL (Materialize's "file blob + PG" shape).
                var blobStorage = new CountingStorage(context.Storage);
                var client = new PersistClient(new FileBlob(blobStorage, context.Random.Fork("blob"), "blob"), consensus, context.Clock, context.Random.Fork("persist"), PersistConfig.Default);
                WriteHandle writer = (await client.OpenWriterAsync(ShardId.New(context.Random), "bench")).Unwrap();
                ulong time = 0;
                for (int i = 0; i < settings.WarmupCommits; i++)
                {
                    await AppendSmallAsync(writer, time++);
                }
                var append = new double[Math.Max(50, settings.PostgresSamples / 2)];
                for (int i = 0; i < append.Length; i++)
                {
                    long start = Stopwatch.GetTimestamp();
                    await AppendSmallAsync(writer, time++);
                    append[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
                }
                ShardState state = (await client.FetchStateAsync(writer.Shard)).Unwrap();
                int stateBytes = client.Context.States.Encode(state).Length;
                result = new PostgresRun(Stats.Of([.. select]), Stats.Of([.. insert]), Stats.Of([.. cas]), Stats.Of(append), stateBytes);
            }
            finally
            {
                await consensus.DisposeAsync();
            }
        });
        return result!;
    }

    // ---- shared ----

    private static PersistClient FileClient(INodeContext context, IDurableStorage storage, PersistConfig config, bool lockFreeConsensus = false) => new(
        new PersistContext(
            new FileBlob(storage, context.Random.Fork("blob"), "blob"),
            lockFreeConsensus ? new FileConsensus(storage, context.Random.Fork("consensus"), "consensus") : new LogConsensus(storage, "consensus"),
            context.Clock,
            context.Random.Fork("persist"),
            config)
        {
            Compute = context.Compute,
        });

    /// <summary>One durable compare_and_append of a 10-row batch at <paramref name="time"/>, as [time, time + 1).</summary>
    private static async Task<AppendResult> AppendSmallAsync(WriteHandle writer, ulong time)
    {
        var batch = new List<Update>(RowsPerSmallBatch);
        for (int k = 0; k < RowsPerSmallBatch; k++)
        {
            batch.Add(new Update(Row.OfInt64((long)time, k, (long)time * 31 + k), time, 1));
        }
        AppendResult result = (await writer.CompareAndAppendAsync(batch, Frontier.At(time), Frontier.At(time + 1))).Unwrap();
        if (result.Status != AppendStatus.Appended)
        {
            throw new InvalidOperationException($"append at {time} on {writer.Shard}: {result.Status} (upper {result.CurrentUpper})");
        }
        return result;
    }

    /// <summary>Starts <paramref name="count"/> nodes running <paramref name="body"/> and waits for all; a node's failure is rethrown.</summary>
    private static async Task RunNodesAsync(ProductionHost host, string prefix, int count, Func<INodeContext, int, Task> body)
    {
        var names = new List<string>();
        for (int i = 0; i < count; i++)
        {
            int index = i;
            string name = $"{prefix}-{i}";
            names.Add(name);
            host.Start(name, () => new BodyNode(context => body(context, index)));
        }
        foreach (string name in names)
        {
            NodeOutcome outcome = await host.WaitForExitAsync(name);
            if (outcome.Failure is not null)
            {
                throw new InvalidOperationException($"benchmark node {name} failed in {outcome.FailureSource}", outcome.Failure);
            }
            if (outcome.Exit != NodeExit.Completed)
            {
                throw new InvalidOperationException($"benchmark node {name} ended {outcome.Exit}");
            }
        }
    }

    private sealed class BodyNode(Func<INodeContext, Task> body) : INode
    {
        public Task RunAsync(INodeContext context) => body(context);
    }

    private static void Check(IoResult result)
    {
        if (!result.IsOk)
        {
            throw new IOException(result.ToString());
        }
    }

    private static void Fdatasync(SafeFileHandle handle)
    {
        bool added = false;
        handle.DangerousAddRef(ref added);
        try
        {
            if (NativeFdatasync((int)handle.DangerousGetHandle()) != 0)
            {
                throw new IOException($"fdatasync failed: errno {Marshal.GetLastPInvokeError()}");
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

    [LibraryImport("libc", EntryPoint = "fdatasync", SetLastError = true)]
    private static partial int NativeFdatasync(int fd);

    /// <summary>The file system a path lives on, from /proc/self/mounts (longest mount point that prefixes it).</summary>
    private static string FileSystemOf(string path)
    {
        try
        {
            string best = "";
            string described = "unknown file system";
            foreach (string line in File.ReadAllLines("/proc/self/mounts"))
            {
                string[] fields = line.Split(' ');
                if (fields.Length >= 3 && path.StartsWith(fields[1], StringComparison.Ordinal) && fields[1].Length > best.Length)
                {
                    best = fields[1];
                    described = $"{fields[2]} ({fields[0]} at {fields[1]})";
                }
            }
            return described;
        }
        catch (IOException)
        {
            return "unknown file system";
        }
    }

    private static void Progress(string what) => Console.WriteLine("  " + what + " ...");

    private static void PrintTable(List<ResultRow> rows)
    {
        string[] headers = ["measurement", "p50", "p99", "rate", "floor (same run)", "ratio", "goal"];
        var widths = new int[headers.Length];
        for (int c = 0; c < headers.Length; c++)
        {
            widths[c] = headers[c].Length;
        }
        foreach (ResultRow row in rows)
        {
            string[] cells = Cells(row);
            for (int c = 0; c < cells.Length; c++)
            {
                widths[c] = Math.Max(widths[c], cells[c].Length);
            }
        }
        PrintRow(headers, widths);
        var rule = new string[headers.Length];
        for (int c = 0; c < headers.Length; c++)
        {
            rule[c] = new string('-', widths[c]);
        }
        PrintRow(rule, widths);
        foreach (ResultRow row in rows)
        {
            PrintRow(Cells(row), widths);
        }

        static string[] Cells(ResultRow row) => [row.Measurement, row.P50, row.P99, row.Rate, row.Floor, row.Ratio, row.Goal];

        static void PrintRow(string[] cells, int[] widths)
        {
            var parts = new string[cells.Length];
            for (int c = 0; c < cells.Length; c++)
            {
                parts[c] = c is 0 or 4 or 6 ? cells[c].PadRight(widths[c]) : cells[c].PadLeft(widths[c]);
            }
            Console.WriteLine("| " + string.Join(" | ", parts) + " |");
        }
    }

    private static string Micros(double seconds) => FormattableString.Invariant($"{seconds * 1e6:0} µs");

    private static string Millis(double seconds) => FormattableString.Invariant($"{seconds * 1e3:0.00} ms");

    private static string Ratio(double value, double floor) => FormattableString.Invariant($"{value / floor:0.00}x");

    private static string PerSecond(double rate) => rate.ToString("N0", CultureInfo.InvariantCulture) + "/s";

    private static string MegabytesPerSecond(double bytesPerSecond) => FormattableString.Invariant($"{bytesPerSecond / 1e6:0} MB/s");

    private static string Met(bool met) => met ? " (met)" : " (MISSED)";

    /// <summary>Percentiles of a sample, in seconds.</summary>
    private readonly record struct Stats(double P50, double P99, double Mean, int Count)
    {
        public static Stats Of(double[] samples)
        {
            if (samples.Length == 0)
            {
                return new Stats(double.NaN, double.NaN, double.NaN, 0);
            }
            double[] sorted = (double[])samples.Clone();
            Array.Sort(sorted);
            double sum = 0;
            foreach (double sample in sorted)
            {
                sum += sample;
            }
            return new Stats(Percentile(sorted, 0.50), Percentile(sorted, 0.99), sum / sorted.Length, sorted.Length);
        }

        private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(q * sorted.Length) - 1)];
    }
}
