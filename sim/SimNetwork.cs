using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>
/// The simulated network: listeners by endpoint, connections between node loops, latency, loss, partitions
/// and clogging.
/// </summary>
/// <remarks>
/// Frames of one direction of a connection arrive in order (unless the run injects reordering): each frame
/// has its own arrival event, and an arrival delivers the oldest frame still in flight. A frame that cannot
/// cross a partition waits and is retried, as TCP retransmits; if it waits longer than
/// <see cref="ConnectionTimeoutNanos"/> the connection breaks on both sides. A lost frame (ConnectionLoss)
/// breaks the connection too: TCP never silently drops bytes in the middle of a stream.
/// <para>
/// A <see cref="StreamMode.Raw"/> connection carries a byte stream: each send travels as one or more chunks
/// (split at boundaries drawn from the seed), and a receive may coalesce chunks that have already arrived, so
/// parsers above see arbitrary boundaries. Chunks are never duplicated or reordered (a byte stream cannot
/// tolerate either); delay, loss (a break), partitions and crashes apply as to frames.
/// </para>
/// </remarks>
public sealed class SimNetwork
{
    internal const long NanosPerMs = 1_000_000;
    internal const long ConnectionTimeoutNanos = 3_000 * NanosPerMs;
    internal const long RetransmitNanos = 200 * NanosPerMs;

    private readonly SimWorld _world;
    private readonly Dictionary<Endpoint, SimListener> _listeners = [];
    // Directed pairs (from, to) that cannot exchange frames until the given time.
    private readonly Dictionary<(int From, int To), long> _blockedUntil = [];
    private readonly Dictionary<int, long> _cloggedUntil = [];
    private long _nextConnectionId;

    internal SimNetwork(SimWorld world) => _world = world;

    internal SimWorld World => _world;

    internal long NextConnectionId() => ++_nextConnectionId;

    /// <summary>One-way latency for a frame from <paramref name="from"/> to <paramref name="to"/>.</summary>
    internal long DrawLatencyNanos(SimNode from, SimNode to)
    {
        FaultProfile f = _world.Faults;
        IRandom r = _world.NetworkRandom;
        double ms = f.NetLatencyMinMs + SimWorld.Exponential(r, f.NetLatencyMeanMs);
        if (_world.ChaosActive && r.Chance(f.NetSlowTailProbability))
        {
            ms *= 10 + r.Next(90);
        }
        long nanos = (long)(ms * NanosPerMs);
        long clog = Math.Max(CloggedUntil(from), CloggedUntil(to));
        return Math.Max(nanos, clog - _world.NowNanos);
    }

    internal bool IsBlocked(SimNode from, SimNode to) =>
        _blockedUntil.TryGetValue((from.Index, to.Index), out long until) && until > _world.NowNanos;

    internal bool Chance(double probability) => _world.ChaosActive && _world.NetworkRandom.Chance(probability);

    internal SimListener? FindListener(Endpoint endpoint) => _listeners.GetValueOrDefault(endpoint);

    internal bool TryAddListener(SimListener listener) => _listeners.TryAdd(listener.LocalEndpoint, listener);

    internal void RemoveListener(SimListener listener)
    {
        if (_listeners.TryGetValue(listener.LocalEndpoint, out SimListener? current) && current == listener)
        {
            _listeners.Remove(listener.LocalEndpoint);
        }
    }

    /// <summary>A node went down: its listeners vanish and its peers see their connections reset.</summary>
    internal void OnNodeDown(SimNode node, string reason)
    {
        foreach (SimListener listener in node.Listeners)
        {
            RemoveListener(listener);
            listener.CloseLocal();
        }
        node.Listeners.Clear();
        foreach (SimConnectionEnd end in node.Connections.ToArray())
        {
            end.Abandon(reason);
        }
        node.Connections.Clear();
    }

    internal void Heal()
    {
        _blockedUntil.Clear();
        _cloggedUntil.Clear();
    }

    internal void Clog(SimNode node, long durationNanos)
    {
        _cloggedUntil[node.Index] = _world.NowNanos + durationNanos;
        _world.Record(node, "clog", string.Create(CultureInfo.InvariantCulture, $"{durationNanos / NanosPerMs} ms"));
    }

