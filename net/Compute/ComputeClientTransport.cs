using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Net.Compute;

/// <summary>Timing of a <see cref="ComputeClientTransport"/>'s connection loop.</summary>
public sealed record ComputeClientOptions
{
    /// <summary>How long one connection attempt may take before it counts as failed.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first pause between attempts; each failure doubles it up to <see cref="BackoffMax"/>.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>The longest pause between attempts.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Responses received but not yet taken by the controller before the transport stops reading.</summary>
    public int InboxResponsesMax { get; init; } = 4096;
}

/// <summary>
/// The controller's (environmentd's) end of the controller protocol to one replica: keeps one connection up,
/// opening each with a fresh <see cref="Hello"/> and the controller's command history, and forwards commands and
/// responses on it.
/// </summary>
/// <remarks>
/// The loop (<see cref="RunAsync"/>, which the owner spawns on its node's loop): connect with capped exponential
/// backoff and jitter; send Hello (a nonce fresh per connection, the controller's epoch, the protocol version),
/// then every command the history callback returns, in one loop turn, so no <see cref="Send"/> can fall between
/// the history and the live stream; then forward. While disconnected <see cref="Send"/> drops commands: the
/// controller keeps them in its history, and the replay on reconnect delivers them.
/// <para>
/// Responses: <see cref="ReceiveAsync"/> yields the current connection's responses only. When a new connection is
/// established, undelivered responses of the old one are dropped, and so is anything the old one still
/// delivers. <see cref="ConnectCount"/> and <see cref="Connected"/> tell the controller a (re)connect happened.
/// A <see cref="Status"/> of kind <see cref="ComputeStatusKinds.Fenced"/> means a newer controller owns the
/// replica: <see cref="Fenced"/> is set, <see cref="FencedDetail"/> says why, the loop stops for good and
/// <see cref="ReceiveAsync"/> returns null once drained.
/// </para>
/// <para>Runs on the owning node's loop; not thread-safe.</para>
/// </remarks>
public sealed class ComputeClientTransport : IDisposable
{
    private readonly INetwork _network;
    private readonly IClock _clock;
    private readonly IRandom _random;
    private readonly Endpoint _replica;
    private readonly ulong _epoch;
    private readonly Func<IReadOnlyList<ComputeCommand>> _history;
    private readonly ComputeClientOptions _options;
    private readonly Mailbox<ComputeResponse> _inbox;
    private readonly CancellationTokenSource _stopping = new();
    private IConnection? _current; // the live connection, or null while (re)connecting
    private bool _running;
    private bool _disposed;

    public ComputeClientTransport(
        INetwork network,
        IClock clock,
        IRandom random,
        Endpoint replica,
        ulong epoch,
        Func<IReadOnlyList<ComputeCommand>> history,
        ComputeClientOptions? options = null)
    {
        _network = network ?? throw new ArgumentNullException(nameof(network));
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        _random = random ?? throw new ArgumentNullException(nameof(random));
        _history = history ?? throw new ArgumentNullException(nameof(history));
        _replica = replica;
        _epoch = epoch;
        _options = options ?? new ComputeClientOptions();
        _inbox = new Mailbox<ComputeResponse>(_options.InboxResponsesMax);
    }

    /// <summary>Raised on the loop each time a connection is established and its history sent.</summary>
    public event Action? Connected;

    /// <summary>Raised on the loop once, when the replica fences this controller out.</summary>
    public event Action<string>? FencedOut;

    public Endpoint Replica => _replica;

    public ulong Epoch => _epoch;

    /// <summary>Connections established so far; a change means the replica got a fresh Hello and the history.</summary>
    public long ConnectCount { get; private set; }

    /// <summary>The nonce of the current (or last) connection's Hello; 0 before the first.</summary>
    public ulong CurrentNonce { get; private set; }

    /// <summary>True while a connection is up.</summary>
    public bool IsConnected => _current is { IsOpen: true };

    /// <summary>True once the replica refused this controller's epoch; the loop has stopped for good.</summary>
    public bool Fenced { get; private set; }

    /// <summary>The replica's explanation when <see cref="Fenced"/>; empty otherwise.</summary>
    public string FencedDetail { get; private set; } = "";

