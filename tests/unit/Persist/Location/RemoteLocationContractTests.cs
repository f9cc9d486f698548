using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Location.Remote;
using Kernel.Runtime;
using Kernel.Tests.Unit.Runtime;
using Kernel.Tools.ProductionRuntime;

namespace Kernel.Tests.Unit.Persist.Location;

/// <summary>
/// The location protocol over real TCP: a <see cref="LocationServer"/> node serving memory backends, and client
/// nodes using <see cref="RemoteBlob"/> and <see cref="RemoteConsensus"/>, all on a production host. Each call the
/// contract makes is carried onto the client node's loop, where remote clients must run.
/// </summary>
/// <remarks>The contract class's xUnit lifetime (IAsyncLifetime.DisposeAsync) calls <see cref="StopAsync"/>.</remarks>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "stopped through the test class's async lifetime")]
public sealed class RemoteLocationFixture
{
    private readonly string _root = TempDirectory.Create();
    private readonly ProductionHost _host;
    private readonly List<ProductionNodeContext> _clients = [];
    private bool _listening;

    public RemoteLocationFixture()
    {
        _host = new ProductionHost(new ProductionHostOptions { RootDirectory = _root });
        Port = FreePort();
        var blob = new MemoryBlob();
        var consensus = new MemoryConsensus();
        _host.Start("location", () => new DelegateNode(context => new LocationServer(context, blob, consensus).RunAsync(Port)));
    }

    public int Port { get; }

    /// <summary>A new client node; its calls run on its own loop. The first call waits until the server listens.</summary>
    public async Task<ProductionNodeContext> ClientAsync()
    {
        await ListeningAsync();
        var started = Rendezvous.Create<ProductionNodeContext>();
        string name = "client-" + _clients.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _host.Start(name, () => new DelegateNode(async context =>
        {
            started.TrySetResult((ProductionNodeContext)context);
            await Task.Delay(System.Threading.Timeout.Infinite, context.Stopping);
        }));
        ProductionNodeContext client = await started.Task;
        _clients.Add(client);
        return client;
    }

    public RemoteLocation Location(ProductionNodeContext client) => new(client, new Endpoint("127.0.0.1", Port), TimeSpan.FromSeconds(10));

    /// <summary>Runs <paramref name="call"/> on <paramref name="client"/>'s loop and returns its result.</summary>
    public static Task<T> OnLoop<T>(ProductionNodeContext client, Func<ValueTask<T>> call)
    {
        var result = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Loop.Post(async () =>
        {
            try
            {
                result.SetResult(await call());
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        });
        return result.Task;
    }

    public async Task StopAsync()
    {
        await _host.StopAllAsync(TimeSpan.FromSeconds(5));
        _host.Dispose();
        TempDirectory.Delete(_root);
    }

    /// <summary>
    /// Waits until the server node accepts connections. It starts on its own loop, so a client's first call
    /// could otherwise find nothing listening and get a (correct) determinate "cannot reach" error.
    /// </summary>
    private async Task ListeningAsync()
    {
        if (_listening)
        {
            return;
        }
        DateTime deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync(IPAddress.Loopback, Port);
                _listening = true;
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(10);
            }
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }
}

/// <summary>An <see cref="IBlob"/> whose calls hop onto a client node's loop.</summary>
internal sealed class LoopBlob(ProductionNodeContext client, IBlob inner) : IBlob
{
    public ValueTask<LocationResult<byte[]?>> GetAsync(string key) => new(RemoteLocationFixture.OnLoop(client, () => inner.GetAsync(key)));

    public ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value) => new(RemoteLocationFixture.OnLoop(client, () => inner.SetAsync(key, value)));

    public ValueTask<LocationResult<long?>> DeleteAsync(string key) => new(RemoteLocationFixture.OnLoop(client, () => inner.DeleteAsync(key)));

    public ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix) => new(RemoteLocationFixture.OnLoop(client, () => inner.ListKeysAsync(prefix)));
}

/// <summary>An <see cref="IConsensus"/> whose calls hop onto a client node's loop.</summary>
internal sealed class LoopConsensus(ProductionNodeContext client, IConsensus inner) : IConsensus
{
    public ValueTask<LocationResult<VersionedData?>> HeadAsync(string key) => new(RemoteLocationFixture.OnLoop(client, () => inner.HeadAsync(key)));

    public ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next) =>
        new(RemoteLocationFixture.OnLoop(client, () => inner.CompareAndSetAsync(key, expected, next)));

    public ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit) =>
        new(RemoteLocationFixture.OnLoop(client, () => inner.ScanAsync(key, from, limit)));

    public ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno) => new(RemoteLocationFixture.OnLoop(client, () => inner.TruncateAsync(key, seqno)));

    public ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() => new(RemoteLocationFixture.OnLoop(client, () => inner.ListKeysAsync()));
}

public sealed class RemoteBlobContractTests : BlobContractTests
{
    private readonly RemoteLocationFixture _fixture = new();

    protected override IBlob OpenClient(int index)
    {
        ProductionNodeContext client = _fixture.ClientAsync().GetAwaiter().GetResult();
        return new LoopBlob(client, new RemoteBlob(_fixture.Location(client)));
    }

    public override Task DisposeAsync() => _fixture.StopAsync();
}

public sealed class RemoteConsensusContractTests : ConsensusContractTests
{
    private readonly RemoteLocationFixture _fixture = new();

    protected override async Task<IConsensus> OpenClientAsync(int index)
    {
        ProductionNodeContext client = await _fixture.ClientAsync();
        return new LoopConsensus(client, new RemoteConsensus(_fixture.Location(client)));
    }

    public override Task DisposeAsync() => _fixture.StopAsync();
}
