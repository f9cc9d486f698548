using System;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Net.Compute;

/// <summary>The <see cref="Status.Kind"/> values the transports send and recognise.</summary>
public static class ComputeStatusKinds
{
    /// <summary>The replica refused the connection's epoch: a controller with a newer epoch has connected. Final for that controller.</summary>
    public const string Fenced = "fenced";

    /// <summary>The connection's Hello named a protocol version the replica does not speak.</summary>
    public const string VersionMismatch = "version-mismatch";

    /// <summary>The peer broke the protocol (no Hello first, an undecodable frame); the connection is closed.</summary>
    public const string ProtocolError = "protocol-error";

    /// <summary>A response was too large for one frame and could not be turned into an error answer.</summary>
    public const string ResponseTooLarge = "response-too-large";
}

/// <summary>
/// The replica's (clusterd's) end of the controller protocol: accepts controller connections on a port, admits
/// one at a time, and hands its commands to the replica in order.
/// </summary>
/// <remarks>
/// Admission: a connection's first frame must be a <see cref="Hello"/> with <see cref="Hello.CurrentVersion"/> and
/// an epoch at least the highest this transport has admitted; otherwise the connection gets a <see cref="Status"/>
/// saying why (<see cref="ComputeStatusKinds"/>) and is closed. A lower epoch is a stale controller, fenced out this
/// way. An admitted connection replaces the current one: the old one is closed and its commands not yet received
/// are dropped, so <see cref="ReceiveAsync"/> yields the new connection's Hello next, then its commands in order.
/// An undecodable frame gets a Status and closes its connection. The highest epoch lives in memory: a restarted
/// replica admits any epoch again (the controller's history replay makes that safe).
/// <para>
/// Runs on the owning node's loop (accept and receive loops are spawned there); not thread-safe.
/// </para>
/// </remarks>
public sealed class ComputeServerTransport : IDisposable
{
    /// <summary>The controller protocol's port by convention.</summary>
    public const int DefaultPort = 2100;

    /// <summary>Commands received but not yet taken by the replica before the transport stops reading the connection.</summary>
    public const int InboxCommandsMax = 4096;

    private static readonly TimeSpan s_helloTimeout = TimeSpan.FromSeconds(10);

    private readonly INodeContext _context;
    private readonly IListener _listener;
    private readonly Mailbox<ComputeCommand> _inbox = new(InboxCommandsMax);
    private IConnection? _current; // the admitted connection, or null; its frames feed _inbox
    private long _connectionsAccepted;
    private bool _disposed;

    private ComputeServerTransport(INodeContext context, IListener listener)
    {
        _context = context;
        _listener = listener;
    }

    /// <summary>The endpoint controllers dial.</summary>
    public Endpoint LocalEndpoint => _listener.LocalEndpoint;

    /// <summary>The highest epoch admitted so far (0 before any).</summary>
    public ulong HighestEpoch { get; private set; }

    /// <summary>How many connections have been admitted (each replaced the one before).</summary>
    public long ConnectionsAdmitted { get; private set; }

    /// <summary>True while an admitted connection is open.</summary>
    public bool IsConnected => _current is { IsOpen: true };

    /// <summary>
    /// Listens on <paramref name="port"/> of <paramref name="context"/>'s network and starts accepting on its loop;
    /// a failed result if the port cannot be bound.
    /// </summary>
    public static NetResult<ComputeServerTransport> Start(INodeContext context, int port = DefaultPort)
    {
        ArgumentNullException.ThrowIfNull(context);
        NetResult<IListener> listening = context.Network.Listen(port);
        if (!listening.IsOk)
        {
            return NetResult<ComputeServerTransport>.Fail(listening.Status, listening.Error);
        }
        var transport = new ComputeServerTransport(context, listening.Unwrap());
        context.Spawn("compute-server-accept", transport.AcceptLoopAsync);
        return NetResult<ComputeServerTransport>.Ok(transport);
    }

    /// <summary>
    /// The next command of the current connection (a new connection starts with its Hello); null once disposed.
    /// At most one call may be pending.
    /// </summary>
    public ValueTask<ComputeCommand?> ReceiveAsync(CancellationToken cancellationToken = default) => _inbox.ReceiveAsync(cancellationToken);

    /// <summary>
    /// Sends <paramref name="response"/> on the current connection; false (dropped) when there is none. A response
    /// too large for a frame is replaced by its error form: a peek answers with an error, a subscribe fails.
    /// </summary>
    public bool Send(ComputeResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        IConnection? connection = _current;
        if (connection is null || !connection.IsOpen)
        {
            return false;
        }
        NetStatus status = connection.Send(ComputeProtocol.EncodeResponse(response));
        if (status == NetStatus.FrameTooLarge)
        {
            string message = "the result is larger than the protocol's frame limit of "
                + INetwork.FrameBytesMax.ToString(CultureInfo.InvariantCulture) + " bytes";
            ComputeResponse replacement = response switch
            {
                PeekResponse peek => new PeekResponse(peek.Uuid, new PeekError("54000", message)),
                SubscribeResponse subscribe => new SubscribeResponse(subscribe.Id, new SubscribeError("54000", message)),
                _ => new Status(ComputeStatusKinds.ResponseTooLarge, message),
            };
            status = connection.Send(ComputeProtocol.EncodeResponse(replacement));
        }
        return status == NetStatus.Ok;
    }

