using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute.Arrangements;
using Kernel.Compute.Dataflow;
using Kernel.Compute.Sinks;
using Kernel.Compute.Sources;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Net.Compute;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;

namespace Kernel.Compute.Replica;

/// <summary>
/// The compute side of clusterd: owns this replica's dataflows and serves the controller protocol over an
/// <see cref="IComputeChannel"/>.
/// </summary>
/// <remarks>
/// <para>Protocol. A connection starts with <see cref="Hello"/>; a lower epoch than the highest seen is refused
/// (a <see cref="Status"/>) and every command up to the next accepted Hello is ignored. After an accepted Hello the
/// controller replays its reduced history; a <see cref="CreateDataflow"/> equal (structurally) to a running
/// dataflow not yet claimed in this replay is kept, not rebuilt (dataflows with subscribes are always rebuilt:
/// a new controller expects their output from the as-of). <see cref="InitializationComplete"/> drops every
/// dataflow the replay did not name.</para>
/// <para>Loop. <see cref="RunAsync"/> is the single owner of all state: it handles commands, steps dataflows
/// until idle, drives subscribes and peeks, and reports frontiers (only when they change). Persist sources and
/// sinks run as tasks on the same node loop and wake it; they never touch a dataflow except to push into its
/// inputs or drain its sink buffers, which is safe because the loop is single-threaded.</para>
/// <para>Bad commands (unknown ids, plans that do not fit) get a Status (a peek gets its PeekError) and never
/// throw; an exception out of this class is a broken invariant.</para>
/// </remarks>
public sealed class ComputeReplica
{
    private const int CommandsPerRoundMax = 256;

    private readonly IComputeChannel _channel;
    private readonly Func<string, string, PersistClient> _persistFactory;
    private readonly Signal _wake = new();
    private readonly List<DataflowEntry> _dataflows = [];
    private readonly Dictionary<GlobalId, DataflowEntry> _exports = [];
    private readonly List<PendingPeek> _peeks = [];
    private readonly List<Task> _background = []; // sources and sinks of started dataflows
    private readonly Dictionary<GlobalId, (Frontier Write, Frontier Input, Frontier Output)> _reported = [];
    private readonly HashSet<DataflowEntry> _claimed = [];
    private PersistClient? _persist;
    private ulong _highestEpoch;
    private bool _helloSeen;
    private bool _refused;
    private bool _reconciling;
    private bool _writesAllowed;
    private long _nextDataflowSequence;

    public ComputeReplica(IComputeChannel channel, Func<string, string, PersistClient> persistFactory)
    {
        _channel = channel;
        _persistFactory = persistFactory;
    }

    /// <summary>The dataflows running now, in creation order (for tests and introspection).</summary>
    public IReadOnlyList<Dataflow.Dataflow> Dataflows
    {
        get
        {
            var result = new List<Dataflow.Dataflow>();
            foreach (DataflowEntry entry in _dataflows)
            {
                result.Add(entry.Dataflow);
            }
            return result;
        }
    }

    /// <summary>How many dataflows were built from scratch (reconciliation keeps matching ones), for tests.</summary>
    public long DataflowsBuilt => _nextDataflowSequence;

