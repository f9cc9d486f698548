using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist.PubSub;

/// <summary>
/// A persist client's link to the pubsub hub: it announces the seqnos this process commits, subscribes to the
/// shards this process waits on, and wakes those waits when an announcement arrives. While disconnected it keeps
/// reconnecting (with capped backoff) and waits fall back to the poll interval.
/// </summary>
/// <remarks>Owned by one node loop; the owner spawns <see cref="RunAsync"/> on it.</remarks>
public sealed class PubSubClient : IShardNotifier
{
    private readonly INetwork _network;
    private readonly IClock _clock;
    private readonly Endpoint _hub;
    private readonly SortedDictionary<ShardId, ShardSignal> _shards = new(ShardIdComparer.Instance);
    private IConnection? _connection;

    public PubSubClient(INetwork network, IClock clock, Endpoint hub)
    {
        _network = network;
        _clock = clock;
        _hub = hub;
    }

    /// <summary>Announcements received from the hub so far (for tests and introspection).</summary>
    public long AnnouncementsReceived { get; private set; }

    public void Published(ShardId shard, ulong seqNo, byte[]? version)
    {
        Signal(shard).Advance(seqNo, version);
        _connection?.Send(PubSubMessages.EncodePublish(shard, seqNo, version));
    }

    public VersionedData? Pushed(ShardId shard) => _shards.TryGetValue(shard, out ShardSignal? signal) ? signal.Pushed : null;

    public bool Announces => _connection is { IsOpen: true };

    public Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, TimeSpan pollInterval, CancellationToken cancellationToken)
    {
        ShardSignal signal = Signal(shard);
        if (!signal.Subscribed && _connection is { IsOpen: true } connection)
        {
            signal.Subscribed = connection.Send(PubSubMessages.Encode(PubSubKind.Subscribe, shard, 0)) == NetStatus.Ok;
        }
        return signal.WaitAsync(_clock, seenSeqNo, pollInterval, cancellationToken);
    }

    /// <summary>Keeps a connection to the hub until canceled, resubscribing after each reconnect.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        int failures = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            NetResult<IConnection> connected = await _network.ConnectAsync(_hub, cancellationToken);
            if (!connected.IsOk)
            {
                failures++;
                await DelayQuietly(TimeSpan.FromMilliseconds(Math.Min(1000, 10 << Math.Min(failures, 7))), cancellationToken);
                continue;
            }
            failures = 0;
            using IConnection connection = connected.Unwrap();
            _connection = connection;
            foreach ((ShardId shard, ShardSignal signal) in _shards)
            {
                signal.Subscribed = connection.Send(PubSubMessages.Encode(PubSubKind.Subscribe, shard, 0)) == NetStatus.Ok;
            }
            // Bounded by the connection: ends when it closes.
            while (!cancellationToken.IsCancellationRequested)
            {
                Received received;
                try
                {
                    received = await connection.ReceiveAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                if (!received.IsFrame)
                {
                    break;
                }
                if (PubSubMessages.TryDecode(received.Payload, out PubSubKind kind, out ShardId shard, out ulong seqNo, out byte[]? version)
                    && kind is PubSubKind.Publish or PubSubKind.PublishState)
                {
                    AnnouncementsReceived++;
                    Signal(shard).Advance(seqNo, version);
                }
            }
            _connection = null;
            foreach (ShardSignal signal in _shards.Values)
            {
                signal.Subscribed = false;
            }
        }
    }

    private Task<bool> DelayQuietly(TimeSpan delay, CancellationToken cancellationToken) => Wakeable.DelayAsync(_clock, delay, cancellationToken);

    private ShardSignal Signal(ShardId shard)
    {
        if (!_shards.TryGetValue(shard, out ShardSignal? signal))
        {
            _shards[shard] = signal = new ShardSignal();
        }
        return signal;
    }
}
