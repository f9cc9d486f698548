using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Replica;
using Kernel.Net.Compute;
using Kernel.Persist;
using Kernel.Persist.PubSub;
using Kernel.Runtime;

namespace Kernel.Compute;

/// <summary>How to run one clusterd.</summary>
/// <param name="ControllerPort">The port the controller protocol is served on.</param>
/// <param name="Persist">Opens persist at the Blob and Consensus URIs CreateInstance names, with the given change notifier.</param>
/// <param name="PubSubHub">The persist pubsub hub (environmentd) to learn of commits from; null to poll only.</param>
public sealed record ClusterdConfig(int ControllerPort, Func<INodeContext, string, string, IShardNotifier, PersistClient> Persist, Endpoint? PubSubHub);

/// <summary>
/// clusterd: one replica of a cluster. Serves the controller protocol on <see cref="ClusterdConfig.ControllerPort"/>
/// and runs the dataflows the controller asks for. A restarted clusterd starts empty and rebuilds from the history
/// the controller replays when it reconnects.
/// </summary>
public sealed class Clusterd(ClusterdConfig config) : INode
{
    public async Task RunAsync(INodeContext context)
    {
        NetResult<ComputeServerTransport> started = ComputeServerTransport.Start(context, config.ControllerPort);
        if (!started.IsOk)
        {
            context.Trace("clusterd.stopped", $"cannot listen on port {config.ControllerPort}: {started.Error}");
            return;
        }
        using ComputeServerTransport transport = started.Unwrap();
        IShardNotifier notifier = new PollingNotifier(context.Clock);
        if (config.PubSubHub is Endpoint hub)
        {
            var client = new PubSubClient(context.Network, context.Clock, hub);
            context.Spawn("persist-pubsub-client", () => client.RunAsync(context.Stopping));
            notifier = client;
        }
        var replica = new ComputeReplica(new TransportChannel(transport), (blob, consensus) => config.Persist(context, blob, consensus, notifier));
        context.Trace("clusterd.ready", $"controller port {config.ControllerPort}");
        await replica.RunAsync(context.Stopping);
    }

    private sealed class TransportChannel(ComputeServerTransport transport) : IComputeChannel
    {
        public ValueTask<ComputeCommand?> ReceiveAsync(CancellationToken ct) => transport.ReceiveAsync(ct);

        public void Send(ComputeResponse response) => transport.Send(response);
    }
}
