using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;
using Xunit;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>
/// The semantics of <see cref="INetwork"/> that every implementation must give: listening, connecting, ordered
/// frame delivery (empty and large frames included), the frame size limit, and closes and failures reported as
/// results rather than exceptions.
/// </summary>
/// <remarks>
/// Tests never assume a host name or a port: a listener binds port 0 and peers dial the endpoint it reports.
/// A sender waits for its peer to close before it returns, because a node that returns is gone, with whatever
/// it had queued but not yet sent; the receiver closes (returns) once it has read what it expected.
/// </remarks>
public abstract class NetworkContractTests
{
    protected abstract NodeHarness Harness { get; }

    [Fact]
    public Task Listen_PortZero_ReportsAssignedPort() => Harness.RunNodeAsync(context =>
    {
        using IListener listener = context.Network.Listen(0).Unwrap();

        Assert.InRange(listener.LocalEndpoint.Port, 1, 65535);
        Assert.NotEmpty(listener.LocalEndpoint.Host);
        return Task.CompletedTask;
    });

    [Fact]
    public Task Listen_PortInUse_ReturnsAddressInUse() => Harness.RunNodeAsync(context =>
    {
        using IListener first = context.Network.Listen(0).Unwrap();

        NetResult<IListener> second = context.Network.Listen(first.LocalEndpoint.Port);

        Assert.Equal(NetStatus.AddressInUse, second.Status);
        Assert.Null(second.Value);
        return Task.CompletedTask;
    });

    [Fact]
    public Task ConnectAsync_PortWithNoListener_ReturnsRefused() => Harness.RunNodeAsync(async context =>
    {
        Endpoint vacated;
        using (IListener listener = context.Network.Listen(0).Unwrap())
        {
            vacated = listener.LocalEndpoint;
        }

        NetResult<IConnection> connected = await context.Network.ConnectAsync(vacated);

        Assert.Equal(NetStatus.Refused, connected.Status);
        Assert.NotEmpty(connected.Error);
    });

    [Fact]
    public Task AcceptAsync_AfterListenerDisposed_ReturnsFailure() => Harness.RunNodeAsync(async context =>
    {
        IListener listener = context.Network.Listen(0).Unwrap();
        listener.Dispose();

        NetResult<IConnection> accepted = await listener.AcceptAsync();

        Assert.False(accepted.IsOk);
    });

    [Fact]
    public Task ConnectAsync_Established_EndpointsMatchOnBothSides()
    {
        var published = Rendezvous.Create<Endpoint>();
        var clientLocal = Rendezvous.Create<Endpoint>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection accepted = (await listener.AcceptAsync()).Unwrap();

                Assert.Equal(await clientLocal.Task, accepted.RemoteEndpoint);
                Assert.Equal(listener.LocalEndpoint, accepted.LocalEndpoint);
            },
            async client =>
            {
                Endpoint listening = await published.Task;
                using IConnection connection = (await client.Network.ConnectAsync(listening)).Unwrap();

                Assert.Equal(listening, connection.RemoteEndpoint);
                Assert.True(connection.IsOpen);
                clientLocal.SetResult(connection.LocalEndpoint);
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task Send_ManyFrames_ArriveInOrder()
    {
        const int FrameCount = 200;
        var published = Rendezvous.Create<Endpoint>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();
                for (int i = 0; i < FrameCount; i++)
                {
                    Received received = await connection.ReceiveAsync();
                    Assert.True(received.IsFrame, received.Reason);
                    Assert.Equal(FrameFor(i), received.Payload);
                }
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();
                for (int i = 0; i < FrameCount; i++)
                {
                    Assert.Equal(NetStatus.Ok, connection.Send(FrameFor(i)));
                }
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task Send_ZeroLengthFrame_ArrivesAsEmptyFrame()
    {
        var published = Rendezvous.Create<Endpoint>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();

                Received empty = await connection.ReceiveAsync();
                Received marker = await connection.ReceiveAsync();

                Assert.True(empty.IsFrame, empty.Reason);
                Assert.Empty(empty.Payload);
                Assert.Equal(new byte[] { 42 }, marker.Payload);
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send([]));
                Assert.Equal(NetStatus.Ok, connection.Send([42]));
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task Send_OneMebibyteFrame_ArrivesIntact()
    {
        var published = Rendezvous.Create<Endpoint>();
        var sent = Rendezvous.Create<byte[]>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();

                Received received = await connection.ReceiveAsync();

                Assert.True(received.IsFrame, received.Reason);
                Assert.Equal(await sent.Task, received.Payload);
            },
            async client =>
            {
                var frame = new byte[1024 * 1024];
                client.Random.NextBytes(frame);
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send(frame));
                sent.SetResult((byte[])frame.Clone());
                // The caller may reuse its buffer once Send returns: the frame was copied.
                Array.Clear(frame);
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task Send_FrameOverMax_ReturnsFrameTooLargeAndConnectionStaysUsable() => Harness.RunNodeAsync(async context =>
    {
        (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
        using (listener)
        using (client)
        using (server)
        {
            byte[] oversized = new byte[INetwork.FrameBytesMax + 1];

            Assert.Equal(NetStatus.FrameTooLarge, client.Send(oversized));

            Assert.True(client.IsOpen);
            Assert.Equal(NetStatus.Ok, client.Send([7]));
            Received received = await server.ReceiveAsync();
            Assert.Equal(new byte[] { 7 }, received.Payload);
        }
    });

    [Fact]
    public Task ReceiveAsync_PeerClosedAfterSending_ReturnsFramesThenClosed()
    {
        var published = Rendezvous.Create<Endpoint>();
        var clientDone = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                IConnection connection = (await listener.AcceptAsync()).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send("last words"u8));
                connection.Dispose();

                Assert.False(connection.IsOpen);
                Assert.Equal(NetStatus.Closed, connection.Send([1]));
                // Stay alive until the client has seen the close: a node that returns takes its queues with it.
                await clientDone.Task;
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();

                Received last = await connection.ReceiveAsync();
                Received end = await connection.ReceiveAsync();

                Assert.Equal("last words"u8.ToArray(), last.Payload);
                Assert.False(end.IsFrame);
                Assert.Equal(NetStatus.Closed, end.Status);
                Assert.NotEmpty(end.Reason);
                Assert.False(connection.IsOpen);
                Assert.Equal(NetStatus.Closed, connection.Send([1]));
                clientDone.SetResult(true);
            });
    }

