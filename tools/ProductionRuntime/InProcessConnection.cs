using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// The framed listeners of one <see cref="ProductionHost"/>'s nodes, by port, so that a node dialing another node
/// of the same host is connected in memory (<see cref="InProcessConnection"/>) instead of through the kernel's TCP
/// stack. Thread-safe: nodes on different loops listen, dial and close concurrently.
/// </summary>
internal sealed class InProcessPorts
{
    private const int EphemeralFirst = 49152;
    private const int EphemeralCount = 65535 - EphemeralFirst + 1;

    private readonly object _gate = new();
    private readonly Dictionary<int, TcpNetworkListener> _listeners = []; // guarded by _gate
    private int _nextEphemeral; // guarded by _gate

    public void Register(TcpNetworkListener listener)
    {
        lock (_gate)
        {
            _listeners[listener.LocalEndpoint.Port] = listener;
        }
    }

    public void Unregister(TcpNetworkListener listener)
    {
        lock (_gate)
        {
            if (_listeners.TryGetValue(listener.LocalEndpoint.Port, out TcpNetworkListener? registered) && registered == listener)
            {
                _listeners.Remove(listener.LocalEndpoint.Port);
            }
        }
    }

    /// <summary>The listener a dial of <paramref name="remote"/> reaches, when it is a node of this host.</summary>
    public TcpNetworkListener? Find(Endpoint remote)
    {
        lock (_gate)
        {
            if (!_listeners.TryGetValue(remote.Port, out TcpNetworkListener? listener))
            {
                return null;
            }
            bool sameHost = string.Equals(remote.Host, listener.LocalEndpoint.Host, StringComparison.OrdinalIgnoreCase)
                || (IsLoopbackName(remote.Host) && listener.ReachableOnLoopback);
            return sameHost ? listener : null;
        }
    }

    /// <summary>A port number for a dialing end, as the kernel would pick one; it only names the connection.</summary>
    public int NextEphemeralPort()
    {
        lock (_gate)
        {
            int port = EphemeralFirst + _nextEphemeral;
            _nextEphemeral = (_nextEphemeral + 1) % EphemeralCount;
            return port;
        }
    }

    private static bool IsLoopbackName(string host) =>
        host is "127.0.0.1" or "::1" or "[::1]" || string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// One end of a framed connection between two nodes of the same host, carried in memory: <see cref="Send"/> hands
/// a copy of the frame to the peer's inbox and wakes its pending receive, whose continuation runs on the peer's loop
/// (it awaits with the loop's context). One wake-up per frame, where TCP costs a send and a receive system call, an
/// I/O-thread wake-up and a post to the loop.
/// </summary>
/// <remarks>
/// Semantics follow <see cref="TcpConnection"/>'s: frames arrive whole and in order; a local
/// <see cref="Dispose"/> lets the peer read every frame already sent, then the end; a peer that reads nothing
/// lets at most <see cref="TcpNetworkOptions.SendQueueBytesMax"/> bytes pile up before the sender breaks the
/// connection; a crash (<see cref="Abort"/>, from any thread) ends both directions. The inbox and the end state
/// are written by both loops (the peer delivers and ends), so they are guarded by <c>_gate</c>; the rest is
/// owned by this end's loop.
/// </remarks>
internal sealed class InProcessConnection : IConnection, IAbortable
{
    private const string ClosedLocally = "the connection was closed locally";

    private readonly TcpNetwork _network;
    private readonly object _gate = new();
    private readonly Queue<byte[]> _inbox = new(); // guarded by _gate
    private long _inboxBytes; // guarded by _gate
    private TaskCompletionSource<bool>? _arrived; // guarded by _gate: the pending receive's wake-up
    private string? _ended; // guarded by _gate: why nothing more will arrive beyond the inbox
    private bool _closedLocally; // guarded by _gate (Abort may set it from another thread)
    private InProcessConnection _peer = null!; // set once by Pair
    private bool _broken; // loop-owned: a receive reported the end, or a send broke the connection
    private string _brokenReason = "";
    private bool _receiving; // loop-owned

    private InProcessConnection(TcpNetwork network, Endpoint local, Endpoint remote)
    {
        _network = network;
        LocalEndpoint = local;
        RemoteEndpoint = remote;
    }

    public Endpoint LocalEndpoint { get; }

    public Endpoint RemoteEndpoint { get; }

    public bool IsOpen
    {
        get
        {
            lock (_gate)
            {
                return !_closedLocally && !_broken;
            }
        }
    }

    /// <summary>Two connected ends: the dialer's, on <paramref name="client"/>, and the listener's, on <paramref name="server"/>.</summary>
    public static (InProcessConnection Client, InProcessConnection Server) Pair(TcpNetwork client, Endpoint clientEndpoint, TcpNetwork server, Endpoint serverEndpoint, Endpoint dialed)
    {
        var clientEnd = new InProcessConnection(client, clientEndpoint, dialed);
        var serverEnd = new InProcessConnection(server, serverEndpoint, clientEndpoint);
        clientEnd._peer = serverEnd;
        serverEnd._peer = clientEnd;
        return (clientEnd, serverEnd);
    }

