using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>
/// One TCP connection carrying length-prefixed frames: a 4-byte big-endian payload length, then the payload;
/// or, in <see cref="StreamMode.Raw"/>, the bytes as they are.
/// </summary>
/// <remarks>
/// Everything but <see cref="Abort"/> runs on the owning node loop, so the send queue and the receive state
/// need no locks. <see cref="Send"/> copies the frame into the queue; one writer task (started on the loop,
/// so it resumes there) drains it in order. Receiving is pulled by <see cref="ReceiveAsync"/>: nothing is
/// read from the socket that the node did not ask for, so the receive side needs no queue of its own. A
/// partly read frame is kept in <c>_header</c>/<c>_payload</c>, so a canceled receive loses no bytes.
/// <para>
/// The connection ends in one of two ways. <see cref="Break"/>: the peer closed it, an error, an oversized
/// length, or the send queue over its limit; queued frames are dropped and the socket closed at once.
/// <see cref="Dispose"/> on the loop: a local close; receives end at once, queued frames are still sent, and
/// the writer closes the socket when the queue is empty.
/// </para>
/// <para>
/// Raw mode sends without a header and receives whatever one socket read returns (up to <c>RawReadBytesMax</c>),
/// copied out of a reused buffer.
/// </para>
/// </remarks>
internal sealed class TcpConnection : IConnection, IAbortable
{
    private const int HeaderBytes = 4;
    private const int RawReadBytesMax = 64 * 1024;

    private readonly TcpNetwork _network;
    private readonly Socket _socket;
    private readonly StreamMode _mode;
    private byte[]? _rawBuffer; // raw mode: the receive buffer, allocated on the first receive

    // Loop-owned state below: touched only on the node loop.
    private readonly Queue<byte[]> _sendQueue = new(); // whole frames, header included, not yet fully written
    private long _sendQueueBytes;
    private bool _writerRunning;
    private bool _closeRequested; // Dispose was called: no more sends or receives
    private bool _broken; // the connection has ended; _closeReason says why
    private string _closeReason = "";
    private bool _receiving; // one ReceiveAsync at a time, or the frame state below would interleave
    private readonly byte[] _header = new byte[HeaderBytes];
    private int _headerFilled;
    private byte[]? _payload; // non-null once the header was read and the payload is being filled
    private int _payloadFilled;

    // Cancelled when the connection ends locally, so that a pending receive returns at once. Never disposed:
    // it owns no timer, and a receive that is still unwinding may yet read its token.
    private readonly CancellationTokenSource _closing = new();

    public TcpConnection(TcpNetwork network, Socket socket, Endpoint remoteEndpoint, StreamMode mode)
    {
        _network = network;
        _socket = socket;
        _mode = mode;
        RemoteEndpoint = remoteEndpoint;
        LocalEndpoint = TcpNetwork.ToEndpoint(SafeLocalEndPoint(socket));
        try
        {
            // Frames are messages: Nagle's algorithm would hold a small one back until the previous one is acknowledged.
            socket.NoDelay = true;
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Already broken or closed by a crash: the first send or receive reports it.
        }
    }

    public Endpoint LocalEndpoint { get; }

    public Endpoint RemoteEndpoint { get; }

    public bool IsOpen => !_broken && !_closeRequested;

    public NetStatus Send(ReadOnlySpan<byte> frame)
    {
        _network.Loop.AssertOnLoopThread(nameof(Send));
        if (ConnectionRules.RefuseSend(IsOpen, frame.Length) is NetStatus refused)
        {
            return refused;
        }
        int header = _mode == StreamMode.Raw ? 0 : HeaderBytes;
        int bytes = header + frame.Length;
        if (bytes == 0)
        {
            return NetStatus.Ok; // an empty raw write puts nothing on the stream
        }
        if (_sendQueueBytes + bytes > _network.Options.SendQueueBytesMax)
        {
            Break($"more than {_network.Options.SendQueueBytesMax} bytes were queued for sending to {RemoteEndpoint}: the peer is not reading");
            return NetStatus.Closed;
        }
        byte[] buffer = GC.AllocateUninitializedArray<byte>(bytes);
        if (header > 0)
        {
            BinaryPrimitives.WriteInt32BigEndian(buffer, frame.Length);
        }
        frame.CopyTo(buffer.AsSpan(header));
        _sendQueue.Enqueue(buffer);
        _sendQueueBytes += bytes;
        if (!_writerRunning)
        {
            _writerRunning = true;
            // Not awaited: the writer reports every failure by breaking the connection, never by throwing.
            _ = DrainAsync();
        }
        return NetStatus.Ok;
    }

