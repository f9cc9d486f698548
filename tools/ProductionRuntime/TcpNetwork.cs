using System;
using System.Collections.Generic;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>Settings of one node's <see cref="TcpNetwork"/>.</summary>
public sealed record TcpNetworkOptions
{
    /// <summary>The address <see cref="TcpNetwork.Listen"/> binds.</summary>
    public IPAddress BindAddress { get; init; } = IPAddress.Loopback;

    /// <summary>The host peers use to reach this node, reported in <see cref="IListener.LocalEndpoint"/>; defaults to the bind address.</summary>
    public string? AdvertisedHost { get; init; }

    /// <summary>How long a connect may wait for the peer before it fails with <see cref="NetStatus.TimedOut"/>.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Bytes a connection may hold queued for sending. A peer that stops reading would otherwise grow the queue
    /// without bound; past this the connection is closed, which the sender sees as <see cref="NetStatus.Closed"/>.
    /// </summary>
    public long SendQueueBytesMax { get; init; } = 4L * INetwork.FrameBytesMax;

    public int ListenBacklog { get; init; } = 512;

    /// <summary>
    /// Framed connections between nodes of the same <see cref="ProductionHost"/> go through memory instead of the
    /// kernel's TCP stack (<see cref="InProcessConnection"/>): environmentd and clusterd in one process then trade
    /// controller and pubsub frames with one wake-up each. Off, every connection is a socket.
    /// </summary>
    public bool InProcessShortcut { get; init; } = true;
}

/// <summary>
/// <see cref="INetwork"/> over TCP: each frame is a 4-byte big-endian payload length followed by the payload
/// (<see cref="StreamMode.Raw"/> connections carry the bytes without framing).
/// </summary>
/// <remarks>
/// A network belongs to one node loop. Its operations must be called on that loop (checked always), and
/// every await inside them captures the loop's context, so socket completions resume on the loop and no
/// continuation touches connection state from the thread pool.
/// <para>
/// <see cref="Dispose"/> is how a crash or the end of a node closes its sockets. It may run on the host's
/// thread while the loop still runs, so it only closes sockets (thread-safe) and never touches loop-owned
/// state; the registry of open sockets is guarded by <c>_gate</c>.
/// </para>
/// </remarks>
public sealed class TcpNetwork : INetwork, IDisposable
{
    private readonly object _gate = new();
    private readonly HashSet<IAbortable> _open = []; // guarded by _gate: listeners and connections to close on Dispose
    private bool _disposed; // guarded by _gate

    private readonly InProcessPorts? _inProcess;

    static TcpNetwork()
    {
        // A socket completion normally goes from the runtime's epoll thread to a thread-pool worker, which then posts
        // the continuation to the node loop: two thread wakeups per received message. Every await here resumes on
        // its node loop anyway, so the epoll thread can post it there itself (one wakeup). The runtime reads this
        // switch once, when the first socket operation starts its engine; it is process-wide and only an environment
        // variable, so it is set here, before this process's first socket, unless the operator set it.
        const string inlineCompletions = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
        if (Environment.GetEnvironmentVariable(inlineCompletions) is null)
        {
            Environment.SetEnvironmentVariable(inlineCompletions, "1");
        }
    }

    /// <summary>A network of sockets only (no in-process dials).</summary>
    public TcpNetwork(NodeLoop loop, TcpNetworkOptions? options = null) : this(loop, options, null)
    {
    }

    /// <summary>A network whose framed dials to the listeners in <paramref name="inProcess"/> (a host's) go through memory.</summary>
    internal TcpNetwork(NodeLoop loop, TcpNetworkOptions? options, InProcessPorts? inProcess)
    {
        Loop = loop;
        Options = options ?? new TcpNetworkOptions();
        _inProcess = inProcess;
    }

    internal NodeLoop Loop { get; }

    internal TcpNetworkOptions Options { get; }

