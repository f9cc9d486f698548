using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Persist;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;
using Kernel.Runtime;

namespace Kernel.Control.Storage;

/// <summary>The outcome of a table write.</summary>
public readonly record struct WriteOutcome(bool Committed, ulong Timestamp, string Error);

/// <summary>Changes to one table: rows with their diffs (+1 insert, -1 delete).</summary>
public sealed record TableWrite(GlobalId Table, IReadOnlyList<(Row Row, long Diff)> Changes);

/// <summary>
/// The storage controller's table side: every table is a persist shard, and writes are group-committed. Pending
/// writes from every session are gathered, one write timestamp is taken from the oracle, the table shards that
/// must move are appended at that timestamp with compare_and_append, the oracle applies the timestamp, and only
/// then are the writes acknowledged.
/// </summary>
/// <remarks>
/// <para>Which tables a commit at <c>ts</c> moves to <c>ts + 1</c>: the written ones; the tables that feed a dataflow
/// together with a written one (<see cref="Companions"/>), so that the dataflow can emit the change at once; the
/// tables read or written in the last <see cref="TickMs"/> (a table in use stays current, so its reads never wait);
/// and, once every <see cref="TickMs"/>, all of them. A commit also runs every <see cref="TickMs"/> with no writes,
/// so that idle tables' uppers and the read timestamp follow the clock. Appending every table at every commit,
/// as this controller did before, made each write cost one append per table in the catalog.</para>
/// <para>Invariant: after a commit at <c>ts</c> is applied, the tables it moved have upper <c>ts + 1</c>; an idle
/// table may lag behind the read timestamp. Every read therefore asks <see cref="EnsureReadableAsync"/> first, which
/// commits an empty advance of the lagging tables it names; a read that did not ask would still be correct, only
/// late (it waits for the next tick). Read-then-write operations (UPDATE, DELETE) run alone between commits: they
/// read at the read timestamp, which covers every applied write, and their changes commit at the next timestamp
/// before any other write, so nothing can slip between their read and their write (the empty advances their read
/// may need run inside them). Owned by the environmentd node loop.</para>
/// </remarks>
public sealed class StorageController
{
    public const long TickMs = 1_000;

    /// <summary>How much history behind the read timestamp every held shard keeps readable.</summary>
    public const ulong ReadHistoryMs = 1_000;

    private readonly PersistClient _persist;
    private readonly TimestampOracle _oracle;
    private readonly IClock _clock;
    private readonly SortedDictionary<GlobalId, TableShard> _tables = [];
    private readonly Queue<PendingItem> _pending = new();
    private readonly SortedDictionary<string, SinceHandle> _holds = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _pendingHolds = new(StringComparer.Ordinal); // holds to retry on the next tick
    private long _holdsDowngradedNanos;
    private CancellationTokenSource? _wake; // cancels the commit loop's sleep; set only while it sleeps
    private long _allAdvancedNanos = long.MinValue; // when a commit last moved every table
    private bool _readThenWriteRunning; // the commit loop is inside a read-then-write's read
    private Task _inlineAdvances = Task.CompletedTask; // the empty advances that ran inside that read, chained

    public StorageController(PersistClient persist, TimestampOracle oracle, IClock clock)
    {
        _persist = persist;
        _oracle = oracle;
        _clock = clock;
    }

    public TimestampOracle Oracle => _oracle;

    /// <summary>
    /// A time a shard's since must not pass yet even if the read timestamp has moved on (where a dataflow that reads it
    /// would have to restart from), or null. Set by environmentd from the compute controller.
    /// </summary>
    public Func<string, ulong?>? HoldFloor { get; set; }

    /// <summary>
    /// The tables that must move whenever a given table is written (it may be among them or not): those that feed
    /// some dataflow together with it. Set by environmentd from the compute controller; null moves only the table.
    /// </summary>
    public Func<GlobalId, IReadOnlyList<GlobalId>>? Companions { get; set; }