    /// <summary>
    /// Keeps a connection to the replica until <paramref name="cancellationToken"/> fires, the transport is
    /// disposed, or the replica fences this controller. Call once; the owner spawns it on its node's loop.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (_running)
        {
            throw new InvalidOperationException("RunAsync may be called only once");
        }
        _running = true;
        using CancellationTokenSource linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        CancellationToken token = linked.Token;
        int failures = 0;
        try
        {
            while (!token.IsCancellationRequested && !Fenced)
            {
                if (failures > 0)
                {
                    await PauseAsync(failures, token);
                    if (token.IsCancellationRequested)
                    {
                        break;
                    }
                }
                IConnection? connection = await ConnectAsync(token);
                if (connection is null)
                {
                    failures++;
                    continue;
                }
                bool answered = await ServeAsync(connection, token);
                // A connection the replica answered on was healthy: start the backoff afresh. One it closed without
                // a word (a refused Hello, a replica going down) keeps backing off.
                failures = answered ? 1 : failures + 1;
            }
        }
        finally
        {
            _current?.Dispose();
            _current = null;
            _inbox.Complete();
        }
    }

    /// <summary>
    /// Sends <paramref name="command"/> on the live connection; false (dropped) while disconnected, since the
    /// history replay on reconnect covers it.
    /// </summary>
    public bool Send(ComputeCommand command)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (_current is not { IsOpen: true } connection)
        {
            return false;
        }
        NetStatus status = connection.Send(ComputeProtocol.EncodeCommand(command));
        if (status == NetStatus.FrameTooLarge)
        {
            throw new InvalidOperationException($"a {command.GetType().Name} command exceeds the {INetwork.FrameBytesMax}-byte frame limit");
        }
        return status == NetStatus.Ok;
    }

    /// <summary>The next response of the current connection; null once the loop has ended and every response was taken.</summary>
    public ValueTask<ComputeResponse?> ReceiveAsync(CancellationToken cancellationToken = default) => _inbox.ReceiveAsync(cancellationToken);

    /// <summary>Stops the loop and closes the connection.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        _stopping.Cancel();
        _current?.Dispose();
        _current = null;
        if (!_running)
        {
            _inbox.Complete();
        }
    }

    private async Task PauseAsync(int failures, CancellationToken token)
    {
        // Capped exponential backoff with "equal jitter": half the step fixed, half drawn, so controllers that
        // lost a replica together do not come back in lockstep.
        double stepMs = Math.Min(_options.BackoffMax.TotalMilliseconds, _options.BackoffInitial.TotalMilliseconds * Math.Pow(2, Math.Min(failures - 1, 30)));
        double pauseMs = (stepMs / 2) + (_random.NextDouble() * stepMs / 2);
        try
        {
            await _clock.Delay(TimeSpan.FromMilliseconds(pauseMs), token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping: the loop checks the token next.
        }
    }

    private async Task<IConnection?> ConnectAsync(CancellationToken token)
    {
        NetResult<IConnection> result;
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(token))
        using (var timeout = new CancellationTokenSource(_options.ConnectTimeout, _clock.TimeProvider))
        using (timeout.Token.Register(deadline.Cancel))
        {
            result = await _network.ConnectAsync(_replica, deadline.Token);
        }
        if (!result.IsOk)
        {
            return null;
        }
        IConnection connection = result.Unwrap();
        if (token.IsCancellationRequested)
        {
            connection.Dispose();
            return null;
        }
        // Hello, the history and the switch to live forwarding happen in this one loop turn: a Send after it goes
        // to the new connection, and a Send before it is in the history.
        CurrentNonce = _random.NextUInt64();
        if (connection.Send(ComputeProtocol.EncodeCommand(new Hello(CurrentNonce, _epoch, Hello.CurrentVersion))) != NetStatus.Ok)
        {
            connection.Dispose();
            return null;
        }
        foreach (ComputeCommand command in _history())
        {
            NetStatus status = connection.Send(ComputeProtocol.EncodeCommand(command));
            if (status == NetStatus.FrameTooLarge)
            {
                connection.Dispose();
                throw new InvalidOperationException($"a {command.GetType().Name} command in the history exceeds the {INetwork.FrameBytesMax}-byte frame limit");
            }
            if (status != NetStatus.Ok)
            {
                connection.Dispose();
                return null;
            }
        }
        _inbox.Clear(); // the previous connection's undelivered responses are stale now
        _current = connection;
        ConnectCount++;
        Connected?.Invoke();
        return connection;
    }

    // Reads responses until the connection ends; true if the replica sent at least one.
    private async Task<bool> ServeAsync(IConnection connection, CancellationToken token)
    {
        bool answered = false;
        try
        {
            while (!token.IsCancellationRequested && _current == connection)
            {
                await _inbox.WaitForSpaceAsync();
                Received received = await connection.ReceiveAsync(token);
                if (_current != connection || !received.IsFrame)
                {
                    return answered;
                }
                if (!ComputeProtocol.TryDecodeResponse(received.Payload, out ComputeResponse? response, out _))
                {
                    return answered; // a replica that sends garbage gets a fresh connection, not a guess
                }
                answered |= response is not Status; // a Status alone (a refusal) does not make the connection healthy
                if (response is Status { Kind: ComputeStatusKinds.Fenced } fenced)
                {
                    Fenced = true;
                    FencedDetail = fenced.Detail;
                    _inbox.Post(fenced);
                    FencedOut?.Invoke(fenced.Detail);
                    return answered;
                }
                _inbox.Post(response!);
            }
            return answered;
        }
        finally
        {
            if (_current == connection)
            {
                _current = null;
            }
            connection.Dispose();
        }
    }

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"compute client to {_replica} (epoch {_epoch}, {ConnectCount} connections{(Fenced ? ", fenced" : "")})");
}
