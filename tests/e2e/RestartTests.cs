using System;
using System.Collections.Generic;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// Stops <c>kernel start</c> in the middle of a workload (SIGTERM, then SIGKILL) and starts it again on the same data
/// directory: every acknowledged row, view, materialized view and index must be there and still maintained.
/// </summary>
/// <remarks>
/// Each test owns its data directory and processes (not the shared fixture). The expected contents are a model kept
/// in the test: every statement the server acknowledged is applied to it, and nothing else.
/// </remarks>
public sealed class RestartTests
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Sigterm_ThenRestart_KeepsEveryAcknowledgedRowAndView()
    {
        await RestartScenarioAsync(async kernel =>
        {
            int exitCode = await kernel.TerminateAsync(StopTimeout);
            Assert.True(exitCode == 0, $"kernel start exited with {exitCode} on SIGTERM:\n{kernel.Output}");
            Assert.Contains("Stopped.", kernel.Output, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Sigkill_ThenRestart_KeepsEveryAcknowledgedRowAndView()
    {
        await RestartScenarioAsync(kernel =>
        {
            kernel.KillHard();
            return Task.CompletedTask;
        });
    }

    /// <summary>
    /// The same with clusterd in a process of its own (<c>--clusterd-process</c>): environmentd and clusterd then talk
    /// over TCP rather than in memory, and stopping environmentd stops its clusterd.
    /// </summary>
    [Fact]
    public async Task ClusterdProcess_Sigterm_ThenRestart_KeepsEveryAcknowledgedRowAndView()
    {
        await RestartScenarioAsync(
            async kernel =>
            {
                int exitCode = await kernel.TerminateAsync(StopTimeout);
                Assert.True(exitCode == 0, $"kernel start exited with {exitCode} on SIGTERM:\n{kernel.Output}");
            },
            clusterdProcess: true);
    }

    private static async Task RestartScenarioAsync(Func<KernelProcess, Task> stop, bool clusterdProcess = false)
    {
        string directory = KernelProcess.NewDataDirectory();
        var model = new SortedDictionary<int, (string Group, long Quantity)>();
        var stream = new StreamProgress();
        try
        {
            using (KernelProcess first = await KernelProcess.StartAsync(directory, clusterdProcess))
            await WithServerOutputAsync(first, async () =>
            {
                await using (NpgsqlConnection connection = await OpenAsync(first))
                {
                    await ExecuteAsync(connection, "CREATE TABLE r_items (id integer NOT NULL, grp text, qty bigint)");
                    await InsertAsync(connection, model, 1, 20);
                    await ExecuteAsync(connection, "CREATE VIEW r_big AS SELECT id, qty FROM r_items WHERE qty >= 50");
                    await ExecuteAsync(connection,
                        "CREATE MATERIALIZED VIEW r_per_group AS SELECT grp, count(*) AS n, sum(qty) AS total FROM r_items GROUP BY grp");
                    await ExecuteAsync(connection, "CREATE INDEX r_items_grp ON r_items (grp)");
                    await InsertAsync(connection, model, 21, 30);
                    Assert.Equal(5, await ExecuteAsync(connection, "UPDATE r_items SET qty = qty + 1000 WHERE id <= 5"));
                    for (int id = 1; id <= 5; id++)
                    {
                        model[id] = (model[id].Group, model[id].Quantity + 1000);
                    }
                    Assert.Equal(3, await ExecuteAsync(connection, "DELETE FROM r_items WHERE id > 27"));
                    model.Remove(28);
                    model.Remove(29);
                    model.Remove(30);
                    // The last acknowledged write, right before the stop.
                    await InsertAsync(connection, model, 31, 31);
                    await VerifyAsync(connection, model);
                    await ExecuteAsync(connection, "CREATE TABLE r_stream (id integer)");
                }

                // Stop in the middle of a stream of writes from another connection: what was acknowledged must survive.
                await using NpgsqlConnection streamer = await OpenAsync(first);
                Task streaming = StreamInsertsAsync(streamer, stream);
                for (int wait = 0; wait < 300 && stream.AcknowledgedCount < 20 && !streaming.IsCompleted; wait++)
                {
                    await Task.Delay(20);
                }
                Assert.True(stream.AcknowledgedCount >= 20, $"the writer should have had 20 inserts acknowledged before the stop:\n{first.Output}");
                await stop(first);
                await streaming;
            });

            using (KernelProcess second = await KernelProcess.StartAsync(directory, clusterdProcess))
            await WithServerOutputAsync(second, async () =>
            {
                await using NpgsqlConnection connection = await OpenAsync(second);
                await VerifyAsync(connection, model);
                await VerifyStreamAsync(connection, stream);
                Assert.Equal(NpgsqlTests.Rows(["r_items"], ["r_stream"]), await ReadRowsAsync(connection, "SHOW TABLES"));
                Assert.Equal(NpgsqlTests.Rows(["r_big"]), await ReadRowsAsync(connection, "SHOW VIEWS"));
                Assert.Equal(NpgsqlTests.Rows(["r_per_group"]), await ReadRowsAsync(connection, "SHOW MATERIALIZED VIEWS"));
                Assert.Equal(NpgsqlTests.Rows(["r_items_grp"]), await ReadRowsAsync(connection, "SHOW INDEXES"));

                // Still maintained: new writes show up in the table, the view and the materialized view.
                await InsertAsync(connection, model, 40, 45);
                Assert.Equal(2, await ExecuteAsync(connection, "DELETE FROM r_items WHERE id IN (1, 2)"));
                model.Remove(1);
                model.Remove(2);
                await VerifyAsync(connection, model);

                // New objects can be created after the restart (ids and shards do not collide with the restored ones).
                await ExecuteAsync(connection, "CREATE TABLE r_after (x integer)");
                await ExecuteAsync(connection, "INSERT INTO r_after VALUES (7)");
                Assert.Equal(NpgsqlTests.Rows([7]), await ReadRowsAsync(connection, "SELECT x FROM r_after"));
            });
        }
        finally
        {
            KernelProcess.DeleteDirectory(directory);
        }
    }

    /// <summary>Runs <paramref name="body"/>; a client-side failure (timeout, dropped connection) carries what the server printed.</summary>
    private static async Task WithServerOutputAsync(KernelProcess kernel, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (NpgsqlException e)
        {
            throw new InvalidOperationException($"{e.Message} (server exited: {kernel.HasExited}); the server printed:\n{kernel.Output}", e);
        }
    }

    /// <summary>How far the streaming writer got: ids 1..Acknowledged were acknowledged; ids up to Attempted were sent.</summary>
    private sealed class StreamProgress
    {
        private int _acknowledged;
        private int _attempted;

        public int AcknowledgedCount => Volatile.Read(ref _acknowledged);

        public int AttemptedCount => Volatile.Read(ref _attempted);

        public void Attempt(int id) => Volatile.Write(ref _attempted, id);

        public void Acknowledge(int id) => Volatile.Write(ref _acknowledged, id);
    }

    /// <summary>Inserts ids 1, 2, 3... one statement at a time until the server goes away (bounded at 100,000).</summary>
    private static async Task StreamInsertsAsync(NpgsqlConnection connection, StreamProgress progress)
    {
        for (int id = 1; id <= 100_000; id++)
        {
            progress.Attempt(id);
            try
            {
                Assert.Equal(1, await ExecuteAsync(connection, $"INSERT INTO r_stream VALUES ({id})"));
            }
            catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException or TimeoutException)
            {
                return;
            }
            progress.Acknowledge(id);
        }
    }

    /// <summary>Every acknowledged id is there once; beyond those, only the one insert that was in flight may be.</summary>
    private static async Task VerifyStreamAsync(NpgsqlConnection connection, StreamProgress progress)
    {
        List<object[]> rows = await ReadRowsAsync(connection, "SELECT id FROM r_stream ORDER BY id");
        int acknowledged = progress.AcknowledgedCount;
        Assert.True(rows.Count >= acknowledged, $"{acknowledged} inserts were acknowledged but only {rows.Count} rows survived");
        for (int i = 0; i < rows.Count; i++)
        {
            Assert.Equal(i + 1, rows[i][0]);
        }
        Assert.True(rows.Count <= progress.AttemptedCount, $"{rows.Count} rows survived but only {progress.AttemptedCount} inserts were sent");
    }

    private static async Task<NpgsqlConnection> OpenAsync(KernelProcess kernel)
    {
        var connection = new NpgsqlConnection(kernel.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    /// <summary>Inserts rows <paramref name="from"/>..<paramref name="to"/> one statement each, and applies each acknowledged one to the model.</summary>
    private static async Task InsertAsync(NpgsqlConnection connection, SortedDictionary<int, (string Group, long Quantity)> model, int from, int to)
    {
        for (int id = from; id <= to; id++)
        {
            string group = "g" + (id % 3);
            long quantity = id * 7 % 100;
            Assert.Equal(1, await ExecuteAsync(connection, $"INSERT INTO r_items VALUES ({id}, '{group}', {quantity})"));
            model[id] = (group, quantity);
        }
    }

    private static async Task VerifyAsync(NpgsqlConnection connection, SortedDictionary<int, (string Group, long Quantity)> model)
    {
        var items = new List<object[]>();
        var big = new List<object[]>();
        // sum(bigint) is numeric, as in PostgreSQL.
        var groups = new SortedDictionary<string, (long Count, decimal Total)>(StringComparer.Ordinal);
        foreach ((int id, (string group, long quantity)) in model)
        {
            items.Add([id, group, quantity]);
            if (quantity >= 50)
            {
                big.Add([id, quantity]);
            }
            groups.TryGetValue(group, out (long Count, decimal Total) sum);
            groups[group] = (sum.Count + 1, sum.Total + quantity);
        }
        var perGroup = new List<object[]>();
        foreach ((string group, (long count, decimal total)) in groups)
        {
            perGroup.Add([group, count, total]);
        }
        Assert.Equal(items, await ReadRowsAsync(connection, "SELECT id, grp, qty FROM r_items ORDER BY id"));
        Assert.Equal(big, await ReadRowsAsync(connection, "SELECT id, qty FROM r_big ORDER BY id"));
        Assert.Equal(perGroup, await ReadRowsAsync(connection, "SELECT grp, n, total FROM r_per_group ORDER BY grp"));
        // A filter on the indexed column.
        long inGroupOne = 0;
        foreach ((string group, long _) in model.Values)
        {
            inGroupOne += group == "g1" ? 1 : 0;
        }
        Assert.Equal(NpgsqlTests.Rows([inGroupOne]), await ReadRowsAsync(connection, "SELECT count(*) FROM r_items WHERE grp = 'g1'"));
    }

    private static Task<int> ExecuteAsync(NpgsqlConnection connection, string sql) => NpgsqlTests.ExecuteAsync(connection, sql);

    private static Task<List<object[]>> ReadRowsAsync(NpgsqlConnection connection, string sql) => NpgsqlTests.ReadRowsAsync(connection, sql);
}