    /// <summary>Set when a commit found that another process took over the tables: this process must stop.</summary>
    public bool Fenced { get; private set; }

    /// <summary>Starts managing table <paramref name="id"/> stored in <paramref name="shard"/> (creating the shard if new).</summary>
    public async Task<string?> AddTableAsync(GlobalId id, ShardId shard)
    {
        if (_tables.ContainsKey(id))
        {
            return null;
        }
        PersistResult<WriteHandle> writer = await _persist.OpenWriterAsync(shard, $"table {id}");
        if (!writer.IsOk)
        {
            return $"opening the shard of table {id}: {writer.Error}";
        }
        PersistResult<Frontier> upper = await writer.Value!.FetchRecentUpperAsync();
        if (!upper.IsOk)
        {
            return $"reading the upper of table {id}: {upper.Error}";
        }
        _tables[id] = new TableShard(id, shard, writer.Value!) { Upper = upper.Value! };
        return await HoldSinceAsync(shard);
    }

    /// <summary>
    /// Holds back the since of <paramref name="shard"/> (a table or a materialized view) with a critical since handle, so
    /// that it never passes a time this environmentd may still read at or build a dataflow from: the hold follows the
    /// read timestamp at a lag of <see cref="ReadHistoryMs"/>. Without it, the replica's own readers could let the since
    /// race past the read timestamp between choosing a time and registering a reader.
    /// </summary>
    public async Task<string?> HoldSinceAsync(ShardId shard)
    {
        if (_holds.ContainsKey(shard.Value))
        {
            return null;
        }
        // Bounded: a few attempts now; after that the hold is retried on every tick until it is in place.
        for (int attempt = 0; attempt < 5; attempt++)
        {
            PersistResult<SinceHandle> hold = await _persist.OpenCriticalSinceAsync(shard, "environmentd", 0, "read holds");
            if (hold.IsOk)
            {
                _holds[shard.Value] = hold.Value!;
                _pendingHolds.Remove(shard.Value);
                return null;
            }
            await _persist.Context.BackoffAsync(attempt);
        }
        _pendingHolds.Add(shard.Value);
        return null;
    }

    /// <summary>
    /// While set, holds are opened but never moved. Environmentd's bootstrap sets it: it chooses each dataflow's as_of
    /// from the read timestamp and the holds, and a dataflow holds its inputs (<see cref="HoldFloor"/>) only once it is
    /// created, after reads of Consensus that can take seconds under faults; a downgrade in between could pass an as_of
    /// just chosen, and the dataflow's snapshot would then be compacted away for good.
    /// </summary>
    public bool HoldsFrozen { get; set; }

    /// <summary>Where this controller's hold on <paramref name="shard"/> stands: the shard's since is at or below it (0 when not held).</summary>
    public ulong HeldSince(string shard) =>
        _holds.TryGetValue(shard, out SinceHandle? hold) && !hold.Since.IsEmpty ? hold.Since.Time : 0;

    /// <summary>The upper of <paramref name="shard"/> as persist has it now (the minimum for a shard never written).</summary>
    public async Task<PersistResult<Frontier>> FetchUpperAsync(ShardId shard)
    {
        PersistResult<ShardState> state = await _persist.FetchStateAsync(shard);
        if (state.IsOk)
        {
            return state.Value!.Upper;
        }
        return state.Error!.Kind == PersistErrorKind.ShardDropped ? Frontier.Minimum : state.Error!;
    }

    /// <summary>Releases the hold on a dropped shard's since.</summary>
    public void ReleaseSince(ShardId shard)
    {
        _holds.Remove(shard.Value);
        _pendingHolds.Remove(shard.Value);
    }

