using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;
using Kernel.Runtime;

namespace Kernel.PgWire;

/// <summary>
/// One client connection: the startup handshake, then the simple and extended query protocols, on the node loop.
/// </summary>
/// <remarks>
/// Two async flows share the connection. The pump (<see cref="PumpAsync"/>) reads chunks into the frontend reader
/// all the time, so a client that goes away is noticed even while a session call runs (its token is then
/// canceled). The main flow (<see cref="RunAsync"/>) takes whole messages from the reader and answers them one at a
/// time; it alone writes. While a call runs, the pump stops reading once <see cref="PgServerOptions.ReadAheadBytesMax"/>
/// bytes are waiting.
/// <para>
/// Error rules, as PostgreSQL: a framing violation (bad length, unknown message type) is FATAL and closes the
/// connection; a malformed message body or a failed statement is an ERROR. After an ERROR in the extended protocol,
/// messages are discarded until Sync, which answers ReadyForQuery.
/// </para>
/// </remarks>
internal sealed partial class PgConnection : IDisposable
{
    private const int SslRequestCode = 80877103;
    private const int GssEncRequestCode = 80877104;
    private const int CancelRequestCode = 80877102;
    private const int ProtocolMajor = 3;

    private readonly PgServer _server;
    private readonly IConnection _connection;
    private readonly PgFrontendReader _reader;
    private readonly PgBackendWriter _writer = new();
    // Canceled when the connection ends for any reason (client gone, server shutdown): stops the pump and calls.
    private readonly CancellationTokenSource _ending = new();
    private readonly Dictionary<string, PgPrepared> _statements = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Portal> _portals = new(StringComparer.Ordinal);
    private readonly ResultSink _sink;

    private TaskCompletionSource? _bytesArrived; // set by the pump when bytes arrive or the stream ends
    private TaskCompletionSource? _callEnded; // set when a call ends, to restart a pump that paused for read-ahead
    private bool _clientGone;
    private string _goneReason = "";
    private CancellationTokenSource? _call; // the running session call's cancellation, or null
    private bool _callRunning;
    private IPgSession? _session;
    private bool _ignoreTillSync;

    public PgConnection(PgServer server, IConnection connection)
    {
        _server = server;
        _connection = connection;
        _reader = new PgFrontendReader(server.Options.MessageBytesMax, server.Options.StartupPacketBytesMax);
        _sink = new ResultSink(this);
    }

    public int? ProcessId { get; private set; }

    public int SecretKey { get; private set; }

    private PgServerOptions Options => _server.Options;

    /// <summary>Ends the connection from the server side (shutdown): the running call is canceled, the loop ends.</summary>
    public void Shutdown()
    {
        _ending.Cancel();
        Wake();
    }

    /// <summary>Releases the cancellation source, once <see cref="RunAsync"/> has returned (its pump has ended too).</summary>
    public void Dispose() => _ending.Dispose();

    public void CancelRunningCall()
    {
        if (_callRunning)
        {
            _call?.Cancel();
        }
    }

    public async Task RunAsync()
    {
        Task pump = PumpAsync();
        try
        {
            if (await StartupAsync())
            {
                await ServeMessagesAsync();
            }
        }
        catch (Exception exception) when (exception is not InvariantViolationException)
        {
            // A bug (ours or the session's), not bad input: this connection ends, the server and its other
            // connections go on. The host hears of it through OnInternalError.
            _writer.Abandon();
            _writer.ErrorOrNotice(new PgError("XX000", "internal error: " + exception.Message, "FATAL"), isNotice: false);
            _writer.Flush(_connection);
            Options.OnInternalError?.Invoke(exception);
        }
        finally
        {
            _ending.Cancel();
            if (_session is not null)
            {
                IPgSession session = _session;
                _session = null;
                await session.DisposeAsync();
            }
            _connection.Dispose();
            await pump;
        }
    }

    // ---------------------------------------------------------------- reading

