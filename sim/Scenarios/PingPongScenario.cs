using System;
using System.Buffers.Binary;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios;

/// <summary>
/// Two nodes trade numbered frames. Checks that each round trip returns the number sent, across connection
/// loss, partitions and server crashes (the client reconnects and resends). Also the network benchmark.
/// </summary>
public sealed class PingPongScenario(int rounds = 100) : SimScenario
{
    private const int Port = 7000;

    public override string Name => "ping-pong";

    public override string Description => $"client and echo server trade {rounds} numbered frames; each reply must echo the number sent";

    public override FaultKinds Tolerates => FaultKinds.Standard | FaultKinds.FrameDuplication;

    public override long ExpectedSteps => rounds * 8L;

    public int RoundsCompleted { get; private set; }

    public override void Setup(SimWorld world)
    {
        world.AddNode("pong", () => new EchoServer(), SimNodeOptions.Server);
        world.AddNode("ping", () => new Client(this, rounds), SimNodeOptions.Workload);
    }

    public override string? Check(SimWorld world) =>
        RoundsCompleted == rounds ? null : $"only {RoundsCompleted} of {rounds} rounds completed";

    private sealed class EchoServer : INode
    {
        public Task RunAsync(INodeContext context) => Messages.ServeAsync(context, Port, "echo", async connection =>
        {
            while (true)
            {
                Received frame = await connection.ReceiveAsync();
                if (!frame.IsFrame || connection.Send(frame.Payload) != NetStatus.Ok)
                {
                    return;
                }
            }
        });
    }

    private sealed class Client(PingPongScenario scenario, int rounds) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            var server = new Endpoint("pong", Port);
            IConnection connection = await Messages.ConnectWithRetryAsync(context, server);
            byte[] frame = new byte[8];
            int reconnects = 0;
            for (long round = 0; round < rounds;)
            {
                BinaryPrimitives.WriteInt64LittleEndian(frame, round);
                connection.Send(frame);
                Received reply = await connection.ReceiveWithin(context, TimeSpan.FromSeconds(2));
                while (reply.IsFrame && BinaryPrimitives.ReadInt64LittleEndian(reply.Payload) < round)
                {
                    reply = await connection.ReceiveWithin(context, TimeSpan.FromSeconds(2)); // a duplicate of an earlier reply
                }
                if (!reply.IsFrame)
                {
                    connection.Dispose();
                    context.Trace("reconnect", reply.Reason);
                    connection = await Messages.ConnectWithRetryAsync(context, server);
                    reconnects++;
                    continue;
                }
                long echoed = BinaryPrimitives.ReadInt64LittleEndian(reply.Payload);
                context.Always(echoed == round, $"sent {round}, got back {echoed}");
                round++;
                scenario.RoundsCompleted = (int)round;
            }
            context.Sometimes(reconnects > 0, "the client had to reconnect and resend");
            connection.Dispose();
        }
    }
}
