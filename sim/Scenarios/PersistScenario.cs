using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading.Tasks;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Location;
using Kernel.Persist.Location.Remote;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Sim.Scenarios;

/// <summary>
/// Persist under faults: two writers race to append to one shard, a reader takes snapshots and subscriptions at
/// random readable times, and an upkeep process runs maintenance and garbage collection, while Blob and
/// Consensus are file backends on two server nodes reached over the network. Every node may crash (losing
/// unflushed writes), partitions and I/O errors make location calls fail indeterminately.
/// </summary>
/// <remarks>
/// Checked, against a reference model built from what the writers attempted:
/// <list type="bullet">
/// <item>no acknowledged append is lost, and an append whose outcome was unknown is wholly in or wholly out;</item>
/// <item>at most one writer wins each interval: acknowledged batches never overlap;</item>
/// <item>every snapshot taken at a time t equals the model's contents at t, and every subscription's snapshot and
/// later updates equal the model's;</item>
/// <item>since and upper never regress as seen through one handle, and the final state's invariants hold
/// (since is the meet of reader sinces, since ≤ upper);</item>
/// <item>no blob that a live state references is missing: a read that finds one missing fails the run.</item>
/// </list>
/// The model is resolved at the end: after the faults stop, one final snapshot shows which appends with an
/// unknown outcome committed; only then are the snapshots taken during the run compared.
/// </remarks>
public sealed class PersistScenario(bool inlineUpkeep = false, bool lockFreeConsensus = false) : SimScenario
{
    private const int LocationPort = 2101;
    private const int Writers = 2;
    private static readonly ShardId s_shard = new("s00000000000000000000000000000001");
    private static readonly TimeSpan s_callTimeout = TimeSpan.FromSeconds(2);

    private readonly List<Batch> _batches = [];
    private readonly List<(string Reader, ulong AsOf, Dictionary<Row, long> Contents)> _snapshots = [];
    private readonly List<SubscriptionRecord> _subscriptions = [];
    private readonly List<Row>[] _retractable = [[], []];
    private readonly bool[] _writerIdle = new bool[Writers];
    private bool _stopping;

    /// <summary>
    /// <c>persist</c> runs upkeep after the calls that ask for it (<see cref="PersistConfig.UpkeepInBackground"/>)
    /// on the production consensus (<see cref="LogConsensus"/>, served by two instances on one disk that take turns,
    /// as two processes sharing a directory do); <c>persist-inline-upkeep</c> runs upkeep before the calls return;
    /// <c>persist-lockfree-consensus</c> serves consensus with <see cref="FileConsensus"/>. The variants share
    /// seeds, so a seed means the same faults and schedule choices in each.
    /// </summary>
    public override string Name => lockFreeConsensus ? "persist-lockfree-consensus" : inlineUpkeep ? "persist-inline-upkeep" : "persist";

    public override string SeedName => "persist";

    public override string Description =>
        "writers, a reader and upkeep share a shard on remote file Blob and Consensus nodes that crash; no acknowledged append is lost, one writer wins each interval, snapshots match the model";

    public override FaultKinds Tolerates => FaultKinds.Standard;

    public override SimLimits Limits => new(StepsMax: 3_000_000, VirtualSecondsMax: 300, ChaosSecondsMax: 4);

    public override long ExpectedSteps => 20_000;

    internal static PersistConfig Config { get; } = new()
    {
        RollupEverySeqNos = 8,
        RollupsKept = 2,
        // Short chains of incremental versions, so complete versions, chain reads and truncation at chain starts all happen.
        StateChainMax = 5,
        MaintenanceEverySeqNos = 4,
        ReaderLeaseDurationMs = 5_000,
        WriterLeaseDurationMs = 10_000,
        RetriesMax = 12,
        RetryBackoffMax = TimeSpan.FromMilliseconds(200),
        PollInterval = TimeSpan.FromMilliseconds(20),
    };

    private enum Outcome
    {
        Pending,
        Acknowledged,
        Rejected,
    }

    private sealed class Batch(string id, ulong time, ulong upper, List<Update> updates)
    {
        public string Id { get; } = id;

        public ulong Time { get; } = time;

        public ulong Upper { get; } = upper;

        public List<Update> Updates { get; } = updates;

        public Outcome Outcome { get; set; }