    public NetStatus Send(ReadOnlySpan<byte> frame)
    {
        _network.Loop.AssertOnLoopThread(nameof(Send));
        if (ConnectionRules.RefuseSend(IsOpen, frame.Length) is NetStatus refused)
        {
            return refused;
        }
        byte[] copy = frame.Length == 0 ? [] : GC.AllocateUninitializedArray<byte>(frame.Length);
        frame.CopyTo(copy);
        switch (_peer.Deliver(copy, _network.Options.SendQueueBytesMax))
        {
            case Delivery.Delivered:
                return NetStatus.Ok;
            case Delivery.Overflow:
                Break($"more than {_network.Options.SendQueueBytesMax} bytes were queued for sending to {RemoteEndpoint}: the peer is not reading");
                return NetStatus.Closed;
            default:
                Break($"{RemoteEndpoint} closed the connection");
                return NetStatus.Closed;
        }
    }

    public async ValueTask<Received> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        _network.Loop.AssertOnLoopThread(nameof(ReceiveAsync));
        ConnectionRules.ThrowIfReceiving(_receiving, this);
        if (!IsOpen)
        {
            return Received.Closed(_broken ? _brokenReason : ClosedLocally);
        }
        _receiving = true;
        try
        {
            while (true)
            {
                TaskCompletionSource<bool> arrived;
                lock (_gate)
                {
                    if (_inbox.TryDequeue(out byte[]? frame))
                    {
                        _inboxBytes -= frame.Length;
                        return Received.Frame(frame);
                    }
                    if (_closedLocally)
                    {
                        return Received.Closed(ClosedLocally);
                    }
                    if (_ended is not null)
                    {
                        _broken = true;
                        _brokenReason = _ended;
                        return Received.Closed(_ended);
                    }
                    if (cancellationToken.IsCancellationRequested)
                    {
                        return Received.Closed($"receive on {this} was canceled", NetStatus.Canceled);
                    }
                    arrived = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _arrived = arrived;
                }
                // Awaited with the loop's context: a wake-up from the peer's thread resumes here on this loop.
                using (cancellationToken.CanBeCanceled ? cancellationToken.Register(static state => ((TaskCompletionSource<bool>)state!).TrySetResult(false), arrived) : default)
                {
                    await arrived.Task;
                }
            }
        }
        finally
        {
            _receiving = false;
        }
    }

    /// <summary>
    /// On the loop: a graceful close; the peer still reads every frame sent before it, then the end. From another
    /// thread (a crash or the host's teardown): the same as <see cref="Abort"/>.
    /// </summary>
    public void Dispose()
    {
        if (!_network.Loop.IsOnLoopThread)
        {
            _network.Unregister(this);
            Abort();
            return;
        }
        if (CloseLocally())
        {
            _peer.End($"{LocalEndpoint} closed the connection");
        }
        _network.Unregister(this);
    }

    /// <summary>Ends both directions at once, from any thread; frames already handed over stay readable by the peer.</summary>
    public void Abort()
    {
        if (CloseLocally())
        {
            _peer.End($"{LocalEndpoint} reset the connection");
        }
    }

    public override string ToString() => $"{LocalEndpoint}->{RemoteEndpoint} (in process)";

    private enum Delivery
    {
        Delivered,
        Overflow,
        Gone,
    }

    /// <summary>From the peer's loop: queues a frame for this end and wakes its pending receive.</summary>
    private Delivery Deliver(byte[] frame, long bytesMax)
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (_closedLocally || _ended is not null)
            {
                return Delivery.Gone;
            }
            if (_inboxBytes + frame.Length > bytesMax)
            {
                return Delivery.Overflow;
            }
            _inbox.Enqueue(frame);
            _inboxBytes += frame.Length;
            wake = _arrived;
            _arrived = null;
        }
        wake?.TrySetResult(true);
        return Delivery.Delivered;
    }

    /// <summary>Nothing more will arrive beyond what is in the inbox; a pending receive wakes to drain it and report the end.</summary>
    private void End(string reason)
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            _ended ??= reason;
            wake = _arrived;
            _arrived = null;
        }
        wake?.TrySetResult(true);
    }

    /// <summary>Marks this end closed and wakes its pending receive; false when it already was.</summary>
    private bool CloseLocally()
    {
        TaskCompletionSource<bool>? wake;
        lock (_gate)
        {
            if (_closedLocally)
            {
                return false;
            }
            _closedLocally = true;
            wake = _arrived;
            _arrived = null;
        }
        wake?.TrySetResult(true);
        return true;
    }

    /// <summary>On the loop: the connection failed; the peer sees it end.</summary>
    private void Break(string reason)
    {
        if (_broken)
        {
            return;
        }
        _broken = true;
        _brokenReason = reason;
        lock (_gate)
        {
            _ended ??= reason;
            _inbox.Clear();
            _inboxBytes = 0;
        }
        _peer.End($"{LocalEndpoint} reset the connection");
        _network.Unregister(this);
    }
}
