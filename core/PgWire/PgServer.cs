using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.PgWire;

/// <summary>
/// The PostgreSQL wire protocol (v3) server: listens on a port of a node's <see cref="INetwork"/> in
/// <see cref="StreamMode.Raw"/> and serves every connection on the node loop, handing SQL to sessions from an
/// <see cref="IPgServerHandler"/>.
/// </summary>
/// <remarks>
/// Everything runs on the loop of the node that owns the network; there are no locks. One connection's failure
/// (bad input, a client that vanishes, even a session that throws) ends only that connection. Process ids are
/// handed out in order from <see cref="PgServerOptions.FirstProcessId"/>; secret keys come from the random stream,
/// so a simulated run is reproducible.
/// </remarks>
public sealed class PgServer
{
    private readonly INetwork _network;
    private readonly IRandom _random;
    // Connections past startup, by process id: the targets of CancelRequests.
    private readonly Dictionary<int, PgConnection> _byProcessId = [];
    // Every connection being served, for shutdown. A list, not a set: iteration order must not depend on hashing.
    private readonly List<PgConnection> _open = [];
    private readonly List<Task> _serving = [];
    private IListener? _listener;
    private int _nextProcessId;

    public PgServer(INetwork network, IPgServerHandler handler, IRandom random, PgServerOptions? options = null)
    {
        _network = network;
        Handler = handler;
        _random = random;
        Options = options ?? new PgServerOptions();
        _nextProcessId = Options.FirstProcessId;
    }

    internal IPgServerHandler Handler { get; }

    internal PgServerOptions Options { get; }

    /// <summary>Where the server listens, once <see cref="Start"/> succeeded.</summary>
    public Endpoint? LocalEndpoint => _listener?.LocalEndpoint;

    /// <summary>Connections currently being served (startup included).</summary>
    public int ConnectionCount => _open.Count;

    /// <summary>Starts listening on <paramref name="port"/> (0 picks a free one); call once, before <see cref="RunAsync"/>.</summary>
    public NetResult<IListener> Start(int port)
    {
        if (_listener is not null)
        {
            throw new InvalidOperationException("the pgwire server was already started");
        }
        NetResult<IListener> listening = _network.Listen(port, StreamMode.Raw);
        _listener = listening.Value;
        return listening;
    }

    /// <summary>
    /// Accepts and serves connections until <paramref name="cancellationToken"/> is canceled or the listener closes;
    /// then closes the listener and every connection (running calls see their token canceled) and returns when all
    /// have ended.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        IListener listener = _listener ?? throw new InvalidOperationException("call Start before RunAsync");
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                NetResult<IConnection> accepted = await listener.AcceptAsync(cancellationToken);
                if (!accepted.IsOk)
                {
                    break;
                }
                var connection = new PgConnection(this, accepted.Unwrap());
                _open.Add(connection);
                _serving.Add(ServeAsync(connection));
                _serving.RemoveAll(static task => task.IsCompleted);
            }
        }
        finally
        {
            listener.Dispose();
            foreach (PgConnection connection in _open.ToArray())
            {
                connection.Shutdown();
            }
            await Task.WhenAll(_serving);
        }
    }

    private async Task ServeAsync(PgConnection connection)
    {
        try
        {
            await connection.RunAsync();
        }
        finally
        {
            _open.Remove(connection);
            connection.Dispose();
            if (connection.ProcessId is int processId && _byProcessId.GetValueOrDefault(processId) == connection)
            {
                _byProcessId.Remove(processId);
            }
        }
    }

    internal (int ProcessId, int SecretKey) Register(PgConnection connection)
    {
        int processId = _nextProcessId++;
        if (_nextProcessId == int.MaxValue)
        {
            _nextProcessId = Options.FirstProcessId;
        }
        int secretKey = (int)_random.NextUInt64();
        _byProcessId[processId] = connection;
        return (processId, secretKey);
    }

    /// <summary>A CancelRequest: cancels the matching connection's running call, if any, and tells the handler.</summary>
    internal void Cancel(int processId, int secretKey)
    {
        if (_byProcessId.TryGetValue(processId, out PgConnection? target) && target.SecretKey == secretKey)
        {
            target.CancelRunningCall();
        }
        Handler.Cancel(processId, secretKey);
    }
}
