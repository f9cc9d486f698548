using System;
using System.Diagnostics;
using System.IO;
using System.Text.Json;
using System.Threading.Tasks;
using Npgsql;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// <c>kernel persist inspect</c> on the data directory of a running <c>kernel start</c>: on a fresh directory every
/// small batch is still inline in Consensus and no blob has been written, yet inspect must list the shards (it used
/// to refuse, because the blob directory did not exist yet).
/// </summary>
public sealed class InspectTests
{
    [Fact]
    public async Task Inspect_FreshDataDirectory_ListsTheShards()
    {
        string directory = KernelProcess.NewDataDirectory();
        try
        {
            using KernelProcess kernel = await KernelProcess.StartAsync(directory);
            await using (var connection = new NpgsqlConnection(kernel.ConnectionString))
            {
                await connection.OpenAsync();
                await NpgsqlTests.ExecuteAsync(connection, "CREATE TABLE inspected (id integer)");
                Assert.Equal(1, await NpgsqlTests.ExecuteAsync(connection, "INSERT INTO inspected VALUES (1)"));
            }
            string persist = Path.Combine(directory, "persist");
            (int exitCode, string output, string error) = await RunCliAsync(
                "persist", "inspect", "--blob", "file://" + Path.Combine(persist, "blob"), "--consensus", "file://" + Path.Combine(persist, "consensus"));

            Assert.True(exitCode == 0, $"inspect exited with {exitCode}:\n{output}\n{error}");
            // The catalog shard and the table's shard, at least.
            Assert.True(output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length >= 3, output);
            Assert.Contains(" s", output, StringComparison.Ordinal);
        }
        finally
        {
            KernelProcess.DeleteDirectory(directory);
        }
    }

    /// <summary>
    /// A graceful stop (SIGTERM) expires the persist readers that clusterd's dataflows held: left behind, each would
    /// hold its shard's since and garbage collection back until its lease lapsed, 15 minutes after the restart.
    /// </summary>
    [Fact]
    public async Task Sigterm_ExpiresTheReadersOfTheStoppedProcess()
    {
        string directory = KernelProcess.NewDataDirectory();
        try
        {
            using (KernelProcess kernel = await KernelProcess.StartAsync(directory))
            {
                await using (var connection = new NpgsqlConnection(kernel.ConnectionString))
                {
                    await connection.OpenAsync();
                    await NpgsqlTests.ExecuteAsync(connection, "CREATE TABLE held (id integer, v integer)");
                    Assert.Equal(2, await NpgsqlTests.ExecuteAsync(connection, "INSERT INTO held VALUES (1, 10), (2, 20)"));
                    await NpgsqlTests.ExecuteAsync(connection, "CREATE INDEX held_id ON held (id)");
                    await NpgsqlTests.ExecuteAsync(connection, "CREATE MATERIALIZED VIEW held_sum AS SELECT sum(v) AS s FROM held");
                    Assert.Equal(NpgsqlTests.Rows([30L]), await NpgsqlTests.ReadRowsAsync(connection, "SELECT s FROM held_sum"));
                }
                Assert.True(LeasedReaders(await InspectAsync(directory)) > 0, "the running replica should hold readers; the test lost its point");
                int exitCode = await kernel.TerminateAsync(TimeSpan.FromSeconds(20));
                Assert.True(exitCode == 0, $"kernel start exited with {exitCode} on SIGTERM:\n{kernel.Output}");
            }
            Assert.Equal(0, LeasedReaders(await InspectAsync(directory)));
        }
        finally
        {
            KernelProcess.DeleteDirectory(directory);
        }
    }

    /// <summary>Every shard's state as inspect prints it in JSON.</summary>
    private static async Task<JsonDocument[]> InspectAsync(string directory)
    {
        string persist = Path.Combine(directory, "persist");
        string[] locations = ["--blob", "file://" + Path.Combine(persist, "blob"), "--consensus", "file://" + Path.Combine(persist, "consensus"), "--json"];
        (int exitCode, string output, string error) = await RunCliAsync(["persist", "inspect", .. locations]);
        Assert.True(exitCode == 0, $"inspect exited with {exitCode}:\n{output}\n{error}");
        using JsonDocument list = JsonDocument.Parse(output);
        var states = new System.Collections.Generic.List<JsonDocument>();
        foreach (JsonElement shard in list.RootElement.GetProperty("shards").EnumerateArray())
        {
            (exitCode, output, error) = await RunCliAsync(["persist", "inspect", .. locations, "--shard", shard.GetProperty("shard").GetString()!]);
            Assert.True(exitCode == 0, $"inspect of one shard exited with {exitCode}:\n{output}\n{error}");
            states.Add(JsonDocument.Parse(output));
        }
        return [.. states];
    }

    private static int LeasedReaders(JsonDocument[] states)
    {
        int count = 0;
        foreach (JsonDocument state in states)
        {
            count += state.RootElement.GetProperty("leasedReaders").GetArrayLength();
            state.Dispose();
        }
        return count;
    }

    private static async Task<(int ExitCode, string Output, string Error)> RunCliAsync(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(KernelProcess.CliPath);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
