using System;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>
/// Nodes of one production host reach each other's framed listeners in memory; the network contract runs on that
/// path too (<see cref="ProductionNetworkContractTests"/>). These are the parts only it has.
/// </summary>
public sealed class InProcessConnectionTests
{
    [Fact]
    public Task SameHostDial_IsInMemory_RawAndShortcutOffAreSockets()
    {
        var published = Rendezvous.Create<(Endpoint Framed, Endpoint Raw)>();
        return new ProductionNodeHarness().RunNodesAsync(
            async server =>
            {
                using IListener framed = server.Network.Listen(0).Unwrap();
                using IListener raw = server.Network.Listen(0, StreamMode.Raw).Unwrap();
                published.SetResult((framed.LocalEndpoint, raw.LocalEndpoint));
                using IConnection first = (await framed.AcceptAsync()).Unwrap();
                using IConnection second = (await raw.AcceptAsync()).Unwrap();

                Assert.Contains("in process", first.ToString(), StringComparison.Ordinal);
                Assert.DoesNotContain("in process", second.ToString(), StringComparison.Ordinal);
                Assert.Equal(new byte[] { 1, 2, 3 }, (await first.ReceiveAsync()).Payload);
                Assert.Equal(NetStatus.Ok, first.Send([4]));
                Assert.Equal(NetStatus.Closed, (await first.ReceiveAsync()).Status);
            },
            async client =>
            {
                (Endpoint framed, Endpoint raw) = await published.Task;
                using IConnection connection = (await client.Network.ConnectAsync(new Endpoint("localhost", framed.Port))).Unwrap();
                using IConnection stream = (await client.Network.ConnectAsync(raw, StreamMode.Raw)).Unwrap();

                Assert.Contains("in process", connection.ToString(), StringComparison.Ordinal);
                Assert.Equal(NetStatus.Ok, connection.Send([1, 2, 3]));
                Assert.Equal(new byte[] { 4 }, (await connection.ReceiveAsync()).Payload);
            });
    }

    [Fact]
    public Task ShortcutOff_SameHostDial_IsASocket() =>
        new ProductionNodeHarness(new TcpNetworkOptions { InProcessShortcut = false }).RunNodeAsync(async context =>
        {
            (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
            using (listener)
            using (client)
            using (server)
            {
                Assert.DoesNotContain("in process", client.ToString(), StringComparison.Ordinal);
            }
        });

    [Fact]
    public Task ListenerClosedBeforeAccept_DialerSeesTheConnectionEnd() => new ProductionNodeHarness().RunNodeAsync(async context =>
    {
        IListener listener = context.Network.Listen(0).Unwrap();
        using IConnection dialed = (await context.Network.ConnectAsync(listener.LocalEndpoint)).Unwrap();

        listener.Dispose();

        Received end = await dialed.ReceiveAsync();
        Assert.Equal(NetStatus.Closed, end.Status);
        Assert.False(dialed.IsOpen);
        Assert.Equal(NetStatus.Refused, (await context.Network.ConnectAsync(listener.LocalEndpoint)).Status);
    });

    [Fact]
    public Task PeerNodeCrash_EndsTheSurvivorsReceive()
    {
        var published = Rendezvous.Create<Endpoint>();
        var connected = Rendezvous.Create<bool>();
        return new ProductionNodeHarness().RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();
                Assert.Equal(new byte[] { 9 }, (await connection.ReceiveAsync()).Payload);
                connected.SetResult(true);

                Received end = await connection.ReceiveAsync();

                Assert.Equal(NetStatus.Closed, end.Status);
                Assert.Contains("reset", end.Reason, StringComparison.Ordinal);
            },
            async client =>
            {
                IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send([9]));
                await connected.Task;
                // What a crash does to every connection of the node: closed from a thread that is not its loop.
                await Task.Run(connection.Dispose);
            });
    }
}
