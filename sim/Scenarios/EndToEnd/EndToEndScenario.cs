using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Kernel.Compute;
using Kernel.Control;
using Kernel.Persist;
using Kernel.Persist.Location;
using Kernel.Persist.Location.Remote;
using Kernel.Persist.PubSub;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios.EndToEnd;

/// <summary>
/// The whole system under faults: environmentd and clusterd on persist whose Blob and Consensus are file backends on
/// two server nodes, and pgwire clients that write rows of <c>t (id, k, v)</c>, read <c>t</c> and the materialized view
/// <c>mv</c>, and subscribe to <c>t</c>, while every server node crashes and the network delays, partitions and breaks
/// connections. After the faults stop, every client reads once more.
/// </summary>
/// <remarks>
/// Properties, checked by <see cref="HistoryChecker"/> on the clients' history (see there for how):
/// (1) every acknowledged write is visible to every read that started after the acknowledgement;
/// (2) every read of t equals t at a prefix of one real-time-respecting order of the writes, and every read of mv the
/// GROUP BY of such a state; (3) the final read holds every acknowledged write; (4) subscribe output is ordered,
/// consolidated, and equal to such a state at each closed timestamp, and after healing a new subscribe reaches the final
/// contents; (5) no node throws (the simulator fails the run), a bad statement gets an error and the session goes on,
/// an acknowledged UPDATE or DELETE of a live row reports one row, and the system serves the final reads after healing;
/// (6) a second table <c>u (client, n)</c>, written rarely and read by no dataflow, so that its upper usually lags the
/// read timestamp: a client's read of its own rows of u holds every row whose insert it had seen acknowledged and only
/// rows it tried to insert, and its UPDATE of an acknowledged row (a read-then-write of the lagging table) reports one
/// row. Checked by the clients as they go.
/// </remarks>
public sealed class EndToEndScenario : SimScenario
{
    private const int LocationPort = 2101;
    private const int ControllerPort = 2100;
    private const int WriterClients = 2;
    private const int StatementsPerClientMax = 120;

    /// <summary>A seed whose schema took the whole chaos phase still runs this many statements per client, after healing.</summary>
    private const int StatementsAfterHealMin = 30;
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(2);
    private static readonly Endpoint s_pgwire = new("environmentd", Environmentd.PgWirePortDefault);

    private static readonly string[] s_badStatements =
    [
        "SELECT * FROM no_such_table",
        "INSERT INTO t VALUES (1, 2",
        "SELECT id FROM t GROUP BY k",
        "UPDATE t SET nope = 1 WHERE id = 1",
        "CREATE TABLE t (id int)",
        "SELECT 1 / 0",
    ];

    private readonly EndToEndHistory _history = new();
    private SimWorld _world = null!;
    private bool _schemaReady;
    private int _writersDone;
    private int _finalReadsDone;
    private Dictionary<int, (int K, int V)>? _finalContents;

    public override string Name => "end-to-end";

    public override string Description =>
        "environmentd, clusterd, remote persist and pgwire clients under crashes and network faults; reads of t and mv are strictly serializable, nothing acknowledged is lost, subscribe output matches";

    public override FaultKinds Tolerates => FaultKinds.Standard;

    public override SimLimits Limits => new(StepsMax: 4_000_000, VirtualSecondsMax: 240, ChaosSecondsMax: 3);

    public override long ExpectedSteps => 60_000;

    /// <summary>The history the clients recorded, for tests and the checker.</summary>
    public EndToEndHistory History => _history;

    public override void Setup(SimWorld world)
    {
        _world = world;
        world.AddNode("blob", () => new LocationNode(blob: true), SimNodeOptions.Server);
        world.AddNode("consensus", () => new LocationNode(blob: false), SimNodeOptions.Server);
        world.AddNode(
            "clusterd",
            () => new Clusterd(new ClusterdConfig(
                ControllerPort, (context, _, _, notifier) => OpenPersist(context, notifier), new Endpoint("environmentd", PubSubServer.PortDefault))),
            SimNodeOptions.Server);
        world.AddNode("environmentd", () => new Environmentd(new EnvironmentdConfig(
            OpenPersist, "remote://blob", "remote://consensus", new Endpoint("clusterd", ControllerPort))), SimNodeOptions.Server);
        for (int i = 0; i < WriterClients; i++)
        {
            int index = i;
            world.AddNode("client-" + (i + 1).ToString(CultureInfo.InvariantCulture), () => new WriterClient(this, index), SimNodeOptions.Workload);
        }
        world.AddNode("subscriber", () => new SubscriberClient(this), SimNodeOptions.Workload);
    }