    public NetResult<IListener> Listen(int port, StreamMode mode = StreamMode.Framed)
    {
        Loop.AssertOnLoopThread(nameof(Listen));
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, IPEndPoint.MaxPort);
        var socket = new Socket(Options.BindAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(new IPEndPoint(Options.BindAddress, port));
            socket.Listen(Options.ListenBacklog);
        }
        catch (SocketException exception)
        {
            socket.Dispose();
            // The seam has no status for "cannot bind" beyond a port in use; a bad or foreign bind address
            // means peers cannot reach this node there, which Unreachable says.
            NetStatus status = exception.SocketErrorCode == SocketError.AddressAlreadyInUse ? NetStatus.AddressInUse : NetStatus.Unreachable;
            return NetResult<IListener>.Fail(status, $"listen on {Options.BindAddress}:{port}: {exception.Message}");
        }
        var local = (IPEndPoint)socket.LocalEndPoint!;
        bool loopback = IPAddress.IsLoopback(Options.BindAddress) || Options.BindAddress.Equals(IPAddress.Any) || Options.BindAddress.Equals(IPAddress.IPv6Any);
        var listener = new TcpNetworkListener(this, socket, new Endpoint(Options.AdvertisedHost ?? Format(local.Address), local.Port), mode, loopback);
        if (!TryRegister(listener))
        {
            socket.Dispose();
            return NetResult<IListener>.Fail(NetStatus.Closed, ClosedMessage);
        }
        if (mode == StreamMode.Framed)
        {
            _inProcess?.Register(listener);
        }
        return NetResult<IListener>.Ok(listener);
    }

    public ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, CancellationToken cancellationToken = default) =>
        ConnectAsync(remote, StreamMode.Framed, cancellationToken);

    public async ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, StreamMode mode, CancellationToken cancellationToken = default)
    {
        Loop.AssertOnLoopThread(nameof(ConnectAsync));
        ArgumentOutOfRangeException.ThrowIfLessThan(remote.Port, IPEndPoint.MinPort + 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(remote.Port, IPEndPoint.MaxPort);
        if (IsDisposed)
        {
            return NetResult<IConnection>.Fail(NetStatus.Closed, ClosedMessage);
        }
        if (mode == StreamMode.Framed && _inProcess?.Find(remote) is { } sameHost)
        {
            var local = new Endpoint(sameHost.LocalEndpoint.Host, _inProcess.NextEphemeralPort());
            if (sameHost.Offer(this, local, remote) is { } connection)
            {
                if (!TryRegister(connection))
                {
                    connection.Abort();
                    return NetResult<IConnection>.Fail(NetStatus.Closed, ClosedMessage);
                }
                return NetResult<IConnection>.Ok(connection);
            }
            // Closed in the meantime: the socket path reports what a dialer of a closed port sees.
        }
        // The timeout timer fires on the thread pool; it only cancels the socket operation, whose completion
        // is then posted back to this loop like any other.
        using var timeout = new CancellationTokenSource(Options.ConnectTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        Socket? socket = null;
        try
        {
            IPAddress address = await ResolveAsync(remote.Host, linked.Token);
            socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(new IPEndPoint(address, remote.Port), linked.Token);
            Loop.AssertOnLoopThread("the continuation of a connect");
            var connection = new TcpConnection(this, socket, remote, mode);
            if (!TryRegister(connection))
            {
                socket.Dispose();
                return NetResult<IConnection>.Fail(NetStatus.Closed, ClosedMessage);
            }
            return NetResult<IConnection>.Ok(connection);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            socket?.Dispose();
            return NetResult<IConnection>.Fail(NetStatus.Canceled, $"connect to {remote} was canceled");
        }
        catch (OperationCanceledException)
        {
            socket?.Dispose();
            return NetResult<IConnection>.Fail(NetStatus.TimedOut, $"connect to {remote}: no answer within {Options.ConnectTimeout}");
        }
        catch (SocketException exception)
        {
            socket?.Dispose();
            NetStatus status = exception.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => NetStatus.Refused,
                SocketError.TimedOut => NetStatus.TimedOut,
                _ => NetStatus.Unreachable,
            };
            return NetResult<IConnection>.Fail(status, $"connect to {remote}: {exception.Message}");
        }
        catch (ObjectDisposedException)
        {
            // Dispose (a crash) closed the socket mid-connect.
            return NetResult<IConnection>.Fail(NetStatus.Closed, ClosedMessage);
        }
    }

    /// <summary>Closes every listener and connection at once, dropping queued frames.</summary>
    public void Dispose()
    {
        IAbortable[] open;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            open = [.. _open];
            _open.Clear();
        }
        foreach (IAbortable item in open)
        {
            item.Abort();
        }
    }

    internal const string ClosedMessage = "the network was closed (the node stopped or crashed)";

    internal bool TryRegister(IAbortable item)
    {
        lock (_gate)
        {
            return !_disposed && _open.Add(item);
        }
    }

    internal void Unregister(IAbortable item)
    {
        lock (_gate)
        {
            _open.Remove(item);
        }
    }

    /// <summary>A closed listener takes no more in-process dials.</summary>
    internal void ForgetListener(TcpNetworkListener listener) => _inProcess?.Unregister(listener);

    /// <summary>IPv4-mapped IPv6 addresses (from dual-mode sockets) print as plain IPv4, the form peers dial.</summary>
    internal static string Format(IPAddress address) =>
        (address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address).ToString();

    internal static Endpoint ToEndpoint(EndPoint? endPoint) =>
        endPoint is IPEndPoint ip ? new Endpoint(Format(ip.Address), ip.Port) : new Endpoint("?", 0);

    private bool IsDisposed
    {
        get
        {
            lock (_gate)
            {
                return _disposed;
            }
        }
    }

    private static async ValueTask<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return literal;
        }
        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }
        // Prefer IPv4: the default bind address is IPv4 loopback, and "localhost" often resolves to ::1 first.
        return Array.Find(addresses, static a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
    }
}

/// <summary>Something a crash must close from a foreign thread: it may only close its socket.</summary>
internal interface IAbortable
{
    void Abort();
}