    /// <summary>Moves every hold up to the read timestamp minus the history kept readable.</summary>
    private async Task DowngradeHoldsAsync()
    {
        foreach (string pending in new List<string>(_pendingHolds))
        {
            PersistResult<SinceHandle> hold = await _persist.OpenCriticalSinceAsync(new ShardId(pending), "environmentd", 0, "read holds");
            if (hold.IsOk)
            {
                _holds[pending] = hold.Value!;
                _pendingHolds.Remove(pending);
            }
        }
        if (HoldsFrozen || _oracle.ReadTs <= ReadHistoryMs)
        {
            return;
        }
        foreach ((string shard, SinceHandle hold) in new List<KeyValuePair<string, SinceHandle>>(_holds))
        {
            ulong time = _oracle.ReadTs - ReadHistoryMs;
            if (HoldFloor?.Invoke(shard) is ulong floor)
            {
                time = Math.Min(time, floor);
            }
            var target = Frontier.At(time);
            if (hold.Since < target)
            {
                // A failure leaves the since where it was: holding too much is safe, the next tick tries again.
                await hold.CompareAndDowngradeSinceAsync(hold.Opaque, hold.Opaque, target);
            }
        }
    }

    /// <summary>Stops writing table <paramref name="id"/> (after DROP TABLE); its shard stays until GC of dropped shards exists.</summary>
    public void DropTable(GlobalId id) => _tables.Remove(id);

    public bool HasTable(GlobalId id) => _tables.ContainsKey(id);

    /// <summary>Queues <paramref name="writes"/> for the next group commit and completes when they are durable and visible.</summary>
    public Task<WriteOutcome> WriteAsync(IReadOnlyList<TableWrite> writes)
    {
        var item = new PendingItem(writes, null);
        _pending.Enqueue(item);
        _wake?.Cancel();
        return item.Done.Task;
    }

    /// <summary>
    /// Runs <paramref name="computeWrites"/> at a read timestamp that covers every applied write and commits what it
    /// returns at the next write timestamp, with no other write in between. A null result from the function aborts
    /// with its error and writes nothing.
    /// </summary>
    public Task<WriteOutcome> ReadThenWriteAsync(Func<ulong, Task<(IReadOnlyList<TableWrite>? Writes, string Error)>> computeWrites)
    {
        var item = new PendingItem(null, computeWrites);
        _pending.Enqueue(item);
        _wake?.Cancel();
        return item.Done.Task;
    }

    /// <summary>Commits an empty batch now that moves every table's upper past a fresh timestamp (after CREATE TABLE).</summary>
    public Task<WriteOutcome> AdvanceAsync()
    {
        var item = new PendingItem([], null) { AdvanceAll = true };
        _pending.Enqueue(item);
        _wake?.Cancel();
        return item.Done.Task;
    }

    /// <summary>
    /// Makes <paramref name="tables"/> readable at <paramref name="timestamp"/> (at most the read timestamp): completes
    /// at once when each one's upper is past it, else when an empty commit has moved the lagging ones past it. Also
    /// marks the tables as in use, so the commits of the next <see cref="TickMs"/> keep them current. Ids that are
    /// not tables are ignored. The task completes whether or not the advance committed: a read waits for its inputs'
    /// frontiers either way, so a failed advance only leaves it to wait for the next tick.
    /// </summary>
    public Task EnsureReadableAsync(IReadOnlyList<GlobalId> tables, ulong timestamp)
    {
        long now = _clock.MonotonicNanos;
        timestamp = Math.Min(timestamp, _oracle.ReadTs);
        List<GlobalId>? lagging = null;
        for (int i = 0; i < tables.Count; i++)
        {
            if (_tables.TryGetValue(tables[i], out TableShard? table))
            {
                table.UsedNanos = now;
                if (!table.Upper.IsEmpty && table.Upper.LessEqual(timestamp))
                {
                    (lagging ??= []).Add(table.Id);
                }
            }
        }
        if (lagging is null)
        {
            return Task.CompletedTask;
        }
        var item = new PendingItem([], null) { Advance = lagging };
        if (_readThenWriteRunning)
        {
            // The commit loop is waiting for this read; it cannot take the item, so commit it here, after the
            // advances already started inside the same read.
            _inlineAdvances = CommitAfterAsync(_inlineAdvances, item);
            return item.Done.Task;
        }
        _pending.Enqueue(item);
        _wake?.Cancel();
        return item.Done.Task;
    }