    private async Task PumpAsync()
    {
        // Each pass either appends at least one byte or ends: the stream is finite.
        while (!_ending.IsCancellationRequested)
        {
            while (_callRunning && _reader.BufferedBytes > Options.ReadAheadBytesMax && !_ending.IsCancellationRequested)
            {
                _callEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                await _callEnded.Task;
            }
            Received received = await _connection.ReceiveAsync(_ending.Token);
            if (!received.IsFrame)
            {
                _goneReason = received.Reason;
                break;
            }
            _reader.Append(received.Payload);
            Wake();
        }
        _clientGone = true;
        _call?.Cancel();
        Wake();
    }

    private void Wake()
    {
        TaskCompletionSource? waiting = _bytesArrived;
        _bytesArrived = null;
        waiting?.TrySetResult();
    }

    private enum NextKind
    {
        Message,
        Gone,
        Violation,
    }

    private async ValueTask<(NextKind Kind, PgFrontendMessage Message, string Violation)> NextMessageAsync()
    {
        // Each pass either returns or waits for the pump, which either adds bytes or ends.
        while (true)
        {
            PgReadStatus status = _reader.TryRead(out PgFrontendMessage message, out string violation);
            if (status == PgReadStatus.Message)
            {
                return (NextKind.Message, message, "");
            }
            if (status == PgReadStatus.Violation)
            {
                return (NextKind.Violation, default, violation);
            }
            if (_clientGone || _ending.IsCancellationRequested)
            {
                return (NextKind.Gone, default, _goneReason);
            }
            var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _bytesArrived = arrived;
            await arrived.Task;
        }
    }

    // ---------------------------------------------------------------- startup

    private async Task<bool> StartupAsync()
    {
        // SSLRequest and GSSENCRequest may each precede the startup packet once; bound the handshake anyway.
        for (int packets = 0; packets < 3; packets++)
        {
            (NextKind kind, PgFrontendMessage message, string violation) = await NextMessageAsync();
            if (kind == NextKind.Gone)
            {
                return false;
            }
            if (kind == NextKind.Violation)
            {
                Fatal("08P01", violation);
                return false;
            }
            var body = new PgBodyReader(message.Body);
            int code = body.ReadInt32();
            if (code is SslRequestCode or GssEncRequestCode)
            {
                body.ExpectEnd();
                if (body.Failed)
                {
                    Fatal("08P01", "invalid length of startup packet");
                    return false;
                }
                // No TLS and no GSSAPI encryption: 'N', and the client continues in plain text.
                _writer.WriteByte((byte)'N');
                _writer.Flush(_connection);
                continue;
            }
            if (code == CancelRequestCode)
            {
                int processId = body.ReadInt32();
                int secretKey = body.ReadInt32();
                body.ExpectEnd();
                if (!body.Failed)
                {
                    _server.Cancel(processId, secretKey);
                }
                return false; // the cancel connection gets no answer, only a close
            }
            int major = code >>> 16;
            int minor = code & 0xFFFF;
            if (major != ProtocolMajor)
            {
                // PostgreSQL reports this as feature_not_supported.
                Fatal("0A000", $"unsupported frontend protocol {major}.{minor}: server supports {ProtocolMajor}.0 to {ProtocolMajor}.0");
                return false;
            }
            return Start(ref body, minor);
        }
        Fatal("08P01", "too many encryption requests before the startup packet");
        return false;
    }

