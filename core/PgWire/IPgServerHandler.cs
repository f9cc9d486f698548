using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.PgWire;

/// <summary>A result column as clients see it in RowDescription: its name and SQL type.</summary>
public sealed record PgColumn(string Name, SqlType Type);

/// <summary>
/// An error or notice for ErrorResponse / NoticeResponse: SQLSTATE (field C), message (M), severity (S and V:
/// ERROR, FATAL, PANIC for errors; WARNING, NOTICE, DEBUG, INFO, LOG for notices), optional detail (D), hint (H)
/// and a 1-based character position in the query text (P).
/// </summary>
public sealed record PgError(string SqlState, string Message, string Severity = "ERROR", string? Detail = null, string? Hint = null, int? Position = null);

/// <summary>
/// What the server needs from the database (environmentd): sessions for new connections, and cancellation of
/// running queries by (process id, secret key).
/// </summary>
/// <remarks>Called on the node loop that runs the <see cref="PgServer"/>, one call at a time.</remarks>
public interface IPgServerHandler
{
    /// <summary>
    /// Opens a session after a client's StartupMessage (authentication has passed). <paramref name="startupParameters"/>
    /// holds what the client sent (<c>user</c>, <c>database</c>, <c>application_name</c>, <c>options</c>, ...);
    /// <paramref name="processId"/> and <paramref name="secretKey"/> are what the client will get in BackendKeyData.
    /// Return a session, or an error that is sent as a FATAL ErrorResponse before the connection closes.
    /// </summary>
    PgSessionStart StartSession(IReadOnlyDictionary<string, string> startupParameters, int processId, int secretKey);

    /// <summary>
    /// A CancelRequest arrived on another connection. The server has already canceled the running call of its own
    /// connection with this process id and secret key, if any; this hook is for sessions that run work elsewhere.
    /// Called for every CancelRequest, matching or not (the handler must check the key before acting).
    /// </summary>
    void Cancel(int processId, int secretKey);
}

/// <summary>The outcome of <see cref="IPgServerHandler.StartSession"/>: exactly one of a session and an error.</summary>
public sealed record PgSessionStart(IPgSession? Session, PgError? Error)
{
    public static PgSessionStart Started(IPgSession session) => new(session, null);

    public static PgSessionStart Refused(PgError error) => new(null, error);
}

/// <summary>
/// One client session: runs SQL and reports results through an <see cref="IPgResultSink"/>. The server owns it from
/// <see cref="IPgServerHandler.StartSession"/> until it disposes it when the connection ends (however it ends).
/// </summary>
/// <remarks>
/// Called on the server's node loop, one call at a time per session: the server never starts a call before the
/// previous one (including its returned task) has finished. The sink passed to a call is valid only until that
/// call's task completes.
/// </remarks>
public interface IPgSession : IAsyncDisposable
{
    /// <summary>
    /// Run-time parameters to report in ParameterStatus after AuthenticationOk; each overrides a server default of
    /// the same name (server_version, client_encoding, DateStyle, ...) or adds a new one. Read once at startup.
    /// </summary>
    IReadOnlyList<KeyValuePair<string, string>> ParameterStatus { get; }

    /// <summary>The transaction status for ReadyForQuery: 'I' idle, 'T' in a transaction block, 'E' in a failed one.</summary>
    char TransactionStatus { get; }

    /// <summary>
    /// Simple query: runs each statement of <paramref name="sql"/> in order, writing each one's results to
    /// <paramref name="sink"/> (RowDescription, rows, CommandComplete; or EmptyQuery for an empty statement), or an
    /// Error, after which the rest is skipped. <paramref name="cancellationToken"/> is canceled by a CancelRequest for
    /// this connection or when the client goes away.
    /// </summary>
    Task ExecuteSimpleAsync(string sql, IPgResultSink sink, CancellationToken cancellationToken);

    /// <summary>
    /// Parse: prepares one statement (an empty string is allowed and executes as EmptyQuery). Declared parameter types
    /// may be null (unspecified, oid 0); the result's <see cref="PgPrepared.ParameterTypes"/> gives every parameter's
    /// type, as many as the statement uses (at least as many as were declared).
    /// </summary>
    PgPrepareResult Prepare(string sql, IReadOnlyList<SqlType?> declaredParameterTypes);

    /// <summary>
    /// Executes a prepared statement with bound <paramref name="parameters"/>: one per
    /// <see cref="PgPrepared.ParameterTypes"/>, decoded as that type (<see cref="Datum.Null"/> for NULL; a parameter of
    /// type <see cref="SqlType.Unknown"/> is its text as a string). Rows go to <paramref name="sink"/> without a
    /// RowDescription (Describe already sent it); ends with CommandComplete or Error. Cancellation as for
    /// <see cref="ExecuteSimpleAsync"/>.
    /// </summary>
    Task ExecuteAsync(PgPrepared statement, IReadOnlyList<Datum> parameters, IPgResultSink sink, CancellationToken cancellationToken);
}