    public override string? Check(SimWorld world)
    {
        HistoryCheckResult result = HistoryChecker.Check(_history);
        world.Record(null, "checked", result.ToString());
        return result.Failure;
    }

    private static PersistClient OpenPersist(INodeContext context, IShardNotifier notifier)
    {
        var blob = new RemoteBlob(new RemoteLocation(context, new Endpoint("blob", LocationPort), s_callTimeout));
        var consensus = new RemoteConsensus(new RemoteLocation(context, new Endpoint("consensus", LocationPort), s_callTimeout));
        return new PersistClient(new PersistContext(blob, consensus, context.Clock, context.Random.Fork("persist")) { Notifier = notifier, Compute = context.Compute });
    }

    private long Now => _world.NowNanos;

    private void Violation(INodeContext context, string message)
    {
        context.Trace("violation", message);
        _history.Violations.Add(message);
    }

    /// <summary>Serves one location primitive from this node's disk.</summary>
    private sealed class LocationNode(bool blob) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            IBlob? blobBackend = blob ? new FileBlob(context.Storage, context.Random.Fork("blob"), "blob") : null;
            IConsensus? consensusBackend = blob ? null : new LogConsensus(context.Storage, "consensus", compactionThresholdBytes: 256 << 10, preallocateBytes: 16 << 10);
            await new LocationServer(context, blobBackend, consensusBackend).RunAsync(LocationPort);
        }
    }

    /// <summary>One pgwire session that reconnects when its connection breaks.</summary>
    private sealed class Session(EndToEndScenario scenario, INodeContext context)
    {
        private PgWireClient? _client;

        public async Task<PgReply> RunAsync(string sql)
        {
            if (_client is null || !_client.IsUsable)
            {
                _client?.Dispose();
                _client = await PgWireClient.ConnectAsync(context, s_pgwire, s_callTimeout);
                if (_client is null)
                {
                    await context.Clock.Delay(TimeSpan.FromMilliseconds(20 + context.Random.Next(30)));
                    return PgReply.Lost("could not connect");
                }
            }
            PgReply reply = await _client.QueryAsync(sql, scenario._world.ChaosActive ? s_callTimeout : TimeSpan.FromSeconds(10));
            context.Trace("statement", $"{sql} -> {reply.Outcome} {reply.Tag}{reply.SqlState} {reply.Message}");
            return reply;
        }

        /// <summary>Retries <paramref name="sql"/> until it succeeds, for at most <paramref name="attemptsMax"/> attempts.</summary>
        public async Task<PgReply> RunUntilOkAsync(string sql, int attemptsMax)
        {
            PgReply reply = PgReply.Lost("not tried");
            for (int attempt = 0; attempt < attemptsMax; attempt++)
            {
                long start = scenario.Now;
                reply = await RunAsync(sql);
                if (reply.Outcome == PgOutcome.Ok)
                {
                    return reply with { Tag = start.ToString(CultureInfo.InvariantCulture) };
                }
                await context.Clock.Delay(TimeSpan.FromMilliseconds(50));
            }
            return reply;
        }

        /// <summary>The final reads: t, then mv, after every writer stopped.</summary>
        public async Task<bool> FinalReadsAsync()
        {
            for (int attempt = 0; attempt < 300; attempt++)
            {
                long start = scenario.Now;
                PgReply reply = await RunAsync("SELECT id, k, v FROM t ORDER BY id");
                if (reply.Outcome == PgOutcome.Ok)
                {
                    scenario._history.Reads.Add(new ReadRecord(context.NodeName, false, true, start, scenario.Now, reply.Rows));
                    break;
                }
                await context.Clock.Delay(TimeSpan.FromMilliseconds(100));
            }
            for (int attempt = 0; attempt < 300; attempt++)
            {
                long start = scenario.Now;
                PgReply reply = await RunAsync("SELECT k, c, s FROM mv ORDER BY k");
                if (reply.Outcome == PgOutcome.Ok)
                {
                    scenario._history.Reads.Add(new ReadRecord(context.NodeName, true, true, start, scenario.Now, reply.Rows));
                    return true;
                }
                await context.Clock.Delay(TimeSpan.FromMilliseconds(100));
            }
            return false;
        }
    }

    private sealed class WriterClient(EndToEndScenario scenario, int index) : INode
    {
        private readonly List<RowChain> _live = [];
        private int _nextSequence;
        private readonly List<int> _uAcknowledged = [];
        private readonly HashSet<int> _uAttempted = [];

        public async Task RunAsync(INodeContext context)
        {
            var session = new Session(scenario, context);
            if (index == 0)
            {
                await CreateSchemaAsync(context, session);
            }
            for (int wait = 0; wait < 3000 && !scenario._schemaReady; wait++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(20));
            }
            for (int statement = 0; statement < StatementsPerClientMax && (scenario._world.ChaosActive || statement < StatementsAfterHealMin) && scenario._schemaReady; statement++)
            {
                await StepAsync(context, session);
                await context.Clock.Delay(TimeSpan.FromMilliseconds(context.Random.Next(15)));
            }
            scenario._writersDone++;
            for (int wait = 0; wait < 3000 && scenario._writersDone < WriterClients; wait++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(20));
            }
            if (!await session.FinalReadsAsync())
            {
                scenario.Violation(context, $"{context.NodeName} could not read t and mv within 60 s after the faults stopped");
            }
            scenario._finalReadsDone++;
            if (scenario._finalReadsDone == WriterClients)
            {
                ReadRecord final = scenario._history.Reads.Last(r => r.Final && !r.OfView);
                scenario._finalContents = final.Rows.ToDictionary(
                    r => int.Parse(r[0]!, CultureInfo.InvariantCulture),
                    r => (int.Parse(r[1]!, CultureInfo.InvariantCulture), int.Parse(r[2]!, CultureInfo.InvariantCulture)));
            }
        }

        private async Task CreateSchemaAsync(INodeContext context, Session session)
        {
            // Retried until acknowledged: IF NOT EXISTS makes a retry of a statement that did commit harmless.
            string[] schema =
            [
                "CREATE TABLE IF NOT EXISTS t (id int, k int, v int)",
                "CREATE MATERIALIZED VIEW IF NOT EXISTS mv AS SELECT k, count(*) AS c, sum(v) AS s FROM t GROUP BY k",
                "CREATE TABLE IF NOT EXISTS u (client int, n int)",
            ];
            foreach (string sql in schema)
            {
                PgReply reply = await session.RunUntilOkAsync(sql, 600);
                if (reply.Outcome != PgOutcome.Ok)
                {
                    scenario.Violation(context, $"'{sql}' never succeeded: {reply.SqlState} {reply.Message}");
                    return;
                }
            }
            scenario._schemaReady = true;
        }

        private async Task StepAsync(INodeContext context, Session session)
        {
            double pick = context.Random.NextDouble();
            if (pick < 0.35 || _live.Count == 0)
            {
                int id = ((index + 1) * 1000) + _nextSequence++;
                RowChain chain = scenario._history.Chain(id, context.Random.Next(5));
                await WriteAsync(context, session, chain, WriteKind.Insert, $"INSERT INTO t VALUES ({id}, {chain.K}, {id * 100})", "INSERT 0 1");
            }
            else if (pick < 0.50)
            {
                RowChain chain = _live[context.Random.Next(_live.Count)];
                if (chain.Ops.Count < 90)
                {
                    int value = (chain.Id * 100) + chain.Ops.Count;
                    await WriteAsync(context, session, chain, WriteKind.Update, $"UPDATE t SET v = {value} WHERE id = {chain.Id}", "UPDATE 1");
                }
            }
            else if (pick < 0.60)
            {
                RowChain chain = _live[context.Random.Next(_live.Count)];
                await WriteAsync(context, session, chain, WriteKind.Delete, $"DELETE FROM t WHERE id = {chain.Id}", "DELETE 1");
            }
            else if (pick < 0.65)
            {
                await IdleTableStepAsync(context, session);
            }
            else if (pick < 0.96)
            {
                bool view = pick >= 0.80;
                long start = scenario.Now;
                PgReply reply = await session.RunAsync(view ? "SELECT k, c, s FROM mv ORDER BY k" : "SELECT id, k, v FROM t ORDER BY id");
                if (reply.Outcome == PgOutcome.Ok)
                {
                    scenario._history.Reads.Add(new ReadRecord(context.NodeName, view, false, start, scenario.Now, reply.Rows));
                }
            }
            else
            {
                string sql = s_badStatements[context.Random.Next(s_badStatements.Length)];
                PgReply reply = await session.RunAsync(sql);
                if (reply.Outcome == PgOutcome.Ok)
                {
                    scenario.Violation(context, $"a bad statement succeeded: {sql} -> {reply.Tag}");
                }
                context.Sometimes(reply.Outcome == PgOutcome.Error, "a bad statement got an error and the session went on");
            }
        }

        /// <summary>Property 6: an insert into, a read of, or an update of this client's rows of the mostly idle table u.</summary>
        private async Task IdleTableStepAsync(INodeContext context, Session session)
        {
            // Often after a pause longer than the storage controller's tick, while the other client writes t: u is then
            // out of use and its upper behind the read timestamp, so the statement must have it moved first.
            if (context.Random.Chance(0.5))
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(1_050 + context.Random.Next(500)));
            }
            double pick = context.Random.NextDouble();
            if (pick < 0.3 || _uAcknowledged.Count == 0)
            {
                int n = _uAttempted.Count;
                _uAttempted.Add(n);
                PgReply inserted = await session.RunAsync($"INSERT INTO u VALUES ({index}, {n})");
                if (inserted.Outcome == PgOutcome.Ok)
                {
                    _uAcknowledged.Add(n);
                }
            }
            else if (pick < 0.65)
            {
                var mustSee = new List<int>(_uAcknowledged);
                PgReply read = await session.RunAsync($"SELECT n FROM u WHERE client = {index}");
                if (read.Outcome != PgOutcome.Ok)
                {
                    return;
                }
                var seen = new HashSet<int>();
                foreach (string?[] row in read.Rows)
                {
                    int n = int.Parse(row[0]!, CultureInfo.InvariantCulture);
                    if (!_uAttempted.Contains(n) || !seen.Add(n))
                    {
                        scenario.Violation(context, $"a read of u returned row ({index}, {n}), never inserted or seen twice");
                    }
                }
                foreach (int n in mustSee)
                {
                    if (!seen.Contains(n))
                    {
                        scenario.Violation(context, $"a read of u misses row ({index}, {n}), whose insert was acknowledged before the read began");
                    }
                }
                context.Sometimes(mustSee.Count > 0, "a read of the idle table u saw this client's acknowledged rows");
            }
            else
            {
                int n = _uAcknowledged[context.Random.Next(_uAcknowledged.Count)];
                PgReply updated = await session.RunAsync($"UPDATE u SET n = n WHERE client = {index} AND n = {n}");
                if (updated.Outcome == PgOutcome.Ok && !string.Equals(updated.Tag, "UPDATE 1", StringComparison.Ordinal))
                {
                    scenario.Violation(context, $"UPDATE of acknowledged row ({index}, {n}) of u reported '{updated.Tag}'");
                }
            }
        }

        private async Task WriteAsync(INodeContext context, Session session, RowChain chain, WriteKind kind, string sql, string expectedTag)
        {
            int value = kind == WriteKind.Delete ? 0 : kind == WriteKind.Insert ? chain.Id * 100 : (chain.Id * 100) + chain.Ops.Count;
            var op = new WriteOp(kind, chain.Id, value, scenario.Now, context.NodeName);
            chain.Ops.Add(op); // recorded before sending: a lost connection leaves the outcome unknown
            PgReply reply = await session.RunAsync(sql);
            if (reply.Outcome != PgOutcome.Ok)
            {
                // An error may still have committed (the server says so for indeterminate storage errors): unknown.
                // The row is never touched again, so its chain stays ordered.
                _live.Remove(chain);
                context.Sometimes(reply.Outcome == PgOutcome.Lost, "a write's outcome was unknown");
                return;
            }
            op.EndNanos = scenario.Now;
            op.Acknowledged = true;
            if (!string.Equals(reply.Tag, expectedTag, StringComparison.Ordinal))
            {
                scenario.Violation(context, $"{op}: expected '{expectedTag}', got '{reply.Tag}'");
            }
            if (kind == WriteKind.Insert)
            {
                _live.Add(chain);
            }
            else if (kind == WriteKind.Delete)
            {
                _live.Remove(chain);
            }
        }
    }

    /// <summary>Runs COPY (SUBSCRIBE t) TO STDOUT, restarting it now and then and whenever it breaks.</summary>
    private sealed class SubscriberClient(EndToEndScenario scenario) : INode
    {
        private const string Subscribe = "COPY (SUBSCRIBE t) TO STDOUT";

        public async Task RunAsync(INodeContext context)
        {
            for (int wait = 0; wait < 3000 && !scenario._schemaReady; wait++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(20));
            }
            while (scenario._world.ChaosActive && scenario._schemaReady)
            {
                await SubscribeOnceAsync(context, TimeSpan.FromMilliseconds(300 + context.Random.Next(1000)), null);
            }
            for (int wait = 0; wait < 3000 && scenario._finalContents is null; wait++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(20));
            }
            if (scenario._finalContents is null)
            {
                return; // the writers report why
            }
            for (int attempt = 0; attempt < 20; attempt++)
            {
                if (await SubscribeOnceAsync(context, TimeSpan.FromSeconds(5), scenario._finalContents))
                {
                    return;
                }
            }
            scenario.Violation(context, "after healing, no subscribe reached the final contents of t");
        }

        /// <summary>Subscribes for <paramref name="duration"/>; with <paramref name="target"/>, returns true once the contents equal it.</summary>
        private async Task<bool> SubscribeOnceAsync(INodeContext context, TimeSpan duration, Dictionary<int, (int K, int V)>? target)
        {
            PgWireClient? client = await PgWireClient.ConnectAsync(context, s_pgwire, s_callTimeout);
            if (client is null)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(50));
                return false;
            }
            using (client)
            {
                var record = new SubscribeRecord(context.NodeName, scenario.Now);
                scenario._history.Subscribes.Add(record);
                if (!client.StartCopy(Subscribe))
                {
                    return false;
                }
                var contents = new Dictionary<(int, int, int), long>();
                long deadline = scenario.Now + (long)duration.TotalNanoseconds;
                // Bounded by the deadline: each pass waits at most until it.
                while (scenario.Now < deadline)
                {
                    (string? line, bool timedOut, PgReply? ended) = await client.NextCopyLineAsync(TimeSpan.FromTicks(Math.Max(1, (deadline - scenario.Now) / 100)));
                    if (ended is not null)
                    {
                        context.Trace("subscribe.ended", $"{ended.Outcome} {ended.SqlState} {ended.Message}");
                        return false;
                    }
                    if (timedOut || line is null)
                    {
                        break;
                    }
                    record.Lines.Add((scenario.Now, line));
                    context.Sometimes(record.Lines.Count > 1, "a subscribe saw updates after its snapshot");
                    if (target is not null && Accumulate(contents, line) && Matches(contents, target))
                    {
                        return true;
                    }
                }
                // Without progress messages a quiet subscribe cannot be told apart from a stalled one: at the
                // deadline, contents equal to the target count (an empty table sends no line at all).
                return target is not null && Matches(contents, target);
            }
        }

        private static bool Accumulate(Dictionary<(int, int, int), long> contents, string line)
        {
            string[] fields = line.Split('\t');
            if (fields.Length != 5
                || !long.TryParse(fields[1], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long diff)
                || !int.TryParse(fields[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int id)
                || !int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int k)
                || !int.TryParse(fields[4], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int v))
            {
                return false; // the checker reports the malformed line
            }
            long count = contents.GetValueOrDefault((id, k, v)) + diff;
            if (count == 0)
            {
                contents.Remove((id, k, v));
            }
            else
            {
                contents[(id, k, v)] = count;
            }
            return true;
        }

        private static bool Matches(Dictionary<(int, int, int), long> contents, Dictionary<int, (int K, int V)> target) =>
            contents.Count == target.Count && target.All(e => contents.GetValueOrDefault((e.Key, e.Value.K, e.Value.V)) == 1);
    }
}
