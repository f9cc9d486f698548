using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Kernel.Runtime;

namespace Kernel.Control.Compute;

/// <summary>The controller's side of one replica connection: send commands, receive responses.</summary>
public interface IComputeReplicaLink
{
    /// <summary>Sends on the live connection; while disconnected the command is dropped (history replay covers it).</summary>
    void Send(ComputeCommand command);

    /// <summary>The next response from the live connection; null once the link is closed for good.</summary>
    ValueTask<ComputeResponse?> ReceiveAsync(CancellationToken cancellationToken);
}

/// <summary>
/// The compute controller for one cluster with one replica: it keeps the command history a reconnecting replica
/// needs (reduced to what is still live), tracks every export's write frontier, routes peek and subscribe responses
/// to their waiters, and turns read policies into AllowCompaction.
/// </summary>
/// <remarks>
/// Invariants: each peek gets exactly one answer (the first response wins; later ones are ignored); a peek stays in
/// the history until answered, so a replica that reconnects answers it; a dropped export leaves the history with
/// its dataflow once every export of that dataflow is dropped. Owned by the environmentd node loop.
/// </remarks>
public sealed class ComputeController
{
    private readonly CreateInstance _instance;
    private readonly SortedDictionary<GlobalId, DataflowState> _dataflowsByExport = [];
    private readonly List<DataflowState> _dataflows = []; // creation order, which is dependency order
    private readonly Dictionary<PeekUuid, PendingPeek> _peeks = [];
    private readonly List<PeekUuid> _peekOrder = [];
    private readonly Dictionary<GlobalId, Subscription> _subscribes = [];
    private readonly SortedDictionary<GlobalId, CollectionState> _collections = []; // sorted: the read policy sends commands in id order
    private readonly ulong _epoch;
    private ulong _nextPeek;
    private bool _writesAllowed;

    public ComputeController(CreateInstance instance, ulong epoch)
    {
        _instance = instance;
        _epoch = epoch;
    }

    /// <summary>The link to the replica; set once before <see cref="RunAsync"/>.</summary>
    public IComputeReplicaLink? Link { get; set; }

    /// <summary>
    /// Where the controller holds the since of a persist shard (the shard's since is at or below it). A replayed
    /// dataflow starts no earlier than this for each shard it reads, so a replica rebuilding it never asks for a time
    /// that has been compacted away.
    /// </summary>
    public Func<string, ulong>? SourceSince { get; set; }

    /// <summary>Called with each Status the replica sends (environmentd traces them).</summary>
    public Action<string>? OnStatus { get; set; }

    /// <summary>Messages the replica sent as Status, newest last (bounded).</summary>
    public List<string> StatusLog { get; } = [];

    /// <summary>The commands a (re)connecting replica must receive after Hello: the reduced history.</summary>
    public IReadOnlyList<ComputeCommand> History()
    {
        var commands = new List<ComputeCommand> { _instance };
        foreach (DataflowState dataflow in _dataflows)
        {
            // A dataflow restarts no earlier than the compaction its exports were allowed (its inputs may be
            // compacted that far already), and a subscribe no earlier than just below what it has delivered (the
            // replayed snapshot there is trimmed away as already seen).
            ulong asOf = dataflow.Description.AsOf;
            foreach (SourceImport source in dataflow.Description.SourceImports)
            {
                asOf = Math.Max(asOf, SourceSince?.Invoke(source.ShardId) ?? 0);
            }
            foreach (SinkExport sink in dataflow.Description.SinkExports)
            {
                if (_subscribes.TryGetValue(sink.SinkId, out Subscription? subscription) && subscription.Delivered is { IsEmpty: false } delivered && delivered.Time > 0)
                {
                    asOf = Math.Max(asOf, delivered.Time - 1);
                }
            }
            foreach (GlobalId export in dataflow.Description.ExportIds)
            {
                if (_collections.TryGetValue(export, out CollectionState? collection) && collection.AllowedCompaction is Frontier allowed && !allowed.IsEmpty)
                {
                    asOf = Math.Max(asOf, allowed.Time);
                }
            }
            commands.Add(new CreateDataflow(dataflow.Description with { AsOf = asOf }));
            foreach (GlobalId export in dataflow.Description.ExportIds)
            {
                commands.Add(new Schedule(export));
            }
        }
        foreach (PeekUuid uuid in _peekOrder)
        {
            commands.Add(_peeks[uuid].Command);
        }
        if (_writesAllowed)
        {
            commands.Add(new AllowWrites());
        }
        commands.Add(new InitializationComplete());
        return commands;
    }

