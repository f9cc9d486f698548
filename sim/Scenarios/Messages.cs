using System;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios;

/// <summary>Small helpers the example scenarios share: text frames, connecting with retries, a receive with a deadline.</summary>
internal static class Messages
{
    public static NetStatus SendText(this IConnection connection, string text) => connection.Send(Encoding.UTF8.GetBytes(text));

    public static string Text(this Received received) => Encoding.UTF8.GetString(received.Payload);

    /// <summary>
    /// Listens on <paramref name="port"/> and runs <paramref name="serve"/> as its own task for every connection
    /// accepted, until the listener fails; the session owns (and disposes) its connection.
    /// </summary>
    public static async Task ServeAsync(INodeContext context, int port, string sessionName, Func<IConnection, Task> serve)
    {
        using IListener listener = context.Network.Listen(port).Unwrap();
        while (true)
        {
            NetResult<IConnection> accepted = await listener.AcceptAsync();
            if (!accepted.IsOk)
            {
                return;
            }
            IConnection connection = accepted.Unwrap();
            context.Spawn(sessionName, async () =>
            {
                using (connection)
                {
                    await serve(connection);
                }
            });
        }
    }

    /// <summary>Connects, retrying with a short pause until it works: servers in these scenarios may be down for a while.</summary>
    public static async Task<IConnection> ConnectWithRetryAsync(INodeContext context, Endpoint server)
    {
        for (int attempt = 0; ; attempt++)
        {
            NetResult<IConnection> result = await context.Network.ConnectAsync(server);
            if (result.IsOk)
            {
                return result.Unwrap();
            }
            await context.Clock.Delay(TimeSpan.FromMilliseconds(Math.Min(200, 5 << Math.Min(attempt, 5))));
        }
    }

    /// <summary>The next frame, or a non-frame result once <paramref name="timeout"/> of the node's time has passed.</summary>
    public static async Task<Received> ReceiveWithin(this IConnection connection, INodeContext context, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout, context.Clock.TimeProvider);
        return await connection.ReceiveAsync(deadline.Token);
    }
}