    private bool Start(ref PgBodyReader body, int minor)
    {
        var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var unrecognized = new List<string>();
        // Each pass consumes at least one byte (a terminator), so it ends with the body.
        while (!body.Failed)
        {
            string name = body.ReadCString();
            if (name.Length == 0)
            {
                break;
            }
            string value = body.ReadCString();
            if (name.StartsWith("_pq_.", StringComparison.Ordinal))
            {
                unrecognized.Add(name);
                continue;
            }
            parameters[name] = value;
        }
        body.ExpectEnd();
        if (body.Failed)
        {
            Fatal("08P01", "invalid startup packet layout: expected terminator as last byte");
            return false;
        }
        if (!parameters.TryGetValue("user", out string? user) || user.Length == 0)
        {
            Fatal("28000", "no PostgreSQL user name specified in startup packet");
            return false;
        }
        if (!parameters.ContainsKey("database"))
        {
            parameters["database"] = user;
        }
        _reader.ExpectStartup = false;
        (int processId, int secretKey) = _server.Register(this);
        ProcessId = processId;
        SecretKey = secretKey;
        PgSessionStart start = _server.Handler.StartSession(parameters, processId, secretKey);
        if (start.Session is null)
        {
            PgError error = start.Error ?? new PgError("XX000", "the server refused the session without saying why");
            _writer.ErrorOrNotice(error with { Severity = "FATAL" }, isNotice: false);
            _writer.Flush(_connection);
            return false;
        }
        _session = start.Session;
        if (minor > 0 || unrecognized.Count > 0)
        {
            _writer.NegotiateProtocolVersion(0, unrecognized);
        }
        _writer.AuthenticationOk();
        foreach ((string name, string value) in ParameterStatus(parameters, _session.ParameterStatus))
        {
            _writer.ParameterStatus(name, value);
        }
        _writer.BackendKeyData(processId, secretKey);
        _writer.ReadyForQuery(_session.TransactionStatus);
        _writer.Flush(_connection);
        return true;
    }

    /// <summary>The defaults drivers expect, in order, with the session's values replacing them or added after them.</summary>
    internal static List<KeyValuePair<string, string>> ParameterStatus(
        IReadOnlyDictionary<string, string> startup, IReadOnlyList<KeyValuePair<string, string>> session)
    {
        var merged = new List<KeyValuePair<string, string>>
        {
            new("server_version", "15.0"),
            new("server_encoding", "UTF8"),
            new("client_encoding", "UTF8"),
            new("DateStyle", "ISO, MDY"),
            new("IntervalStyle", "postgres"),
            new("integer_datetimes", "on"),
            new("standard_conforming_strings", "on"),
            new("TimeZone", "UTC"),
            new("application_name", startup.GetValueOrDefault("application_name", "")),
            new("is_superuser", "off"),
            new("session_authorization", startup.GetValueOrDefault("user", "")),
        };
        foreach (KeyValuePair<string, string> pair in session)
        {
            int at = merged.FindIndex(existing => string.Equals(existing.Key, pair.Key, StringComparison.Ordinal));
            if (at >= 0)
            {
                merged[at] = pair;
            }
            else
            {
                merged.Add(pair);
            }
        }
        return merged;
    }

    private void Fatal(string sqlState, string message)
    {
        _writer.ErrorOrNotice(new PgError(sqlState, message, "FATAL"), isNotice: false);
        _writer.Flush(_connection);
    }

    // ---------------------------------------------------------------- messages

    private async Task ServeMessagesAsync()
    {
        IPgSession session = _session!;
        // Each pass consumes one message; the stream of messages ends when the client goes.
        while (true)
        {
            (NextKind kind, PgFrontendMessage message, string violation) = await NextMessageAsync();
            if (kind == NextKind.Gone)
            {
                return;
            }
            if (kind == NextKind.Violation)
            {
                Fatal("08P01", violation);
                return;
            }
            byte type = message.Type;
            if (type == (byte)'X')
            {
                return;
            }
            if (_ignoreTillSync && type != (byte)'S')
            {
                continue;
            }
            var body = new PgBodyReader(message.Body);
            switch ((char)type)
            {
                case 'Q':
                    await SimpleQueryAsync(session, body);
                    break;
                case 'P':
                    Parse(session, body);
                    break;
                case 'B':
                    Bind(body);
                    break;
                case 'D':
                    Describe(body);
                    break;
                case 'E':
                    await ExecuteAsync(session, body);
                    break;
                case 'C':
                    Close(body);
                    break;
                case 'S':
                    Sync(session, body);
                    break;
                case 'H':
                    _writer.Flush(_connection);
                    break;
                case 'd':
                case 'c':
                case 'f':
                    // CopyData, CopyDone, CopyFail outside COPY FROM STDIN: ignored, as PostgreSQL does (they may
                    // trail a COPY that failed).
                    break;
                case 'F':
                    ErrorInExtended(new PgError("0A000", "the function call protocol message is not supported"));
                    _writer.ReadyForQuery(session.TransactionStatus);
                    _ignoreTillSync = false;
                    _writer.Flush(_connection);
                    break;
                default:
                    Fatal("08P01", $"invalid frontend message type {type} ('{PgFrontendReader.Printable(type)}')");
                    return;
            }
            if (_writer.BufferedBytes > Options.SendBufferBytesMax)
            {
                _writer.Flush(_connection);
            }
        }
    }

