using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Unit.Runtime;

public static class Connections
{
    /// <summary>A listener on port 0 and both ends of one connection to it, all owned by <paramref name="context"/>'s node.</summary>
    public static async Task<(IListener Listener, IConnection Client, IConnection Server)> ConnectPairAsync(INodeContext context)
    {
        IListener listener = context.Network.Listen(0).Unwrap();
        // Accept first, so the connection has somewhere to land however the implementation orders the two.
        ValueTask<NetResult<IConnection>> accept = listener.AcceptAsync();
        IConnection client = (await context.Network.ConnectAsync(listener.LocalEndpoint)).Unwrap();
        IConnection server = (await accept).Unwrap();
        return (listener, client, server);
    }
}
