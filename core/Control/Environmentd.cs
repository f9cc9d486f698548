using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Catalog;
using Kernel.Control.Compute;
using Kernel.Control.Storage;
using Kernel.Net.Compute;
using Kernel.Persist;
using Kernel.Persist.PubSub;
using Kernel.PgWire;
using Kernel.Runtime;

namespace Kernel.Control;

/// <summary>How to run one environmentd.</summary>
/// <param name="Persist">Opens persist (catalog and tables) on the node's own loop, with the given change notifier.</param>
/// <param name="BlobUri">The Blob location as a URI, sent to the replica in CreateInstance.</param>
/// <param name="ConsensusUri">The Consensus location as a URI, sent to the replica in CreateInstance.</param>
/// <param name="Replica">The replica's controller endpoint.</param>
/// <param name="PgWirePort">The port pgwire listens on.</param>
/// <param name="PubSubPort">The port of the persist pubsub hub this node hosts (replicas connect to it to learn of commits at once).</param>
public sealed record EnvironmentdConfig(
    Func<INodeContext, IShardNotifier, PersistClient> Persist,
    string BlobUri,
    string ConsensusUri,
    Endpoint Replica,
    int PgWirePort = Environmentd.PgWirePortDefault,
    int PubSubPort = PubSubServer.PortDefault);

/// <summary>
/// environmentd: opens the timestamp oracle and the catalog (fencing any previous environmentd), restores tables
/// and dataflows, connects to the replica and serves pgwire. Runs until the node stops or it is fenced.
/// </summary>
public sealed class Environmentd(EnvironmentdConfig config) : INode
{
    public const int PgWirePortDefault = 6875;

    /// <summary>Set once the node serves clients; for hosts and tests.</summary>
    public Coordinator? Coordinator { get; private set; }

    /// <summary>Why the node stopped, when it stopped on its own.</summary>
    public string? StopReason { get; private set; }

    public async Task RunAsync(INodeContext context)
    {
        CancellationToken stopping = context.Stopping;
        var pubsub = new PubSubServer(context);
        NetResult<Kernel.Runtime.IListener> hub = pubsub.Start(config.PubSubPort);
        if (!hub.IsOk)
        {
            Stop(context, $"cannot listen for persist pubsub on port {config.PubSubPort}: {hub.Error}");
            return;
        }
        PersistClient persist = config.Persist(context, pubsub.Local);
        (TimestampOracle? oracle, string oracleError) = await TimestampOracle.OpenAsync(persist.Context.Consensus, context.Clock);
        if (oracle is null)
        {
            Stop(context, oracleError);
            return;
        }
        (DurableCatalog? catalog, string catalogError) = await DurableCatalog.OpenAsync(persist);
        if (catalog is null)
        {
            Stop(context, catalogError);
            return;
        }
        var storage = new StorageController(persist, oracle, context.Clock);
        var compute = new ComputeController(new CreateInstance(config.BlobUri, config.ConsensusUri, 1), catalog.Epoch);
        using var transport = new ComputeClientTransport(context.Network, context.Clock, context.Random, config.Replica, catalog.Epoch, compute.History);
        compute.Link = new TransportLink(transport);
        compute.OnStatus = status => context.Trace("compute.status", status);
        compute.SourceSince = storage.HeldSince;
        storage.HoldFloor = compute.InputHold;
        var coordinator = new Coordinator(catalog, storage, compute, context.Clock, context.Random);
        storage.Companions = coordinator.CompanionsOf;
        context.Spawn("storage-commit", () => storage.RunAsync(stopping));
        context.Spawn("compute-transport", () => transport.RunAsync(stopping));
        context.Spawn("compute-responses", () => compute.RunAsync(stopping));
        string? bootError = await coordinator.BootstrapAsync();
        if (bootError is not null)
        {
            Stop(context, bootError);
            return;
        }
        var server = new PgServer(context.Network, new PgHandler(coordinator), context.Random);
        NetResult<Kernel.Runtime.IListener> listening = server.Start(config.PgWirePort);
        if (!listening.IsOk)
        {
            Stop(context, $"cannot listen for pgwire on port {config.PgWirePort}: {listening.Error}");
            return;
        }
        Coordinator = coordinator;
        context.Trace("environmentd.ready", $"epoch {catalog.Epoch}, pgwire port {config.PgWirePort}");
        Task serving = server.RunAsync(stopping);
        // Watch for fencing: a newer environmentd took over the catalog, the oracle or the tables.
        while (!stopping.IsCancellationRequested)
        {
            if (catalog.Fenced || oracle.Fenced || storage.Fenced || transport.Fenced)
            {
                Stop(context, "fenced by a newer environmentd: " + (catalog.Fenced ? catalog.FenceReason : oracle.Fenced ? "the timestamp oracle moved on" : storage.Fenced ? "a table's upper moved on" : "the replica refused this epoch"));
                break;
            }
            // Read policy: keep one second of history readable behind the read timestamp, so reads that picked
            // their time a moment ago still find it; everything older may be compacted.
            if (oracle.ReadTs > StorageController.ReadHistoryMs)
            {
                compute.ApplyReadPolicy(oracle.ReadTs - StorageController.ReadHistoryMs);
            }
            try
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(500), stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        try
        {
            await serving;
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void Stop(INodeContext context, string reason)
    {
        StopReason = reason;
        context.Trace("environmentd.stopped", reason);
    }

    private sealed class TransportLink(ComputeClientTransport transport) : IComputeReplicaLink
    {
        public void Send(Kernel.Net.Compute.ComputeCommand command) => transport.Send(command);

        public ValueTask<Kernel.Net.Compute.ComputeResponse?> ReceiveAsync(CancellationToken cancellationToken) => transport.ReceiveAsync(cancellationToken);
    }
}
