using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Replica;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Sim;
using Xunit;
using static Kernel.Tests.Unit.Compute.Plans;

namespace Kernel.Tests.Unit.Compute;

/// <summary>
/// The replica end to end on one simulated node: an in-memory controller channel, memory persist locations, a
/// table shard written with compare_and_append, and the replica's dataflows, peeks, subscribes and sinks.
/// </summary>
public sealed class ReplicaTests
{
    private static readonly string s_tableShard = "s" + new string('a', 32);
    private static readonly string s_viewShard = "s" + new string('b', 32);
    private static readonly GlobalId s_table = GlobalId.UserId(1);
    private static readonly GlobalId s_view = GlobalId.UserId(20);
    private static readonly GlobalId s_index = GlobalId.UserId(21);
    private static readonly GlobalId s_subscribe = GlobalId.TransientId(30);
    private static readonly GlobalId s_sink = GlobalId.UserId(31);

    private static readonly PersistConfig s_config = new() { PollInterval = TimeSpan.FromMilliseconds(5), ReaderLeaseDurationMs = 600_000 };

    /// <summary>SELECT b, count(*), sum(c) FROM t GROUP BY b, over a table (a, b, c).</summary>
    private static Reduce GroupByB => new(new Get(s_table, Ints(3)), [1], [Agg(AggregateFunc.CountAll, Lit(1)), Agg(AggregateFunc.Sum, Col(2))], false);

