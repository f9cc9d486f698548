using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading.Tasks;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Postgres;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Kernel.Tests.Unit.Runtime.Production;
using Kernel.Tools.Cli;
using Kernel.Tools.ProductionRuntime;
using Npgsql;
using Xunit;

namespace Kernel.Tests.Unit.Persist;

/// <summary>
/// <c>kernel persist inspect</c> on real shards written by production nodes to a temporary directory: what it
/// prints (table and JSON, checked against the state persist itself reads), its errors and exit codes, and that
/// it never changes a file, even where the read path would otherwise complete another process's write.
/// </summary>
public sealed class InspectTests : IDisposable
{
    /// <summary>No compaction or maintenance, so the batches are exactly the appends.</summary>
    /// <summary>Every part in Blob (no inline parts), so that inspection's blob cross-check has parts to count.</summary>
    private static readonly PersistConfig s_plain = new() { InlineMaintenance = false, CompactionEnabled = false, InlinePartBytesMax = 0 };

    private readonly string _root = ProductionNodeHarness.NewTempDirectory();

    private string BlobUri => "file://" + Path.Join(_root, "blob");

    private string ConsensusUri => "file://" + Path.Join(_root, "consensus");

    public void Dispose() => ProductionNodeHarness.DeleteDirectory(_root);

