using System;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>A listening TCP socket of a <see cref="TcpNetwork"/>.</summary>
internal sealed class TcpNetworkListener(TcpNetwork network, Socket socket, Endpoint localEndpoint, StreamMode mode) : IListener, IAbortable
{
    // A client that resets before we accept it surfaces as an accept error; skip it, but not forever.
    private const int AbortedAcceptsSkippedMax = 64;

    // Written on any thread (Dispose, Abort); read on the loop after a failed accept to word the result.
    private volatile bool _closed;

    public Endpoint LocalEndpoint { get; } = localEndpoint;

    public async ValueTask<NetResult<IConnection>> AcceptAsync(CancellationToken cancellationToken = default)
    {
        network.Loop.AssertOnLoopThread(nameof(AcceptAsync));
        for (int skipped = 0; ; skipped++)
        {
            if (_closed)
            {
                return NetResult<IConnection>.Fail(NetStatus.Closed, $"listener {LocalEndpoint} is closed");
            }
            Socket accepted;
            try
            {
                accepted = await socket.AcceptAsync(cancellationToken);
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
        _closed = true;
        socket.Dispose();
    }
}