    /// <summary>Closes the current connection (the controller reconnects and replays its history).</summary>
    public void CloseCurrentConnection(string reason)
    {
        if (_current is { } connection)
        {
            _context.Trace("compute-server-close", reason);
            _current = null;
            connection.Dispose();
        }
    }

    /// <summary>Stops listening, closes the current connection and ends <see cref="ReceiveAsync"/> with null.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _listener.Dispose();
        _current?.Dispose();
        _current = null;
        _inbox.Complete();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_disposed)
        {
            NetResult<IConnection> accepted = await _listener.AcceptAsync();
            if (!accepted.IsOk)
            {
                return; // the listener closed: disposed, or the node is going down
            }
            IConnection connection = accepted.Unwrap();
            if (_disposed)
            {
                connection.Dispose();
                return;
            }
            _connectionsAccepted++;
            string name = "compute-server-session-" + _connectionsAccepted.ToString(CultureInfo.InvariantCulture);
            _context.Spawn(name, () => SessionAsync(connection));
        }
    }

    private async Task SessionAsync(IConnection connection)
    {
        try
        {
            if (!await AdmitAsync(connection))
            {
                return;
            }
            while (_current == connection)
            {
                await _inbox.WaitForSpaceAsync();
                if (_current != connection)
                {
                    return;
                }
                Received received = await connection.ReceiveAsync();
                if (_current != connection)
                {
                    return; // replaced or closed meanwhile: whatever it sent is stale
                }
                if (!received.IsFrame)
                {
                    _context.Trace("compute-server-disconnected", received.Reason);
                    _current = null;
                    return;
                }
                if (!ComputeProtocol.TryDecodeCommand(received.Payload, out ComputeCommand? command, out string error))
                {
                    Refuse(connection, ComputeStatusKinds.ProtocolError, "undecodable command: " + error);
                    _current = null;
                    return;
                }
                if (command is Hello)
                {
                    Refuse(connection, ComputeStatusKinds.ProtocolError, "a second Hello on one connection");
                    _current = null;
                    return;
                }
                _inbox.Post(command!);
            }
        }
        finally
        {
            if (_current != connection)
            {
                connection.Dispose();
            }
        }
    }

    // Reads the connection's Hello and, if it passes, makes the connection the current one.
    private async Task<bool> AdmitAsync(IConnection connection)
    {
        Received first;
        using (var deadline = new CancellationTokenSource(s_helloTimeout, _context.Clock.TimeProvider))
        {
            first = await connection.ReceiveAsync(deadline.Token);
        }
        if (_disposed || !first.IsFrame)
        {
            return false;
        }
        if (!ComputeProtocol.TryDecodeCommand(first.Payload, out ComputeCommand? command, out string error))
        {
            Refuse(connection, ComputeStatusKinds.ProtocolError, "undecodable first frame: " + error);
            return false;
        }
        if (command is not Hello hello)
        {
            Refuse(connection, ComputeStatusKinds.ProtocolError, $"the first command must be Hello, not {command!.GetType().Name}");
            return false;
        }
        if (hello.ProtocolVersion != Hello.CurrentVersion)
        {
            Refuse(connection, ComputeStatusKinds.VersionMismatch, string.Create(CultureInfo.InvariantCulture,
                $"the replica speaks protocol version {Hello.CurrentVersion}, the controller sent {hello.ProtocolVersion}"));
            return false;
        }
        if (hello.Epoch < HighestEpoch)
        {
            Refuse(connection, ComputeStatusKinds.Fenced, string.Create(CultureInfo.InvariantCulture,
                $"epoch {hello.Epoch} is older than epoch {HighestEpoch}, which this replica already serves: a newer controller has taken over"));
            return false;
        }
        HighestEpoch = hello.Epoch;
        ConnectionsAdmitted++;
        IConnection? previous = _current;
        _current = connection;
        previous?.Dispose();
        _inbox.Clear();
        _inbox.Post(hello);
        _context.Trace("compute-server-admit", string.Create(CultureInfo.InvariantCulture, $"epoch {hello.Epoch} nonce {hello.Nonce:x16}"));
        return true;
    }

    private void Refuse(IConnection connection, string kind, string detail)
    {
        _context.Trace("compute-server-refuse", kind + ": " + detail);
        connection.Send(ComputeProtocol.EncodeResponse(new Status(kind, detail)));
        connection.Dispose(); // after the Status: a close sends what is queued first
    }
}