    /// <summary>Blocks traffic between two sides of the nodes: symmetric, asymmetric (one direction), or one node isolated.</summary>
    internal void StartRandomPartition(IRandom r, long durationNanos)
    {
        IReadOnlyList<SimNode> nodes = _world.Nodes;
        if (nodes.Count < 2)
        {
            return;
        }
        int mode = r.Next(3);
        var sideA = new bool[nodes.Count];
        if (mode == 2)
        {
            sideA[r.Next(nodes.Count)] = true;
        }
        else
        {
            for (int i = 0; i < sideA.Length; i++)
            {
                sideA[i] = r.Chance(0.5);
            }
        }
        bool asymmetric = mode == 1;
        long until = _world.NowNanos + durationNanos;
        int cut = 0;
        for (int a = 0; a < nodes.Count; a++)
        {
            for (int b = 0; b < nodes.Count; b++)
            {
                if (sideA[a] && !sideA[b])
                {
                    _blockedUntil[(a, b)] = until;
                    cut++;
                    if (!asymmetric)
                    {
                        _blockedUntil[(b, a)] = until;
                    }
                }
            }
        }
        if (cut > 0)
        {
            string what = mode switch { 0 => "symmetric", 1 => "asymmetric", _ => "isolate" };
            _world.Record(null, "partition", string.Create(CultureInfo.InvariantCulture, $"{what} {Describe(sideA)} for {durationNanos / NanosPerMs} ms"));
        }
    }

    private long CloggedUntil(SimNode node) => _cloggedUntil.TryGetValue(node.Index, out long until) ? until : 0;

    private string Describe(bool[] sideA)
    {
        var names = new List<string>();
        for (int i = 0; i < sideA.Length; i++)
        {
            if (sideA[i])
            {
                names.Add(_world.Nodes[i].Name);
            }
        }
        return "{" + string.Join(",", names) + "} vs rest";
    }
}

/// <summary>One incarnation's <see cref="INetwork"/>.</summary>
internal sealed class SimNodeNetwork(SimNode node, long epoch) : INetwork
{
    private SimNetwork Net => node.World.Network;

    public NetResult<IListener> Listen(int port, StreamMode mode = StreamMode.Framed)
    {
        if (node.Epoch != epoch)
        {
            return NetResult<IListener>.Fail(NetStatus.Closed, "the node has restarted");
        }
        if (port is < 0 or > 65535)
        {
            return NetResult<IListener>.Fail(NetStatus.AddressInUse, $"port {port} is out of range");
        }
        if (port == 0)
        {
            while (Net.FindListener(new Endpoint(node.Name, node.NextEphemeralPort)) is not null)
            {
                node.NextEphemeralPort++;
            }
            port = node.NextEphemeralPort++;
        }
        var listener = new SimListener(node, epoch, new Endpoint(node.Name, port), mode);
        if (!Net.TryAddListener(listener))
        {
            return NetResult<IListener>.Fail(NetStatus.AddressInUse, $"{listener.LocalEndpoint} is already in use");
        }
        node.Listeners.Add(listener);
        node.World.Record(node, "listen", listener.LocalEndpoint.ToString());
        return NetResult<IListener>.Ok(listener);
    }

