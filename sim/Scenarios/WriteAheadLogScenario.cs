using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios;

/// <summary>
/// A client appends numbered entries to a write-ahead-log server that crashes and restarts. Checks durability:
/// after the faults stop, every entry the server acknowledged is in the log it recovers.
/// </summary>
/// <remarks>
/// The log is one file of records <c>[u32 length][u64 checksum][u64 id][payload]</c>. Recovery reads records
/// until the first one that is incomplete or fails its checksum, and truncates the file there (a torn or lost
/// tail). The correct server acknowledges an entry only after fsync; the planted bug acknowledges right after
/// the write and fsyncs lazily, which a crash that loses unflushed writes exposes.
/// On any I/O error the server exits and is restarted: after a failed write or fsync it cannot know what is
/// on the disk, and only recovery finds out.
/// </remarks>
public sealed class WriteAheadLogScenario(bool ackBeforeFsync, int entries = 40) : SimScenario
{
    private const int Port = 7100;
    private const string LogPath = "wal.log";
    private const int HeaderBytes = 4 + 8 + 8;
    private const int PayloadBytesMax = 4096;

    public override string Name => ackBeforeFsync ? "wal-ack-before-fsync" : "wal";

    public override string Description => ackBeforeFsync
        ? "planted bug: the log server acknowledges appends before fsync; a crash must lose an acknowledged entry"
        : $"a client appends {entries} entries to a crashing log server; every acknowledged entry must survive recovery";

    public override bool HasPlantedBug => ackBeforeFsync;

    public override FaultKinds Tolerates => FaultKinds.Standard;

    public override long ExpectedSteps => entries * 30L;

    public override void Setup(SimWorld world)
    {
        world.AddNode("wal", () => new LogServer(ackBeforeFsync), SimNodeOptions.Server);
        world.AddNode("client", () => new Client(world, entries), SimNodeOptions.Workload);
    }

    internal static byte[] EncodeRecord(long id, ReadOnlySpan<byte> payload)
    {
        byte[] record = new byte[HeaderBytes + payload.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(8 + payload.Length));
        BinaryPrimitives.WriteInt64LittleEndian(record.AsSpan(12), id);
        payload.CopyTo(record.AsSpan(HeaderBytes));
        BinaryPrimitives.WriteUInt64LittleEndian(record.AsSpan(4), StableHash.Add(StableHash.Offset, record.AsSpan(12)));
        return record;
    }

    private sealed class LogServer(bool ackBeforeFsync) : INode
    {
        private readonly HashSet<long> _ids = [];
        // Appends run one at a time (a session that reconnected may overlap an old one): each waits for the previous.
        private Task _appendTail = Task.CompletedTask;
        private IDurableFile? _file;
        private long _end;
        private int _unflushed;
        private bool _failed;

        public async Task RunAsync(INodeContext context)
        {
            IoResult<IDurableFile> opened = await context.Storage.OpenAsync(LogPath, OpenMode.OpenOrCreate);
            if (!opened.IsOk || !(await context.Storage.SyncDirectoryAsync("")).IsOk)
            {
                context.Trace("open-failed", opened.ToString());
                return;
            }
            using IDurableFile file = opened.Unwrap();
            _file = file;
            if (!await Recover(context, file))
            {
                return;
            }
            NetResult<IListener> listening = context.Network.Listen(Port);
            if (!listening.IsOk)
            {
                return;
            }
            using IListener listener = listening.Unwrap();
            while (!_failed)
            {
                NetResult<IConnection> accepted = await listener.AcceptAsync();
                if (!accepted.IsOk)
                {
                    return;
                }
                IConnection connection = accepted.Unwrap();
                context.Spawn("session", () => Serve(context, connection, listener));
            }
        }

        private async Task<bool> Recover(INodeContext context, IDurableFile file)
        {
            IoResult<long> length = await file.GetLengthAsync();
            if (!length.IsOk)
            {
                return false;
            }
            byte[] contents = new byte[length.Value];
            long read = 0;
            while (read < contents.Length)
            {
                IoResult<int> chunk = await file.ReadAsync(read, contents.AsMemory((int)read));
                if (!chunk.IsOk || chunk.Value == 0)
                {
                    return false;
                }
                read += chunk.Value;
            }
            long offset = 0;
            while (offset + HeaderBytes <= contents.Length)
            {
                uint bodyLength = BinaryPrimitives.ReadUInt32LittleEndian(contents.AsSpan((int)offset));
                if (bodyLength < 8 || bodyLength > 8 + PayloadBytesMax || offset + 12 + bodyLength > contents.Length)
                {
                    break;
                }
                ReadOnlySpan<byte> body = contents.AsSpan((int)offset + 12, (int)bodyLength);
                if (BinaryPrimitives.ReadUInt64LittleEndian(contents.AsSpan((int)offset + 4)) != StableHash.Add(StableHash.Offset, body))
                {
                    break;
                }
                long id = BinaryPrimitives.ReadInt64LittleEndian(body);
                context.Always(_ids.Add(id), $"entry {id} appears twice in the log");
                offset += 12 + bodyLength;
            }
            _end = offset;
            context.Sometimes(offset < contents.Length, "recovery truncated a torn or lost tail");
            context.Sometimes(_ids.Count > 0 && context.Incarnation > 0, "recovery found entries of an earlier incarnation");
            if (offset < contents.Length)
            {
                context.Trace("truncate-tail", string.Create(CultureInfo.InvariantCulture, $"{contents.Length - offset} bytes at {offset}"));
                if (!(await file.SetLengthAsync(offset)).IsOk)
                {
                    return false;
                }
            }
            // What was read may include writes a previous incarnation never fsynced (it exited without a crash,
            // so the page cache kept them). They are about to be treated as durable, so make them so.
            if (!(await file.FlushAsync()).IsOk)
            {
                return false;
            }
            context.Trace("recovered", string.Create(CultureInfo.InvariantCulture, $"{_ids.Count} entries"));
            return true;
        }