    public async ValueTask<Received> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        _network.Loop.AssertOnLoopThread(nameof(ReceiveAsync));
        ConnectionRules.ThrowIfReceiving(_receiving, this);
        if (!IsOpen)
        {
            return Received.Closed(_broken ? _closeReason : ClosedLocally);
        }
        if (cancellationToken.IsCancellationRequested)
        {
            return Received.Closed($"receive on {this} was canceled", NetStatus.Canceled);
        }
        _receiving = true;
        CancellationTokenSource? linked = cancellationToken.CanBeCanceled
            ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _closing.Token)
            : null;
        try
        {
            CancellationToken token = linked?.Token ?? _closing.Token;
            if (_mode == StreamMode.Raw)
            {
                _rawBuffer ??= new byte[RawReadBytesMax];
                int got = await _socket.ReceiveAsync(_rawBuffer.AsMemory(), SocketFlags.None, token);
                return got == 0 ? EndOfStream() : Received.Frame(_rawBuffer.AsSpan(0, got).ToArray());
            }
            while (_headerFilled < HeaderBytes)
            {
                int read = await _socket.ReceiveAsync(_header.AsMemory(_headerFilled), SocketFlags.None, token);
                if (read == 0)
                {
                    return EndOfStream();
                }
                _headerFilled += read;
            }
            if (_payload is null)
            {
                // Read unsigned: a length with the top bit set is malformed, and is over the limit as well.
                uint length = BinaryPrimitives.ReadUInt32BigEndian(_header);
                if (length > INetwork.FrameBytesMax)
                {
                    Break($"{RemoteEndpoint} sent a frame length of {length} bytes, over the limit of {INetwork.FrameBytesMax}: " +
                        "the peer does not speak this protocol, or the stream is corrupt");
                    return Received.Closed(_closeReason);
                }
                _payload = length == 0 ? [] : GC.AllocateUninitializedArray<byte>((int)length);
                _payloadFilled = 0;
            }
            while (_payloadFilled < _payload.Length)
            {
                int read = await _socket.ReceiveAsync(_payload.AsMemory(_payloadFilled), SocketFlags.None, token);
                if (read == 0)
                {
                    return EndOfStream();
                }
                _payloadFilled += read;
            }
            byte[] frame = _payload;
            _payload = null;
            _headerFilled = 0;
            return Received.Frame(frame);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && IsOpen)
        {
            // No bytes are lost: a partly read frame stays in _header/_payload and the next receive continues it.
            return Received.Closed($"receive on {this} was canceled", NetStatus.Canceled);
        }
        catch (Exception exception)
        {
            if (IsOpen)
            {
                Break(Describe(exception, "receive"));
            }
            return Received.Closed(_broken ? _closeReason : ClosedLocally);
        }
        finally
        {
            _receiving = false;
            linked?.Dispose();
        }
    }

    /// <summary>
    /// On the loop: a graceful local close (queued frames are still sent, then the socket closes). From any other
    /// thread, where loop state is not ours to touch: the same as <see cref="Abort"/>.
    /// </summary>
    public void Dispose()
    {
        if (!_network.Loop.IsOnLoopThread)
        {
            _network.Unregister(this);
            Abort();
            return;
        }
        if (!IsOpen)
        {
            return;
        }
        _closeRequested = true;
        _closing.Cancel();
        if (!_writerRunning)
        {
            CloseSocket();
        }
    }

    /// <summary>Closes the socket at once, from any thread (a crash). Pending operations fail; their completions
    /// are posted to a loop that has stopped and are dropped.</summary>
    public void Abort() => _socket.Dispose();

    public override string ToString() => $"{LocalEndpoint}->{RemoteEndpoint}";

    private const string ClosedLocally = "the connection was closed locally";

    private async Task DrainAsync()
    {
        try
        {
            while (_sendQueue.Count > 0 && !_broken)
            {
                byte[] buffer = _sendQueue.Peek();
                // Each pass writes at least one byte or throws, so this loop runs at most buffer.Length times.
                for (int sent = 0; sent < buffer.Length;)
                {
                    int written = await _socket.SendAsync(buffer.AsMemory(sent), SocketFlags.None);
                    if (written <= 0)
                    {
                        throw new SocketException((int)SocketError.ConnectionReset);
                    }
                    sent += written;
                }
                if (_broken)
                {
                    break; // the queue was dropped while this frame was in flight
                }
                _sendQueue.Dequeue();
                _sendQueueBytes -= buffer.Length;
            }
        }
        catch (Exception exception)
        {
            Break(Describe(exception, "send"));
        }
        finally
        {
            _writerRunning = false;
        }
        if (_closeRequested && !_broken)
        {
            CloseSocket();
        }
    }

    private Received EndOfStream()
    {
        bool midFrame = _headerFilled > 0 || _payload is not null;
        Break(midFrame ? $"{RemoteEndpoint} closed the connection in the middle of a frame" : $"{RemoteEndpoint} closed the connection");
        return Received.Closed(_closeReason);
    }

    private void Break(string reason)
    {
        if (_broken)
        {
            return;
        }
        _closeReason = reason;
        _sendQueue.Clear();
        _sendQueueBytes = 0;
        _closing.Cancel();
        CloseSocket();
    }

    private void CloseSocket()
    {
        if (!_broken)
        {
            _broken = true;
            if (_closeReason.Length == 0)
            {
                _closeReason = ClosedLocally;
            }
        }
        _network.Unregister(this);
        try
        {
            // Send FIN after what is already in the kernel's buffer, rather than leaving it to close().
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            // Already reset or closed: nothing left to flush.
        }
        _socket.Dispose();
    }

    private string Describe(Exception exception, string operation) => exception switch
    {
        SocketException { SocketErrorCode: SocketError.ConnectionReset } => $"{RemoteEndpoint} reset the connection",
        SocketException socket => $"{operation} on {this}: {socket.Message} ({socket.SocketErrorCode})",
        ObjectDisposedException or OperationCanceledException => $"{operation} on {this}: the socket was closed",
        _ => $"{operation} on {this}: {exception.Message}",
    };

    private static System.Net.EndPoint? SafeLocalEndPoint(Socket socket)
    {
        try
        {
            return socket.LocalEndPoint;
        }
        catch (Exception exception) when (exception is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }
}