        /// <summary>Resolved at the end for batches whose outcome the writer never learned.</summary>
        public bool Committed { get; set; }
    }

    private sealed record SubscriptionRecord(ulong AsOf, Dictionary<Row, long> Snapshot, List<(ulong Lower, ulong Progress, List<Update> Updates)> Events);

    public override void Setup(SimWorld world)
    {
        world.AddNode("blob", () => new LocationNode(blob: true), SimNodeOptions.Server);
        world.AddNode("consensus", () => new LocationNode(blob: false, lockFreeConsensus), SimNodeOptions.Server);
        for (int i = 0; i < Writers; i++)
        {
            int index = i;
            world.AddNode("writer-" + (i + 1).ToString(CultureInfo.InvariantCulture), () => new Writer(this, index), SimNodeOptions.Server);
        }
        world.AddNode("reader", () => new Reader(this), SimNodeOptions.Server);
        world.AddNode("upkeep", () => new Upkeep(this), SimNodeOptions.Server);
        world.AddNode("checker", () => new Checker(this, world), SimNodeOptions.Workload);
    }

    private PersistClient Client(INodeContext context)
    {
        var blob = new RemoteBlob(new RemoteLocation(context, new Endpoint("blob", LocationPort), s_callTimeout));
        var consensus = new RemoteConsensus(new RemoteLocation(context, new Endpoint("consensus", LocationPort), s_callTimeout));
        return new PersistClient(new PersistContext(blob, consensus, context.Clock, context.Random.Fork("persist"), Config with { UpkeepInBackground = !inlineUpkeep })
        {
            Compute = context.Compute,
        });
    }

    /// <summary>
    /// Waits for good once the workload stops: returning would end the process, and the world restarts servers
    /// that exit, as a supervisor would.
    /// </summary>
    private static Task IdleAsync(INodeContext context) => context.Clock.Delay(System.Threading.Timeout.InfiniteTimeSpan);

    /// <summary>A read that saw a missing or corrupt blob: never acceptable, whatever the faults.</summary>
    private static void CheckNotBroken(INodeContext context, PersistError error) =>
        context.Always(error.Kind is not (PersistErrorKind.BlobMissing or PersistErrorKind.Corrupt), "persist read broken data: " + error);

    private static Dictionary<Row, long> Consolidate(IEnumerable<Update> updates)
    {
        var contents = new Dictionary<Row, long>();
        foreach (Update update in updates)
        {
            long diff = contents.GetValueOrDefault(update.Row) + update.Diff;
            if (diff == 0)
            {
                contents.Remove(update.Row);
            }
            else
            {
                contents[update.Row] = diff;
            }
        }
        return contents;
    }

    private static string? Difference(Dictionary<Row, long> expected, Dictionary<Row, long> actual)
    {
        foreach (Row row in expected.Keys.Concat(actual.Keys).Distinct().Order())
        {
            long want = expected.GetValueOrDefault(row), got = actual.GetValueOrDefault(row);
            if (want != got)
            {
                return $"row {row}: model has {want}, persist returned {got}";
            }
        }
        return null;
    }

    /// <summary>Serves one location primitive from this node's disk.</summary>
    private sealed class LocationNode(bool blob, bool lockFreeConsensus = false) : INode
    {
        // Small segments and small steps of space written ahead, so that compaction and growth happen within a run.
        private static LogConsensus LogNode(INodeContext context) =>
            new(context.Storage, "consensus", compactionThresholdBytes: 64 << 10, preallocateBytes: 8 << 10);

        public async Task RunAsync(INodeContext context)
        {
            IBlob? blobBackend = blob ? new FileBlob(context.Storage, context.Random.Fork("blob"), "blob") : null;
            IConsensus? consensusBackend = blob ? null
                : lockFreeConsensus ? new FileConsensus(context.Storage, context.Random.Fork("consensus"), "consensus")
                : new TakeTurnsConsensus(LogNode(context), LogNode(context));
            await new LocationServer(context, blobBackend, consensusBackend).RunAsync(LocationPort);
        }
    }