    private async Task CommitAfterAsync(Task previous, PendingItem item)
    {
        await previous;
        await CommitAsync([(item, item.Writes!)]);
    }

    /// <summary>The group-commit loop. Runs until canceled or fenced.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !Fenced)
        {
            if (_pending.Count == 0)
            {
                // Sleep until the tick or until a write arrives (it cancels the sleep). Not Task.WhenAny: its
                // continuation runs on the thread pool, outside the node loop.
                using var wake = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                _wake = wake;
                try
                {
                    // Woken by a write without an exception (see Wakeable): this runs once per commit.
                    await Wakeable.DelayAsync(_clock, TimeSpan.FromMilliseconds(TickMs), wake.Token);
                }
                finally
                {
                    _wake = null;
                }
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
            }
            await CommitRoundAsync();
            if (_clock.MonotonicNanos - _holdsDowngradedNanos >= TickMs * 1_000_000)
            {
                _holdsDowngradedNanos = _clock.MonotonicNanos;
                await DowngradeHoldsAsync();
            }
        }
        while (_pending.Count > 0)
        {
            _pending.Dequeue().Done.TrySetResult(new WriteOutcome(false, 0, Fenced
                ? "this environmentd has been fenced by a newer one; the write was not applied"
                : "the server is shutting down; the write was not applied"));
        }
    }

    /// <summary>One commit: either one read-then-write alone, or every queued plain write together.</summary>
    private async Task CommitRoundAsync()
    {
        if (_pending.Count > 0 && _pending.Peek().ReadThenWrite is { } computeWrites)
        {
            PendingItem item = _pending.Dequeue();
            IReadOnlyList<TableWrite>? writes;
            string error;
            _readThenWriteRunning = true;
            try
            {
                (writes, error) = await computeWrites(_oracle.ReadTs);
            }
            finally
            {
                _readThenWriteRunning = false;
            }
            await _inlineAdvances;
            if (writes is null)
            {
                item.Done.TrySetResult(new WriteOutcome(false, 0, error));
                return;
            }
            await CommitAsync([(item, writes)]);
            return;
        }
        var batch = new List<(PendingItem Item, IReadOnlyList<TableWrite> Writes)>();
        while (_pending.Count > 0 && _pending.Peek().ReadThenWrite is null)
        {
            PendingItem item = _pending.Dequeue();
            batch.Add((item, item.Writes!));
        }
        await CommitAsync(batch);
    }

    private async Task CommitAsync(List<(PendingItem Item, IReadOnlyList<TableWrite> Writes)> batch)
    {
        ulong? allocated = await _oracle.AllocateWriteTsAsync();
        if (allocated is not ulong ts)
        {
            Fenced |= _oracle.Fenced;
            Fail(batch, _oracle.Fenced ? "this environmentd has been fenced by a newer one" : "the timestamp oracle is unavailable");
            return;
        }
        var perTable = new Dictionary<GlobalId, List<Update>>();
        var moving = new HashSet<GlobalId>();
        long now = _clock.MonotonicNanos;
        long tickNanos = TickMs * 1_000_000;
        // A round with nothing in it is the tick; otherwise every table moves once a tick has passed since the last time.
        bool all = batch.Count == 0 || _allAdvancedNanos <= now - tickNanos;
        foreach ((PendingItem item, IReadOnlyList<TableWrite> writes) in batch)
        {
            all |= item.AdvanceAll;
            if (item.Advance is { } advance)
            {
                moving.UnionWith(advance);
            }
            foreach (TableWrite write in writes)
            {
                if (!_tables.ContainsKey(write.Table))
                {
                    continue; // dropped since the write was planned; its rows go nowhere, as PostgreSQL would error earlier
                }
                if (!perTable.TryGetValue(write.Table, out List<Update>? updates))
                {
                    perTable[write.Table] = updates = [];
                    moving.Add(write.Table);
                    if (Companions?.Invoke(write.Table) is { } companions)
                    {
                        moving.UnionWith(companions);
                    }
                }
                foreach ((Row row, long diff) in write.Changes)
                {
                    updates.Add(new Update(row, ts, diff));
                }
            }
        }
        if (all)
        {
            _allAdvancedNanos = now;
        }
        // The moving tables go to ts + 1; tables with changes carry them. The appends run concurrently on this loop,
        // and the first error in id order is the one reported.
        var appends = new List<Task<string?>>();
        foreach (TableShard table in _tables.Values)
        {
            bool written = perTable.TryGetValue(table.Id, out List<Update>? updates);
            if (written)
            {
                table.UsedNanos = now;
            }
            if (all || moving.Contains(table.Id) || table.UsedNanos > now - tickNanos)
            {
                appends.Add(AppendAsync(table, updates ?? [], ts));
            }
        }
        string? error = null;
        foreach (Task<string?> append in appends)
        {
            error ??= await append;
        }
        if (error is not null)
        {
            Fail(batch, error);
            return;
        }
        _oracle.ApplyWrite(ts);
        foreach ((PendingItem item, _) in batch)
        {
            item.Done.TrySetResult(new WriteOutcome(true, ts, ""));
        }
    }

    private async Task<string?> AppendAsync(TableShard table, List<Update> updates, ulong ts)
    {
        // Bounded: a mismatch refreshes the upper once; a second mismatch means another writer owns the shard.
        for (int attempt = 0; attempt < 3; attempt++)
        {
            if (table.Upper.IsEmpty || !table.Upper.LessEqual(ts))
            {
                return updates.Count == 0 ? null : $"table {table.Id} is already complete past {ts}: another environmentd is writing it";
            }
            PersistResult<AppendResult> appended = await table.Writer.CompareAndAppendAsync(updates, table.Upper, Frontier.At(ts + 1));
            if (!appended.IsOk)
            {
                table.Upper = (await table.Writer.FetchRecentUpperAsync()).Value;
                return $"writing table {table.Id} failed and may or may not have applied: {appended.Error!.Message}";
            }
            if (appended.Value!.Committed)
            {
                table.Upper = Frontier.At(ts + 1);
                return null;
            }
            table.Upper = appended.Value.CurrentUpper;
        }
        Fenced = true;
        return $"table {table.Id} is being written by another environmentd";
    }

    private static void Fail(List<(PendingItem Item, IReadOnlyList<TableWrite> Writes)> batch, string error)
    {
        foreach ((PendingItem item, _) in batch)
        {
            item.Done.TrySetResult(new WriteOutcome(false, 0, error));
        }
    }

    private sealed class TableShard(GlobalId id, ShardId shard, WriteHandle writer)
    {
        public GlobalId Id { get; } = id;

        public ShardId Shard { get; } = shard;

        public WriteHandle Writer { get; } = writer;

        public Frontier Upper { get; set; }

        /// <summary>When a read or a write last used the table (monotonic clock); the commits of one tick after keep it current.</summary>
        public long UsedNanos { get; set; } = long.MinValue;
    }

    private sealed class PendingItem(IReadOnlyList<TableWrite>? writes, Func<ulong, Task<(IReadOnlyList<TableWrite>? Writes, string Error)>>? readThenWrite)
    {
        public IReadOnlyList<TableWrite>? Writes { get; } = writes;

        public Func<ulong, Task<(IReadOnlyList<TableWrite>? Writes, string Error)>>? ReadThenWrite { get; } = readThenWrite;

        /// <summary>Tables to move past the write timestamp even though nothing is written to them.</summary>
        public IReadOnlyList<GlobalId>? Advance { get; init; }

        /// <summary>Moves every table.</summary>
        public bool AdvanceAll { get; init; }

        public TaskCompletionSource<WriteOutcome> Done { get; } = new();
    }
}
