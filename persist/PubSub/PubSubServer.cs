using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Persist.PubSub;

/// <summary>
/// The persist pubsub hub (environmentd hosts it, port 2101 by convention): clients subscribe to shards and
/// announce the seqnos they commit; the hub forwards each announcement to every other subscriber of that shard.
/// It holds no durable state and may restart at any time (clients reconnect and resubscribe; readers fall back to
/// polling meanwhile).
/// </summary>
/// <remarks>Owned by one node loop. Malformed frames close the sender's connection.</remarks>
public sealed class PubSubServer
{
    public const int PortDefault = 2101;

    private readonly INodeContext _context;
    private readonly Dictionary<ShardId, List<IConnection>> _subscribers = [];
    private readonly SortedDictionary<ShardId, ShardSignal> _local = new(ShardIdComparer.Instance);

    public PubSubServer(INodeContext context)
    {
        _context = context;
        Local = new LocalNotifier(this);
    }

    /// <summary>The notifier for persist clients on the hub's own node: no connection, same fan-out.</summary>
    public IShardNotifier Local { get; }

    /// <summary>Listens on <paramref name="port"/> and serves every connection on the node loop.</summary>
    public NetResult<IListener> Start(int port = PortDefault)
    {
        NetResult<IListener> listening = _context.Network.Listen(port);
        if (listening.IsOk)
        {
            IListener listener = listening.Unwrap();
            _context.Spawn("persist-pubsub-accept", () => AcceptAsync(listener, _context.Stopping));
        }
        return listening;
    }

    /// <summary>
    /// Forwards an announcement to every subscriber of the shard but its sender, and wakes local waiters. A received
    /// announcement is forwarded as the frame it came in (<paramref name="received"/>), not encoded again.
    /// </summary>
    private void Announce(ShardId shard, ulong seqNo, byte[]? version, IConnection? sender, byte[]? received = null)
    {
        if (_subscribers.TryGetValue(shard, out List<IConnection>? targets))
        {
            byte[] frame = received ?? PubSubMessages.EncodePublish(shard, seqNo, version);
            foreach (IConnection target in targets)
            {
                if (!ReferenceEquals(target, sender))
                {
                    target.Send(frame);
                }
            }
        }
        if (_local.TryGetValue(shard, out ShardSignal? signal))
        {
            signal.Advance(seqNo, version);
        }
    }

    private ShardSignal LocalSignal(ShardId shard)
    {
        if (!_local.TryGetValue(shard, out ShardSignal? signal))
        {
            _local[shard] = signal = new ShardSignal();
        }
        return signal;
    }

    private sealed class LocalNotifier(PubSubServer server) : IShardNotifier
    {
        public void Published(ShardId shard, ulong seqNo, byte[]? version)
        {
            server.LocalSignal(shard);
            server.Announce(shard, seqNo, version, null);
        }

        public VersionedData? Pushed(ShardId shard) => server._local.TryGetValue(shard, out ShardSignal? signal) ? signal.Pushed : null;

        public bool Announces => true;

        public Task WaitForChangeAsync(ShardId shard, ulong seenSeqNo, System.TimeSpan pollInterval, CancellationToken cancellationToken)
        {
            return server.LocalSignal(shard).WaitAsync(server._context.Clock, seenSeqNo, pollInterval, cancellationToken);
        }
    }

    private async Task AcceptAsync(IListener listener, CancellationToken cancellationToken)
    {
        using (listener)
        {
            // Bounded by the listener: it fails once closed or the node stops.
            while (!cancellationToken.IsCancellationRequested)
            {
                NetResult<IConnection> accepted = await listener.AcceptAsync(cancellationToken);
                if (!accepted.IsOk)
                {
                    return;
                }
                IConnection connection = accepted.Unwrap();
                _context.Spawn("persist-pubsub-connection", () => ServeAsync(connection, cancellationToken));
            }
        }
    }

    private async Task ServeAsync(IConnection connection, CancellationToken cancellationToken)
    {
        var subscribed = new List<ShardId>();
        using (connection)
        {
            try
            {
                // Bounded by the connection: ends when it closes.
                while (!cancellationToken.IsCancellationRequested)
                {
                    Received received = await connection.ReceiveAsync(cancellationToken);
                    if (!received.IsFrame || !PubSubMessages.TryDecode(received.Payload, out PubSubKind kind, out ShardId shard, out ulong seqNo, out byte[]? version))
                    {
                        return;
                    }
                    if (kind == PubSubKind.Subscribe)
                    {
                        if (!_subscribers.TryGetValue(shard, out List<IConnection>? list))
                        {
                            _subscribers[shard] = list = [];
                        }
                        if (!list.Contains(connection))
                        {
                            list.Add(connection);
                            subscribed.Add(shard);
                        }
                        continue;
                    }
                    Announce(shard, seqNo, version, connection, received.Payload);
                }
            }
            finally
            {
                foreach (ShardId shard in subscribed)
                {
                    if (_subscribers.TryGetValue(shard, out List<IConnection>? list))
                    {
                        list.Remove(connection);
                        if (list.Count == 0)
                        {
                            _subscribers.Remove(shard);
                        }
                    }
                }
            }
        }
    }
}