        private async Task Serve(INodeContext context, IConnection connection, IListener listener)
        {
            using (connection)
            {
                while (!_failed)
                {
                    Received request = await connection.ReceiveAsync();
                    if (!request.IsFrame)
                    {
                        return;
                    }
                    byte[] payload = request.Payload;
                    if (payload.Length == 1)
                    {
                        connection.Send(EncodeIds());
                        continue;
                    }
                    long id = BinaryPrimitives.ReadInt64LittleEndian(payload);
                    if (!await Append(context, id, payload.AsSpan(8).ToArray()))
                    {
                        // The disk's state is unknown after a failed write or fsync: stop, and let recovery decide.
                        _failed = true;
                        listener.Dispose();
                        return;
                    }
                    connection.Send(payload.AsSpan(0, 8));
                }
            }
        }

        private async Task<bool> Append(INodeContext context, long id, byte[] data)
        {
            Task previous = _appendTail;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _appendTail = done.Task;
            await previous;
            try
            {
                if (_failed)
                {
                    return false;
                }
                if (_ids.Contains(id))
                {
                    return true; // already durable (or, in the planted bug, merely written)
                }
                byte[] record = EncodeRecord(id, data);
                if (!(await _file!.WriteAsync(_end, record)).IsOk)
                {
                    return false;
                }
                _end += record.Length;
                if (context.Buggify())
                {
                    // Widen the window between write and fsync, where a crash leaves a lost or torn tail.
                    await context.Clock.Delay(TimeSpan.FromMilliseconds(context.Random.Next(50)));
                }
                if (ackBeforeFsync)
                {
                    _ids.Add(id);
                    if (++_unflushed >= 8)
                    {
                        _unflushed = 0;
                        return (await _file.FlushAsync()).IsOk;
                    }
                    return true;
                }
                if (!(await _file.FlushAsync()).IsOk)
                {
                    return false;
                }
                _ids.Add(id);
                return true;
            }
            finally
            {
                done.SetResult();
            }
        }

        private byte[] EncodeIds()
        {
            var ids = new List<long>(_ids);
            ids.Sort();
            byte[] reply = new byte[ids.Count * 8];
            for (int i = 0; i < ids.Count; i++)
            {
                BinaryPrimitives.WriteInt64LittleEndian(reply.AsSpan(i * 8), ids[i]);
            }
            return reply;
        }
    }

    private sealed class Client(SimWorld world, int entries) : INode
    {
        private IConnection? _connection;

        public async Task RunAsync(INodeContext context)
        {
            var acknowledged = new List<long>();
            for (long id = 1; id <= entries; id++)
            {
                byte[] request = new byte[8 + 16 + context.Random.Next(1200)];
                BinaryPrimitives.WriteInt64LittleEndian(request, id);
                context.Random.NextBytes(request.AsSpan(8));
                byte[]? reply = await Call(context, request);
                if (reply is null)
                {
                    id--; // unknown outcome: send the same entry again (the server deduplicates by id)
                    continue;
                }
                context.Always(BinaryPrimitives.ReadInt64LittleEndian(reply) == id, "reply for a different entry");
                acknowledged.Add(id);
            }

            // Faults stop; the server restarts if it is down, recovers, and must still have every acknowledged entry.
            world.Heal();
            byte[]? listing;
            while ((listing = await Call(context, [0])) is null)
            {
            }
            var present = new HashSet<long>();
            for (int i = 0; i + 8 <= listing.Length; i += 8)
            {
                present.Add(BinaryPrimitives.ReadInt64LittleEndian(listing.AsSpan(i)));
            }
            foreach (long id in acknowledged)
            {
                context.Always(present.Contains(id), $"acknowledged entry {id} is missing after recovery");
            }
            context.Trace("verified", string.Create(CultureInfo.InvariantCulture, $"{acknowledged.Count} acknowledged entries present"));
            _connection?.Dispose();
        }

        private async Task<byte[]?> Call(INodeContext context, byte[] request)
        {
            if (_connection is not { IsOpen: true })
            {
                _connection?.Dispose();
                _connection = await Messages.ConnectWithRetryAsync(context, new Endpoint("wal", Port));
            }
            if (_connection.Send(request) != NetStatus.Ok)
            {
                return null;
            }
            Received reply = await _connection.ReceiveWithin(context, TimeSpan.FromSeconds(2));
            if (!reply.IsFrame)
            {
                _connection.Dispose();
                _connection = null;
                return null;
            }
            return reply.Payload;
        }
    }
}