    /// <summary>
    /// The earliest time a live dataflow that reads <paramref name="shard"/> may still have to be rebuilt from (see
    /// <see cref="ResumeFloor"/>), or null: the shard's since must not pass it, or a replica that reconnects could not
    /// continue that dataflow's outputs without a gap.
    /// </summary>
    public ulong? InputHold(string shard)
    {
        ulong? hold = null;
        foreach (DataflowState dataflow in _dataflows)
        {
            foreach (SourceImport source in dataflow.Description.SourceImports)
            {
                if (source.ShardId == shard)
                {
                    hold = Earliest(hold, ResumeFloor(dataflow));
                    break;
                }
            }
        }
        return hold;
    }

    /// <summary>
    /// The earliest time a rebuild of <paramref name="dataflow"/> must start from so that what it has already made
    /// durable or delivered continues without a gap, or null when any time will do. Until every export has reported
    /// output past the as_of, the as_of. A materialized view's sink, just below the upper it has made durable: a
    /// rebuild from later would write the view's contents at that later time only, and the view's shard would be
    /// wrong at every time in between (Materialize holds a view's inputs at its write frontier for the same reason).
    /// A subscribe, just below what it has delivered. An index is rebuilt whole and needs nothing.
    /// </summary>
    private ulong? ResumeFloor(DataflowState dataflow)
    {
        DataflowDescription description = dataflow.Description;
        ulong? floor = null;
        foreach (GlobalId export in description.ExportIds)
        {
            if (!_collections.TryGetValue(export, out CollectionState? collection) || collection.WriteFrontier.LessEqual(description.AsOf))
            {
                floor = Earliest(floor, description.AsOf);
            }
        }
        foreach (SinkExport sink in description.SinkExports)
        {
            if (sink.Target is PersistSinkTarget && _collections.TryGetValue(sink.SinkId, out CollectionState? view) && !view.OutputFrontier.IsEmpty)
            {
                // Before the sink first reports, its upper is unknown: the as_of is the floor.
                floor = Earliest(floor, view.OutputFrontier.Time > 0 ? view.OutputFrontier.Time - 1 : description.AsOf);
            }
            if (_subscribes.TryGetValue(sink.SinkId, out Subscription? subscription) && subscription.Delivered is { IsEmpty: false } delivered && delivered.Time > 0)
            {
                floor = Earliest(floor, delivered.Time - 1);
            }
        }
        return floor;
    }

    private static ulong? Earliest(ulong? a, ulong? b) => a is ulong x && b is ulong y ? Math.Min(x, y) : a ?? b;

    /// <summary>Allows the replica to write materialized views (after this environmentd became the leader).</summary>
    public void AllowWrites()
    {
        _writesAllowed = true;
        Link?.Send(new AllowWrites());
    }

    /// <summary>Changes whenever a dataflow is created or removed.</summary>
    public long DataflowsVersion { get; private set; }

    /// <summary>The live dataflows, in creation order.</summary>
    public IEnumerable<DataflowDescription> Dataflows
    {
        get
        {
            foreach (DataflowState dataflow in _dataflows)
            {
                yield return dataflow.Description;
            }
        }
    }

    /// <summary>Creates and schedules a dataflow; its exports are tracked from now on.</summary>
    public void CreateDataflow(DataflowDescription description)
    {
        var state = new DataflowState(description);
        _dataflows.Add(state);
        DataflowsVersion++;
        foreach (GlobalId export in description.ExportIds)
        {
            _dataflowsByExport[export] = state;
            _collections[export] = new CollectionState();
        }
        Link?.Send(new CreateDataflow(description));
        foreach (GlobalId export in description.ExportIds)
        {
            Link?.Send(new Schedule(export));
        }
    }