/// <summary>The outcome of <see cref="IPgSession.Prepare"/>: exactly one of a statement and an error.</summary>
public sealed record PgPrepareResult(PgPrepared? Statement, PgError? Error)
{
    public static PgPrepareResult Prepared(PgPrepared statement) => new(statement, null);

    public static PgPrepareResult Failed(PgError error) => new(null, error);
}

/// <summary>
/// A prepared statement: its text, the type of every parameter, its result columns (null when it returns no rows,
/// such as INSERT or CREATE TABLE), and <paramref name="State"/>, which belongs to the session (a plan, say) and
/// which the server only hands back to <see cref="IPgSession.ExecuteAsync"/>.
/// </summary>
public sealed record PgPrepared(string Sql, IReadOnlyList<SqlType> ParameterTypes, IReadOnlyList<PgColumn>? Columns, object? State);

/// <summary>
/// Where a session writes a statement's results. The server encodes them as backend messages and buffers them; they
/// reach the client at the end of the call or on <see cref="FlushAsync"/>.
/// </summary>
/// <remarks>
/// Per statement, the order is: RowDescription (simple query only), Row*, then CommandComplete; or EmptyQuery; or
/// Error at any point; or CopyOutBegin, CopyData*, CopyDone, CommandComplete("COPY n"). Notices may come at any
/// time. Out-of-order calls are bugs and fail fast.
/// </remarks>
public interface IPgResultSink
{
    /// <summary>The columns of the rows that follow. Ignored in extended mode (Describe sent it).</summary>
    void RowDescription(IReadOnlyList<PgColumn> columns);

    /// <summary>One row: a value per column, typed as the columns say (NULL is <see cref="Datum.Null"/>).</summary>
    void Row(ReadOnlySpan<Datum> values);

    /// <summary>The statement finished: <paramref name="tag"/> is e.g. "SELECT 3", "INSERT 0 1", "CREATE TABLE".</summary>
    void CommandComplete(string tag);

    /// <summary>The statement was empty (only whitespace or comments).</summary>
    void EmptyQuery();

    /// <summary>The statement failed; in a simple query the rest of the statements are skipped.</summary>
    void Error(PgError error);

    /// <summary>A notice (severity NOTICE, WARNING, ...) that does not end the statement.</summary>
    void Notice(PgError notice);

    /// <summary>Starts <c>COPY ... TO STDOUT</c> in text format with <paramref name="columnCount"/> columns.</summary>
    void CopyOutBegin(int columnCount);

    /// <summary>Bytes of the COPY stream (typically one text-format line per call).</summary>
    void CopyData(ReadOnlySpan<byte> data);

    /// <summary>Ends the COPY stream; CommandComplete("COPY n") follows.</summary>
    void CopyDone();

    /// <summary>Sends what is buffered now, for results that stream (COPY (SUBSCRIBE ...) TO STDOUT).</summary>
    ValueTask FlushAsync();
}

/// <summary>Settings of a <see cref="PgServer"/>.</summary>
public sealed record PgServerOptions
{
    /// <summary>
    /// The largest frontend message accepted, type and length included. PostgreSQL allows up to 1 GiB; a length above
    /// this is a protocol violation that closes the connection.
    /// </summary>
    public int MessageBytesMax { get; init; } = 1 << 30;

    /// <summary>The largest startup packet (PostgreSQL: 10000 bytes).</summary>
    public int StartupPacketBytesMax { get; init; } = 10_000;

    /// <summary>Bytes of backend messages buffered before the server sends them without waiting for the end of the call.</summary>
    public int SendBufferBytesMax { get; init; } = 64 * 1024;

    /// <summary>
    /// Bytes of frontend messages read ahead while a call runs. Past this the server stops reading until the call ends
    /// (and then no longer notices a client that goes away).
    /// </summary>
    public long ReadAheadBytesMax { get; init; } = 64L * 1024 * 1024;

    /// <summary>The first process id handed out in BackendKeyData; each connection gets the next.</summary>
    public int FirstProcessId { get; init; } = 1000;

    /// <summary>
    /// Called when a session call throws (a bug in the session, not bad input): the connection gets an XX000 error and
    /// closes. The default does nothing more; a simulation can fail the run here.
    /// </summary>
    public Action<Exception>? OnInternalError { get; init; }
}
