using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Kernel.Runtime;
using Kernel.Tests.Unit.Runtime;
using Kernel.Tests.Unit.Runtime.Production;
using Kernel.Tests.Unit.Runtime.Simulation;
using Xunit;

namespace Kernel.Tests.Unit.Net;

/// <summary>
/// The controller protocol's transports between a replica node and a controller node, run on every runtime
/// (the simulator, and real TCP): command order, reconnect with history replay, stale responses dropped, epoch
/// fencing in both directions, and refusal of bad versions and garbage frames.
/// </summary>
/// <remarks>
/// The replica node serves until the controller node says it is done, because a node that returns closes its
/// connections. Waits are bounded by the node's own clock (<see cref="WaitMax"/>), never by wall time.
/// </remarks>
public abstract class ComputeTransportTests
{
    private static readonly TimeSpan s_waitMax = TimeSpan.FromSeconds(30);

    private static readonly ComputeClientOptions s_fast = new() { BackoffInitial = TimeSpan.FromMilliseconds(5), BackoffMax = TimeSpan.FromMilliseconds(100) };

    protected abstract NodeHarness Harness { get; }

    public static TimeSpan WaitMax => s_waitMax;

    [Fact]
    public Task Commands_SentAfterConnect_ArriveInOrderAfterHelloAndHistory()
    {
        var published = Rendezvous.Create<Endpoint>();
        var done = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async replica =>
            {
                using ComputeServerTransport server = ComputeServerTransport.Start(replica, 0).Unwrap();
                published.SetResult(server.LocalEndpoint);
                var hello = Assert.IsType<Hello>(await Next(replica, server));
                Assert.Equal(7UL, hello.Epoch);
                Assert.Equal(Hello.CurrentVersion, hello.ProtocolVersion);
                Assert.IsType<CreateInstance>(await Next(replica, server));
                Assert.IsType<InitializationComplete>(await Next(replica, server));
                for (ulong i = 0; i < 50; i++)
                {
                    Assert.Equal(new Schedule(GlobalId.UserId(i)), await Next(replica, server));
                }
                Assert.True(server.Send(new Status("done", "")));
                await done.Task;
            },
            async controller =>
            {
                var history = new List<ComputeCommand> { new CreateInstance("mem://", "mem://", 1), new InitializationComplete() };
                var connected = Rendezvous.Create<bool>();
                using var client = new ComputeClientTransport(controller.Network, controller.Clock, controller.Random.Fork("c"), await published.Task, 7, () => history, s_fast);
                client.Connected += () => connected.TrySetResult(true);
                Task loop = client.RunAsync();
                await connected.Task;
                for (ulong i = 0; i < 50; i++)
                {
                    Assert.True(client.Send(new Schedule(GlobalId.UserId(i))));
                }
                Assert.Equal(new Status("done", ""), await Next(controller, client));
                client.Dispose();
                await loop;
                Assert.Equal(1, client.ConnectCount);
                done.SetResult(true);
            });
    }

    [Fact]
    public Task BrokenConnection_Reconnects_ReplaysHistoryAndDropsStaleResponses()
    {
        var published = Rendezvous.Create<Endpoint>();
        var done = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async replica =>
            {
                using ComputeServerTransport server = ComputeServerTransport.Start(replica, 0).Unwrap();
                published.SetResult(server.LocalEndpoint);
                var first = Assert.IsType<Hello>(await Next(replica, server));
                Assert.IsType<CreateInstance>(await Next(replica, server));
                Assert.Equal(new Schedule(GlobalId.UserId(1)), await Next(replica, server));
                // A response on the old connection, then the connection breaks: the response must never surface.
                Assert.True(server.Send(new Frontiers(GlobalId.UserId(1), Frontier.At(5), null, null)));
                server.CloseCurrentConnection("test breaks the connection");

                var second = Assert.IsType<Hello>(await Next(replica, server));
                Assert.Equal(first.Epoch, second.Epoch);
                Assert.NotEqual(first.Nonce, second.Nonce);
                Assert.IsType<CreateInstance>(await Next(replica, server));
                Assert.Equal(new Schedule(GlobalId.UserId(1)), await Next(replica, server)); // replayed from the history
                Assert.True(server.Send(new Status("second", "")));
                await done.Task;
            },
            async controller =>
            {
                var history = new List<ComputeCommand> { new CreateInstance("mem://", "mem://", 1) };
                var connectedTwice = Rendezvous.Create<bool>();
                using var client = new ComputeClientTransport(controller.Network, controller.Clock, controller.Random.Fork("c"), await published.Task, 3, () => history, s_fast);
                var firstConnect = Rendezvous.Create<bool>();
                client.Connected += () =>
                {
                    firstConnect.TrySetResult(true);
                    if (client.ConnectCount == 2)
                    {
                        connectedTwice.TrySetResult(true);
                    }
                };
                Task loop = client.RunAsync();
                await firstConnect.Task;
                history.Add(new Schedule(GlobalId.UserId(1)));
                Assert.True(client.Send(new Schedule(GlobalId.UserId(1))));
                await connectedTwice.Task;

                Assert.Equal(new Status("second", ""), await Next(controller, client));
                client.Dispose();
                await loop;
                Assert.Equal(2, client.ConnectCount);
                done.SetResult(true);
            });
    }

    [Fact]
    public Task Epochs_LowerIsFenced_NewerReplacesOlder()
    {
        var published = Rendezvous.Create<Endpoint>();
        var done = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async replica =>
            {
                using ComputeServerTransport server = ComputeServerTransport.Start(replica, 0).Unwrap();
                published.SetResult(server.LocalEndpoint);
                Assert.Equal(2UL, Assert.IsType<Hello>(await Next(replica, server)).Epoch);
                Assert.IsType<InitializationComplete>(await Next(replica, server));
                Assert.True(server.Send(new Status("admitted", "2")));
                // Epoch 1 tries meanwhile and is refused: the next command is epoch 2's, not a Hello.
                Assert.Equal(new Schedule(GlobalId.UserId(9)), await Next(replica, server));
                Assert.True(server.Send(new Status("scheduled", "9")));

                Assert.Equal(3UL, Assert.IsType<Hello>(await Next(replica, server)).Epoch);
                Assert.IsType<InitializationComplete>(await Next(replica, server));
                Assert.True(server.Send(new Status("admitted", "3")));
                await done.Task;
                Assert.Equal(3UL, server.HighestEpoch);
                Assert.Equal(2, server.ConnectionsAdmitted);
            },
            async controller =>
            {
                Endpoint endpoint = await published.Task;
                var history = new List<ComputeCommand> { new InitializationComplete() };
                ComputeClientTransport Client(ulong epoch) =>
                    new(controller.Network, controller.Clock, controller.Random.Fork("c" + epoch), endpoint, epoch, () => history, s_fast);

                using ComputeClientTransport two = Client(2);
                Task twoLoop = two.RunAsync();
                Assert.Equal(new Status("admitted", "2"), await Next(controller, two));

                using ComputeClientTransport one = Client(1);
                var oneFenced = Rendezvous.Create<string>();
                one.FencedOut += detail => oneFenced.TrySetResult(detail);
                await one.RunAsync(); // ends by itself: fenced
                Assert.True(one.Fenced);
                Assert.Contains("epoch 1", await oneFenced.Task, StringComparison.Ordinal);
                Assert.Equal(ComputeStatusKinds.Fenced, Assert.IsType<Status>(await Next(controller, one)).Kind);
                Assert.Null(await one.ReceiveAsync());

                Assert.True(two.Send(new Schedule(GlobalId.UserId(9))));
                Assert.Equal(new Status("scheduled", "9"), await Next(controller, two));

                using ComputeClientTransport three = Client(3);
                Task threeLoop = three.RunAsync();
                Assert.Equal(new Status("admitted", "3"), await Next(controller, three));
                await twoLoop; // epoch 2 lost its connection, reconnected, and was fenced
                Assert.True(two.Fenced);
                Assert.False(three.Fenced);

                three.Dispose();
                await threeLoop;
                done.SetResult(true);
            });
    }

    [Fact]
    public Task Connection_WrongVersionOrGarbage_GetsStatusAndIsClosed()
    {
        var published = Rendezvous.Create<Endpoint>();
        var done = Rendezvous.Create<bool>();
        return Harness.RunNodesAsync(
            async replica =>
            {
                using ComputeServerTransport server = ComputeServerTransport.Start(replica, 0).Unwrap();
                published.SetResult(server.LocalEndpoint);
                await done.Task;
                Assert.Equal(0, server.ConnectionsAdmitted);
            },
            async controller =>
            {
                Endpoint endpoint = await published.Task;
                await ExpectRefusal(controller, endpoint, ComputeProtocol.EncodeCommand(new Hello(1, 1, Hello.CurrentVersion + 98)), ComputeStatusKinds.VersionMismatch);
                await ExpectRefusal(controller, endpoint, [1, 2, 3, 4, 5, 6, 7], ComputeStatusKinds.ProtocolError);
                await ExpectRefusal(controller, endpoint, ComputeProtocol.EncodeCommand(new AllowWrites()), ComputeStatusKinds.ProtocolError);
                done.SetResult(true);
            });
    }

    private static async Task ExpectRefusal(INodeContext controller, Endpoint endpoint, byte[] firstFrame, string kind)
    {
        using IConnection connection = (await controller.Network.ConnectAsync(endpoint)).Unwrap();
        Assert.Equal(NetStatus.Ok, connection.Send(firstFrame));
        using var deadline = new CancellationTokenSource(s_waitMax, controller.Clock.TimeProvider);
        Received reply = await connection.ReceiveAsync(deadline.Token);
        Assert.True(reply.IsFrame, reply.Reason);
        Assert.True(ComputeProtocol.TryDecodeResponse(reply.Payload, out ComputeResponse? response, out string error), error);
        Assert.Equal(kind, Assert.IsType<Status>(response).Kind);
        Received end = await connection.ReceiveAsync(deadline.Token);
        Assert.False(end.IsFrame);
        Assert.NotEqual(NetStatus.Canceled, end.Status);
    }

    private static async Task<ComputeCommand> Next(INodeContext context, ComputeServerTransport server)
    {
        using var deadline = new CancellationTokenSource(s_waitMax, context.Clock.TimeProvider);
        return await server.ReceiveAsync(deadline.Token) ?? throw new InvalidOperationException("the server transport ended");
    }

    private static async Task<ComputeResponse> Next(INodeContext context, ComputeClientTransport client)
    {
        using var deadline = new CancellationTokenSource(s_waitMax, context.Clock.TimeProvider);
        return await client.ReceiveAsync(deadline.Token) ?? throw new InvalidOperationException("the client transport ended");
    }
}

public sealed class SimComputeTransportTests : ComputeTransportTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 21);
}

public sealed class SimComputeTransportOtherSeedTests : ComputeTransportTests
{
    protected override NodeHarness Harness { get; } = new SimNodeHarness(seed: 9001);
}

public sealed class ProductionComputeTransportTests : ComputeTransportTests
{
    protected override NodeHarness Harness { get; } = new ProductionNodeHarness();
}
