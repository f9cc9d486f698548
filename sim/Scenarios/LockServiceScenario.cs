using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios;

/// <summary>
/// A lock server and three clients that each take the lock a few times. Checks mutual exclusion: no two
/// clients are ever inside the critical section at once.
/// </summary>
/// <remarks>
/// The racy variant plants a check-then-act race between nodes: a client reads the owner (GET) and, seeing
/// none, claims the lock with an unconditional SET in a second message. Two clients whose GETs both land
/// before either SET both enter. The correct variant claims with one compare-and-set (CAS) message.
/// The server keeps the lock in memory only, so the scenario does not claim to survive server crashes.
/// </remarks>
public sealed class LockServiceScenario(bool racy) : SimScenario
{
    private const int Port = 7050;
    private const int Clients = 3;
    private const int RoundsPerClient = 3;

    private readonly HashSet<string> _inside = new(StringComparer.Ordinal);

    public override string Name => racy ? "lock-service-racy" : "lock-service";

    public override string Description => racy
        ? "planted bug: clients GET then SET the lock owner in two messages (check-then-act); mutual exclusion must break"
        : $"{Clients} clients take a lock {RoundsPerClient} times each with compare-and-set; no two are ever inside at once";

    public override bool HasPlantedBug => racy;

    public override FaultKinds Tolerates => FaultKinds.NetworkDelay | FaultKinds.ConnectionLoss | FaultKinds.Partition | FaultKinds.Clog | FaultKinds.Pause | FaultKinds.ClockSkew;

    public override long ExpectedSteps => 400;

    public override void Setup(SimWorld world)
    {
        world.AddNode("lock", () => new LockServer(), SimNodeOptions.Server);
        for (int i = 1; i <= Clients; i++)
        {
            string name = "client" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            world.AddNode(name, () => new LockClient(this, racy), SimNodeOptions.Workload);
        }
    }

    private void Enter(INodeContext context)
    {
        context.Always(_inside.Count == 0, $"mutual exclusion violated: {context.NodeName} entered while {string.Join(",", _inside)} held the lock");
        _inside.Add(context.NodeName);
        context.Trace("enter");
    }

    private void Exit(INodeContext context)
    {
        _inside.Remove(context.NodeName);
        context.Trace("leave");
    }

    /// <summary>
    /// Holds the owner in memory. Requests are <c>seq VERB [client]</c> with VERB one of GET, SET, CAS (claim if
    /// free) and RELEASE. A client numbers its requests; one that arrives after a later request of the same client
    /// (it was sent on a connection the client since abandoned) is ignored, or a stale claim could take the lock
    /// for a client that has given up on it.
    /// </summary>
    private sealed class LockServer : INode
    {
        private readonly Dictionary<string, long> _lastSequence = new(StringComparer.Ordinal);
        private string _owner = "-";

        public Task RunAsync(INodeContext context) => Messages.ServeAsync(context, Port, "session", Serve);

        private async Task Serve(IConnection connection)
        {
            while (true)
            {
                Received request = await connection.ReceiveAsync();
                if (!request.IsFrame)
                {
                    return;
                }
                string[] parts = request.Text().Split(' ');
                string client = parts[^1];
                long sequence = long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture);
                if (_lastSequence.TryGetValue(client, out long last) && sequence <= last)
                {
                    continue; // stale: the client no longer waits for this reply
                }
                _lastSequence[client] = sequence;
                parts = parts[1..];
                string reply = parts[0] switch
                {
                    "GET" => "OWNER " + _owner,
                    "SET" => Set(parts[1]),
                    "CAS" when _owner == "-" || _owner == parts[1] => Set(parts[1]),
                    "CAS" => "BUSY " + _owner,
                    "RELEASE" when _owner == parts[1] => Set("-"),
                    "RELEASE" => "OK",
                    _ => "ERROR unknown request",
                };
                connection.SendText(reply);
            }
        }

        private string Set(string owner)
        {
            _owner = owner;
            return "OK";
        }
    }

    private sealed class LockClient(LockServiceScenario scenario, bool racy) : INode
    {
        private IConnection? _connection;
        private long _sequence;

        public async Task RunAsync(INodeContext context)
        {
            for (int round = 0; round < RoundsPerClient; round++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(context.Random.Next(20)));
                while (!await TryAcquire(context))
                {
                    await context.Clock.Delay(TimeSpan.FromMilliseconds(1 + context.Random.Next(10)));
                }
                scenario.Enter(context);
                await context.Clock.Delay(TimeSpan.FromMilliseconds(1 + context.Random.Next(5)));
                scenario.Exit(context);
                while (await Call(context, "RELEASE") is null)
                {
                }
            }
            _connection?.Dispose();
        }

        private async Task<bool> TryAcquire(INodeContext context)
        {
            string me = context.NodeName;
            if (racy)
            {
                string? owner = await Call(context, "GET");
                if (owner is null)
                {
                    return false;
                }
                if (owner != "OWNER -")
                {
                    return owner == "OWNER " + me;
                }
                string? set = await Call(context, "SET");
                return set == "OK" || await Owner(context) == me;
            }
            string? reply = await Call(context, "CAS");
            context.Sometimes(reply is not null && reply.StartsWith("BUSY", StringComparison.Ordinal), "a client found the lock taken");
            // A lost reply leaves the outcome unknown: ask who holds the lock.
            return reply == "OK" || (reply is null && await Owner(context) == me);
        }

        private async Task<string?> Owner(INodeContext context)
        {
            string? reply;
            while ((reply = await Call(context, "GET")) is null)
            {
            }
            return reply["OWNER ".Length..];
        }

        /// <summary>One request and its reply; null when the connection failed (the request may or may not have been applied).</summary>
        private async Task<string?> Call(INodeContext context, string request)
        {
            if (_connection is not { IsOpen: true })
            {
                _connection?.Dispose();
                _connection = await Messages.ConnectWithRetryAsync(context, new Endpoint("lock", Port));
            }
            _sequence++;
            if (_connection.SendText(_sequence.ToString(System.Globalization.CultureInfo.InvariantCulture) + " " + request + " " + context.NodeName) != NetStatus.Ok)
            {
                return null;
            }
            Received reply = await _connection.ReceiveWithin(context, TimeSpan.FromSeconds(1));
            if (!reply.IsFrame)
            {
                _connection.Dispose();
                _connection = null;
                return null;
            }
            return reply.Text();
        }
    }
}