    public ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, CancellationToken cancellationToken = default) =>
        ConnectAsync(remote, StreamMode.Framed, cancellationToken);

    public ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, StreamMode mode, CancellationToken cancellationToken = default)
    {
        SimWorld world = node.World;
        var result = new TaskCompletionSource<NetResult<IConnection>>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (node.Epoch != epoch)
        {
            return ValueTask.FromResult(NetResult<IConnection>.Fail(NetStatus.Closed, "the node has restarted"));
        }
        CancellationTokenRegistration registration = cancellationToken.Register(() =>
            result.TrySetResult(NetResult<IConnection>.Fail(NetStatus.Canceled, "connect canceled")));
        if (!world.TryGetNode(remote.Host, out SimNode server))
        {
            world.Schedule(node, (long)(world.Faults.NetLatencyMinMs * SimNetwork.NanosPerMs), "connect-fail", () =>
                result.TrySetResult(NetResult<IConnection>.Fail(NetStatus.Unreachable, $"no host named '{remote.Host}'")));
            return new ValueTask<NetResult<IConnection>>(result.Task);
        }
        long startNanos = world.NowNanos;
        // The SYN is the network's event, not the server incarnation's: it must still arrive if the server restarts meanwhile.
        world.Schedule(null, Net.DrawLatencyNanos(node, server), "syn", () => Syn(server, remote, mode, result, startNanos));
        return new ValueTask<NetResult<IConnection>>(AwaitAndRelease(result.Task, registration));
    }

    private static async Task<NetResult<IConnection>> AwaitAndRelease(Task<NetResult<IConnection>> task, CancellationTokenRegistration registration)
    {
        try
        {
            return await task;
        }
        finally
        {
            await registration.DisposeAsync();
        }
    }

    // Runs as a world event when the connection request reaches the server's host.
    private void Syn(SimNode server, Endpoint remote, StreamMode mode, TaskCompletionSource<NetResult<IConnection>> result, long startNanos)
    {
        SimWorld world = node.World;
        if (Net.IsBlocked(node, server) || Net.IsBlocked(server, node))
        {
            // SYN retransmissions until the connect timeout.
            if (world.NowNanos - startNanos > SimNetwork.ConnectionTimeoutNanos)
            {
                world.Schedule(node, 0, "connect-timeout", () =>
                    result.TrySetResult(NetResult<IConnection>.Fail(NetStatus.TimedOut, $"connecting to {remote} timed out")));
                return;
            }
            world.Schedule(null, SimNetwork.RetransmitNanos, "syn", () => Syn(server, remote, mode, result, startNanos));
            return;
        }
        SimListener? listener = Net.FindListener(remote);
        long back = Net.DrawLatencyNanos(server, node);
        if (listener is null || !server.IsRunning)
        {
            world.Schedule(node, back, "connect-refused", () =>
                result.TrySetResult(NetResult<IConnection>.Fail(NetStatus.Refused, $"connection to {remote} refused")));
            return;
        }
        if (node.Epoch != epoch)
        {
            return; // the client crashed while its SYN was in flight
        }
        long id = Net.NextConnectionId();
        // Each end keeps its own declared mode: a mismatch is the caller's bug, and shows as garbage, as it would over TCP.
        var clientEnd = new SimConnectionEnd(node, epoch, id, new Endpoint(node.Name, 30000 + (int)(id % 30000)), remote, mode);
        var serverEnd = new SimConnectionEnd(server, server.Epoch, id, remote, clientEnd.LocalEndpoint, listener.Mode);
        clientEnd.Peer = serverEnd;
        serverEnd.Peer = clientEnd;
        node.Connections.Add(clientEnd);
        server.Connections.Add(serverEnd);
        listener.Enqueue(serverEnd);
        world.Record(server, "accept", $"#{id} from {node.Name}");
        world.Schedule(node, back, "connected", () =>
        {
            if (!result.TrySetResult(NetResult<IConnection>.Ok(clientEnd)))
            {
                clientEnd.Dispose(); // the caller gave up (canceled) meanwhile
            }
        });
    }
}

internal sealed class SimListener(SimNode node, long epoch, Endpoint endpoint, StreamMode mode) : IListener
{
    private readonly Queue<SimConnectionEnd> _backlog = new();
    private TaskCompletionSource<NetResult<IConnection>>? _waiting;
    private bool _closed;

    public Endpoint LocalEndpoint => endpoint;

    internal StreamMode Mode => mode;

    public ValueTask<NetResult<IConnection>> AcceptAsync(CancellationToken cancellationToken = default)
    {
        if (_backlog.TryDequeue(out SimConnectionEnd? ready))
        {
            return ValueTask.FromResult(NetResult<IConnection>.Ok(ready));
        }
        if (_closed || node.Epoch != epoch)
        {
            return ValueTask.FromResult(NetResult<IConnection>.Fail(NetStatus.Closed, "listener closed"));
        }
        if (_waiting is not null)
        {
            throw new InvalidOperationException("only one AcceptAsync may be pending on a listener");
        }
        var waiting = new TaskCompletionSource<NetResult<IConnection>>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting = waiting;
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                if (_waiting == waiting)
                {
                    _waiting = null;
                }
                waiting.TrySetResult(NetResult<IConnection>.Fail(NetStatus.Canceled, "accept canceled"));
            });
        }
        return new ValueTask<NetResult<IConnection>>(waiting.Task);
    }

    internal void Enqueue(SimConnectionEnd end)
    {
        if (_waiting is { } waiting)
        {
            _waiting = null;
            waiting.TrySetResult(NetResult<IConnection>.Ok(end));
            return;
        }
        _backlog.Enqueue(end);
    }

    internal void CloseLocal()
    {
        _closed = true;
        _waiting?.TrySetResult(NetResult<IConnection>.Fail(NetStatus.Closed, "listener closed"));
        _waiting = null;
    }

    public void Dispose()
    {
        if (_closed)
        {
            return;
        }
        CloseLocal();
        node.World.Network.RemoveListener(this);
        node.Listeners.Remove(this);
        foreach (SimConnectionEnd end in _backlog)
        {
            end.Dispose();
        }
        _backlog.Clear();
    }
}

