using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using System.Threading.Tasks;
using Kernel.Tests.Common;
using Npgsql;
using NpgsqlTypes;

namespace Kernel.Tests.Bench.EndToEnd;

/// <summary>
/// <c>dotnet run -c Release --project tests/bench -- e2e-latency [--quick] [--rows N] [--groups G] [--updates U]
/// [--postgres-iterations P] [--kernel-cli PATH] [--no-postgres]</c>: write-to-visible latency of an incrementally
/// maintained aggregate on the real <c>kernel start</c> process over pgwire, next to PostgreSQL 15's
/// <c>UPDATE; REFRESH MATERIALIZED VIEW</c> on the same data in the same run.
/// </summary>
/// <remarks>
/// <para>Kernel side: a fresh data directory, <c>t (id bigint, k int, v int)</c> with N rows (<c>k = id % G</c>,
/// <c>v = id * 7 % 100</c>) loaded with multi-row INSERTs, <c>mv = SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k</c>
/// and an index on <c>mv (k)</c>. Then U single-row <c>UPDATE t SET v = v + 1 WHERE id = $1</c> on random ids, one at a
/// time, each observed two ways: (a) a <c>COPY (SUBSCRIBE mv) TO STDOUT</c> client (time from sending the UPDATE to the
/// line with the group's new sum), and (b) <c>SELECT s FROM mv WHERE k = $1</c> polled from the moment the UPDATE is
/// acknowledged (time to the first SELECT showing the new sum, and how many polls that took). The benchmark keeps the
/// expected sums itself, so every figure is also a correctness check. Before them, the same updates run uncounted for
/// <c>--warmup-seconds</c>: the figures are the steady state, not the JIT's first seconds.</para>
/// <para>Where the time goes: after the measured updates, each building block is timed alone (a trivial
/// SELECT, the filter peek on mv, the index peek of all of mv, a blind one-row INSERT into another table, a one-row
/// UPDATE of a 10-row table, a full read of t); during the updates, the kernel's CPU use.</para>
/// <para>PostgreSQL side: a throwaway PostgreSQL 15 with default durability, the same rows, an index on <c>t (id)</c>
/// (so the peer's UPDATE is an index lookup, the strongest PostgreSQL setup) and on <c>mv (k)</c>; timed are the
/// plain UPDATE (after the same warm-up), <c>UPDATE; REFRESH MATERIALIZED VIEW mv; SELECT s FROM mv WHERE k = $1</c>,
/// and <c>SELECT 1</c>, the client's own round trip.</para>
/// </remarks>
public static class EndToEndLatencyBenchmark
{
    private const double GoalP50Seconds = 0.001;
    private const double GoalRatioToRefresh = 80;

    /// <summary>One update's moments (Stopwatch ticks): sent, acknowledged, first polled SELECT showing it, subscribe line (null: never).</summary>
    private readonly record struct UpdateTiming(long Sent, long Acknowledged, long Visible, long? Arrived, int Polls);

    private sealed record Settings(
        long Rows, int Groups, int Updates, int PostgresIterations, int BreakdownSamples, TimeSpan BreakdownBudget,
        int RowsPerInsert, int LoadConnections, string? KernelCli, bool Postgres, bool Quick, TimeSpan UpdateBudget, bool IndexT, bool IndexedView,
        TimeSpan Warmup);

    private sealed record Row(string Measurement, LatencyStats Stats, string Note);

