using System;
using System.Diagnostics;
using System.IO;
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
