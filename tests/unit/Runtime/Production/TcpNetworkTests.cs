using System;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>What only TCP has: the wire format, hostile peers speaking raw bytes, and loop ownership.</summary>
public sealed class TcpNetworkTests
{
    private static readonly TimeSpan s_wait = TimeSpan.FromSeconds(30);

    // Nodes of one host would otherwise reach each other in memory; these tests are about the sockets.
    private static readonly TcpNetworkOptions s_sockets = new() { InProcessShortcut = false };

    [Fact]
    public async Task ReceiveAsync_LengthOverMaxFromRawPeer_ClosesWithReason()
    {
        var header = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(header, INetwork.FrameBytesMax + 1u);

        Received received = await ReceiveFromRawPeerAsync(header);

        Assert.Equal(NetStatus.Closed, received.Status);
        Assert.Contains("over the limit", received.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_LengthWithTopBitSet_ClosesAsMalformed()
    {
        Received received = await ReceiveFromRawPeerAsync([0xFF, 0xFF, 0xFF, 0xFF]);

        Assert.Equal(NetStatus.Closed, received.Status);
        Assert.Contains("4294967295 bytes", received.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_RawPeerClosesMidFrame_ClosesWithMidFrameReason()
    {
        Received received = await ReceiveFromRawPeerAsync([0, 0, 0, 10, 1, 2, 3]);

        Assert.Equal(NetStatus.Closed, received.Status);
        Assert.Contains("in the middle of a frame", received.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_FrameSplitAcrossWrites_ReassemblesIt()
    {
        Received received = await ReceiveFromRawPeerAsync([0, 0], [0, 3, (byte)'a'], [(byte)'b', (byte)'c']);

        Assert.True(received.IsFrame, received.Reason);
        Assert.Equal("abc"u8.ToArray(), received.Payload);
    }

    [Fact]
    public async Task Send_Frame_IsBigEndianLengthThenPayloadOnTheWire()
    {
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        raw.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        raw.Listen();
        var endpoint = new Endpoint("127.0.0.1", ((IPEndPoint)raw.LocalEndPoint!).Port);
        var wire = new TaskCompletionSource<byte[]>(TaskCreationOptions.RunContinuationsAsynchronously);

        Task node = new ProductionNodeHarness(s_sockets).RunNodeAsync(async context =>
        {
            using IConnection connection = (await context.Network.ConnectAsync(endpoint)).Unwrap();
            Assert.Equal(NetStatus.Ok, connection.Send("abc"u8));
            await wire.Task; // stay alive until the bytes were read: a node that returns closes its sockets
        });
        using (Socket accepted = await raw.AcceptAsync().WaitAsync(s_wait))
        {
            var bytes = new byte[7];
            int filled = 0;
            while (filled < bytes.Length)
            {
                int read = await accepted.ReceiveAsync(bytes.AsMemory(filled), SocketFlags.None).AsTask().WaitAsync(s_wait);
                Assert.NotEqual(0, read);
                filled += read;
            }
            wire.SetResult(bytes);
        }
        await node;

        Assert.Equal(new byte[] { 0, 0, 0, 3, (byte)'a', (byte)'b', (byte)'c' }, await wire.Task);
    }

    [Fact]
    public Task Listen_DefaultOptions_BindsLoopbackAndReportsIt() => new ProductionNodeHarness(s_sockets).RunNodeAsync(context =>
    {
        using IListener listener = context.Network.Listen(0).Unwrap();

        Assert.Equal("127.0.0.1", listener.LocalEndpoint.Host);
        return Task.CompletedTask;
    });

    [Fact]
    public Task Listen_AdvertisedHost_ReportedInLocalEndpoint() =>
        new ProductionNodeHarness(s_sockets with { AdvertisedHost = "node-a.internal" }).RunNodeAsync(context =>
        {
            using IListener listener = context.Network.Listen(0).Unwrap();

            Assert.Equal("node-a.internal", listener.LocalEndpoint.Host);
            return Task.CompletedTask;
        });

    [Fact]
    public Task ConnectAsync_Localhost_ResolvesAndConnects() => new ProductionNodeHarness(s_sockets).RunNodeAsync(async context =>
    {
        using IListener listener = context.Network.Listen(0).Unwrap();
        ValueTask<NetResult<IConnection>> accept = listener.AcceptAsync();

        using IConnection client = (await context.Network.ConnectAsync(new Endpoint("localhost", listener.LocalEndpoint.Port))).Unwrap();
        using IConnection server = (await accept).Unwrap();

        Assert.Equal(NetStatus.Ok, client.Send([5]));
        Assert.Equal(new byte[] { 5 }, (await server.ReceiveAsync()).Payload);
    });

    [Fact]
    public Task Send_FrameOverSendQueueLimit_ClosesConnection() =>
        new ProductionNodeHarness(s_sockets with { SendQueueBytesMax = 1000 }).RunNodeAsync(async context =>
        {
            (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
            using (listener)
            using (client)
            using (server)
            {
                Assert.Equal(NetStatus.Closed, client.Send(new byte[2000]));

                Assert.False(client.IsOpen);
                Received end = await server.ReceiveAsync();
                Assert.Equal(NetStatus.Closed, end.Status);
                Received local = await client.ReceiveAsync();
                Assert.Contains("the peer is not reading", local.Reason, StringComparison.Ordinal);
            }
        });

    [Fact]
    public async Task Send_FromForeignThread_ThrowsInsteadOfRacingTheLoop()
    {
        var connection = new TaskCompletionSource<IConnection>(TaskCreationOptions.RunContinuationsAsynchronously);
        var checkedForeign = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task node = new ProductionNodeHarness(s_sockets).RunNodeAsync(async context =>
        {
            (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
            using (listener)
            using (client)
            using (server)
            {
                connection.SetResult(client);
                await checkedForeign.Task;
            }
        });
        IConnection owned = await connection.Task.WaitAsync(s_wait);

        InvalidOperationException thrown = Assert.Throws<InvalidOperationException>(() => owned.Send([1]));
        checkedForeign.SetResult();
        await node;

        Assert.Contains("must run on node loop", thrown.Message, StringComparison.Ordinal);
    }

    /// <summary>A node listens; a raw socket from the test writes <paramref name="chunks"/>, then closes; the node's first receive is returned.</summary>
    private static async Task<Received> ReceiveFromRawPeerAsync(params byte[][] chunks)
    {
        var listening = new TaskCompletionSource<Endpoint>(TaskCreationOptions.RunContinuationsAsynchronously);
        var result = new TaskCompletionSource<Received>(TaskCreationOptions.RunContinuationsAsynchronously);
        Task node = new ProductionNodeHarness(s_sockets).RunNodeAsync(async context =>
        {
            using IListener listener = context.Network.Listen(0).Unwrap();
            listening.SetResult(listener.LocalEndpoint);
            using IConnection connection = (await listener.AcceptAsync()).Unwrap();
            Received received = await connection.ReceiveAsync();
            if (!received.IsFrame)
            {
                Assert.False(connection.IsOpen);
                Assert.Equal(received.Reason, (await connection.ReceiveAsync()).Reason);
            }
            result.SetResult(received);
        });
        Endpoint endpoint = await listening.Task.WaitAsync(s_wait);
        using (var raw = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true })
        {
            await raw.ConnectAsync(IPAddress.Parse(endpoint.Host), endpoint.Port);
            foreach (byte[] chunk in chunks)
            {
                await raw.SendAsync(chunk, SocketFlags.None);
                await Task.Delay(5); // separate writes, so the receiver sees the frame in pieces
            }
            raw.Shutdown(SocketShutdown.Send);
            await node.WaitAsync(s_wait);
        }
        return await result.Task;
    }
}