/// <summary>One end of a simulated connection; see <see cref="SimNetwork"/> for the delivery rules.</summary>
internal sealed class SimConnectionEnd(SimNode node, long epoch, long id, Endpoint local, Endpoint remote, StreamMode mode) : IConnection
{
    // A raw send is cut into at most this many chunks, and a raw receive coalesces at most this many.
    private const int RawChunksMax = 8;

    private readonly Queue<byte[]> _inbox = new();
    // Frames sent by this end and not yet delivered to the peer; null marks the orderly end of the stream (FIN).
    private readonly Queue<InFlight> _inFlight = new();
    private TaskCompletionSource<Received>? _waiting;
    private bool _localClosed;
    private bool _peerFinished;
    private string? _brokenReason;
    private bool _lostFrame; // a send of this end was lost: the connection is breaking, and nothing sent after it arrives
    private long _lastArrivalNanos;

    private sealed class InFlight(byte[]? payload, long sentNanos)
    {
        public byte[]? Payload { get; } = payload;

        public long SentNanos { get; } = sentNanos;

        public bool Delivered { get; set; }
    }

    public SimConnectionEnd Peer { get; set; } = null!;

    public Endpoint LocalEndpoint => local;

    public Endpoint RemoteEndpoint => remote;

    public bool IsOpen => !_localClosed && _brokenReason is null && !_peerFinished && node.Epoch == epoch;

    private SimWorld World => node.World;

    public NetStatus Send(ReadOnlySpan<byte> frame)
    {
        if (!IsOpen)
        {
            return NetStatus.Closed;
        }
        if (frame.Length > INetwork.FrameBytesMax)
        {
            return NetStatus.FrameTooLarge;
        }
        SimNetwork net = World.Network;
        if (_lostFrame)
        {
            // TCP never delivers bytes past a gap: what follows a lost frame is lost with it (the sender learns of
            // the break later). Delivering it once let a subscribe batch arrive without the batch before it
            // (end-to-end seed 434).
            return NetStatus.Ok;
        }
        if (net.Chance(World.Faults.ConnectionLossProbability))
        {
            World.Record(node, "frame-lost", $"#{id}: connection breaks");
            _lostFrame = true;
            long detect = net.DrawLatencyNanos(node, Peer.Node);
            BreakBothAfter(detect, "connection reset (frame lost)");
            return NetStatus.Ok; // the sender learns of the loss later, as with TCP
        }
        if (mode == StreamMode.Raw)
        {
            TransmitRaw(frame);
            return NetStatus.Ok;
        }
        Transmit(frame.ToArray());
        return NetStatus.Ok;
    }

    // Cuts a raw send into chunks at boundaries drawn from the seed (half the sends stay whole), each its own arrival.
    private void TransmitRaw(ReadOnlySpan<byte> bytes)
    {
        if (bytes.IsEmpty)
        {
            return; // an empty write puts nothing on a byte stream
        }
        IRandom r = World.NetworkRandom;
        int chunks = bytes.Length == 1 || r.Chance(0.5) ? 1 : Math.Min(bytes.Length, 2 + r.Next(RawChunksMax - 1));
        int offset = 0;
        for (int i = chunks; i > 1; i--)
        {
            // Leave at least one byte for each later chunk.
            int length = 1 + r.Next(bytes.Length - offset - (i - 1));
            Transmit(bytes.Slice(offset, length).ToArray());
            offset += length;
        }
        Transmit(bytes[offset..].ToArray());
    }

