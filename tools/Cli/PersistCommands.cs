using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist;
using Kernel.Persist.Location;
using Kernel.Persist.Postgres;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;

namespace Kernel.Tools.Cli;

/// <summary>What <c>persist inspect</c> was asked to do.</summary>
public sealed record InspectRequest(string Blob, string Consensus, string? Shard, bool Json);

/// <summary>
/// <c>kernel persist inspect --blob URI --consensus URI [--shard ID] [--json]</c>: prints one shard's state, or a
/// line per shard, without changing anything in either location.
/// </summary>
/// <remarks>
/// Exit codes: 0 done; 1 the shard id is malformed or unknown, or a state is corrupt or unreadable (the message
/// names the key); 2 a usage error: a missing option, a bad URI, a directory that does not exist, an unreachable
/// PostgreSQL or a database without a consensus table.
/// <para>
/// Read-only by construction: the file backends run over <see cref="ReadOnlyStorage"/>, which refuses every
/// create, rename, delete and write; PostgreSQL is opened with <see cref="PostgresConsensus.OpenReadOnlyAsync"/>
/// (read-only transactions, no table creation); and only calls that never create a shard are used
/// (<see cref="PersistClient.FetchStateAsync"/>, <see cref="PersistClient.ListShardsAsync"/>, blob listings).
/// Persist code expects to own one node loop, so the work runs as a node of a <see cref="ProductionHost"/>.
/// </para>
/// </remarks>
public static class PersistCommands
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    /// <summary>Few, short retries: a location that keeps failing should be reported, not waited on.</summary>
    private static readonly PersistConfig s_inspectConfig = new()
    {
        InlineMaintenance = false,
        CompactionEnabled = false,
        RetriesMax = 3,
        RetryBackoffMin = TimeSpan.FromMilliseconds(5),
        RetryBackoffMax = TimeSpan.FromMilliseconds(100),
    };

    public static Command Create()
    {
        var persist = new Command("persist", "Look at persist shards stored in a Blob and a Consensus location.");
        persist.Subcommands.Add(CreateInspect());
        return persist;
    }

    private static Command CreateInspect()
    {
        var blob = new Option<string>("--blob") { Description = "Blob location: file:///absolute/dir." };
        var consensus = new Option<string>("--consensus")
        {
            Description = "Consensus location: file:///absolute/dir, or postgres://user[:password]@host:port/database[?search_path=schema].",
        };
        var shard = new Option<string>("--shard") { Description = "The shard to show (s followed by 32 hex digits); without it, every shard, one line each." };
        var json = new Option<bool>("--json") { Description = "Print JSON instead of a table." };
        var command = new Command("inspect", "Print a shard's state (read-only: nothing is created or changed).") { blob, consensus, shard, json };
        command.SetAction(async (result, cancellationToken) =>
        {
            TextWriter output = result.InvocationConfiguration.Output;
            TextWriter error = result.InvocationConfiguration.Error;
            string? blobText = result.GetValue(blob);
            string? consensusText = result.GetValue(consensus);
            if (string.IsNullOrEmpty(blobText) || string.IsNullOrEmpty(consensusText))
            {
                await error.WriteLineAsync("error: persist inspect needs --blob URI and --consensus URI");
                return ExitUsage;
            }
            var request = new InspectRequest(blobText, consensusText, result.GetValue(shard), result.GetValue(json));
            return await InspectAsync(request, output, error);
        });
        return command;
    }

    /// <summary>Runs an inspection; what it prints goes to <paramref name="output"/>, errors (one line each) to <paramref name="error"/>.</summary>
    public static async Task<int> InspectAsync(InspectRequest request, TextWriter output, TextWriter error)
    {
        if (!PersistLocations.TryParse(request.Blob, "--blob", allowPostgres: false, out PersistLocation? blob, out string problem)
            || !PersistLocations.TryParse(request.Consensus, "--consensus", allowPostgres: true, out PersistLocation? consensus, out problem))
        {
            await error.WriteLineAsync("error: " + problem);
            return ExitUsage;
        }
        ShardId? shard = null;
        if (request.Shard is string shardText)
        {
            if (!ShardId.TryParse(shardText, out ShardId parsed, out string invalid))
            {
                await error.WriteLineAsync("error: --shard " + invalid);
                return ExitFailed;
            }
            shard = parsed;
        }

        // The host wants a root for its nodes' data directories; the inspector's node never writes there.
        string hostRoot = Path.Join(Path.GetTempPath(), "kernel-inspect-" + Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()));
        try
        {
            using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = hostRoot });
            var inspection = new Inspection(blob!, consensus!, shard, request.Json);
            host.Start("inspect", () => inspection);
            NodeOutcome outcome = await host.WaitForExitAsync("inspect");
            if (outcome.Failure is not null)
            {
                await error.WriteLineAsync($"error: inspection failed in {outcome.FailureSource}: {outcome.Failure}");
                return ExitFailed;
            }
            if (inspection.Output.Length > 0)
            {
                await output.WriteAsync(inspection.Output);
            }
            if (inspection.Error.Length > 0)
            {
                await error.WriteLineAsync("error: " + inspection.Error);
            }
            return inspection.ExitCode;
        }
        finally
        {
            try
            {
                Directory.Delete(hostRoot, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: an empty temporary directory left behind is harmless.
            }
        }
    }

    /// <summary>True when the directory holds <see cref="FileConsensus"/>'s layout (a subdirectory per key) and no log.</summary>
    private static bool HoldsPerKeyDirectories(FileLocation location) => HoldsPerKeyConsensus(Path.Join(location.Parent, location.Name));

    /// <summary>True when the directory holds a consensus log or <see cref="FileConsensus"/>'s layout.</summary>
    private static bool HoldsConsensus(FileLocation location)
    {
        string path = Path.Join(location.Parent, location.Name);
        return File.Exists(Path.Join(path, "lock")) || HoldsPerKeyConsensus(path);
    }

    /// <summary>True when <paramref name="path"/> holds <see cref="FileConsensus"/>'s layout (a subdirectory per key) and no log.</summary>
    internal static bool HoldsPerKeyConsensus(string path) =>
        Directory.Exists(path)
        && Directory.EnumerateDirectories(path).Any()
        && !File.Exists(Path.Join(path, "lock"));

    /// <summary>The inspector node: opens both locations read-only on its loop, reads, renders, and ends.</summary>
    /// <remarks>Its results are read by the host's caller only after the node has exited.</remarks>
    private sealed class Inspection(PersistLocation blob, PersistLocation consensus, ShardId? shard, bool json) : INode
    {
        public int ExitCode { get; private set; } = ExitFailed;

        public string Output { get; private set; } = "";

        public string Error { get; private set; } = "";

        public async Task RunAsync(INodeContext context)
        {
            var storages = new List<FileStorage>();
            var views = new List<ReadOnlyStorage>();
            PostgresConsensus? postgres = null;
            try
            {
                var blobDirectory = (FileLocation)blob;
                var blobStorage = new FileStorage(blobDirectory.Parent);
                storages.Add(blobStorage);
                views.Add(new ReadOnlyStorage(blobStorage));
                IBlob fileBlob = new FileBlob(views[^1], context.Random.Fork("blob"), blobDirectory.Name);
                IConsensus store;
                if (consensus is FileLocation consensusDirectory)
                {
                    if (!HoldsConsensus(consensusDirectory))
                    {
                        // An empty directory, or the wrong one: say so, instead of the read-only view's refusal to
                        // create the log that a writer would have created there.
                        Fail(ExitFailed, (shard is ShardId missing ? $"shard {missing} does not exist in {consensus.Display}: " : $"--consensus {consensus.Display}: ")
                            + "the directory holds no consensus data (no log, no directory per key); is it the right directory?");
                        return;
                    }
                    var consensusStorage = new FileStorage(consensusDirectory.Parent);
                    storages.Add(consensusStorage);
                    views.Add(new ReadOnlyStorage(consensusStorage));
                    // A directory holding consensus as one log (what `kernel start` writes) or as a directory per key.
                    store = HoldsPerKeyDirectories(consensusDirectory)
                        ? new FileConsensus(views[^1], context.Random.Fork("consensus"), consensusDirectory.Name)
                        : new LogConsensus(views[^1], consensusDirectory.Name);
                }
                else
                {
                    var location = (PostgresLocation)consensus;
                    LocationResult<PostgresConsensus> opened = await PostgresConsensus.OpenReadOnlyAsync(location.ConnectionString);
                    if (!opened.IsOk)
                    {
                        Fail(ExitUsage, $"--consensus {location.Display}: {opened.Error!.Message}");
                        return;
                    }
                    postgres = opened.Value!;
                    store = postgres;
                }
                var client = new PersistClient(fileBlob, store, context.Clock, context.Random.Fork("persist"), s_inspectConfig);
                if (shard is ShardId one)
                {
                    await InspectShardAsync(client, one);
                }
                else
                {
                    await ListShardsAsync(client);
                }
                if (ExitCode != ExitOk && views.Exists(view => view.Refused > 0))
                {
                    Error += " (inspect never writes: it did not complete another process's unfinished write; run it again once that " +
                        "writer has finished, or after any persist client has read the shard)";
                }
            }
            finally
            {
                if (postgres is not null)
                {
                    await postgres.DisposeAsync();
                }
                foreach (FileStorage storage in storages)
                {
                    storage.Dispose();
                }
            }
        }

        private async Task InspectShardAsync(PersistClient client, ShardId id)
        {
            PersistResult<ShardState> fetched = await client.FetchStateAsync(id, CancellationToken.None);
            if (!fetched.IsOk)
            {
                Fail(ExitFailed, fetched.Error!.Kind == PersistErrorKind.ShardDropped
                    ? $"shard {id} does not exist in {consensus.Display}"
                    : fetched.Error.Message);
                return;
            }
            ShardState state = fetched.Value!;
            LocationResult<IReadOnlyList<BlobMetadata>> blobs = await client.Context.Blob.ListKeysAsync(id.Value + "/");
            if (!blobs.IsOk)
            {
                Fail(ExitFailed, $"listing the blobs of {id}: {blobs.Error!.Message}");
                return;
            }
            BlobSummary summary = BlobSummary.Compare(state, blobs.Value!);
            Output = json ? ShardReport.Json(state, summary) : ShardReport.Table(state, summary);
            ExitCode = ExitOk;
        }

        private async Task ListShardsAsync(PersistClient client)
        {
            PersistResult<IReadOnlyList<ShardId>> listed = await client.ListShardsAsync();
            if (!listed.IsOk)
            {
                Fail(ExitFailed, listed.Error!.Message);
                return;
            }
            var states = new List<ShardState>();
            foreach (ShardId id in listed.Value!)
            {
                PersistResult<ShardState> fetched = await client.FetchStateAsync(id, CancellationToken.None);
                if (!fetched.IsOk)
                {
                    Fail(ExitFailed, fetched.Error!.Message);
                    return;
                }
                states.Add(fetched.Value!);
            }
            Output = json ? ShardReport.ListJson(states) : ShardReport.ListTable(states);
            ExitCode = ExitOk;
        }

        private void Fail(int exitCode, string message)
        {
            ExitCode = exitCode;
            Error = message;
        }
    }
}