    /// <summary>Receives and handles commands until the channel closes or <paramref name="ct"/> is cancelled.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var commands = new Queue<ComputeCommand>();
        bool closed = false;
        // Commands are received by a separate task that queues them and wakes this loop, so the loop waits on
        // one signal only (combinators such as Task.WhenAny would complete on the thread pool, off the node loop).
        Task pump = PumpCommandsAsync(commands, () => closed = true, ct);
        using CancellationTokenRegistration wakeOnCancel = ct.Register(_wake.Set);
        try
        {
            // One round: handle the queued commands, do all dataflow work, then sleep until woken.
            while (!ct.IsCancellationRequested)
            {
                for (int handled = 0; handled < CommandsPerRoundMax && commands.Count > 0; handled++)
                {
                    Handle(commands.Dequeue());
                }
                if (closed && commands.Count == 0)
                {
                    return;
                }
                Work();
                if (commands.Count == 0)
                {
                    await _wake.WaitAsync();
                }
            }
        }
        finally
        {
            foreach (DataflowEntry entry in _dataflows)
            {
                entry.Stop();
            }
            await pump;
            // A graceful stop lets sources expire their persist readers, so a restarted replica's shards are not
            // held back (their since and GC) by readers of this process until the leases lapse. Bounded by the
            // host, which ends the loop after its stop timeout.
            foreach (Task background in _background)
            {
                await background;
            }
        }
    }

    private async Task PumpCommandsAsync(Queue<ComputeCommand> commands, Action onClosed, CancellationToken ct)
    {
        try
        {
            while (!ct.IsCancellationRequested)
            {
                ComputeCommand? command = await _channel.ReceiveAsync(ct);
                if (command is null)
                {
                    onClosed();
                    break;
                }
                commands.Enqueue(command);
                _wake.Set();
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        _wake.Set();
    }

    /// <summary>Handles one command (the loop calls this; tests may too, then call <see cref="Work"/>).</summary>
    public void Handle(ComputeCommand command)
    {
        if (command is Hello hello)
        {
            HandleHello(hello);
            return;
        }
        if (_refused || !_helloSeen)
        {
            return;
        }
        switch (command)
        {
            case CreateInstance create:
                HandleCreateInstance(create);
                break;
            case InitializationComplete:
                HandleInitializationComplete();
                break;
            case AllowWrites:
                _writesAllowed = true;
                foreach (DataflowEntry entry in _dataflows)
                {
                    entry.AllowWrites();
                }
                break;
            case UpdateConfiguration:
                // No runtime parameters are known yet; unknown names are ignored by the protocol's rules.
                break;
            case CreateDataflow create:
                HandleCreateDataflow(create.Dataflow);
                break;
            case Schedule schedule:
                if (_exports.TryGetValue(schedule.Id, out DataflowEntry? scheduled))
                {
                    Start(scheduled);
                }
                else
                {
                    SendStatus("unknown-id", $"schedule: no dataflow exports {schedule.Id}");
                }
                break;
            case AllowCompaction compaction:
                HandleAllowCompaction(compaction);
                break;
            case Peek peek:
                _peeks.Add(new PendingPeek(peek));
                break;
            case CancelPeek cancel:
                int index = _peeks.FindIndex(p => p.Peek.Uuid == cancel.Uuid);
                if (index >= 0)
                {
                    _peeks.RemoveAt(index);
                    _channel.Send(new PeekResponse(cancel.Uuid, new PeekCanceled()));
                }
                break;
            default:
                SendStatus("unknown-command", command.GetType().Name);
                break;
        }
        _wake.Set();
    }

    /// <summary>Steps every dataflow until idle, drives subscribes and sinks, answers ready peeks, reports frontiers.</summary>
    public void Work()
    {
        // Dataflows feed later ones through shared indexes, so repeat until a whole pass moves nothing.
        for (int pass = 0; pass < 100; pass++)
        {
            bool changed = false;
            foreach (DataflowEntry entry in _dataflows)
            {
                if (entry.Started)
                {
                    changed |= entry.Dataflow.Step();
                }
            }
            if (!changed)
            {
                break;
            }
        }
        foreach (DataflowEntry entry in _dataflows)
        {
            if (!entry.Started)
            {
                continue;
            }
            foreach (SubscribeSink subscribe in entry.Subscribes)
            {
                foreach (SubscribeEvent subscribeEvent in subscribe.Drive())
                {
                    _channel.Send(new SubscribeResponse(subscribe.Id, subscribeEvent));
                }
            }
            foreach (PersistSink sink in entry.PersistSinks)
            {
                sink.Notify();
            }
        }
        AnswerPeeks();
        ReportFrontiers();
    }

    private void HandleHello(Hello hello)
    {
        if (_helloSeen && hello.Epoch < _highestEpoch)
        {
            _refused = true;
            SendStatus("epoch-refused", $"controller epoch {hello.Epoch} is older than epoch {_highestEpoch} already served");
            return;
        }
        if (hello.ProtocolVersion != Hello.CurrentVersion)
        {
            _refused = true;
            SendStatus("version-refused", $"protocol version {hello.ProtocolVersion} is not {Hello.CurrentVersion}");
            return;
        }
        _refused = false;
        _helloSeen = true;
        _highestEpoch = Math.Max(_highestEpoch, hello.Epoch);
        _reconciling = true;
        _claimed.Clear();
        // Peeks and frontier reports belonged to the old connection; the new controller re-sends what it needs.
        _peeks.Clear();
        _reported.Clear();
        // So did the subscribes' batches: some may have been lost with it. A subscribe is never kept across a
        // reconnect (the replay rebuilds it from what the controller received), so the old one sends nothing more;
        // sending on would put a batch on the new connection without the lost ones before it (seed 1144).
        foreach (DataflowEntry entry in _dataflows)
        {
            foreach (SubscribeSink subscribe in entry.Subscribes)
            {
                subscribe.Silence();
            }
        }
    }

    private void HandleCreateInstance(CreateInstance create)
    {
        if (_persist is not null)
        {
            return;
        }
        try
        {
            _persist = _persistFactory(create.BlobUri, create.ConsensusUri);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or NotSupportedException or InvalidOperationException)
        {
            SendStatus("instance-error", $"cannot open persist at {create.BlobUri} / {create.ConsensusUri}: {e.Message}");
        }
    }

    private void HandleInitializationComplete()
    {
        if (!_reconciling)
        {
            return;
        }
        _reconciling = false;
        foreach (DataflowEntry entry in _dataflows.ToArray())
        {
            if (!_claimed.Contains(entry))
            {
                Drop(entry);
            }
        }
        _claimed.Clear();
    }

    private void HandleCreateDataflow(DataflowDescription description)
    {
        if (_reconciling)
        {
            foreach (DataflowEntry existing in _dataflows)
            {
                // The controller moves a replayed dataflow's as_of up to what it has allowed to compact: a running
                // dataflow that differs only there is the same dataflow, further along. Unless it has not read all its
                // snapshots yet and its as_of is below the new one: the new controller holds its inputs at the new as_of
                // only (a view created just before the old one crashed is replayed at the new read timestamp), so the
                // old as_of may already be compacted away, and the source would fail for good. It is rebuilt instead.
                if (!_claimed.Contains(existing) && existing.Subscribes.Count == 0
                    && StructuralEquality.Equal(existing.Description, description with { AsOf = existing.Description.AsOf })
                    && (existing.Description.AsOf >= description.AsOf || existing.Sources.TrueForAll(source => source.SnapshotRead)))
                {
                    _claimed.Add(existing);
                    return;
                }
            }
        }
        foreach (GlobalId id in description.ExportIds)
        {
            if (_exports.TryGetValue(id, out DataflowEntry? clash))
            {
                if (_reconciling && !_claimed.Contains(clash))
                {
                    // A changed definition of a dataflow from before the reconnect: the new one replaces it.
                    Drop(clash);
                }
                else
                {
                    SendStatus("dataflow-error", $"{description.DebugName}: export {id} already exists");
                    return;
                }
            }
        }
        var sourceShards = new List<(SourceImport Import, ShardId Shard)>();
        foreach (SourceImport source in description.SourceImports)
        {
            if (!ShardId.TryParse(source.ShardId, out ShardId shard, out string parseError))
            {
                SendStatus("dataflow-error", $"{description.DebugName}: {parseError}");
                return;
            }
            sourceShards.Add((source, shard));
        }
        var sinkShards = new Dictionary<GlobalId, ShardId>();
        foreach (SinkExport sink in description.SinkExports)
        {
            if (sink.Target is PersistSinkTarget target)
            {
                if (!ShardId.TryParse(target.ShardId, out ShardId shard, out string parseError))
                {
                    SendStatus("dataflow-error", $"{description.DebugName}: {parseError}");
                    return;
                }
                sinkShards[sink.SinkId] = shard;
            }
        }
        if ((sourceShards.Count > 0 || sinkShards.Count > 0) && _persist is null)
        {
            SendStatus("dataflow-error", $"{description.DebugName}: reads or writes persist before CreateInstance");
            return;
        }
        BuildResult built = DataflowBuilder.Build(description, FindIndex);
        if (!built.IsOk)
        {
            SendStatus("dataflow-error", $"{description.DebugName}: {built.Error}");
            return;
        }
        var entry = new DataflowEntry(description, built.Dataflow!, _nextDataflowSequence++);
        foreach ((SourceImport import, ShardId shard) in sourceShards)
        {
            InputNode input = entry.Dataflow.SourceInputs[import.Id];
            entry.Sources.Add(new PersistSource(_persist!, shard, input, () => entry.CompactionFrontier, _wake.Set, SendStatus));
        }
        foreach (SinkBuffer buffer in entry.Dataflow.Sinks.Values)
        {
            if (buffer.Export.Target is SubscribeSinkTarget)
            {
                entry.Subscribes.Add(new SubscribeSink(buffer, description.AsOf));
            }
            else
            {
                var sink = new PersistSink(_persist!, sinkShards[buffer.Id], buffer, _wake.Set, SendStatus);
                if (_writesAllowed)
                {
                    sink.AllowWrites();
                }
                entry.PersistSinks.Add(sink);
            }
        }
        foreach (GlobalId id in description.ExportIds)
        {
            _exports[id] = entry;
            entry.LiveExports.Add(id);
        }
        _dataflows.Add(entry);
        if (_reconciling)
        {
            _claimed.Add(entry);
        }
    }

    private IndexState? FindIndex(GlobalId id) =>
        _exports.TryGetValue(id, out DataflowEntry? entry) && entry.Dataflow.Indexes.TryGetValue(id, out IndexState? index) ? index : null;

    private void Start(DataflowEntry entry)
    {
        if (entry.Started)
        {
            return;
        }
        entry.Started = true;
        _background.RemoveAll(task => task.IsCompleted);
        foreach (PersistSource source in entry.Sources)
        {
            _background.Add(RunBackground(source.RunAsync(entry.Cancellation.Token)));
        }
        foreach (PersistSink sink in entry.PersistSinks)
        {
            _background.Add(RunBackground(sink.RunAsync(entry.Cancellation.Token)));
        }
    }

    private async Task RunBackground(Task task)
    {
        await task;
        _wake.Set();
    }

    private void HandleAllowCompaction(AllowCompaction compaction)
    {
        if (!_exports.TryGetValue(compaction.Id, out DataflowEntry? entry))
        {
            SendStatus("unknown-id", $"allow compaction: no dataflow exports {compaction.Id}");
            return;
        }
        if (compaction.Frontier.IsEmpty)
        {
            _exports.Remove(compaction.Id);
            _reported.Remove(compaction.Id);
            entry.LiveExports.Remove(compaction.Id);
            foreach (SubscribeSink subscribe in entry.Subscribes)
            {
                if (subscribe.Id == compaction.Id && subscribe.Drop())
                {
                    _channel.Send(new SubscribeResponse(subscribe.Id, new SubscribeDropped()));
                }
            }
            if (entry.LiveExports.Count == 0)
            {
                Drop(entry);
            }
            return;
        }
        entry.Compaction[compaction.Id] = compaction.Frontier;
        if (entry.Dataflow.Indexes.TryGetValue(compaction.Id, out IndexState? index))
        {
            // Never compact past what is complete: a read at upper - 1 must stay possible.
            Frontier since = index.Upper.IsEmpty ? compaction.Frontier : Frontier.Meet(compaction.Frontier, index.Upper);
            index.Compact(since);
        }
    }

    private void Drop(DataflowEntry entry)
    {
        entry.Stop();
        entry.Dataflow.Detach();
        _dataflows.Remove(entry);
        foreach (GlobalId id in entry.Description.ExportIds)
        {
            if (_exports.TryGetValue(id, out DataflowEntry? owner) && owner == entry)
            {
                _exports.Remove(id);
                _reported.Remove(id);
            }
        }
        foreach (SubscribeSink subscribe in entry.Subscribes)
        {
            if (subscribe.Drop())
            {
                _channel.Send(new SubscribeResponse(subscribe.Id, new SubscribeDropped()));
            }
        }
    }

    private void AnswerPeeks()
    {
        for (int i = 0; i < _peeks.Count; i++)
        {
            Peek peek = _peeks[i].Peek;
            PeekResult? result = TryAnswer(peek);
            if (result is not null)
            {
                _peeks.RemoveAt(i);
                i--;
                _channel.Send(new PeekResponse(peek.Uuid, result));
            }
        }
    }

    /// <summary>The peek's answer, or null while the index's upper has not passed the timestamp.</summary>
    private PeekResult? TryAnswer(Peek peek)
    {
        IndexState? index = FindIndex(peek.Target);
        if (index is null)
        {
            return new PeekError("XX000", $"peek target {peek.Target} is not an index on this replica");
        }
        if (!index.Since.LessEqual(peek.Timestamp))
        {
            return new PeekError("XX000", $"timestamp {peek.Timestamp} is not valid for {peek.Target}: its since is {index.Since}");
        }
        if (index.Upper.LessEqual(peek.Timestamp))
        {
            return null;
        }
        if (index.Errors.SmallestAt(peek.Timestamp) is { } error)
        {
            return new PeekError(error.SqlState, error.Message);
        }
        List<(Row Row, long Count)> rows;
        if (peek.Lookup is PeekLookup lookup)
        {
            if (ReadLookup(index.Data, lookup, peek.Timestamp, out rows) is EvalError lookupError)
            {
                return new PeekError(lookupError.SqlState, lookupError.Message);
            }
        }
        else
        {
            rows = index.Data.ReadAt(peek.Timestamp);
        }
        var finished = PeekFinishing.Apply(rows, peek.Finishing, index.Export.RowType.Arity, out string? finishingError);
        return finishingError is not null ? new PeekError("XX000", finishingError) : new PeekRows(finished);
    }

    /// <summary>
    /// The rows under the lookup's keys at <paramref name="time"/> that pass its predicates, sorted by row: the work
    /// is proportional to the rows under those keys, not to the index.
    /// </summary>
    private static EvalError? ReadLookup(Arrangement data, PeekLookup lookup, ulong time, out List<(Row Row, long Count)> rows)
    {
        var counts = new SortedDictionary<Row, long>();
        var state = (Time: time, Counts: counts);
        foreach (Row key in lookup.Keys)
        {
            data.ForEachUnderKey(key, ref state, static (ref (ulong Time, SortedDictionary<Row, long> Counts) s, Row row, ulong t, long diff) =>
            {
                if (t <= s.Time)
                {
                    s.Counts[row] = s.Counts.GetValueOrDefault(row) + diff;
                }
            });
        }
        rows = [];
        foreach ((Row row, long count) in counts)
        {
            if (count <= 0)
            {
                continue;
            }
            bool keep = true;
            foreach (ScalarExpr predicate in lookup.Predicates)
            {
                if (!Evaluator.TryIsTrue(predicate, row.Datums, out bool isTrue, out EvalError? error))
                {
                    return error;
                }
                keep &= isTrue;
            }
            if (keep)
            {
                rows.Add((row, count));
            }
        }
        return null;
    }

    private void ReportFrontiers()
    {
        foreach (DataflowEntry entry in _dataflows)
        {
            Frontier input = entry.Dataflow.InputFrontier;
            foreach ((GlobalId id, IndexState index) in entry.Dataflow.Indexes)
            {
                if (entry.LiveExports.Contains(id))
                {
                    Report(id, index.Upper, input, index.Upper);
                }
            }
            foreach (SubscribeSink subscribe in entry.Subscribes)
            {
                if (entry.LiveExports.Contains(subscribe.Id))
                {
                    Report(subscribe.Id, subscribe.Lower, input, subscribe.Lower);
                }
            }
            foreach (PersistSink sink in entry.PersistSinks)
            {
                if (entry.LiveExports.Contains(sink.Id))
                {
                    Report(sink.Id, entry.Dataflow.Sinks[sink.Id].Frontier, input, sink.DurableUpper);
                }
            }
        }
    }

    private void Report(GlobalId id, Frontier write, Frontier input, Frontier output)
    {
        if (_reported.TryGetValue(id, out (Frontier Write, Frontier Input, Frontier Output) last) && last == (write, input, output))
        {
            return;
        }
        if (write == Frontier.Minimum && output == Frontier.Minimum && !_reported.ContainsKey(id))
        {
            return;
        }
        _reported[id] = (write, input, output);
        _channel.Send(new Frontiers(id, write, input, output));
    }

    private void SendStatus(string kind, string detail) => _channel.Send(new Status(kind, detail));

    private sealed record PendingPeek(Peek Peek);

    /// <summary>One dataflow and everything the replica runs for it.</summary>
    private sealed class DataflowEntry(DataflowDescription description, Dataflow.Dataflow dataflow, long sequence)
    {
        public DataflowDescription Description { get; } = description;

        public Dataflow.Dataflow Dataflow { get; } = dataflow;

        public long Sequence { get; } = sequence;

        public bool Started { get; set; }

        public CancellationTokenSource Cancellation { get; } = new();

        public List<PersistSource> Sources { get; } = [];

        public List<PersistSink> PersistSinks { get; } = [];

        public List<SubscribeSink> Subscribes { get; } = [];

        public HashSet<GlobalId> LiveExports { get; } = [];

        public SortedDictionary<GlobalId, Frontier> Compaction { get; } = [];

        /// <summary>The meet of the compaction frontiers the controller allowed for the exports (the as-of until told).</summary>
        public Frontier CompactionFrontier
        {
            get
            {
                if (Compaction.Count < LiveExports.Count)
                {
                    return Frontier.At(Description.AsOf);
                }
                Frontier meet = Frontier.Empty;
                foreach (Frontier frontier in Compaction.Values)
                {
                    meet = Frontier.Meet(meet, frontier);
                }
                return meet;
            }
        }

        public void AllowWrites()
        {
            foreach (PersistSink sink in PersistSinks)
            {
                sink.AllowWrites();
            }
        }

        public void Stop()
        {
            if (!Cancellation.IsCancellationRequested)
            {
                Cancellation.Cancel();
            }
        }
    }
}