    public ValueTask<Received> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        if (_inbox.TryDequeue(out byte[]? frame))
        {
            return ValueTask.FromResult(Received.Frame(mode == StreamMode.Raw ? Coalesce(frame) : frame));
        }
        if (ClosedReason() is { } reason)
        {
            return ValueTask.FromResult(Received.Closed(reason));
        }
        if (_waiting is not null)
        {
            throw new InvalidOperationException("only one ReceiveAsync may be pending on a connection");
        }
        var waiting = new TaskCompletionSource<Received>(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiting = waiting;
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                if (_waiting == waiting)
                {
                    _waiting = null;
                }
                waiting.TrySetResult(Received.Closed("receive canceled", NetStatus.Canceled));
            });
        }
        return new ValueTask<Received>(waiting.Task);
    }

    public void Dispose()
    {
        if (_localClosed)
        {
            return;
        }
        _localClosed = true;
        node.Connections.Remove(this);
        Wake();
        if (_brokenReason is null && node.Epoch == epoch)
        {
            Transmit(null); // FIN after the data already sent
        }
    }

    /// <summary>The owning node crashed or exited: the peer sees a reset after one trip.</summary>
    internal void Abandon(string reason)
    {
        _localClosed = true;
        if (_brokenReason is null && Peer._brokenReason is null)
        {
            SimConnectionEnd peer = Peer;
            World.Schedule(peer.Node, World.Network.DrawLatencyNanos(node, peer.Node), "reset", () => peer.Break(reason));
        }
    }

    internal SimNode Node => node;

    // A raw receive may return what arrived in several chunks at once, as a socket read does.
    private byte[] Coalesce(byte[] first)
    {
        if (_inbox.Count == 0 || World.NetworkRandom.Chance(0.5))
        {
            return first;
        }
        int take = 1 + World.NetworkRandom.Next(Math.Min(_inbox.Count, RawChunksMax - 1));
        var merged = new List<byte>(first);
        for (int i = 0; i < take; i++)
        {
            merged.AddRange(_inbox.Dequeue());
        }
        return [.. merged];
    }

    private string? ClosedReason()
    {
        if (node.Epoch != epoch)
        {
            return "the node restarted";
        }
        if (_brokenReason is not null)
        {
            return _brokenReason;
        }
        if (_localClosed)
        {
            return "connection closed locally";
        }
        return _peerFinished ? "connection closed by peer" : null;
    }

    private void Transmit(byte[]? payload)
    {
        SimNetwork net = World.Network;
        SimNode peerNode = Peer.Node;
        long latency = net.DrawLatencyNanos(node, peerNode);
        bool reorder = payload is not null && mode == StreamMode.Framed && net.Chance(World.Faults.ReorderProbability);
        long arrival = World.NowNanos + latency;
        if (!reorder)
        {
            arrival = Math.Max(arrival, _lastArrivalNanos);
            _lastArrivalNanos = arrival;
        }
        var item = new InFlight(payload, World.NowNanos);
        _inFlight.Enqueue(item);
        InFlight? own = reorder ? item : null;
        World.Schedule(peerNode, arrival - World.NowNanos, "frame", () => Arrive(own));
    }

    // Runs on the peer's loop. Delivers the oldest undelivered frame, or `own` when reordering picked this frame.
    private void Arrive(InFlight? own)
    {
        while (_inFlight.TryPeek(out InFlight? head) && head.Delivered)
        {
            _inFlight.Dequeue();
        }
        InFlight? item = own ?? (_inFlight.TryPeek(out InFlight? first) ? first : null);
        if (item is null || item.Delivered || _brokenReason is not null || Peer._brokenReason is not null)
        {
            return;
        }
        SimNetwork net = World.Network;
        if (net.IsBlocked(node, Peer.Node))
        {
            if (World.NowNanos - item.SentNanos > SimNetwork.ConnectionTimeoutNanos)
            {
                World.Record(Peer.Node, "conn-timeout", $"#{id}");
                BreakBothAfter(0, "connection timed out");
                return;
            }
            World.Schedule(Peer.Node, SimNetwork.RetransmitNanos, "retransmit", () => Arrive(own));
            return;
        }
        item.Delivered = true;
        if (item.Payload is null)
        {
            Peer.Finish();
            return;
        }
        Peer.Deliver(item.Payload);
        if (mode == StreamMode.Framed && net.Chance(World.Faults.DuplicateProbability))
        {
            World.Record(Peer.Node, "frame-dup", $"#{id}");
            Peer.Deliver(item.Payload);
        }
    }

    private void Deliver(byte[] payload)
    {
        if (_localClosed || node.Epoch != epoch)
        {
            return;
        }
        if (_waiting is { } waiting)
        {
            _waiting = null;
            waiting.TrySetResult(Received.Frame(payload));
            return;
        }
        _inbox.Enqueue(payload);
    }

    private void Finish()
    {
        _peerFinished = true;
        Wake();
    }

    private void Break(string reason)
    {
        if (_brokenReason is not null)
        {
            return;
        }
        _brokenReason = reason;
        _inbox.Clear();
        _inFlight.Clear();
        node.Connections.Remove(this);
        Wake();
    }

    private void BreakBothAfter(long delayNanos, string reason)
    {
        SimConnectionEnd peer = Peer;
        World.Schedule(node, delayNanos, "reset", () => Break(reason));
        World.Schedule(peer.Node, delayNanos, "reset", () => peer.Break(reason));
    }

    private void Wake()
    {
        if (_waiting is { } waiting && _inbox.Count == 0 && ClosedReason() is { } reason)
        {
            _waiting = null;
            waiting.TrySetResult(Received.Closed(reason));
        }
    }
}