    /// <summary>True when <paramref name="id"/> is a live export of some dataflow.</summary>
    public bool HasCollection(GlobalId id) => _collections.ContainsKey(id);

    /// <summary>The export's write frontier as last reported (minimum before any report).</summary>
    public Frontier WriteFrontier(GlobalId id) => _collections.TryGetValue(id, out CollectionState? c) ? c.WriteFrontier : Frontier.Minimum;

    /// <summary>Completes when the export's write frontier passes <paramref name="time"/> (every time up to it is final).</summary>
    public Task WaitForFrontierPastAsync(GlobalId id, ulong time, CancellationToken cancellationToken)
    {
        if (!_collections.TryGetValue(id, out CollectionState? collection))
        {
            return Task.FromException(new InvalidOperationException($"collection {id} is not maintained"));
        }
        if (!collection.WriteFrontier.LessEqual(time))
        {
            return Task.CompletedTask;
        }
        var waiter = new FrontierWaiter(time, new TaskCompletionSource());
        collection.Waiters.Add(waiter);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() => waiter.Done.TrySetCanceled(cancellationToken));
        }
        return waiter.Done.Task;
    }

    /// <summary>Lets the replica compact <paramref name="id"/> to <paramref name="frontier"/>; the empty frontier drops it.</summary>
    public void AllowCompaction(GlobalId id, Frontier frontier)
    {
        if (!_collections.TryGetValue(id, out CollectionState? collection))
        {
            return;
        }
        if (collection.AllowedCompaction is Frontier previous && frontier <= previous)
        {
            return;
        }
        collection.AllowedCompaction = frontier;
        Link?.Send(new AllowCompaction(id, frontier));
        if (frontier.IsEmpty)
        {
            Drop(id);
        }
    }

    /// <summary>
    /// Moves every long-lived export's compaction frontier to <paramref name="frontier"/>, held back to the
    /// earliest pending peek so no answer is compacted away while it waits, and to its dataflow's
    /// <see cref="ResumeFloor"/> so a rebuild after a reconnect starts early enough. Transient exports are dropped by
    /// their owners and skipped here.
    /// </summary>
    public void ApplyReadPolicy(ulong frontier)
    {
        foreach (PendingPeek peek in _peeks.Values)
        {
            frontier = Math.Min(frontier, peek.Command.Timestamp);
        }
        foreach ((GlobalId id, CollectionState collection) in _collections)
        {
            if (id.Kind == GlobalIdKind.User && collection.AllowedCompaction is not { IsEmpty: true })
            {
                ulong target = frontier;
                if (_dataflowsByExport.TryGetValue(id, out DataflowState? dataflow) && ResumeFloor(dataflow) is ulong floor)
                {
                    target = Math.Min(target, floor);
                }
                AllowCompaction(id, Frontier.At(target));
            }
        }
    }

    /// <summary>Reads index <paramref name="target"/> at <paramref name="timestamp"/>; exactly one result per call.</summary>
    public Task<PeekResult> PeekAsync(GlobalId target, ulong timestamp, RowSetFinishing finishing, PeekLookup? lookup, CancellationToken cancellationToken)
    {
        var uuid = new PeekUuid(_epoch, ++_nextPeek);
        var peek = new PendingPeek(new Peek(uuid, target, timestamp, finishing, lookup), new TaskCompletionSource<PeekResult>());
        _peeks[uuid] = peek;
        _peekOrder.Add(uuid);
        Link?.Send(peek.Command);
        if (cancellationToken.CanBeCanceled)
        {
            cancellationToken.Register(() =>
            {
                if (_peeks.ContainsKey(uuid))
                {
                    Link?.Send(new CancelPeek(uuid));
                    Complete(uuid, new PeekCanceled());
                }
            });
        }
        return peek.Done.Task;
    }

    /// <summary>Starts receiving the batches of subscribe sink <paramref name="id"/> (call before creating its dataflow).</summary>
    public Subscription Subscribe(GlobalId id)
    {
        var subscription = new Subscription(id);
        _subscribes[id] = subscription;
        return subscription;
    }

    /// <summary>Processes responses until the link closes or <paramref name="cancellationToken"/> fires.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        IComputeReplicaLink link = Link ?? throw new InvalidOperationException("the compute controller has no replica link");
        while (!cancellationToken.IsCancellationRequested)
        {
            ComputeResponse? response;
            try
            {
                response = await link.ReceiveAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            if (response is null)
            {
                break;
            }
            Handle(response);
        }
    }

    /// <summary>Applies one response (public for tests that drive the controller without a transport).</summary>
    public void Handle(ComputeResponse response)
    {
        switch (response)
        {
            case Frontiers frontiers:
                if (frontiers.OutputFrontier is Frontier output && _collections.TryGetValue(frontiers.Id, out CollectionState? sink) && output > sink.OutputFrontier)
                {
                    sink.OutputFrontier = output;
                }
                if (frontiers.WriteFrontier is Frontier write && _collections.TryGetValue(frontiers.Id, out CollectionState? collection) && write > collection.WriteFrontier)
                {
                    collection.WriteFrontier = write;
                    for (int i = collection.Waiters.Count - 1; i >= 0; i--)
                    {
                        if (!write.LessEqual(collection.Waiters[i].Time))
                        {
                            collection.Waiters[i].Done.TrySetResult();
                            collection.Waiters.RemoveAt(i);
                        }
                    }
                }
                break;
            case PeekResponse peek:
                Complete(peek.Uuid, peek.Result);
                break;
            case SubscribeResponse subscribe:
                if (_subscribes.TryGetValue(subscribe.Id, out Subscription? subscription))
                {
                    if (subscribe.Event is SubscribeDropped && _collections.ContainsKey(subscribe.Id))
                    {
                        // The replica rebuilt the subscribe after a reconnect; this controller did not drop it.
                        break;
                    }
                    // A batch that does not continue what was delivered (or, first, start at the as_of) is dropped: the
                    // replica lost batches with a connection, and the replayed subscribe sends them again.
                    if (!subscription.Deliver(subscribe.Event, _dataflowsByExport.TryGetValue(subscribe.Id, out DataflowState? source) ? source.Description.AsOf : null)
                        && subscribe.Event is SubscribeBatch skipped)
                    {
                        Log($"subscribe {subscribe.Id}: dropped batch [{skipped.Lower}, {skipped.Upper}), which does not continue what was delivered ({subscription.Delivered?.ToString() ?? "nothing yet"})");
                    }
                    if (subscription.Finished)
                    {
                        _subscribes.Remove(subscribe.Id);
                    }
                }
                break;
            case Status status:
                Log($"{status.Kind}: {status.Detail}");
                break;
        }
    }

    private void Log(string message)
    {
        StatusLog.Add(message);
        OnStatus?.Invoke(message);
        if (StatusLog.Count > 100)
        {
            StatusLog.RemoveAt(0);
        }
    }

    private void Complete(PeekUuid uuid, PeekResult result)
    {
        if (_peeks.Remove(uuid, out PendingPeek? peek))
        {
            _peekOrder.Remove(uuid);
            peek.Done.TrySetResult(result);
        }
    }

    private void Drop(GlobalId id)
    {
        if (_collections.Remove(id, out CollectionState? collection))
        {
            foreach (FrontierWaiter waiter in collection.Waiters)
            {
                waiter.Done.TrySetException(new InvalidOperationException($"collection {id} was dropped"));
            }
        }
        if (_subscribes.Remove(id, out Subscription? subscription))
        {
            subscription.Deliver(new SubscribeDropped());
        }
        if (_dataflowsByExport.Remove(id, out DataflowState? dataflow))
        {
            bool anyLive = false;
            foreach (GlobalId export in dataflow.Description.ExportIds)
            {
                anyLive |= _collections.ContainsKey(export);
            }
            if (!anyLive)
            {
                _dataflows.Remove(dataflow);
                DataflowsVersion++;
            }
        }
    }

    private sealed record DataflowState(DataflowDescription Description);

    private sealed record PendingPeek(Peek Command, TaskCompletionSource<PeekResult> Done);

    private sealed record FrontierWaiter(ulong Time, TaskCompletionSource Done);

    private sealed class CollectionState
    {
        public Frontier WriteFrontier { get; set; } = Frontier.Minimum;

        /// <summary>What the export has made durable (a materialized view's shard upper), as last reported.</summary>
        public Frontier OutputFrontier { get; set; } = Frontier.Minimum;

        public Frontier? AllowedCompaction { get; set; }

        public List<FrontierWaiter> Waiters { get; } = [];
    }
}