    private async Task SimpleQueryAsync(IPgSession session, PgBodyReader body)
    {
        string sql = body.ReadCString();
        body.ExpectEnd();
        if (body.Failed)
        {
            _writer.ErrorOrNotice(new PgError("08P01", body.Failure!), isNotice: false);
        }
        else
        {
            // A simple query ends the unnamed statement and portal, as in PostgreSQL.
            _statements.Remove("");
            _portals.Remove("");
            _sink.BeginSimple();
            await RunCallAsync(token => session.ExecuteSimpleAsync(sql, _sink, token));
        }
        _ignoreTillSync = false;
        _writer.ReadyForQuery(session.TransactionStatus);
        _writer.Flush(_connection);
    }

    /// <summary>
    /// Runs one session call with a token that a CancelRequest or the client leaving cancels. A call that ends by
    /// throwing <see cref="OperationCanceledException"/> after its token was canceled reports 57014, as PostgreSQL does.
    /// </summary>
    private async Task RunCallAsync(Func<CancellationToken, Task> call)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(_ending.Token);
        _call = cancel;
        _callRunning = true;
        try
        {
            if (_clientGone)
            {
                cancel.Cancel();
            }
            await call(cancel.Token);
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            _sink.ErrorFromServer(new PgError("57014", "canceling statement due to user request"));
        }
        finally
        {
            _callRunning = false;
            _call = null;
            _sink.End();
            TaskCompletionSource? resume = _callEnded;
            _callEnded = null;
            resume?.TrySetResult();
        }
    }

    private void ErrorInExtended(PgError error)
    {
        _writer.ErrorOrNotice(error, isNotice: false);
        _ignoreTillSync = true;
    }

    private void Sync(IPgSession session, PgBodyReader body)
    {
        _ = body; // Sync has no body; extra bytes are harmless here.
        _ignoreTillSync = false;
        if (session.TransactionStatus == 'I')
        {
            // The implicit transaction ended: its portals go with it.
            _portals.Clear();
        }
        _writer.ReadyForQuery(session.TransactionStatus);
        _writer.Flush(_connection);
    }

    internal void FlushFromSink()
    {
        _writer.Flush(_connection);
    }

    internal PgBackendWriter Writer => _writer;

    internal static string Quote(string name) => "\"" + name + "\"";

    internal static string Format(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A bound statement: parameters decoded, result formats chosen, and rows held back by a row limit.</summary>
    private sealed class Portal(PgPrepared statement, IReadOnlyList<Datum> parameters, short[] resultFormats)
    {
        public PgPrepared Statement { get; } = statement;

        public IReadOnlyList<Datum> Parameters { get; } = parameters;

        public short[] ResultFormats { get; } = resultFormats;

        /// <summary>Once run under a row limit: the DataRow messages not yet sent, and how the run ended.</summary>
        public Queue<byte[]>? PendingRows { get; set; }

        public string? Tag { get; set; }

        public PgError? Error { get; set; }

        public bool Completed { get; set; }
    }
}
