using System;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// Framed, connection-oriented messaging between nodes. Production carries frames over TCP with a
/// length prefix; the simulator carries them in memory and injects delay, loss, partitions and (for
/// scenarios that declare they tolerate it) duplication and reordering.
/// </summary>
/// <remarks>
/// A connection delivers frames in the order they were sent until it breaks. A broken connection is an
/// event, not an exception: <see cref="IConnection.ReceiveAsync"/> returns a closed result, and frames
/// sent but not yet delivered are lost. Code that needs more than that (retries, deduplication) builds
/// it above this seam.
/// </remarks>
public interface INetwork
{
    /// <summary>Largest frame payload either side accepts; larger sends are refused, larger receives close the connection.</summary>
    public const int FrameBytesMax = 64 * 1024 * 1024;

    /// <summary>
    /// Starts accepting connections on <paramref name="port"/> of this node's own address; every accepted
    /// connection carries <paramref name="mode"/> (frames, or a raw byte stream for foreign protocols such as pgwire).
    /// </summary>
    NetResult<IListener> Listen(int port, StreamMode mode = StreamMode.Framed);

    /// <summary>Opens a framed connection; a refused, unreachable or timed-out peer is a failed result.</summary>
    ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, CancellationToken cancellationToken = default);

    /// <summary>Opens a connection in <paramref name="mode"/>; both ends must agree on the mode (nothing checks it).</summary>
    ValueTask<NetResult<IConnection>> ConnectAsync(Endpoint remote, StreamMode mode, CancellationToken cancellationToken = default);
}

/// <summary>What a connection carries.</summary>
public enum StreamMode
{
    /// <summary>
    /// Whole frames: each <see cref="IConnection.Send"/> arrives as one <see cref="IConnection.ReceiveAsync"/>
    /// result (production prefixes each with its 4-byte big-endian length).
    /// </summary>
    Framed,

    /// <summary>
    /// A byte stream without framing, for protocols that define their own (pgwire): <see cref="IConnection.Send"/>
    /// writes the bytes as they are, and <see cref="IConnection.ReceiveAsync"/> returns the next chunk of at least one
    /// byte, in order. Chunk boundaries carry no meaning: one send may arrive in several chunks, several sends in one.
    /// </summary>
    Raw,
}

/// <summary>A listening port. Disposing it stops accepting; established connections stay open.</summary>
public interface IListener : IDisposable
{
    Endpoint LocalEndpoint { get; }

    /// <summary>The next inbound connection, or a failed result once the listener is closed.</summary>
    ValueTask<NetResult<IConnection>> AcceptAsync(CancellationToken cancellationToken = default);
}

/// <summary>One end of an established connection, owned by the node loop that opened or accepted it.</summary>
public interface IConnection : IDisposable
{
    Endpoint LocalEndpoint { get; }

    Endpoint RemoteEndpoint { get; }

    /// <summary>False once either side closed it or it broke.</summary>
    bool IsOpen { get; }

    /// <summary>
    /// Queues one frame (in <see cref="StreamMode.Raw"/>: the bytes of the stream). Returns <see cref="NetStatus.Ok"/> when queued (not when delivered),
    /// <see cref="NetStatus.Closed"/> on a closed connection, <see cref="NetStatus.FrameTooLarge"/> above
    /// <see cref="INetwork.FrameBytesMax"/>. The caller may reuse <paramref name="frame"/> after the call.
    /// </summary>
    NetStatus Send(ReadOnlySpan<byte> frame);

    /// <summary>
    /// The next frame (in <see cref="StreamMode.Raw"/>: the next chunk of one or more bytes), or a closed result
    /// (with the reason) when the connection ended.
    /// </summary>
    ValueTask<Received> ReceiveAsync(CancellationToken cancellationToken = default);
}

public enum NetStatus
{
    Ok,
    Closed,
    FrameTooLarge,
    Refused,
    Unreachable,
    TimedOut,
    AddressInUse,
    Canceled,
}

/// <summary>One received frame, or the end of the connection.</summary>
public readonly struct Received
{
    private Received(byte[]? payload, NetStatus status, string reason)
    {
        Payload = payload ?? [];
        Status = status;
        Reason = reason;
    }

    /// <summary>The frame's bytes; the receiver owns the array.</summary>
    public byte[] Payload { get; }

    public NetStatus Status { get; }

    /// <summary>Why the connection ended, in plain words; empty for a frame.</summary>
    public string Reason { get; }

    public bool IsFrame => Status == NetStatus.Ok;

    public static Received Frame(byte[] payload) => new(payload, NetStatus.Ok, "");

    public static Received Closed(string reason, NetStatus status = NetStatus.Closed) => new(null, status, reason);
}

/// <summary>The outcome of a network operation that produces a value.</summary>
public readonly struct NetResult<T>
    where T : class
{
    private NetResult(T? value, NetStatus status, string error)
    {
        Value = value;
        Status = status;
        Error = error;
    }

    public T? Value { get; }

    public NetStatus Status { get; }

    public string Error { get; }

    public bool IsOk => Status == NetStatus.Ok;

    public static NetResult<T> Ok(T value) => new(value, NetStatus.Ok, "");

    public static NetResult<T> Fail(NetStatus status, string error) =>
        status == NetStatus.Ok ? throw new ArgumentException("a failure needs a failing status", nameof(status)) : new(null, status, error);

    /// <summary>The value of a successful result; a bug to call on a failed one.</summary>
    public T Unwrap() => Value ?? throw new InvalidOperationException($"network operation failed: {Status}: {Error}");
}