/// <summary>The batches of one subscribe as they arrive, for the session that reads them.</summary>
public sealed class Subscription(GlobalId id)
{
    private readonly Queue<SubscribeEvent> _events = new();
    private readonly List<CancellationTokenSource> _waiters = [];

    public GlobalId Id { get; } = id;

    /// <summary>True once the last event (an error, a drop, or a batch with the empty upper) has been delivered.</summary>
    public bool Finished { get; private set; }

    /// <summary>Every change before this has been delivered; null before the first batch.</summary>
    public Frontier? Delivered { get; private set; }

    /// <summary>
    /// Queues an event. Batches are de-duplicated by frontier: a replica that rebuilt the subscribe after a reconnect
    /// repeats times already delivered, and only the part at or beyond <see cref="Delivered"/> is kept, so the output
    /// stays contiguous and each change appears once. A batch that starts past what was delivered (or, for the first,
    /// past <paramref name="asOf"/>) would leave a gap: it is dropped and false returned.
    /// </summary>
    internal bool Deliver(SubscribeEvent subscribeEvent, ulong? asOf = null)
    {
        if (Finished)
        {
            return true;
        }
        if (subscribeEvent is SubscribeBatch next && (Delivered is Frontier seen ? seen < next.Lower : asOf is ulong start && Frontier.At(start) < next.Lower))
        {
            return false;
        }
        if (subscribeEvent is SubscribeBatch batch && Delivered is Frontier delivered)
        {
            if (batch.Upper <= delivered)
            {
                return true;
            }
            if (batch.Lower < delivered)
            {
                var kept = ImmutableArray.CreateBuilder<Update>();
                foreach (Update update in batch.Updates)
                {
                    if (delivered.LessEqual(update.Time))
                    {
                        kept.Add(update);
                    }
                }
                subscribeEvent = batch = new SubscribeBatch(delivered, batch.Upper, kept.ToImmutable());
            }
        }
        if (subscribeEvent is SubscribeBatch accepted)
        {
            Delivered = accepted.Upper;
        }
        _events.Enqueue(subscribeEvent);
        Finished = subscribeEvent is not SubscribeBatch || subscribeEvent is SubscribeBatch { Upper.IsEmpty: true };
        foreach (CancellationTokenSource waiter in _waiters.ToArray())
        {
            waiter.Cancel();
        }
        return true;
    }

    /// <summary>Takes every event that has arrived.</summary>
    public List<SubscribeEvent> Drain()
    {
        var events = new List<SubscribeEvent>(_events.Count);
        while (_events.Count > 0)
        {
            events.Add(_events.Dequeue());
        }
        return events;
    }

    /// <summary>
    /// Returns when at least one event is waiting or <paramref name="timeout"/> passed (a delivery cancels the delay;
    /// no Task.WhenAny, whose continuation would run off the node loop). Throws if <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async Task WaitAsync(IClock clock, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_events.Count > 0)
        {
            return;
        }
        using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _waiters.Add(wake);
        try
        {
            // Woken by a delivery (without an exception: see Wakeable).
            await Wakeable.DelayAsync(clock, timeout, wake.Token);
        }
        finally
        {
            _waiters.Remove(wake);
        }
        cancellationToken.ThrowIfCancellationRequested();
    }
}