    public static int Run(IReadOnlyList<string> args)
    {
        Settings? settings = Parse(args, out string? error);
        if (settings is null)
        {
            Console.Error.WriteLine("error: " + error);
            Console.Error.WriteLine("usage: e2e-latency [--quick] [--rows N] [--groups G] [--updates U] [--postgres-iterations P] " +
                "[--rows-per-insert R] [--load-connections C] [--budget-seconds S] [--warmup-seconds W] [--index-t] [--indexed-view] [--kernel-cli PATH/Kernel.Cli.dll] [--no-postgres]");
            return 2;
        }
        try
        {
            return RunAsync(settings).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
        {
            // The kernel's last output has been printed where it matters; a failed run is an exit code, not a crash.
            Console.Error.WriteLine($"e2e-latency failed: {e.GetType().Name}: {e.Message}");
            return 1;
        }
    }

    private static Settings? Parse(IReadOnlyList<string> args, out string? error)
    {
        bool quick = false;
        bool postgres = true;
        bool indexT = false;
        bool indexedView = false;
        long? rows = null;
        int? groups = null;
        int? updates = null;
        int? postgresIterations = null;
        int rowsPerInsert = 5_000;
        int loadConnections = 2;
        int? budgetSeconds = null;
        int? warmupSeconds = null;
        string? kernelCli = null;
        error = null;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            string? value = i + 1 < args.Count ? args[i + 1] : null;
            switch (arg)
            {
                case "--quick":
                    quick = true;
                    continue;
                case "--no-postgres":
                    postgres = false;
                    continue;
                case "--index-t":
                    indexT = true;
                    continue;
                case "--indexed-view":
                    indexedView = true;
                    continue;
                case "--kernel-cli" when value is not null:
                    kernelCli = Path.GetFullPath(value);
                    i++;
                    continue;
            }
            if (arg == "--warmup-seconds" && value is not null && int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int warmup) && warmup >= 0)
            {
                warmupSeconds = warmup;
                i++;
                continue;
            }
            if (value is null || !long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out long number) || number <= 0 || number > int.MaxValue)
            {
                error = $"{arg} needs a positive whole number (got {value ?? "nothing"})";
                return null;
            }
            i++;
            switch (arg)
            {
                case "--rows":
                    rows = number;
                    break;
                case "--groups":
                    groups = (int)number;
                    break;
                case "--updates":
                    updates = (int)number;
                    break;
                case "--postgres-iterations":
                    postgresIterations = (int)number;
                    break;
                case "--rows-per-insert":
                    rowsPerInsert = (int)number;
                    break;
                case "--budget-seconds":
                    budgetSeconds = (int)number;
                    break;
                case "--load-connections":
                    loadConnections = (int)Math.Min(number, 16);
                    break;
                default:
                    error = $"unknown option {arg}";
                    return null;
            }
        }
        var settings = new Settings(
            rows ?? (quick ? 100_000 : 1_000_000),
            groups ?? 1_000,
            updates ?? (quick ? 100 : 1_000),
            postgresIterations ?? (quick ? 10 : 30),
            quick ? 20 : 100,
            TimeSpan.FromSeconds(quick ? 3 : 10),
            rowsPerInsert,
            loadConnections,
            kernelCli,
            postgres,
            quick,
            TimeSpan.FromSeconds(budgetSeconds ?? (quick ? 40 : 300)),
            indexT,
            indexedView,
            TimeSpan.FromSeconds(warmupSeconds ?? (quick ? 3 : 10)));
        if (settings.Groups > settings.Rows)
        {
            error = "--groups must not exceed --rows (every group needs a row)";
            return null;
        }
        return settings;
    }

    private static async Task<int> RunAsync(Settings settings)
    {
        string root = Path.Join(Path.GetTempPath(), "kernel-bench-e2e-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
        Directory.CreateDirectory(root);
        var wall = Stopwatch.StartNew();
        var rows = new List<Row>();
        var notes = new List<string>();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"e2e-latency ({(settings.Quick ? "quick" : "full")}{(settings.IndexT ? ", index on t (id)" : "")}{(settings.IndexedView ? ", mv an indexed view" : "")}): {settings.Rows:N0} rows, {settings.Groups:N0} groups, {settings.Updates:N0} updates; " +
            $"{Environment.ProcessorCount} CPUs, {RuntimeName()}; directory {root}"));
        try
        {
            KernelFigures kernel = await RunKernelAsync(settings, root, rows, notes);
            PostgresFigures? postgres = null;
            if (settings.Postgres)
            {
                if (PostgresCluster.MissingBinaries() is string missing)
                {
                    notes.Add("PostgreSQL skipped: " + missing);
                }
                else
                {
                    postgres = await RunPostgresAsync(settings, root, rows, notes);
                }
            }
            Console.WriteLine();
            PrintTable(rows);
            Console.WriteLine();
            PrintVerdict(kernel, postgres);
        }
        finally
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a leftover temp directory must not fail a run.
            }
            catch (UnauthorizedAccessException)
            {
                // PostgreSQL's files belong to another user when run as root; PostgresCluster removes its own.
            }
        }
        Console.WriteLine();
        foreach (string note in notes)
        {
            Console.WriteLine("- " + note);
        }
        Console.WriteLine(FormattableString.Invariant($"- machine: {Environment.ProcessorCount} CPUs ({Environment.OSVersion}); total {wall.Elapsed.TotalSeconds:0.0} s"));
        return 0;
    }

    // ---- the kernel ----

    private sealed record KernelFigures(LatencyStats Subscribe, LatencyStats Select, LatencyStats Ack);

    private static async Task<KernelFigures> RunKernelAsync(Settings settings, string root, List<Row> rows, List<string> notes)
    {
        string cli = settings.KernelCli ?? "";
        if (cli.Length == 0)
        {
            Progress("building the kernel command line (Release)");
            var build = Stopwatch.StartNew();
            cli = await KernelProcess.BuildAsync(RepositoryRoot(), Path.Join(root, "cli"));
            notes.Add(FormattableString.Invariant($"kernel command line built from this checkout in {build.Elapsed.TotalSeconds:0.0} s"));
        }
        Progress("starting kernel");
        var started = Stopwatch.StartNew();
        await using KernelProcess kernel = await KernelProcess.StartAsync(cli, Path.Join(root, "kernel-data"), TimeSpan.FromSeconds(60));
        notes.Add(FormattableString.Invariant($"kernel start: serving pgwire {started.Elapsed.TotalSeconds:0.00} s after launch (pid {kernel.ProcessId}, port {kernel.Port})"));
        try
        {
            return await MeasureKernelAsync(settings, kernel, rows, notes);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            Console.Error.WriteLine($"kernel run failed: {e.Message}\n--- kernel output (tail) ---\n{kernel.OutputTail()}");
            throw;
        }
    }

    private static async Task<KernelFigures> MeasureKernelAsync(Settings settings, KernelProcess kernel, List<Row> rows, List<string> notes)
    {
        await using var connection = new NpgsqlConnection(kernel.ConnectionString);
        await connection.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE t (id bigint, k int, v int)");
        await ExecuteAsync(connection, "CREATE TABLE w (id bigint)");
        await ExecuteAsync(connection, "CREATE TABLE small (id bigint, v int)");
        await ExecuteAsync(connection, "INSERT INTO small VALUES (0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0)");

        // Load.
        Progress($"loading {settings.Rows:N0} rows ({settings.RowsPerInsert:N0} per INSERT, {settings.LoadConnections} connections)");
        TimeSpan cpuBefore = kernel.CpuTime();
        var load = Stopwatch.StartNew();
        LatencyStats insertStats = await LoadAsync(kernel.ConnectionString, settings);
        double loadSeconds = load.Elapsed.TotalSeconds;
        double loadCpu = (kernel.CpuTime() - cpuBefore).TotalSeconds;
        rows.Add(new(string.Create(CultureInfo.InvariantCulture, $"kernel: load, one INSERT of {settings.RowsPerInsert:N0} rows"), insertStats,
            string.Create(CultureInfo.InvariantCulture, $"{settings.Rows:N0} rows in {loadSeconds:0.0} s = {settings.Rows / loadSeconds:N0} rows/s; kernel CPU {loadCpu / loadSeconds:0.00} cores")));

        if (settings.IndexT)
        {
            // With an index on t (id), the UPDATE's read (WHERE id = $1) is a key lookup in the index instead of a
            // transient dataflow that reads all of t.
            var indexed = Stopwatch.StartNew();
            await ExecuteAsync(connection, "CREATE INDEX t_id ON t (id)");
            await ExecuteAsync(connection, "SELECT * FROM t WHERE id = 0");
            notes.Add(string.Create(CultureInfo.InvariantCulture, $"kernel: CREATE INDEX t_id ON t (id) and its first lookup took {indexed.Elapsed.TotalSeconds:0.00} s (--index-t)"));
        }

        // The view and its index; the first SELECT waits for the view to be complete at its read timestamp.
        Progress("creating mv and its index; waiting for the first result");
        var hydrate = Stopwatch.StartNew();
        // --indexed-view: mv is a view whose index maintains it on the cluster straight from t (one persist hop from
        // the write to the reader); by default it is a materialized view, durable in its own shard, and the index on it
        // reads that shard (two hops).
        await ExecuteAsync(connection, (settings.IndexedView ? "CREATE VIEW" : "CREATE MATERIALIZED VIEW") + " mv AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k");
        double createMvSeconds = hydrate.Elapsed.TotalSeconds;
        await ExecuteAsync(connection, "CREATE INDEX mv_k ON mv (k)");
        long[] sums = ExpectedSums(settings);
        long[] counts = ExpectedCounts(settings);
        int checkedGroups = await CheckViewAsync(connection, sums, counts);
        notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"kernel: CREATE {(settings.IndexedView ? "VIEW" : "MATERIALIZED VIEW")} returned in {createMvSeconds:0.00} s; mv complete and correct ({checkedGroups} groups checked) {hydrate.Elapsed.TotalSeconds:0.00} s after it was sent"));

        // Observer (a): a subscribe client on its own connection.
        Progress("starting SUBSCRIBE mv");
        using SubscribeWatcher watcher = SubscribeWatcher.Start(kernel.ConnectionString, "COPY (SUBSCRIBE mv) TO STDOUT");
        var snapshot = Stopwatch.StartNew();
        if (!watcher.WaitForGroups(settings.Groups, TimeSpan.FromSeconds(120)))
        {
            throw new InvalidOperationException($"the subscribe did not deliver its snapshot of {settings.Groups} groups: {watcher.Failure ?? "timed out"}");
        }
        notes.Add(FormattableString.Invariant($"kernel: SUBSCRIBE mv snapshot ({settings.Groups} groups) arrived {snapshot.Elapsed.TotalSeconds:0.00} s after it was sent"));

        // The updates.
        await using NpgsqlCommand update = Command(connection, "UPDATE t SET v = v + 1 WHERE id = $1", NpgsqlDbType.Bigint);
        await using NpgsqlCommand select = Command(connection, "SELECT s FROM mv WHERE k = $1", NpgsqlDbType.Integer);
        var random = new Random(42);

        // One update, observed both ways; returns when the subscribe has shown it too (or never will).
        async Task<UpdateTiming> UpdateOnceAsync()
        {
            long id = random.NextInt64(settings.Rows);
            int group = (int)(id % settings.Groups);
            sums[group]++;
            update.Parameters[0].Value = id;
            select.Parameters[0].Value = group;

            long sent = Stopwatch.GetTimestamp();
            int affected = await update.ExecuteNonQueryAsync();
            long acknowledged = Stopwatch.GetTimestamp();
            if (affected != 1)
            {
                throw new InvalidOperationException($"UPDATE of id {id} affected {affected} rows, not 1");
            }

            // Observer (b): poll until the new sum shows (bounded: 30 s, then the run fails).
            int polls = 0;
            long visible;
            while (true)
            {
                polls++;
                object? value = await select.ExecuteScalarAsync();
                if (value is not null and not DBNull && Convert.ToInt64(value, CultureInfo.InvariantCulture) == sums[group])
                {
                    visible = Stopwatch.GetTimestamp();
                    break;
                }
                if (Seconds(sent, Stopwatch.GetTimestamp()) > 30)
                {
                    throw new InvalidOperationException($"SELECT never showed sum {sums[group]} for group {group} after UPDATE of id {id} (last: {value})");
                }
            }

            long? arrived = watcher.WaitForSum(group, sums[group], TimeSpan.FromSeconds(30));
            if (arrived is null && watcher.Failure is string failure)
            {
                throw new InvalidOperationException("the subscribe failed: " + failure);
            }
            return new UpdateTiming(sent, acknowledged, visible, arrived, polls);
        }

        // Warm-up: the same updates, not counted, so that the figures are the steady state (the kernel's hot paths
        // compiled by the JIT's optimizing tier) rather than the first seconds after start.
        int warmups = 0;
        if (settings.Warmup > TimeSpan.Zero)
        {
            Progress(FormattableString.Invariant($"warm-up: {settings.Warmup.TotalSeconds:0} s of the same updates, not counted"));
            var warmupWall = Stopwatch.StartNew();
            while (warmupWall.Elapsed < settings.Warmup)
            {
                await UpdateOnceAsync();
                warmups++;
            }
            notes.Add(FormattableString.Invariant($"kernel: warm-up of {warmups:N0} updates ({settings.Warmup.TotalSeconds:0} s, not counted) before the measured ones"));
        }

        Progress($"{settings.Updates:N0} single-row UPDATEs, each observed by the subscribe and by polling SELECT");
        var ack = new List<double>();
        var viaSelect = new List<double>();
        var viaSubscribe = new List<double>();
        var subscribeAfterAck = new List<double>();
        var pollsNeeded = new SortedDictionary<int, int>();
        int subscribeBeforeAck = 0;
        int subscribeMissed = 0;
        TimeSpan cpuStart = kernel.CpuTime();
        var updatesWall = Stopwatch.StartNew();
        long lastProgress = Stopwatch.GetTimestamp();
        // Bounded by the update count and the time budget (a slow kernel must not make the run endless).
        for (int i = 0; i < settings.Updates && updatesWall.Elapsed < settings.UpdateBudget; i++)
        {
            if (Seconds(lastProgress, Stopwatch.GetTimestamp()) >= 10)
            {
                lastProgress = Stopwatch.GetTimestamp();
                Progress(string.Create(CultureInfo.InvariantCulture,
                    $"  {i} updates so far; p50 ack {LatencyStats.Millis(LatencyStats.Of(ack).P50)} ms, subscribe {LatencyStats.Millis(LatencyStats.Of(viaSubscribe).P50)} ms, select {LatencyStats.Millis(LatencyStats.Of(viaSelect).P50)} ms"));
            }
            UpdateTiming timing = await UpdateOnceAsync();
            pollsNeeded[timing.Polls] = pollsNeeded.GetValueOrDefault(timing.Polls) + 1;
            if (timing.Arrived is not long arrivedTicks)
            {
                subscribeMissed++;
            }
            else
            {
                viaSubscribe.Add(Seconds(timing.Sent, arrivedTicks));
                subscribeAfterAck.Add(Math.Max(0, Seconds(timing.Acknowledged, arrivedTicks)));
                subscribeBeforeAck += arrivedTicks < timing.Acknowledged ? 1 : 0;
            }
            ack.Add(Seconds(timing.Sent, timing.Acknowledged));
            viaSelect.Add(Seconds(timing.Sent, timing.Visible));
        }
        double updatesSeconds = updatesWall.Elapsed.TotalSeconds;
        double updatesCpu = (kernel.CpuTime() - cpuStart).TotalSeconds;

        LatencyStats ackStats = LatencyStats.Of(ack);
        LatencyStats selectStats = LatencyStats.Of(viaSelect);
        LatencyStats subscribeStats = LatencyStats.Of(viaSubscribe);
        rows.Add(new("kernel: UPDATE acknowledged (send to CommandComplete)", ackStats, ""));
        rows.Add(new("kernel: (a) write-to-visible, SUBSCRIBE mv", subscribeStats,
            $"{subscribeBeforeAck} of {viaSubscribe.Count} arrived before the ack{(subscribeMissed > 0 ? $"; {subscribeMissed} never arrived" : "")}"));
        rows.Add(new("kernel: (a') SUBSCRIBE line after the ack", LatencyStats.Of(subscribeAfterAck), "0 when it came first"));
        rows.Add(new("kernel: (b) write-to-visible, SELECT s FROM mv WHERE k = $1", selectStats, "polls needed: " + PollSummary(pollsNeeded)));
        notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"kernel: {ack.Count} updates in {updatesSeconds:0.0} s{(ack.Count < settings.Updates ? $" (stopped by the {settings.UpdateBudget.TotalSeconds:0} s budget before {settings.Updates})" : "")}; " +
            $"kernel CPU over that time {updatesCpu:0.0} s = {updatesCpu / updatesSeconds:0.00} cores busy ({updatesCpu / Math.Max(1, ack.Count) * 1000:0.0} ms CPU per update with its polls)"));

        // Building blocks, each alone while nothing else runs, after the measured updates: their full reads of t
        // allocate hundreds of megabytes, and the collections that follow (and the commits that keep the tables they
        // write current) would otherwise fall into the measured window. They are still warm.
        Progress("timing building blocks alone (peeks, blind insert, small update, full read)");
        await BreakdownAsync(connection, settings, rows, notes);

        int finalChecked = await CheckViewAsync(connection, sums, counts);
        notes.Add(string.Create(CultureInfo.InvariantCulture, $"kernel: after the updates mv matched the expected sums and counts in all {finalChecked} groups; the subscribe received {watcher.Lines:N0} lines"));
        return new KernelFigures(subscribeStats, selectStats, ackStats);
    }

    /// <summary>Loads the rows with multi-row INSERTs from several connections at once (the kernel group-commits them); returns per-INSERT latency.</summary>
    private static async Task<LatencyStats> LoadAsync(string connectionString, Settings settings)
    {
        long batches = (settings.Rows + settings.RowsPerInsert - 1) / settings.RowsPerInsert;
        long next = 0;
        var latencies = new List<double>();
        async Task LoaderAsync()
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            var sql = new StringBuilder();
            // Bounded by the batch count.
            while (true)
            {
                long batch;
                lock (latencies)
                {
                    batch = next++;
                }
                if (batch >= batches)
                {
                    return;
                }
                long first = batch * settings.RowsPerInsert;
                long last = Math.Min(settings.Rows, first + settings.RowsPerInsert);
                sql.Clear();
                sql.Append("INSERT INTO t VALUES ");
                for (long id = first; id < last; id++)
                {
                    if (id > first)
                    {
                        sql.Append(',');
                    }
                    sql.Append(CultureInfo.InvariantCulture, $"({id},{id % settings.Groups},{ValueOf(id)})");
                }
                long start = Stopwatch.GetTimestamp();
                await using var command = new NpgsqlCommand(sql.ToString(), connection);
                int inserted = await command.ExecuteNonQueryAsync();
                double seconds = Seconds(start, Stopwatch.GetTimestamp());
                if (inserted != last - first)
                {
                    throw new InvalidOperationException($"INSERT of {last - first} rows reported {inserted}");
                }
                lock (latencies)
                {
                    latencies.Add(seconds);
                }
            }
        }
        var loaders = new List<Task>();
        for (int i = 0; i < settings.LoadConnections; i++)
        {
            loaders.Add(LoaderAsync());
        }
        await Task.WhenAll(loaders);
        return LatencyStats.Of(latencies);
    }

    /// <summary>Times each building block of an update's path alone, on the idle system.</summary>
    private static async Task BreakdownAsync(NpgsqlConnection connection, Settings settings, List<Row> rows, List<string> notes)
    {
        int group = 1 % settings.Groups;
        await using NpgsqlCommand selectOne = Command(connection, "SELECT 1");
        rows.Add(new("kernel: SELECT 1", await TimeAsync(settings, async () => await selectOne.ExecuteScalarAsync()), "pgwire + plan + peek of a constant"));

        await using NpgsqlCommand filterPeek = Command(connection, "SELECT s FROM mv WHERE k = $1", NpgsqlDbType.Integer);
        filterPeek.Parameters[0].Value = group;
        rows.Add(new("kernel: SELECT s FROM mv WHERE k = $1 (idle)", await TimeAsync(settings, async () => await filterPeek.ExecuteScalarAsync()), "the poll of (b)"));

        await using NpgsqlCommand indexPeek = Command(connection, "SELECT * FROM mv");
        rows.Add(new(string.Create(CultureInfo.InvariantCulture, $"kernel: SELECT * FROM mv (idle, {settings.Groups} rows)"), await TimeAsync(settings, async () =>
        {
            await using NpgsqlDataReader reader = await indexPeek.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
            }
        }), "a plain read of the indexed view"));

        await using NpgsqlCommand blindInsert = Command(connection, "INSERT INTO w VALUES ($1)", NpgsqlDbType.Bigint);
        long nextId = 0;
        rows.Add(new("kernel: INSERT one row into another table", await TimeAsync(settings, async () =>
        {
            blindInsert.Parameters[0].Value = nextId++;
            await blindInsert.ExecuteNonQueryAsync();
        }), "a group commit: oracle + append to every table shard"));

        await using NpgsqlCommand smallUpdate = Command(connection, "UPDATE small SET v = v + 1 WHERE id = $1", NpgsqlDbType.Bigint);
        long smallId = 0;
        rows.Add(new("kernel: UPDATE one row of a 10-row table", await TimeAsync(settings, async () =>
        {
            smallUpdate.Parameters[0].Value = smallId++ % 10;
            await smallUpdate.ExecuteNonQueryAsync();
        }), "read-then-write without a large read"));

        await using NpgsqlCommand pointRead = Command(connection, "SELECT * FROM t WHERE id = $1", NpgsqlDbType.Bigint);
        var pointSettings = settings with { BreakdownSamples = Math.Min(settings.BreakdownSamples, 10) };
        long pointId = 0;
        rows.Add(new(string.Create(CultureInfo.InvariantCulture, $"kernel: SELECT * FROM t WHERE id = $1 ({settings.Rows:N0} rows)"), await TimeAsync(pointSettings, async () =>
        {
            pointRead.Parameters[0].Value = pointId++ * 7919 % settings.Rows;
            await pointRead.ExecuteScalarAsync();
        }), "the read half of the UPDATE"));

        await using NpgsqlCommand fullRead = Command(connection, "SELECT count(*) FROM t");
        var fullSettings = settings with { BreakdownSamples = Math.Min(settings.BreakdownSamples, 5) };
        rows.Add(new(string.Create(CultureInfo.InvariantCulture, $"kernel: SELECT count(*) FROM t ({settings.Rows:N0} rows)"),
            await TimeAsync(fullSettings, async () => await fullRead.ExecuteScalarAsync()), "a peek that reads all of t, as the UPDATE's WHERE does"));
        notes.Add("kernel building blocks: each timed alone, up to " + settings.BreakdownSamples + " samples or " + settings.BreakdownBudget.TotalSeconds + " s");
    }

    /// <summary>Runs <paramref name="action"/> once to warm up, then up to the sample count or the time budget.</summary>
    private static async Task<LatencyStats> TimeAsync(Settings settings, Func<Task> action)
    {
        await action();
        var samples = new List<double>();
        var budget = Stopwatch.StartNew();
        while (samples.Count < settings.BreakdownSamples && budget.Elapsed < settings.BreakdownBudget)
        {
            long start = Stopwatch.GetTimestamp();
            await action();
            samples.Add(Seconds(start, Stopwatch.GetTimestamp()));
        }
        return LatencyStats.Of(samples);
    }

    /// <summary>Reads all of mv and compares every group with the expected count and sum; the number of groups checked.</summary>
    private static async Task<int> CheckViewAsync(NpgsqlConnection connection, long[] sums, long[] counts)
    {
        await using NpgsqlCommand command = Command(connection, "SELECT k, c, s FROM mv");
        // A view that never becomes readable must fail the run, not stall it for the connection's long load timeout.
        command.CommandTimeout = 180;
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var seen = new bool[sums.Length];
        int rows = 0;
        while (await reader.ReadAsync())
        {
            int group = Convert.ToInt32(reader.GetValue(0), CultureInfo.InvariantCulture);
            long count = Convert.ToInt64(reader.GetValue(1), CultureInfo.InvariantCulture);
            long sum = Convert.ToInt64(reader.GetValue(2), CultureInfo.InvariantCulture);
            if (group < 0 || group >= sums.Length || seen[group] || count != counts[group] || sum != sums[group])
            {
                throw new InvalidOperationException($"mv is wrong at group {group}: count {count} (expected {(group >= 0 && group < counts.Length ? counts[group] : -1)}), " +
                    $"sum {sum} (expected {(group >= 0 && group < sums.Length ? sums[group] : -1)}), seen before: {group >= 0 && group < seen.Length && seen[group]}");
            }
            seen[group] = true;
            rows++;
        }
        if (rows != sums.Length)
        {
            throw new InvalidOperationException($"mv has {rows} groups, expected {sums.Length}");
        }
        return rows;
    }

    // ---- PostgreSQL ----

    private sealed record PostgresFigures(LatencyStats UpdateRefreshSelect, LatencyStats Update, LatencyStats Refresh);

    private static async Task<PostgresFigures> RunPostgresAsync(Settings settings, string root, List<Row> rows, List<string> notes)
    {
        Progress("PostgreSQL 15: starting a throwaway cluster (default durability)");
        await using PostgresCluster cluster = await PostgresCluster.StartAsync(Path.Join(root, "postgres"), durable: true);
        await using var connection = new NpgsqlConnection(cluster.ConnectionString + ";Command Timeout=600");
        await connection.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE t (id bigint, k int, v int)");
        Progress($"PostgreSQL: loading {settings.Rows:N0} rows");
        var load = Stopwatch.StartNew();
        await ExecuteAsync(connection, string.Create(CultureInfo.InvariantCulture,
            $"INSERT INTO t SELECT g, g % {settings.Groups}, g * 7 % 100 FROM generate_series(0::bigint, {settings.Rows - 1}) AS g"));
        await ExecuteAsync(connection, "CREATE INDEX t_id ON t (id)");
        await ExecuteAsync(connection, "CREATE MATERIALIZED VIEW mv AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k");
        await ExecuteAsync(connection, "CREATE INDEX mv_k ON mv (k)");
        await ExecuteAsync(connection, "VACUUM ANALYZE t");
        notes.Add(FormattableString.Invariant($"PostgreSQL: load (generate_series), index on t (id), mv, index on mv (k), VACUUM ANALYZE in {load.Elapsed.TotalSeconds:0.0} s"));
        long[] sums = ExpectedSums(settings);
        await CheckViewAsync(connection, sums, ExpectedCounts(settings));

        await using NpgsqlCommand update = Command(connection, "UPDATE t SET v = v + 1 WHERE id = $1", NpgsqlDbType.Bigint);
        await using NpgsqlCommand refresh = Command(connection, "REFRESH MATERIALIZED VIEW mv");
        await using NpgsqlCommand select = Command(connection, "SELECT s FROM mv WHERE k = $1", NpgsqlDbType.Integer);
        var random = new Random(7);

        // The same warm-up as the kernel's, so both are measured warm (PostgreSQL has no JIT here, but caches and plans).
        var warmupWall = Stopwatch.StartNew();
        while (warmupWall.Elapsed < settings.Warmup)
        {
            long id = random.NextInt64(settings.Rows);
            sums[id % settings.Groups]++;
            update.Parameters[0].Value = id;
            await update.ExecuteNonQueryAsync();
        }

        Progress($"PostgreSQL: {settings.Updates:N0} plain UPDATEs");
        var plain = new List<double>();
        var plainWall = Stopwatch.StartNew();
        for (int i = 0; i < settings.Updates && plainWall.Elapsed < settings.UpdateBudget; i++)
        {
            long id = random.NextInt64(settings.Rows);
            sums[id % settings.Groups]++;
            update.Parameters[0].Value = id;
            long start = Stopwatch.GetTimestamp();
            await update.ExecuteNonQueryAsync();
            plain.Add(Seconds(start, Stopwatch.GetTimestamp()));
        }

        Progress($"PostgreSQL: {settings.PostgresIterations} x (UPDATE; REFRESH MATERIALIZED VIEW; SELECT)");
        var total = new List<double>();
        var refreshOnly = new List<double>();
        for (int i = 0; i < settings.PostgresIterations; i++)
        {
            long id = random.NextInt64(settings.Rows);
            int group = (int)(id % settings.Groups);
            sums[group]++;
            update.Parameters[0].Value = id;
            select.Parameters[0].Value = group;
            long start = Stopwatch.GetTimestamp();
            await update.ExecuteNonQueryAsync();
            long refreshStart = Stopwatch.GetTimestamp();
            await refresh.ExecuteNonQueryAsync();
            long refreshEnd = Stopwatch.GetTimestamp();
            object? value = await select.ExecuteScalarAsync();
            long end = Stopwatch.GetTimestamp();
            if (value is null || Convert.ToInt64(value, CultureInfo.InvariantCulture) != sums[group])
            {
                throw new InvalidOperationException($"PostgreSQL mv shows {value} for group {group}, expected {sums[group]}");
            }
            total.Add(Seconds(start, end));
            refreshOnly.Add(Seconds(refreshStart, refreshEnd));
        }
        await using NpgsqlCommand selectOne = Command(connection, "SELECT 1");
        LatencyStats floor = await TimeAsync(settings, async () => await selectOne.ExecuteScalarAsync());
        var figures = new PostgresFigures(LatencyStats.Of(total), LatencyStats.Of(plain), LatencyStats.Of(refreshOnly));
        rows.Add(new("PostgreSQL 15: SELECT 1", floor, "a round trip of this client to a server that does nothing"));
        rows.Add(new("PostgreSQL 15: UPDATE (index on id)", figures.Update, "fsync on, synchronous_commit on"));
        rows.Add(new("PostgreSQL 15: REFRESH MATERIALIZED VIEW mv alone", figures.Refresh, ""));
        rows.Add(new("PostgreSQL 15: UPDATE; REFRESH; SELECT (write-to-visible)", figures.UpdateRefreshSelect, ""));
        return figures;
    }

    // ---- output ----

    private static void PrintTable(List<Row> rows)
    {
        int width = 12;
        foreach (Row row in rows)
        {
            width = Math.Max(width, row.Measurement.Length);
        }
        Console.WriteLine($"{"measurement".PadRight(width)} {"n",6} {"p50 ms",9} {"p90 ms",9} {"p99 ms",9} {"max ms",9}  note");
        foreach (Row row in rows)
        {
            LatencyStats s = row.Stats;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{row.Measurement.PadRight(width)} {s.Count,6} {LatencyStats.Millis(s.P50),9} {LatencyStats.Millis(s.P90),9} {LatencyStats.Millis(s.P99),9} {LatencyStats.Millis(s.Max),9}  {row.Note}"));
        }
    }

    private static void PrintVerdict(KernelFigures kernel, PostgresFigures? postgres)
    {
        foreach ((string name, LatencyStats stats) in new[] { ("(a) SUBSCRIBE", kernel.Subscribe), ("(b) SELECT", kernel.Select) })
        {
            string line = $"kernel write-to-visible p50 {name}: {LatencyStats.Millis(stats.P50)} ms (goal <= {GoalP50Seconds * 1000:0} ms: {(stats.P50 <= GoalP50Seconds ? "met" : "NOT met")})";
            if (postgres is not null)
            {
                double ratio = postgres.UpdateRefreshSelect.P50 / stats.P50;
                line += string.Create(CultureInfo.InvariantCulture,
                    $"; PostgreSQL UPDATE+REFRESH+SELECT p50 {LatencyStats.Millis(postgres.UpdateRefreshSelect.P50)} ms; kernel is {ratio:0.00}x better " +
                    $"(goal >= {GoalRatioToRefresh:0}x: {(ratio >= GoalRatioToRefresh ? "met" : "NOT met")})");
            }
            Console.WriteLine(line);
        }
        if (postgres is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"UPDATE acknowledgement p50: kernel {LatencyStats.Millis(kernel.Ack.P50)} ms, PostgreSQL {LatencyStats.Millis(postgres.Update.P50)} ms ({kernel.Ack.P50 / postgres.Update.P50:0.0}x)"));
        }
    }

    private static string PollSummary(SortedDictionary<int, int> pollsNeeded)
    {
        var parts = new List<string>();
        foreach ((int polls, int times) in pollsNeeded)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{polls}: {times}x"));
        }
        return string.Join(", ", parts);
    }

    // ---- helpers ----

    /// <summary>The value column of row <paramref name="id"/>, as both systems load it.</summary>
    private static long ValueOf(long id) => id * 7 % 100;

    private static long[] ExpectedSums(Settings settings)
    {
        var sums = new long[settings.Groups];
        for (long id = 0; id < settings.Rows; id++)
        {
            sums[id % settings.Groups] += ValueOf(id);
        }
        return sums;
    }

    private static long[] ExpectedCounts(Settings settings)
    {
        var counts = new long[settings.Groups];
        for (int group = 0; group < settings.Groups; group++)
        {
            counts[group] = settings.Rows / settings.Groups + (group < settings.Rows % settings.Groups ? 1 : 0);
        }
        return counts;
    }

    private static NpgsqlCommand Command(NpgsqlConnection connection, string sql, params NpgsqlDbType[] parameterTypes)
    {
        var command = new NpgsqlCommand(sql, connection);
        foreach (NpgsqlDbType type in parameterTypes)
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type });
        }
        return command;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static double Seconds(long startTicks, long endTicks) => (double)(endTicks - startTicks) / Stopwatch.Frequency;

    private static void Progress(string message) => Console.WriteLine(FormattableString.Invariant($"[{DateTime.Now:HH:mm:ss}] {message}"));

    private static string RuntimeName() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    /// <summary>The checkout this benchmark was built from: the nearest folder above the binary (or the working directory) holding Kernel.sln.</summary>
    private static string RepositoryRoot()
    {
        foreach (string start in new[] { AppContext.BaseDirectory, Directory.GetCurrentDirectory() })
        {
            for (DirectoryInfo? directory = new(start); directory is not null; directory = directory.Parent)
            {
                if (File.Exists(Path.Join(directory.FullName, "Kernel.sln")))
                {
                    return directory.FullName;
                }
            }
        }
        throw new InvalidOperationException("cannot find the repository (Kernel.sln) above the benchmark binary or the working directory; pass --kernel-cli");
    }
}
