using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Replica;
using Kernel.Net.Compute;
using Kernel.Persist;
using Kernel.Runtime;

namespace Kernel.Compute;

/// <summary>How to run one clusterd: its controller port, and how to open persist at the locations CreateInstance names.</summary>
public sealed record ClusterdConfig(int ControllerPort, Func<INodeContext, string, string, PersistClient> Persist);

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
        var replica = new ComputeReplica(new TransportChannel(transport), (blob, consensus) => config.Persist(context, blob, consensus));
        context.Trace("clusterd.ready", $"controller port {config.ControllerPort}");
        await replica.RunAsync(context.Stopping);
    }

    private sealed class TransportChannel(ComputeServerTransport transport) : IComputeChannel
    {
        public ValueTask<ComputeCommand?> ReceiveAsync(CancellationToken ct) => transport.ReceiveAsync(ct);

        public void Send(ComputeResponse response) => transport.Send(response);
    }
}