    [Fact]
    public Task Connection_RequestAndReply_TravelBothWays()
    {
        var published = Rendezvous.Create<Endpoint>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();
                while (true)
                {
                    Received request = await connection.ReceiveAsync();
                    if (!request.IsFrame)
                    {
                        return;
                    }
                    byte[] reply = [.. request.Payload];
                    reply.AsSpan().Reverse();
                    Assert.Equal(NetStatus.Ok, connection.Send(reply));
                }
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task)).Unwrap();
                for (int i = 0; i < 10; i++)
                {
                    Assert.Equal(NetStatus.Ok, connection.Send([(byte)i, 1, 2]));
                    Received reply = await connection.ReceiveAsync();
                    Assert.Equal(new byte[] { 2, 1, (byte)i }, reply.Payload);
                }
            });
    }

    [Fact]
    public Task ReceiveAsync_LocalDisposeWhileWaiting_ReturnsClosed() => Harness.RunNodeAsync(async context =>
    {
        (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
        using (listener)
        using (server)
        {
            ValueTask<Received> pending = client.ReceiveAsync();
            client.Dispose();

            Received received = await pending;

            Assert.Equal(NetStatus.Closed, received.Status);
            Assert.False(client.IsOpen);
        }
    });

    [Fact]
    public Task ReceiveAsync_CanceledWhileWaiting_ReturnsCanceledAndConnectionStaysUsable() => Harness.RunNodeAsync(async context =>
    {
        (IListener listener, IConnection client, IConnection server) = await Connections.ConnectPairAsync(context);
        using (listener)
        using (client)
        using (server)
        {
            using var cancel = new CancellationTokenSource();
            using IDisposable timer = context.Clock.Schedule(TimeSpan.FromMilliseconds(20), cancel.Cancel);

            Received canceled = await client.ReceiveAsync(cancel.Token);

            Assert.Equal(NetStatus.Canceled, canceled.Status);
            Assert.True(client.IsOpen);
            Assert.Equal(NetStatus.Ok, server.Send([9]));
            Received later = await client.ReceiveAsync();
            Assert.Equal(new byte[] { 9 }, later.Payload);
        }
    });

    [Fact]
    public Task RawStream_ManySends_BytesArriveInOrderAndComplete()
    {
        const int SendCount = 300;
        var published = Rendezvous.Create<Endpoint>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0, StreamMode.Raw).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();
                byte[] expected = RawStreamFor(SendCount);
                byte[] received = await ReadRawAsync(connection, expected.Length);
                Assert.Equal(expected, received);
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task, StreamMode.Raw)).Unwrap();
                for (int i = 0; i < SendCount; i++)
                {
                    Assert.Equal(NetStatus.Ok, connection.Send(RawSendFor(i)));
                }
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task RawStream_OneMebibyteSend_ArrivesWhole()
    {
        var published = Rendezvous.Create<Endpoint>();
        var sent = Rendezvous.Create<byte[]>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0, StreamMode.Raw).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                using IConnection connection = (await listener.AcceptAsync()).Unwrap();
                byte[] expected = await sent.Task;
                byte[] received = await ReadRawAsync(connection, expected.Length);
                Assert.Equal(expected, received);
            },
            async client =>
            {
                var bytes = new byte[1024 * 1024];
                client.Random.NextBytes(bytes);
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task, StreamMode.Raw)).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send(bytes));
                sent.SetResult((byte[])bytes.Clone());
                Array.Clear(bytes);
                await ExpectPeerCloseAsync(connection);
            });
    }

    [Fact]
    public Task RawStream_PeerClosesAfterSending_BytesThenClosed()
    {
        var published = Rendezvous.Create<Endpoint>();
        var clientDone = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async server =>
            {
                using IListener listener = server.Network.Listen(0, StreamMode.Raw).Unwrap();
                published.SetResult(listener.LocalEndpoint);
                IConnection connection = (await listener.AcceptAsync()).Unwrap();
                Assert.Equal(NetStatus.Ok, connection.Send("last words"u8));
                connection.Dispose();
                Assert.Equal(NetStatus.Closed, connection.Send([1]));
                await clientDone.Task;
            },
            async client =>
            {
                using IConnection connection = (await client.Network.ConnectAsync(await published.Task, StreamMode.Raw)).Unwrap();

                byte[] received = await ReadRawAsync(connection, "last words".Length);
                Received end = await connection.ReceiveAsync();

                Assert.Equal("last words"u8.ToArray(), received);
                Assert.Equal(NetStatus.Closed, end.Status);
                Assert.False(connection.IsOpen);
                clientDone.SetResult(true);
            });
    }

    [Fact]
    public Task RawStream_RequestAndReply_NoLengthPrefixOnTheWire() => Harness.RunNodeAsync(async context =>
    {
        IListener listener = context.Network.Listen(0, StreamMode.Raw).Unwrap();
        ValueTask<NetResult<IConnection>> accept = listener.AcceptAsync();
        using IConnection client = (await context.Network.ConnectAsync(listener.LocalEndpoint, StreamMode.Raw)).Unwrap();
        using IConnection server = (await accept).Unwrap();
        using (listener)
        {
            Assert.Equal(NetStatus.Ok, client.Send([1, 2, 3]));
            Assert.Equal(NetStatus.Ok, client.Send([]));
            Assert.Equal(new byte[] { 1, 2, 3 }, await ReadRawAsync(server, 3));
            Assert.Equal(NetStatus.Ok, server.Send([4]));
            Assert.Equal(new byte[] { 4 }, await ReadRawAsync(client, 1));
        }
    });

    /// <summary>Reads exactly <paramref name="length"/> bytes of a raw stream, whatever its chunking; a close before that fails.</summary>
    protected static async Task<byte[]> ReadRawAsync(IConnection connection, int length)
    {
        var buffer = new byte[length];
        int filled = 0;
        // Each chunk carries at least one byte, so this loop ends after at most `length` chunks.
        while (filled < length)
        {
            Received chunk = await connection.ReceiveAsync();
            Assert.True(chunk.IsFrame, $"the stream ended after {filled} of {length} bytes: {chunk.Reason}");
            Assert.NotEmpty(chunk.Payload);
            Assert.True(filled + chunk.Payload.Length <= length, "more bytes arrived than were sent");
            chunk.Payload.CopyTo(buffer, filled);
            filled += chunk.Payload.Length;
        }
        return buffer;
    }

    private static byte[] RawSendFor(int index) => [.. Enumerable.Range(0, 1 + (index % 13)).Select(j => (byte)(index + j))];

    private static byte[] RawStreamFor(int sendCount)
    {
        var all = new System.Collections.Generic.List<byte>();
        for (int i = 0; i < sendCount; i++)
        {
            all.AddRange(RawSendFor(i));
        }
        return [.. all];
    }


    /// <summary>Waits for the peer to close <paramref name="connection"/>; another frame instead is a failure.</summary>
    protected static async Task ExpectPeerCloseAsync(IConnection connection)
    {
        Received received = await connection.ReceiveAsync();
        Assert.False(received.IsFrame, "expected the peer to close, got another frame");
    }

    private static byte[] FrameFor(int index) => [(byte)index, (byte)(index >> 8), 0xAB, (byte)(index % 7)];
}