    [Fact]
    public async Task Inspect_Shard_TableShowsStateBatchesReadersWritersAndBlobs()
    {
        (ShardId shard, ShardState state) = await CreateShardAsync();

        (int exit, string output, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value);

        Assert.True(exit == 0, error);
        Assert.Equal("", error);
        string[] lines = output.Split('\n');
        Assert.Contains($"  shard          {shard.Value}", lines);
        Assert.Contains($"  seqno          {state.SeqNo}", lines);
        Assert.Contains("  since          [2]", lines);
        Assert.Contains("  upper          [6]", lines);
        Assert.Contains("  state          live", lines);
        long bytes = 0;
        foreach (HollowBatch batch in state.Batches)
        {
            bytes += batch.Parts[0].EncodedSizeBytes;
        }
        Assert.Contains($"  data           3 batches, 3 parts, 6 updates, {bytes} bytes", lines);
        Assert.Contains("batches (3)", lines);
        Assert.Contains(lines, line => Columns(line) is ["0", "[0]", "[2]", "[0]", "1", "2", string b] && b == Bytes(state, 0));
        Assert.Contains(lines, line => Columns(line) is ["1", "[2]", "[5]", "[0]", "1", "3", string b] && b == Bytes(state, 1));
        Assert.Contains(lines, line => Columns(line) is ["2", "[5]", "[6]", "[0]", "1", "1", string b] && b == Bytes(state, 2));

        (string readerId, LeasedReaderState reader) = Assert.Single(state.LeasedReaders);
        Assert.Contains(lines, line => Columns(line) is [string id, "test", "reader", "[3]", string hold, ..] && id == readerId && hold == reader.SeqNoHold.ToString(CultureInfo.InvariantCulture));
        Assert.Contains(lines, line => Columns(line) is ["controller", "controller", "[2]", "8"]);
        (string writerId, WriterState writer) = Assert.Single(state.Writers);
        Assert.Contains(lines, line => Columns(line) is [string id, "test", "writer", string token, "[6]", ..] && id == writerId && token == writer.LastToken.ToString());
        Assert.Contains("rollups (0)", lines);
        Assert.Contains(lines, line => line.StartsWith("  blob           3 files", StringComparison.Ordinal) && line.Contains("0 referenced missing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Inspect_ShardAsJson_MatchesTheStatePersistReads()
    {
        (ShardId shard, ShardState state) = await CreateShardAsync();

        (int exit, string output, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value, "--json");

        Assert.True(exit == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        JsonElement root = json.RootElement;
        Assert.Equal(shard.Value, root.GetProperty("shard").GetString());
        Assert.Equal(state.SeqNo, root.GetProperty("seqno").GetUInt64());
        Assert.Equal(state.WalltimeMs, root.GetProperty("walltimeMs").GetInt64());
        Assert.Equal([2UL], Frontier(root.GetProperty("since")));
        Assert.Equal([6UL], Frontier(root.GetProperty("upper")));
        Assert.False(root.GetProperty("dropped").GetBoolean());
        Assert.Equal(6, root.GetProperty("updates").GetInt64());

        JsonElement[] batches = [.. root.GetProperty("batches").EnumerateArray()];
        Assert.Equal(state.Batches.Length, batches.Length);
        for (int i = 0; i < batches.Length; i++)
        {
            HollowBatch expected = state.Batches[i];
            Assert.Equal([expected.Description.Lower.Time], Frontier(batches[i].GetProperty("lower")));
            Assert.Equal([expected.Description.Upper.Time], Frontier(batches[i].GetProperty("upper")));
            Assert.Equal([expected.Description.Since.Time], Frontier(batches[i].GetProperty("since")));
            Assert.Equal(expected.Parts.Length, batches[i].GetProperty("partCount").GetInt32());
            JsonElement part = Assert.Single(batches[i].GetProperty("parts").EnumerateArray());
            Assert.Equal(expected.Parts[0].Key, part.GetProperty("key").GetString());
            Assert.Equal(expected.Parts[0].EncodedSizeBytes, part.GetProperty("bytes").GetInt64());
            Assert.Equal(expected.Parts[0].EncodedSizeBytes, batches[i].GetProperty("bytes").GetInt64());
        }

        JsonElement leased = Assert.Single(root.GetProperty("leasedReaders").EnumerateArray());
        (string readerId, LeasedReaderState reader) = Assert.Single(state.LeasedReaders);
        Assert.Equal(readerId, leased.GetProperty("id").GetString());
        Assert.Equal("test reader", leased.GetProperty("purpose").GetString());
        Assert.Equal([3UL], Frontier(leased.GetProperty("since")));
        Assert.Equal(reader.SeqNoHold, leased.GetProperty("seqnoHold").GetUInt64());
        Assert.Equal(reader.LastHeartbeatMs, leased.GetProperty("lastHeartbeatMs").GetInt64());
        Assert.Equal(reader.LeaseDurationMs, leased.GetProperty("leaseDurationMs").GetInt64());

        JsonElement critical = Assert.Single(root.GetProperty("criticalReaders").EnumerateArray());
        Assert.Equal("controller", critical.GetProperty("id").GetString());
        Assert.Equal([2UL], Frontier(critical.GetProperty("since")));
        Assert.Equal(8UL, critical.GetProperty("opaque").GetUInt64());

        JsonElement writer = Assert.Single(root.GetProperty("writers").EnumerateArray());
        (string writerId, WriterState writerState) = Assert.Single(state.Writers);
        Assert.Equal(writerId, writer.GetProperty("id").GetString());
        Assert.Equal("test writer", writer.GetProperty("purpose").GetString());
        Assert.Equal(writerState.LastToken.ToString(), writer.GetProperty("lastIdempotencyToken").GetString());
        Assert.Equal(writerState.LastHeartbeatMs, writer.GetProperty("lastHeartbeatMs").GetInt64());
        Assert.Empty(root.GetProperty("rollups").EnumerateArray());

        JsonElement blob = root.GetProperty("blob");
        Assert.Equal(3, blob.GetProperty("files").GetInt32());
        Assert.Equal(0, blob.GetProperty("referencedMissing").GetInt32());
        Assert.Equal(0, blob.GetProperty("unreferencedFiles").GetInt32());
    }

    [Fact]
    public async Task Inspect_WithoutShard_ListsEveryShard()
    {
        (ShardId first, ShardState firstState) = await CreateShardAsync();
        (ShardId second, _) = await CreateShardAsync();

        (int exit, string output, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri);
        (int jsonExit, string jsonOutput, _) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--json");

        Assert.True(exit == 0, error);
        string[] lines = output.Split('\n');
        Assert.Equal("2 shards", lines[0]);
        Assert.Contains(lines, line => Columns(line) is [string id, string seqno, "[2]", "[6]", "3", _, "live"] && id == first.Value && seqno == firstState.SeqNo.ToString(CultureInfo.InvariantCulture));
        Assert.Contains(lines, line => Columns(line) is [string id, ..] && id == second.Value);
        Assert.Equal(0, jsonExit);
        using JsonDocument json = JsonDocument.Parse(jsonOutput);
        var ids = new List<string>();
        foreach (JsonElement shard in json.RootElement.GetProperty("shards").EnumerateArray())
        {
            ids.Add(shard.GetProperty("shard").GetString()!);
            Assert.Equal(3, shard.GetProperty("batchCount").GetInt32());
            Assert.True(shard.GetProperty("bytes").GetInt64() > 0);
        }
        var expected = new List<string> { first.Value, second.Value };
        expected.Sort(StringComparer.Ordinal);
        Assert.Equal(expected, ids);
    }

    [Fact]
    public async Task Inspect_ChangesNoFile()
    {
        (ShardId shard, _) = await CreateShardAsync();
        Dictionary<string, string> before = Snapshot(_root);

        Assert.Equal(0, (await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value)).Exit);
        Assert.Equal(0, (await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--json")).Exit);
        Assert.Equal(1, (await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", "s" + new string('0', 32))).Exit);

        Assert.Equal(before, Snapshot(_root));
    }

    /// <summary>A consensus directory nobody has written (empty, or the wrong one) is named as such, for a shard and for the listing.</summary>
    [Fact]
    public async Task Inspect_DirectoryWithoutConsensus_SaysSo()
    {
        Directory.CreateDirectory(Path.Join(_root, "blob"));
        Directory.CreateDirectory(Path.Join(_root, "consensus"));
        string unknown = "s" + new string('0', 31) + "1";

        (int exit, _, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", unknown);
        (int listExit, _, string listError) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri);

        Assert.Equal(1, exit);
        Assert.Contains($"shard {unknown} does not exist", error, StringComparison.Ordinal);
        Assert.Contains("holds no consensus data", error, StringComparison.Ordinal);
        Assert.Equal(1, listExit);
        Assert.Contains("holds no consensus data", listError, StringComparison.Ordinal);
        Assert.DoesNotContain("read-only", listError, StringComparison.Ordinal);
    }

    /// <summary>
    /// A writer took the head baton and stopped before publishing (a crash): any FileConsensus reader would
    /// complete the publish, but the inspector must not, so it reports the key instead and leaves the files.
    /// </summary>
    [Fact]
    public async Task Inspect_InterruptedWrite_ReportsItAndDoesNotCompleteIt()
    {
        (ShardId shard, ShardState state) = await CreateShardAsync();
        string dir = Path.Join(_root, "consensus", shard.Value);
        using (var storage = new FileStorage(_root))
        {
            var consensus = new FileConsensus(storage, new SeededRandom(5), "consensus");
            LocationResult<CasOutcome> written = await consensus.CompareAndSetAsync(shard.Value, state.SeqNo, new VersionedData(state.SeqNo + 1, [1, 2, 3]));
            Assert.Equal(CasOutcome.Committed, written.Unwrap());
        }
        // Turn the finished write back into a taken, unpublished one: t.N.W next to its candidate c.N.W.
        string writer = new('a', 32);
        File.Move(Path.Join(dir, "v." + Seq(state.SeqNo)), Path.Join(dir, $"t.{Seq(state.SeqNo)}.{writer}"));
        File.Move(Path.Join(dir, "h." + Seq(state.SeqNo + 1)), Path.Join(dir, $"c.{Seq(state.SeqNo)}.{writer}"));
        Dictionary<string, string> before = Snapshot(_root);

        (int exit, _, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value);

        Assert.Equal(1, exit);
        Assert.Contains(shard.Value, error, StringComparison.Ordinal);
        Assert.Contains("read-only", error, StringComparison.Ordinal);
        Assert.Contains("did not complete another process's unfinished write", error, StringComparison.Ordinal);
        Assert.Equal(before, Snapshot(_root));
    }

    [Fact]
    public async Task Inspect_GarbageStateFiles_ErrorNamesTheKey()
    {
        (ShardId shard, _) = await CreateShardAsync();
        foreach (string file in Directory.GetFiles(Path.Join(_root, "consensus", shard.Value)))
        {
            await File.WriteAllBytesAsync(file, "this is not a consensus record"u8.ToArray());
        }

        (int exit, string output, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value);
        (int listExit, _, string listError) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri);

        Assert.Equal(1, exit);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains($"consensus key '{shard.Value}'", error, StringComparison.Ordinal);
        Assert.Contains("corrupt", error, StringComparison.Ordinal);
        Assert.Equal(1, listExit);
        Assert.Contains($"consensus key '{shard.Value}'", listError, StringComparison.Ordinal);
    }

    /// <summary>A record that passes its checksum but holds no shard state: the protobuf decoder names the key and seqno.</summary>
    [Fact]
    public async Task Inspect_UndecodableState_ErrorNamesTheKeyAndSeqNo()
    {
        Directory.CreateDirectory(Path.Join(_root, "blob"));
        ShardId shard = new("s" + new string('b', 32));
        using (var storage = new FileStorage(_root))
        {
            var consensus = new FileConsensus(storage, new SeededRandom(5), "consensus");
            Assert.Equal(CasOutcome.Committed, (await consensus.CompareAndSetAsync(shard.Value, null, new VersionedData(1, [0xff, 0xfe, 0x00, 0x07]))).Unwrap());
        }

        (int exit, _, string error) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", shard.Value);

        Assert.Equal(1, exit);
        Assert.Contains($"consensus state of shard {shard.Value} at seqno 1", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_UnknownOrMalformedShard_ExitsOne()
    {
        await CreateShardAsync();

        (int unknown, _, string unknownError) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", "s" + new string('c', 32));
        (int malformed, _, string malformedError) = await InspectAsync("--blob", BlobUri, "--consensus", ConsensusUri, "--shard", "s123");

        Assert.Equal(1, unknown);
        Assert.Equal($"error: shard s{new string('c', 32)} does not exist in {ConsensusUri}\n", unknownError);
        Assert.Equal(1, malformed);
        Assert.Contains("'s123' is not a shard id", malformedError, StringComparison.Ordinal);
        // Asking about a shard did not create it.
        Assert.False(Directory.Exists(Path.Join(_root, "consensus", "s" + new string('c', 32))));
    }

    [Theory]
    [InlineData("s3://bucket/blob", "file:///CONSENSUS", "unknown scheme 's3'")]
    [InlineData("file://relative/blob", "file:///CONSENSUS", "not an absolute file URI")]
    [InlineData("blob", "file:///CONSENSUS", "is not a URI")]
    [InlineData("file:///BLOB", "mysql://root@localhost/db", "unknown scheme 'mysql'")]
    [InlineData("file:///BLOB", "file:///ROOT/missing", "does not exist")]
    [InlineData("file:///ROOT/missing", "file:///CONSENSUS", "does not exist")]
    [InlineData("file:///BLOB", "postgres://user@localhost:5432", "names no database")]
    [InlineData("file:///BLOB", "postgres://user@localhost:5432/db?sslmode=require", "unsupported URI parameter 'sslmode'")]
    public async Task Inspect_BadLocation_ExitsTwoWithOneLine(string blob, string consensus, string expected)
    {
        Directory.CreateDirectory(Path.Join(_root, "blob"));
        Directory.CreateDirectory(Path.Join(_root, "consensus"));
        string Fill(string uri) => uri
            .Replace("file:///BLOB", BlobUri, StringComparison.Ordinal)
            .Replace("file:///CONSENSUS", ConsensusUri, StringComparison.Ordinal)
            .Replace("file:///ROOT", "file://" + _root, StringComparison.Ordinal);

        (int exit, string output, string error) = await InspectAsync("--blob", Fill(blob), "--consensus", Fill(consensus));

        Assert.Equal(2, exit);
        Assert.Equal("", output);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task Inspect_MissingOptions_ExitsTwo()
    {
        (int exit, _, string error) = await InspectAsync("--blob", BlobUri);

        Assert.Equal(2, exit);
        Assert.Contains("needs --blob URI and --consensus URI", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_UnreachablePostgres_ExitsTwo()
    {
        Directory.CreateDirectory(Path.Join(_root, "blob"));
        int port = ClosedPort();

        (int exit, _, string error) = await InspectAsync("--blob", BlobUri, "--consensus", $"postgres://postgres:secret@127.0.0.1:{port}/postgres");

        Assert.Equal(2, exit);
        Assert.Contains($"postgres://postgres@127.0.0.1:{port}/postgres", error, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error, StringComparison.Ordinal);
    }

    /// <summary>The installed command line, in its own process: the command is registered and exit codes reach the shell.</summary>
    [Fact]
    public async Task KernelCli_PersistInspect_RunsAsAProcess()
    {
        (ShardId shard, _) = await CreateShardAsync();

        (int exit, string output, string error) = RunCli("persist", "inspect", "--blob", BlobUri, "--consensus", ConsensusUri);
        (int badExit, _, string badError) = RunCli("persist", "inspect", "--blob", "file://nowhere", "--consensus", ConsensusUri);

        Assert.True(exit == 0, error);
        Assert.Contains(shard.Value, output, StringComparison.Ordinal);
        Assert.Equal(2, badExit);
        Assert.StartsWith("error: --blob", badError, StringComparison.Ordinal);
    }

    /// <summary>Runs the command as the CLI does, in process, capturing what it prints.</summary>
    internal static async Task<(int Exit, string Output, string Error)> InspectAsync(params string[] arguments)
    {
        var root = new Command("kernel");
        root.Subcommands.Add(PersistCommands.Create());
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await root.Parse(["persist", "inspect", .. arguments]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>
    /// A shard written by a production node: a critical reader (since 2, opaque 8), a writer with three appends
    /// ([0,2) 2 rows, [2,5) 3 rows, [5,6) 1 row) and a leased reader at since 3. Returns the state persist reads back.
    /// </summary>
    private Task<(ShardId Shard, ShardState State)> CreateShardAsync() => CreateShardAsync(_root, storage => (
        new FileBlob(storage, new SeededRandom(11), "blob"),
        new FileConsensus(storage, new SeededRandom(12), "consensus")));

    /// <summary>The same shard, on locations made over a <see cref="FileStorage"/> rooted at <paramref name="root"/>.</summary>
    internal static async Task<(ShardId Shard, ShardState State)> CreateShardAsync(string root, Func<FileStorage, (IBlob Blob, IConsensus Consensus)> locations)
    {
        ShardId shard = default;
        ShardState? state = null;
        await new ProductionNodeHarness().RunNodeAsync(async context =>
        {
            using var storage = new FileStorage(root);
            (IBlob blob, IConsensus consensus) = locations(storage);
            var client = new PersistClient(blob, consensus, context.Clock, context.Random.Fork("client"), s_plain);
            shard = ShardId.New(context.Random);
            SinceHandle controller = (await client.OpenCriticalSinceAsync(shard, "controller", 7, "controller")).Unwrap();
            WriteHandle writer = (await client.OpenWriterAsync(shard, "test writer")).Unwrap();
            ReadHandle reader = (await client.OpenLeasedReaderAsync(shard, "test reader")).Unwrap();
            Assert.Equal(AppendStatus.Appended, (await writer.CompareAndAppendAsync([U(1, 0), U(2, 1)], Kernel.Persist.Data.Frontier.At(0), Kernel.Persist.Data.Frontier.At(2))).Unwrap().Status);
            Assert.Equal(AppendStatus.Appended, (await writer.CompareAndAppendAsync([U(3, 2), U(4, 3), U(5, 4)], Kernel.Persist.Data.Frontier.At(2), Kernel.Persist.Data.Frontier.At(5))).Unwrap().Status);
            Assert.Equal(AppendStatus.Appended, (await writer.CompareAndAppendAsync([U(6, 5)], Kernel.Persist.Data.Frontier.At(5), Kernel.Persist.Data.Frontier.At(6))).Unwrap().Status);
            (await reader.DowngradeSinceAsync(Kernel.Persist.Data.Frontier.At(3))).Unwrap();
            Assert.Equal(SinceDowngradeStatus.Downgraded, (await controller.CompareAndDowngradeSinceAsync(7, 8, Kernel.Persist.Data.Frontier.At(2))).Unwrap().Status);
            state = (await client.FetchStateAsync(shard)).Unwrap();
        });
        return (shard, state!);
    }

    private static Update U(int value, ulong time) => new(Row.OfInt64(value), time, 1);

    private static string Seq(ulong seqno) => seqno.ToString("D20", CultureInfo.InvariantCulture);

    private static string Bytes(ShardState state, int batch) => state.Batches[batch].Parts[0].EncodedSizeBytes.ToString(CultureInfo.InvariantCulture);

    private static string[] Columns(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static List<ulong> Frontier(JsonElement antichain)
    {
        var times = new List<ulong>();
        foreach (JsonElement time in antichain.EnumerateArray())
        {
            times.Add(time.GetUInt64());
        }
        return times;
    }

    /// <summary>Every file and directory under <paramref name="root"/>: its size, content hash and modification time.</summary>
    private static Dictionary<string, string> Snapshot(string root)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string directory in Directory.GetDirectories(root, "*", SearchOption.AllDirectories))
        {
            entries[Path.GetRelativePath(root, directory) + "/"] = Directory.GetLastWriteTimeUtc(directory).Ticks.ToString(CultureInfo.InvariantCulture);
        }
        foreach (string file in Directory.GetFiles(root, "*", SearchOption.AllDirectories))
        {
            byte[] bytes = File.ReadAllBytes(file);
            entries[Path.GetRelativePath(root, file)] = $"{bytes.Length} {Convert.ToHexString(SHA256.HashData(bytes))} {File.GetLastWriteTimeUtc(file).Ticks}";
        }
        return entries;
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static (int Exit, string Output, string Error) RunCli(params string[] arguments)
    {
        string cli = Path.Combine(AppContext.BaseDirectory, "Kernel.Cli.dll");
        Assert.True(File.Exists(cli), $"the command line is not next to the tests: {cli}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(60_000), "the command line did not finish");
        return (process.ExitCode, output.Result, error);
    }
}

/// <summary>Inspecting shards whose Consensus is PostgreSQL: found through the URI, and nothing is created.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresInspectTests(PostgresFixture postgres) : IDisposable
{
    private readonly string _root = ProductionNodeHarness.NewTempDirectory();

    public void Dispose() => ProductionNodeHarness.DeleteDirectory(_root);

    [Fact]
    public async Task Inspect_PostgresConsensus_ShowsTheShard()
    {
        string connectionString = await postgres.NewSchemaAsync();
        PostgresConsensus consensus = (await PostgresConsensus.OpenAsync(connectionString)).Unwrap();
        (ShardId shard, ShardState state) = await InspectTests.CreateShardAsync(_root, storage => (new FileBlob(storage, new SeededRandom(21), "blob"), consensus));
        await consensus.DisposeAsync();

        (int exit, string output, string error) = await InspectTests.InspectAsync(
            "--blob", "file://" + Path.Join(_root, "blob"), "--consensus", Uri(connectionString), "--shard", shard.Value, "--json");

        Assert.True(exit == 0, error);
        using JsonDocument json = JsonDocument.Parse(output);
        Assert.Equal(state.SeqNo, json.RootElement.GetProperty("seqno").GetUInt64());
        Assert.Equal(3, json.RootElement.GetProperty("batchCount").GetInt32());
    }

    [Fact]
    public async Task Inspect_DatabaseWithoutConsensusTable_ExitsTwoAndCreatesNothing()
    {
        string connectionString = await postgres.NewSchemaAsync();
        Directory.CreateDirectory(Path.Join(_root, "blob"));

        (int exit, _, string error) = await InspectTests.InspectAsync("--blob", "file://" + Path.Join(_root, "blob"), "--consensus", Uri(connectionString));

        Assert.Equal(2, exit);
        Assert.Contains("no consensus table", error, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT to_regclass('consensus') IS NULL", connection);
        Assert.True((bool)(await command.ExecuteScalarAsync())!);
    }

    private static string Uri(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{builder.Username}@{builder.Host}:{builder.Port}/{builder.Database}?search_path={builder.SearchPath}";
    }
}