    [Fact]
    public Task Replica_IndexOnReduce_PeeksSeeEachWrite() => RunAsync(1, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5), Row.OfInt64(2, 10, 7), Row.OfInt64(3, 20, 1)], 0, 5);
        world.Connect(epoch: 1);
        world.Channel.Enqueue(new CreateDataflow(IndexedView(asOf: 4)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_index));

        PeekRows first = await world.PeekAsync(1, 4);
        Assert.Equal([(Row.OfInt64(10, 2, 12), 1L), (Row.OfInt64(20, 1, 1), 1L)], first.Rows.ToArray());

        await world.AppendAsync([Row.OfInt64(4, 20, 100)], 5, 8);
        PeekRows second = await world.PeekAsync(2, 7);
        Assert.Equal([(Row.OfInt64(10, 2, 12), 1L), (Row.OfInt64(20, 2, 101), 1L)], second.Rows.ToArray());

        // Finishing: ORDER BY count DESC, sum LIMIT 1, project (sum).
        var finishing = new RowSetFinishing([new ColumnOrder(2, true, false)], 1, 0, [2]);
        PeekRows finished = await world.PeekAsync(3, 7, finishing);
        Assert.Equal([(Row.OfInt64(101), 1L)], finished.Rows.ToArray());

        Assert.Contains(world.Channel.Responses, r => r is Frontiers f && f.Id == s_index && f.WriteFrontier == Frontier.At(8));
    });

    [Fact]
    public Task Replica_PeekBeforeSinceOrUnknownIndex_AnswersWithError() => RunAsync(2, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5)], 0, 5);
        world.Connect(epoch: 1);
        world.Channel.Enqueue(new CreateDataflow(IndexedView(asOf: 3)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_index));
        await world.PeekAsync(1, 4);

        world.Channel.Enqueue(new Peek(new PeekUuid(0, 2), s_index, 2, RowSetFinishing.Trivial(3)));
        world.Channel.Enqueue(new Peek(new PeekUuid(0, 3), GlobalId.UserId(999), 4, RowSetFinishing.Trivial(3)));
        PeekResponse early = await world.WaitForAsync<PeekResponse>(r => r.Uuid == new PeekUuid(0, 2));
        PeekResponse unknown = await world.WaitForAsync<PeekResponse>(r => r.Uuid == new PeekUuid(0, 3));
        Assert.IsType<PeekError>(early.Result);
        Assert.IsType<PeekError>(unknown.Result);

        // A peek in the future waits; cancelling it answers PeekCanceled exactly once.
        world.Channel.Enqueue(new Peek(new PeekUuid(0, 4), s_index, 1000, RowSetFinishing.Trivial(3)));
        world.Channel.Enqueue(new CancelPeek(new PeekUuid(0, 4)));
        PeekResponse canceled = await world.WaitForAsync<PeekResponse>(r => r.Uuid == new PeekUuid(0, 4));
        Assert.IsType<PeekCanceled>(canceled.Result);
        await world.Clock.Delay(TimeSpan.FromMilliseconds(50));
        Assert.Single(world.Channel.Responses.OfType<PeekResponse>(), r => r.Uuid == new PeekUuid(0, 4));

        // Unknown ids in other commands are a status, not a crash.
        world.Channel.Enqueue(new AllowCompaction(GlobalId.UserId(12345), Frontier.At(3)));
        world.Channel.Enqueue(new Schedule(GlobalId.UserId(12345)));
        await world.WaitForAsync<Status>(s => s.Kind == "unknown-id");
    });

    [Fact]
    public Task Replica_EvaluationError_FailsPeekAtThatTime() => RunAsync(3, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5)], 0, 5);
        await world.AppendAsync([Row.OfInt64(2, 0, 5)], 5, 8);
        world.Connect(epoch: 1);
        // SELECT a, 100 / b FROM t
        RelationExpr plan = new Project(new Map(new Get(s_table, Ints(3)), [Binary(BinaryFunc.Div, Lit(100), Col(1), Int)]), [0, 3]);
        world.Channel.Enqueue(new CreateDataflow(Describe(plan, asOf: 4, index: true)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_index));

        world.Channel.Enqueue(new Peek(new PeekUuid(0, 1), s_index, 4, RowSetFinishing.Trivial(2)));
        PeekResponse okResponse = await world.WaitForAsync<PeekResponse>(r => r.Uuid == new PeekUuid(0, 1));
        PeekRows ok = Assert.IsType<PeekRows>(okResponse.Result);
        Assert.Equal([(Row.OfInt64(1, 10), 1L)], ok.Rows.ToArray());
        world.Channel.Enqueue(new Peek(new PeekUuid(0, 2), s_index, 6, RowSetFinishing.Trivial(2)));
        PeekResponse failed = await world.WaitForAsync<PeekResponse>(r => r.Uuid == new PeekUuid(0, 2));
        PeekError error = Assert.IsType<PeekError>(failed.Result);
        Assert.Equal("22012", error.SqlState);
    });

    [Fact]
    public Task Replica_Subscribe_StreamsContiguousBatchesFromTheSnapshot() => RunAsync(4, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5), Row.OfInt64(2, 10, 7)], 0, 3);
        world.Connect(epoch: 1);
        world.Channel.Enqueue(new CreateDataflow(Describe(GroupByB, asOf: 2, subscribe: true)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_subscribe));
        await world.WaitForAsync<SubscribeResponse>(r => r.Event is SubscribeBatch b && b.Lower == Frontier.At(2));
        await world.AppendAsync([Row.OfInt64(3, 10, 1)], 3, 6);
        await world.AppendAsync([Row.OfInt64(4, 20, 1)], 6, 9);
        await world.WaitForAsync<SubscribeResponse>(r => r.Event is SubscribeBatch b && b.Upper == Frontier.At(9));

        var batches = world.Channel.Responses.OfType<SubscribeResponse>().Select(r => Assert.IsType<SubscribeBatch>(r.Event)).ToList();
        Assert.Equal(Frontier.At(2), batches[0].Lower);
        Assert.Equal([new Update(Row.OfInt64(10, 2, 12), 2, 1)], batches[0].Updates.ToArray());
        for (int i = 1; i < batches.Count; i++)
        {
            Assert.Equal(batches[i - 1].Upper, batches[i].Lower);
        }
        var all = batches.SelectMany(b => b.Updates).ToList();
        Assert.Equal(
            [
                new Update(Row.OfInt64(10, 2, 12), 2, 1),
                new Update(Row.OfInt64(10, 2, 12), 3, -1),
                new Update(Row.OfInt64(10, 3, 13), 3, 1),
                new Update(Row.OfInt64(20, 1, 1), 6, 1),
            ],
            all);

        world.Channel.Enqueue(new AllowCompaction(s_subscribe, Frontier.Empty));
        await world.WaitForAsync<SubscribeResponse>(r => r.Event is SubscribeDropped);
        await world.WaitUntilAsync(() => world.Replica.Dataflows.Count == 0);
    });

    [Fact]
    public Task Replica_MaterializedView_WritesShardAndRestartedReplicaCorrectsWithoutDuplicates() => RunAsync(5, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5), Row.OfInt64(2, 20, 7)], 0, 3);
        world.Connect(epoch: 1);
        world.Channel.Enqueue(new AllowWrites());
        world.Channel.Enqueue(new CreateDataflow(Describe(GroupByB, asOf: 2, sinkShard: s_viewShard)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_sink));
        await world.WaitForAsync<Frontiers>(f => f.Id == s_sink && f.OutputFrontier == Frontier.At(3));
        await world.AppendAsync([Row.OfInt64(3, 10, 1)], 3, 6);
        await world.WaitForAsync<Frontiers>(f => f.Id == s_sink && f.OutputFrontier == Frontier.At(6));
        Assert.Equal(
            [new Update(Row.OfInt64(10, 2, 6), 5, 1), new Update(Row.OfInt64(20, 1, 7), 5, 1)],
            await world.SnapshotAsync(s_viewShard, 5));

        // A second replica (a restart, as of an earlier time) must continue from the shard's upper, not rewrite it.
        await world.StopReplicaAsync();
        await world.AppendAsync([Row.OfInt64(4, 20, 3)], 6, 9);
        world.StartReplica();
        world.Connect(epoch: 2);
        world.Channel.Enqueue(new AllowWrites());
        world.Channel.Enqueue(new CreateDataflow(Describe(GroupByB, asOf: 2, sinkShard: s_viewShard)));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_sink));
        await world.WaitForAsync<Frontiers>(f => f.Id == s_sink && f.OutputFrontier == Frontier.At(9));

        Assert.Equal(
            [new Update(Row.OfInt64(10, 2, 6), 8, 1), new Update(Row.OfInt64(20, 2, 10), 8, 1)],
            await world.SnapshotAsync(s_viewShard, 8));
    });

    [Fact]
    public Task Replica_Reconnect_KeepsMatchingDataflowsAndDropsOthers() => RunAsync(6, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5)], 0, 3);
        world.Connect(epoch: 1);
        world.Channel.Enqueue(new CreateDataflow(IndexedView(asOf: 2)));
        DataflowDescription other = Describe(new Project(new Get(s_table, Ints(3)), [0]), asOf: 2, index: true, indexId: GlobalId.UserId(40), viewId: GlobalId.UserId(41));
        world.Channel.Enqueue(new CreateDataflow(other));
        world.Channel.Enqueue(new InitializationComplete());
        world.Channel.Enqueue(new Schedule(s_index));
        await world.PeekAsync(1, 2);
        Assert.Equal(2, world.Replica.DataflowsBuilt);

        // A stale controller is refused.
        world.Connect(epoch: 0);
        await world.WaitForAsync<Status>(s => s.Kind == "epoch-refused");

        // The new controller's history names only the first dataflow (decoded afresh: equal, not identical).
        world.ConnectWith(epoch: 2, IndexedView(asOf: 2));
        PeekRows rows = await world.PeekAsync(2, 2);
        Assert.Equal([(Row.OfInt64(10, 1, 5), 1L)], rows.Rows.ToArray());
        Assert.Equal(2, world.Replica.DataflowsBuilt);
        Assert.Single(world.Replica.Dataflows);
    });

    /// <summary>
    /// A new controller replays a dataflow at a later as_of. The running one is rebuilt if it has not read its
    /// snapshot yet: the new controller holds the inputs at the new as_of only, so the old one may already be
    /// compacted away (end-to-end simulation, seed 7523). Once it has read its snapshot, it is kept.
    /// </summary>
    [Fact]
    public Task Replica_Reconnect_RebuildsADataflowStillWaitingForItsSnapshotWhenTheAsOfMovesUp() => RunAsync(7, async world =>
    {
        await world.AppendAsync([Row.OfInt64(1, 10, 5)], 0, 3);
        world.ConnectWith(epoch: 1, IndexedView(asOf: 5)); // past the upper: its snapshot waits
        await world.WaitUntilAsync(() => world.Replica.DataflowsBuilt == 1, "the first dataflow");

        world.ConnectWith(epoch: 2, IndexedView(asOf: 6));
        await world.AppendAsync([Row.OfInt64(2, 10, 7)], 3, 8);
        PeekRows rebuilt = await world.PeekAsync(1, 6);
        Assert.Equal([(Row.OfInt64(10, 2, 12), 1L)], rebuilt.Rows.ToArray());
        Assert.Equal(2, world.Replica.DataflowsBuilt);
        Assert.Single(world.Replica.Dataflows);

        world.ConnectWith(epoch: 3, IndexedView(asOf: 7));
        PeekRows kept = await world.PeekAsync(2, 7);
        Assert.Equal([(Row.OfInt64(10, 2, 12), 1L)], kept.Rows.ToArray());
        Assert.Equal(2, world.Replica.DataflowsBuilt);
    });

    private static DataflowDescription IndexedView(ulong asOf) => Describe(GroupByB, asOf, index: true);

    private static DataflowDescription Describe(
        RelationExpr plan, ulong asOf, bool index = false, bool subscribe = false, string? sinkShard = null, GlobalId? indexId = null, GlobalId? viewId = null)
    {
        GlobalId view = viewId ?? s_view;
        return new DataflowDescription(
            "test view",
            [new SourceImport(s_table, s_tableShard, Ints(3))],
            [],
            [new BuildDesc(view, plan)],
            index ? [new IndexExport(indexId ?? s_index, view, [0], plan.Type)] : [],
            subscribe ? [new SinkExport(s_subscribe, view, new SubscribeSinkTarget(), plan.Type)]
                : sinkShard is not null ? [new SinkExport(s_sink, view, new PersistSinkTarget(sinkShard), plan.Type)] : [],
            asOf,
            null);
    }

    /// <summary>Runs <paramref name="body"/> as the one workload node of a fresh simulated world without faults.</summary>
    private static Task RunAsync(ulong seed, Func<World, Task> body)
    {
        Exception? thrown = null;
        var world = new SimWorld(new SimRunConfig(seed, FaultProfile.Calm, new RandomWalkStrategy(new SeededRandom(seed)), new SimLimits(), KeepLog: false));
        world.AddNode("clusterd", () => new TestNode(async context =>
        {
            using var test = new World(context);
            test.StartReplica();
            try
            {
                await body(test);
            }
            catch (Exception e)
            {
                thrown ??= e;
                throw;
            }
            finally
            {
                await test.StopReplicaAsync();
            }
        }), SimNodeOptions.Workload);
        string? failure = world.Run();
        if (thrown is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(thrown);
        }
        return failure is null ? Task.CompletedTask : throw new InvalidOperationException("simulated run failed: " + failure);
    }

    private sealed class TestNode(Func<INodeContext, Task> body) : INode
    {
        public Task RunAsync(INodeContext context) => body(context);
    }

    /// <summary>One simulated node holding the persist locations, a controller channel and the replica.</summary>
    private sealed class World : IDisposable
    {
        private readonly INodeContext _context;
        private readonly MemoryBlob _blob = new();
        private readonly MemoryConsensus _consensus = new();
        private readonly PersistClient _client;
        private WriteHandle? _writer;
        private CancellationTokenSource? _stop;
        private Task? _running;
        private ulong _nonce;
        private int _clients;

        public World(INodeContext context)
        {
            _context = context;
            _client = NewClient("", "");
        }

        public IClock Clock => _context.Clock;

        public void Dispose() => _stop?.Dispose();

        public InMemoryComputeChannel Channel { get; private set; } = new();

        public ComputeReplica Replica { get; private set; } = null!;

        public void StartReplica()
        {
            Channel = new InMemoryComputeChannel();
            Replica = new ComputeReplica(Channel, NewClient);
            _stop = new CancellationTokenSource();
            var done = new TaskCompletionSource();
            CancellationToken token = _stop.Token;
            ComputeReplica replica = Replica;
            _running = done.Task;
            _context.Spawn("replica", async () =>
            {
                try
                {
                    await replica.RunAsync(token);
                }
                finally
                {
                    done.SetResult();
                }
            });
        }

        public async Task StopReplicaAsync()
        {
            if (_stop is not null && _running is not null)
            {
                _stop.Cancel();
                await _running;
                _stop.Dispose();
                _stop = null;
                // Let the replica's source and sink tasks observe the cancellation.
                await _context.Clock.Delay(TimeSpan.FromMilliseconds(50));
            }
        }

        public void Connect(ulong epoch)
        {
            Channel.Enqueue(new Hello(++_nonce, epoch, Hello.CurrentVersion));
            Channel.Enqueue(new CreateInstance("mem://blob", "mem://consensus", 1));
        }

        /// <summary>A controller at <paramref name="epoch"/> whose history is <paramref name="dataflow"/>, scheduled.</summary>
        public void ConnectWith(ulong epoch, DataflowDescription dataflow)
        {
            Connect(epoch);
            Channel.Enqueue(new CreateDataflow(dataflow));
            Channel.Enqueue(new InitializationComplete());
            foreach (GlobalId export in dataflow.ExportIds)
            {
                Channel.Enqueue(new Schedule(export));
            }
        }

        public async Task AppendAsync(Row[] rows, ulong lower, ulong upper)
        {
            _writer ??= (await _client.OpenWriterAsync(new ShardId(s_tableShard), "table")).Unwrap();
            AppendResult result = (await _writer.CompareAndAppendAsync(rows.Select(r => new Update(r, lower, 1)), Frontier.At(lower), Frontier.At(upper))).Unwrap();
            Assert.Equal(AppendStatus.Appended, result.Status);
        }

        public async Task<List<Update>> SnapshotAsync(string shard, ulong asOf)
        {
            ReadHandle reader = (await _client.OpenLeasedReaderAsync(new ShardId(shard), "test")).Unwrap();
            List<Update> snapshot = (await reader.SnapshotAsync(asOf)).Unwrap();
            await reader.ExpireAsync();
            return snapshot;
        }

        public async Task<PeekRows> PeekAsync(ulong id, ulong timestamp, RowSetFinishing? finishing = null)
        {
            var uuid = new PeekUuid(7, id);
            Channel.Enqueue(new Peek(uuid, s_index, timestamp, finishing ?? RowSetFinishing.Trivial(3)));
            PeekResponse response = await WaitForAsync<PeekResponse>(r => r.Uuid == uuid);
            return Assert.IsType<PeekRows>(response.Result);
        }

        public async Task<T> WaitForAsync<T>(Func<T, bool> predicate)
            where T : ComputeResponse
        {
            T? found = null;
            await WaitUntilAsync(() => (found = Channel.Responses.OfType<T>().FirstOrDefault(predicate)) is not null, typeof(T).Name);
            return found!;
        }

        public async Task WaitUntilAsync(Func<bool> condition, string what = "condition")
        {
            for (int i = 0; i < 2000; i++)
            {
                if (condition())
                {
                    return;
                }
                await _context.Clock.Delay(TimeSpan.FromMilliseconds(5));
            }
            string seen = string.Join("\n", Channel.Responses.Select(r => r.ToString()));
            throw new TimeoutException($"no {what} within 10 simulated seconds; responses:\n{seen}");
        }

        private PersistClient NewClient(string blobUri, string consensusUri) =>
            new(_blob, _consensus, _context.Clock, _context.Random.Fork("persist" + (++_clients)), s_config);
    }
}
