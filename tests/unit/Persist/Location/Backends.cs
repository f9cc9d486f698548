using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Postgres;
using Kernel.Runtime;
using Kernel.Tests.Unit.Persist.Support;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Location;

public sealed class MemoryBlobContractTests : BlobContractTests
{
    private readonly MemoryBlob _blob = new();

    protected override IBlob OpenClient(int index) => _blob;
}

/// <summary>FileBlob on the in-memory storage double: several clients share one "machine".</summary>
public sealed class FileBlobOnTestStorageContractTests : BlobContractTests
{
    private readonly TestStorage _storage = new();

    protected override IBlob OpenClient(int index) => new FileBlob(_storage, new SeededRandom((ulong)index + 1), "persist/blob");
}

/// <summary>FileBlob on real files through the production runtime's storage: each client is its own FileStorage.</summary>
public sealed class FileBlobOnFileStorageContractTests : BlobContractTests, IDisposable
{
    private readonly string _root = TempDirectory.Create();
    private readonly List<FileStorage> _storages = [];

    protected override IBlob OpenClient(int index)
    {
        var storage = new FileStorage(_root);
        _storages.Add(storage);
        return new FileBlob(storage, new SeededRandom((ulong)index + 1), "persist/blob");
    }

    public void Dispose()
    {
        foreach (FileStorage storage in _storages)
        {
            storage.Dispose();
        }
        TempDirectory.Delete(_root);
    }
}

public sealed class MemoryConsensusContractTests : ConsensusContractTests
{
    private readonly MemoryConsensus _consensus = new();

    protected override Task<IConsensus> OpenClientAsync(int index) => Task.FromResult<IConsensus>(_consensus);
}

/// <summary>FileConsensus on the in-memory storage double (no interleaving here; see FileConsensusTests for that).</summary>
public sealed class FileConsensusOnTestStorageContractTests : ConsensusContractTests
{
    private readonly TestStorage _storage = new();

    protected override Task<IConsensus> OpenClientAsync(int index) =>
        Task.FromResult<IConsensus>(new FileConsensus(_storage, new SeededRandom((ulong)index + 1), "persist/consensus"));
}

/// <summary>
/// FileConsensus on real files, each client its own FileStorage used from its own thread: the racing test here
/// is the several-processes-on-one-machine case with real concurrency.
/// </summary>
public sealed class FileConsensusOnFileStorageContractTests : ConsensusContractTests, IDisposable
{
    private readonly string _root = TempDirectory.Create();
    private readonly List<FileStorage> _storages = [];

    protected override Task<IConsensus> OpenClientAsync(int index)
    {
        var storage = new FileStorage(_root);
        lock (_storages)
        {
            _storages.Add(storage);
        }
        return Task.FromResult<IConsensus>(new FileConsensus(storage, new SeededRandom((ulong)index + 1), "persist/consensus"));
    }

    protected override Task RunConcurrentlyAsync(IReadOnlyList<Func<Task>> bodies) => TempDirectory.RunOnThreadsAsync(bodies);

    public void Dispose()
    {
        foreach (FileStorage storage in _storages)
        {
            storage.Dispose();
        }
        TempDirectory.Delete(_root);
    }
}

/// <summary>LogConsensus on the in-memory storage double; a small compaction threshold so that compaction runs too.</summary>
public sealed class LogConsensusOnTestStorageContractTests : ConsensusContractTests
{
    private readonly TestStorage _storage = new();

    protected override Task<IConsensus> OpenClientAsync(int index) =>
        Task.FromResult<IConsensus>(new LogConsensus(_storage, "persist/consensus", compactionThresholdBytes: 4096));
}

/// <summary>
/// LogConsensus on real files, each client its own FileStorage used from its own thread: the clients take turns
/// through the file lock, as processes sharing the directory do.
/// </summary>
public sealed class LogConsensusOnFileStorageContractTests : ConsensusContractTests, IDisposable
{
    private readonly string _root = TempDirectory.Create();
    private readonly List<FileStorage> _storages = [];

    protected override Task<IConsensus> OpenClientAsync(int index)
    {
        var storage = new FileStorage(_root);
        lock (_storages)
        {
            _storages.Add(storage);
        }
        return Task.FromResult<IConsensus>(new LogConsensus(storage, "persist/consensus", compactionThresholdBytes: 4096));
    }

    protected override Task RunConcurrentlyAsync(IReadOnlyList<Func<Task>> bodies) => TempDirectory.RunOnThreadsAsync(bodies);

    public void Dispose()
    {
        foreach (FileStorage storage in _storages)
        {
            storage.Dispose();
        }
        TempDirectory.Delete(_root);
    }
}

/// <summary>PostgresConsensus against a throwaway PostgreSQL cluster; each test gets its own schema.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresConsensusContractTests(PostgresFixture postgres) : ConsensusContractTests
{
    private readonly List<PostgresConsensus> _clients = [];
    private string _connectionString = "";

    public override async Task InitializeAsync() => _connectionString = await postgres.NewSchemaAsync();

    public override async Task DisposeAsync()
    {
        foreach (PostgresConsensus client in _clients)
        {
            await client.DisposeAsync();
        }
    }

    protected override async Task<IConsensus> OpenClientAsync(int index)
    {
        LocationResult<PostgresConsensus> opened = await PostgresConsensus.OpenAsync(_connectionString);
        Assert.True(opened.IsOk, "opening postgres consensus: " + opened.Error);
        _clients.Add(opened.Value!);
        return opened.Value!;
    }

    protected override Task RunConcurrentlyAsync(IReadOnlyList<Func<Task>> bodies) => TempDirectory.RunOnThreadsAsync(bodies);
}

internal static class TempDirectory
{
    public static string Create()
    {
        string path = Path.Join(Path.GetTempPath(), "kernel-persist-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail a test.
        }
    }

    /// <summary>Each body on its own thread-pool thread, so clients really race.</summary>
    public static Task RunOnThreadsAsync(IReadOnlyList<Func<Task>> bodies)
    {
        var tasks = new List<Task>();
        foreach (Func<Task> body in bodies)
        {
            tasks.Add(Task.Run(body));
        }
        return Task.WhenAll(tasks);
    }
}
