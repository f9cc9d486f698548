using System;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// A listening TCP socket of a <see cref="TcpNetwork"/>; a framed one also accepts in-memory connections from nodes
/// of the same host (<see cref="InProcessConnection"/>), when the host offers them.
/// </summary>
internal sealed class TcpNetworkListener(TcpNetwork network, Socket socket, Endpoint localEndpoint, StreamMode mode, bool reachableOnLoopback) : IListener, IAbortable
{
    // A client that resets before we accept it surfaces as an accept error; skip it, but not forever.
    private const int AbortedAcceptsSkippedMax = 64;

    // Written on any thread (Dispose, Abort); read on the loop after a failed accept to word the result.
    private volatile bool _closed;

    // In-process dials, queued by the dialing node's loop until this loop accepts them; guarded by _localGate.
    private readonly object _localGate = new();
    private readonly Queue<InProcessConnection> _localPending = new();
    private TaskCompletionSource<bool>? _localArrived;

    // Loop-owned: the socket accept in flight, kept across accepts that returned an in-process connection or were canceled.
    private Task<Socket>? _socketAccept;

    public Endpoint LocalEndpoint { get; } = localEndpoint;

    /// <summary>True when the socket is bound to a loopback or wildcard address, so that dials of "localhost" reach it.</summary>
    public bool ReachableOnLoopback => reachableOnLoopback;

    /// <summary>
    /// From the dialing node's loop: a connected pair whose listener end waits here to be accepted, or null when
    /// this listener is closed (the dialer then falls back to TCP and is refused).
    /// </summary>
    public InProcessConnection? Offer(TcpNetwork dialer, Endpoint dialerEndpoint, Endpoint dialed)
    {
        TaskCompletionSource<bool>? wake;
        InProcessConnection client;
        lock (_localGate)
        {
            if (_closed)
            {
                return null;
            }
            (client, InProcessConnection server) = InProcessConnection.Pair(dialer, dialerEndpoint, network, LocalEndpoint, dialed);
            _localPending.Enqueue(server);
            wake = _localArrived;
            _localArrived = null;
        }
        wake?.TrySetResult(true);
        return client;
    }

    public async ValueTask<NetResult<IConnection>> AcceptAsync(CancellationToken cancellationToken = default)
    {
        network.Loop.AssertOnLoopThread(nameof(AcceptAsync));
        for (int skipped = 0; ; skipped++)
        {
            if (_closed)
            {
                return NetResult<IConnection>.Fail(NetStatus.Closed, $"listener {LocalEndpoint} is closed");
            }
            if (TakeLocal() is { } local)
            {
                if (!network.TryRegister(local))
                {
                    local.Abort();
                    return NetResult<IConnection>.Fail(NetStatus.Closed, TcpNetwork.ClosedMessage);
                }
                return NetResult<IConnection>.Ok(local);
            }
            Socket accepted;
            try
            {
                if (!await SocketOrLocalAsync(cancellationToken))
                {
                    continue; // an in-process dial arrived
                }
                Task<Socket> socketAccept = _socketAccept!;
                _socketAccept = null;
                accepted = await socketAccept;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !_closed)
            {
                return NetResult<IConnection>.Fail(NetStatus.Canceled, $"accept on {LocalEndpoint} was canceled");
            }
            catch (SocketException exception) when (!_closed && skipped < AbortedAcceptsSkippedMax
                && exception.SocketErrorCode is SocketError.ConnectionAborted or SocketError.ConnectionReset)
            {
                continue;
            }
            catch (Exception exception) when (exception is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                return NetResult<IConnection>.Fail(
                    NetStatus.Closed,
                    _closed ? $"listener {LocalEndpoint} is closed" : $"accept on {LocalEndpoint}: {exception.Message}");
            }
            network.Loop.AssertOnLoopThread("the continuation of an accept");
            var connection = new TcpConnection(network, accepted, TcpNetwork.ToEndpoint(accepted.RemoteEndPoint), mode);
            if (!network.TryRegister(connection))
            {
                accepted.Dispose();
                return NetResult<IConnection>.Fail(NetStatus.Closed, TcpNetwork.ClosedMessage);
            }
            return NetResult<IConnection>.Ok(connection);
        }
    }

    /// <summary>Stops accepting; connections already accepted stay open. Safe from any thread.</summary>
    public void Dispose()
    {
        network.Unregister(this);
        Abort();
    }

    public void Abort()
    {
        InProcessConnection[] unaccepted;
        TaskCompletionSource<bool>? wake;
        lock (_localGate)
        {
            _closed = true;
            unaccepted = [.. _localPending];
            _localPending.Clear();
            wake = _localArrived;
            _localArrived = null;
        }
        network.ForgetListener(this);
        socket.Dispose();
        foreach (InProcessConnection connection in unaccepted)
        {
            connection.Abort(); // its dialer sees the connection reset, as after a TCP listener closes its backlog
        }
        wake?.TrySetResult(true);
    }

    private InProcessConnection? TakeLocal()
    {
        lock (_localGate)
        {
            return _localPending.TryDequeue(out InProcessConnection? connection) ? connection : null;
        }
    }

    /// <summary>
    /// Waits for the socket accept (true) or an in-process dial (false). The socket accept is not canceled by
    /// <paramref name="cancellationToken"/>: it stays in flight for the next accept, so no TCP client is dropped.
    /// </summary>
    private async Task<bool> SocketOrLocalAsync(CancellationToken cancellationToken)
    {
        if (_socketAccept is null)
        {
            _socketAccept = socket.AcceptAsync(CancellationToken.None).AsTask();
            // Closing the listener fails an accept nobody may await again; observe it so it is not reported as lost.
            _ = _socketAccept.ContinueWith(static task => _ = task.Exception, CancellationToken.None,
                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (_socketAccept.IsCompleted)
        {
            return true;
        }
        TaskCompletionSource<bool> arrived;
        lock (_localGate)
        {
            if (_localPending.Count > 0 || _closed)
            {
                return false;
            }
            arrived = _localArrived ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        var canceled = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using (cancellationToken.Register(static state => ((TaskCompletionSource<bool>)state!).TrySetResult(true), canceled))
        {
            Task first = await Task.WhenAny(_socketAccept, arrived.Task, canceled.Task);
            if (first == canceled.Task)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }
            return first == _socketAccept;
        }
    }
}