    private sealed class Writer(PersistScenario scenario, int index) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            scenario._writerIdle[index] = false;
            PersistClient client = scenario.Client(context);
            long sequence = 0;
            WriteHandle? writer = null;
            Frontier upper = Frontier.Minimum;
            while (!scenario._stopping)
            {
                if (writer is null)
                {
                    PersistResult<WriteHandle> opened = await client.OpenWriterAsync(s_shard, context.NodeName);
                    if (!opened.IsOk)
                    {
                        await context.Clock.Delay(TimeSpan.FromMilliseconds(20));
                        continue;
                    }
                    writer = opened.Unwrap();
                    PersistResult<Frontier> fetched = await writer.FetchRecentUpperAsync();
                    upper = fetched.IsOk ? fetched.Value : Frontier.Minimum;
                }
                if (upper.IsEmpty)
                {
                    break; // dropped: nothing more to write
                }
                ulong lower = upper.Time;
                ulong newUpper = lower + 1 + (ulong)context.Random.Next(3);
                var updates = new List<Update>();
                int inserts = 1 + context.Random.Next(3);
                for (int i = 0; i < inserts; i++)
                {
                    updates.Add(new Update(Row.OfInt64(index, context.Incarnation, sequence, i), lower, +1));
                }
                List<Row> pool = scenario._retractable[index];
                if (pool.Count > 0 && context.Random.Chance(0.3))
                {
                    int pick = context.Random.Next(pool.Count);
                    updates.Add(new Update(pool[pick], lower, -1));
                    pool.RemoveAt(pick); // retracted at most once, whatever this append's outcome
                }
                var batch = new Batch($"{context.NodeName}#{context.Incarnation}/{sequence}", lower, newUpper, updates);
                sequence++;
                scenario._batches.Add(batch); // recorded before the call: a crash mid-call leaves it pending

                PersistResult<AppendResult> result = await writer.CompareAndAppendAsync(updates, upper, Frontier.At(newUpper));
                if (!result.IsOk)
                {
                    CheckNotBroken(context, result.Error!);
                    if (result.Error!.Kind == PersistErrorKind.HandleExpired)
                    {
                        writer = null;
                    }
                    PersistResult<Frontier> fetched = writer is null ? default : await writer.FetchRecentUpperAsync();
                    if (fetched.IsOk)
                    {
                        upper = Frontier.Join(upper, fetched.Value);
                    }
                    continue;
                }
                AppendResult appended = result.Value!;
                if (appended.Committed)
                {
                    batch.Outcome = Outcome.Acknowledged;
                    context.Trace("append", $"{batch.Id} [{lower}, {newUpper}) {appended.Status} seqno {appended.SeqNo}");
                    foreach (Update update in updates)
                    {
                        if (update.Diff > 0)
                        {
                            pool.Add(update.Row);
                        }
                    }
                    context.Always(appended.CurrentUpper >= Frontier.At(newUpper), $"upper {appended.CurrentUpper} after appending up to {newUpper}");
                    upper = Frontier.At(newUpper);
                }
                else
                {
                    batch.Outcome = Outcome.Rejected;
                    context.Always(appended.CurrentUpper != upper, "an upper mismatch must report a different upper");
                    context.Always(appended.CurrentUpper >= upper, $"upper regressed from {upper} to {appended.CurrentUpper}");
                    upper = appended.CurrentUpper;
                }
                context.Sometimes(!appended.Committed, "a writer lost a race for an interval");
                await context.Clock.Delay(TimeSpan.FromMilliseconds(context.Random.Next(20)));
            }
            scenario._writerIdle[index] = true;
            await IdleAsync(context);
        }
    }

    private sealed class Reader(PersistScenario scenario) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            PersistClient client = scenario.Client(context);
            ReadHandle? reader = null;
            Frontier lastSince = Frontier.Minimum, lastUpper = Frontier.Minimum;
            while (!scenario._stopping)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(5 + context.Random.Next(30)));
                if (reader is null)
                {
                    PersistResult<ReadHandle> opened = await client.OpenLeasedReaderAsync(s_shard, "reader");
                    if (!opened.IsOk)
                    {
                        continue;
                    }
                    reader = opened.Unwrap();
                    lastSince = reader.Since;
                    lastUpper = Frontier.Minimum;
                }
                PersistResult<Frontier> upperResult = await reader.FetchRecentUpperAsync();
                if (!upperResult.IsOk)
                {
                    continue;
                }
                Frontier upper = upperResult.Value;
                context.Always(upper >= lastUpper, $"upper regressed from {lastUpper} to {upper}");
                context.Always(reader.Since >= lastSince, $"since regressed from {lastSince} to {reader.Since}");
                lastUpper = upper;
                lastSince = reader.Since;
                if (upper.IsEmpty || reader.Since.IsEmpty || upper.Time <= reader.Since.Time)
                {
                    continue;
                }
                ulong asOf = (ulong)context.Random.NextInt64((long)reader.Since.Time, (long)upper.Time);
                if (context.Random.Chance(0.05))
                {
                    // Beyond the upper: must be refused as not yet available, never answered.
                    // Far beyond: the upper observed a moment ago may have moved on since.
                    ulong future = upper.Time + 1_000_000 + (ulong)context.Random.Next(5);
                    PersistResult<List<Update>> early = await reader.SnapshotAsync(future);
                    context.Always(!early.IsOk, $"a snapshot at {future}, at or beyond the upper {upper}, returned data");
                    CheckNotBroken(context, early.Error!);
                    continue;
                }
                if (reader.Since.Time > 0 && context.Random.Chance(0.1))
                {
                    // Below this reader's since: refused as compacted away, or (if nothing compacted it yet) answered
                    // correctly, which the model check covers.
                    asOf = (ulong)context.Random.NextInt64(0, (long)reader.Since.Time);
                }
                if (context.Random.Chance(0.7))
                {
                    await Snapshot(context, reader, asOf);
                }
                else
                {
                    await Subscribe(context, reader, asOf);
                }
                if (context.Random.Chance(0.3))
                {
                    // Let compaction advance: release times below the one just read.
                    PersistResult<Frontier> downgraded = await reader.DowngradeSinceAsync(Frontier.At(asOf));
                    if (!downgraded.IsOk && downgraded.Error!.Kind == PersistErrorKind.HandleExpired)
                    {
                        reader = null;
                        continue;
                    }
                }
                PersistResult<bool> heartbeat = await reader.HeartbeatAsync();
                if (!heartbeat.IsOk && heartbeat.Error!.Kind == PersistErrorKind.HandleExpired)
                {
                    reader = null;
                }
            }
            await IdleAsync(context);
        }

        private async Task Snapshot(INodeContext context, ReadHandle reader, ulong asOf)
        {
            PersistResult<List<Update>> snapshot = await reader.SnapshotAsync(asOf);
            if (!snapshot.IsOk)
            {
                CheckNotBroken(context, snapshot.Error!);
                context.Sometimes(snapshot.Error!.Kind == PersistErrorKind.AsOfCompactedAway, "a snapshot found its time compacted away");
                return;
            }
            foreach (Update update in snapshot.Value!)
            {
                context.Always(update.Time == asOf, $"snapshot at {asOf} returned an update at {update.Time}");
            }
            scenario._snapshots.Add((context.NodeName, asOf, Consolidate(snapshot.Value!)));
        }

        private async Task Subscribe(INodeContext context, ReadHandle reader, ulong asOf)
        {
            PersistResult<Subscription> subscribed = await reader.SubscribeAsync(asOf, TimeSpan.FromSeconds(1));
            if (!subscribed.IsOk)
            {
                CheckNotBroken(context, subscribed.Error!);
                return;
            }
            Subscription subscription = subscribed.Value!;
            var record = new SubscriptionRecord(asOf, Consolidate(subscription.Snapshot), []);
            ulong lower = asOf + 1;
            for (int i = 0; i < 4; i++)
            {
                PersistResult<ListenEvent> next = await subscription.Listen.NextAsync(TimeSpan.FromMilliseconds(200));
                if (!next.IsOk)
                {
                    CheckNotBroken(context, next.Error!);
                    break;
                }
                ListenEvent listened = next.Value!;
                if (listened.Progress.IsEmpty)
                {
                    break;
                }
                context.Always(listened.Progress.Time >= lower, $"listen progress went back from {lower} to {listened.Progress}");
                foreach (Update update in listened.Updates)
                {
                    context.Always(update.Time >= lower && update.Time < listened.Progress.Time, $"listened update {update} outside [{lower}, {listened.Progress})");
                }
                record.Events.Add((lower, listened.Progress.Time, new List<Update>(listened.Updates)));
                lower = listened.Progress.Time;
            }
            scenario._subscriptions.Add(record);
            context.Sometimes(record.Events.Count > 0 && record.Events[^1].Updates.Count > 0, "a subscription saw new updates arrive");
        }
    }

    private sealed class Upkeep(PersistScenario scenario) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            PersistClient client = scenario.Client(context);
            while (!scenario._stopping)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(50 + context.Random.Next(150)));
                PersistResult<MaintenanceReport> maintained = await client.RunMaintenanceAsync(s_shard);
                if (!maintained.IsOk)
                {
                    CheckNotBroken(context, maintained.Error!);
                }
                PersistResult<GcReport> collected = await client.CollectGarbageAsync(s_shard);
                if (!collected.IsOk)
                {
                    CheckNotBroken(context, collected.Error!);
                }
            }
            await IdleAsync(context);
        }
    }

    private sealed class Checker(PersistScenario scenario, SimWorld world) : INode
    {
        public async Task RunAsync(INodeContext context)
        {
            await context.Clock.Delay(TimeSpan.FromSeconds(world.Config.Limits.ChaosSecondsMax));
            world.Heal();
            scenario._stopping = true;
            for (int wait = 0; wait < 600 && scenario._writerIdle.Contains(false); wait++)
            {
                await context.Clock.Delay(TimeSpan.FromMilliseconds(100));
            }
            context.Always(!scenario._writerIdle.Contains(false), "writers did not stop within 60 s after the faults stopped");

            PersistClient client = scenario.Client(context);
            Frontier upper = Frontier.Minimum;
            Dictionary<Row, long>? final = null;
            // Clocks stay skewed after the faults stop, so a reader may still be expired by maintenance that another
            // node started with a clock far ahead: open a fresh one and read again.
            for (int attempt = 0; final is null && attempt < 100; attempt++)
            {
                PersistResult<ReadHandle> opened = await client.OpenLeasedReaderAsync(s_shard, "checker");
                PersistResult<Frontier> fetched = opened.IsOk ? await opened.Value!.FetchRecentUpperAsync() : default;
                if (!opened.IsOk || !fetched.IsOk)
                {
                    await context.Clock.Delay(TimeSpan.FromMilliseconds(100));
                    continue;
                }
                upper = fetched.Value;
                if (upper.Time == 0)
                {
                    final = [];
                    break;
                }
                PersistResult<List<Update>> snapshot = await opened.Value!.SnapshotAsync(upper.Time - 1);
                if (snapshot.IsOk)
                {
                    final = Consolidate(snapshot.Value!);
                    break;
                }
                CheckNotBroken(context, snapshot.Error!);
                context.Always(snapshot.Error!.Kind is PersistErrorKind.HandleExpired or PersistErrorKind.Unavailable,
                    "final snapshot failed after the faults stopped: " + snapshot.Error);
            }
            context.Always(final is not null, "could not take a final snapshot after the faults stopped");
            Verify(context, final!, upper);
            await VerifyReferencedBlobs(context, client);
        }

        private void Verify(INodeContext context, Dictionary<Row, long> final, Frontier upper)
        {
            // Resolve the appends whose outcome was never learned: wholly in, or wholly out. Their rows (and those of
            // rejected appends) never enter a writer's retraction pool, so presence in the final contents decides.
            // Acknowledged appends are checked by comparing the whole final contents with the model below.
            foreach (Batch batch in scenario._batches)
            {
                if (batch.Outcome == Outcome.Acknowledged)
                {
                    batch.Committed = true;
                    continue;
                }
                int present = batch.Updates.Count(u => u.Diff > 0 && final.ContainsKey(u.Row));
                int inserts = batch.Updates.Count(u => u.Diff > 0);
                context.Always(present == 0 || present == inserts, $"append {batch.Id} is partly visible ({present} of {inserts} rows)");
                batch.Committed = batch.Outcome == Outcome.Acknowledged || (batch.Outcome == Outcome.Pending && present == inserts);
                context.Always(batch.Outcome != Outcome.Rejected || present == 0, $"append {batch.Id} was rejected yet its rows are visible");
            }
            List<Batch> committed = scenario._batches.Where(b => b.Committed).OrderBy(b => b.Time).ToList();
            context.Sometimes(scenario._batches.Any(b => b.Outcome == Outcome.Pending && b.Committed), "an append with an unknown outcome had committed");

            // One winner per interval: acknowledged intervals never overlap.
            List<Batch> acknowledged = scenario._batches.Where(b => b.Outcome == Outcome.Acknowledged).OrderBy(b => b.Time).ToList();
            for (int i = 1; i < acknowledged.Count; i++)
            {
                context.Always(acknowledged[i].Time >= acknowledged[i - 1].Upper,
                    $"appends {acknowledged[i - 1].Id} [{acknowledged[i - 1].Time}, {acknowledged[i - 1].Upper}) and {acknowledged[i].Id} [{acknowledged[i].Time}, {acknowledged[i].Upper}) both won");
            }
            foreach (Batch batch in acknowledged)
            {
                context.Always(upper.IsEmpty || batch.Upper <= upper.Time, $"acknowledged append {batch.Id} ends at {batch.Upper}, above the shard's upper {upper}");
            }

            Dictionary<Row, long> ModelAt(ulong time) => Consolidate(committed.Where(b => b.Time <= time).SelectMany(b => b.Updates));
            if (Difference(ModelAt(ulong.MaxValue), final) is { } lost)
            {
                context.Always(false, "final contents differ from the acknowledged appends: " + lost);
            }
            foreach ((string readerName, ulong asOf, Dictionary<Row, long> contents) in scenario._snapshots)
            {
                if (Difference(ModelAt(asOf), contents) is { } wrong)
                {
                    context.Always(false, $"{readerName}: snapshot at {asOf} differs from the model: {wrong}");
                }
            }
            foreach (SubscriptionRecord subscription in scenario._subscriptions)
            {
                if (Difference(ModelAt(subscription.AsOf), subscription.Snapshot) is { } wrong)
                {
                    context.Always(false, $"subscription at {subscription.AsOf}: snapshot differs from the model: {wrong}");
                }
                foreach ((ulong lower, ulong progress, List<Update> updates) in subscription.Events)
                {
                    var expected = committed.Where(b => b.Time >= lower && b.Time < progress).SelectMany(b => b.Updates).ToList();
                    foreach (ulong time in expected.Select(u => u.Time).Concat(updates.Select(u => u.Time)).Distinct())
                    {
                        if (Difference(Consolidate(expected.Where(u => u.Time == time)), Consolidate(updates.Where(u => u.Time == time))) is { } wrongAtTime)
                        {
                            context.Always(false, $"subscription at {subscription.AsOf}: updates at {time} differ from the model: {wrongAtTime}");
                        }
                    }
                }
            }
            context.Trace("verified", $"{committed.Count} appends, {scenario._snapshots.Count} snapshots, {scenario._subscriptions.Count} subscriptions");
        }

        /// <summary>
        /// Every blob the head state references exists. Upkeep may still be running when this checks (an iteration
        /// that began before the stop; and a clock skewed far ahead can expire the checker's own reader, so nothing
        /// holds older states): a rollup or GC that replaces the head may then collect, legitimately, a blob the
        /// state fetched here referenced. So a missing blob is a violation only if that state is still the head.
        /// </summary>
        private static async Task VerifyReferencedBlobs(INodeContext context, PersistClient client)
        {
            for (int attempt = 0; ; attempt++)
            {
                PersistResult<ShardState> state = await client.FetchStateAsync(s_shard);
                context.Always(state.IsOk, "could not fetch the final state: " + state.Error);
                context.Always(state.Value!.CheckInvariants() is null, "final state: " + state.Value.CheckInvariants());
                string? missing = null;
                LocationResult<byte[]?> missingResult = default;
                foreach (string key in state.Value.ReferencedBlobKeys())
                {
                    LocationResult<byte[]?> blob = await client.Context.Blob.GetAsync(key);
                    if (!blob.IsOk || blob.Value is null)
                    {
                        (missing, missingResult) = (key, blob);
                        break;
                    }
                }
                if (missing is null)
                {
                    return;
                }
                PersistResult<ShardState> again = await client.FetchStateAsync(s_shard);
                if (attempt < 100 && again.IsOk && again.Value!.SeqNo != state.Value.SeqNo)
                {
                    await context.Clock.Delay(TimeSpan.FromMilliseconds(100));
                    continue;
                }
                context.Always(false, $"blob {missing}, referenced by the live state (seqno {state.Value.SeqNo}), is missing ({missingResult})");
                return;
            }
        }
    }
}
