using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Compute;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Kernel.PgWire;
using Kernel.Runtime;
using Kernel.Sql.Planning;

namespace Kernel.Control;

public sealed partial class Session
{
    /// <summary>Starts a subscribe dataflow for <paramref name="plan"/> and returns its live output.</summary>
    private SubscribeCursor StartSubscribe(SubscribePlan plan)
    {
        ulong asOf = plan.AsOf ?? ReadTimestamp();
        GlobalId objectId = _coordinator.NextTransientId();
        GlobalId sinkId = _coordinator.NextTransientId();
        Subscription subscription = _coordinator.Compute.Subscribe(sinkId);
        _coordinator.CreateDataflow(new DataflowDescription(
            "subscribe",
            _coordinator.SourcesOf(plan.Expr),
            [],
            [new BuildDesc(objectId, plan.Expr)],
            [],
            [new SinkExport(sinkId, objectId, new SubscribeSinkTarget(), plan.Expr.Type)],
            asOf,
            null));
        return new SubscribeCursor(sinkId, subscription, plan, asOf, SubscribeColumns(plan.Desc));
    }

    private async Task<PgError?> DeclareAsync(DeclareCursorPlan declare, IPgResultSink sink, CancellationToken cancellationToken)
    {
        if (!_inTransaction)
        {
            return new PgError("25P01", "DECLARE CURSOR can only be used in transaction blocks");
        }
        string name = declare.Name;
        if (_cursors.ContainsKey(name))
        {
            return new PgError("42P03", $"cursor \"{name}\" already exists");
        }
        switch (declare.Inner)
        {
            case SelectPlan select:
            {
                (List<Row>? rows, PgError? error) = await _coordinator.PeekAsync(select.Expr, select.Finishing, ReadTimestamp(), cancellationToken);
                if (error is not null)
                {
                    return error;
                }
                _cursors[name] = new RowsCursor(rows!, ColumnsOf(select.Desc));
                break;
            }
            case SubscribePlan subscribe:
                _cursors[name] = StartSubscribe(subscribe);
                break;
            default:
                return new PgError("0A000", "DECLARE CURSOR supports SELECT and SUBSCRIBE");
        }
        sink.CommandComplete("DECLARE CURSOR");
        return null;
    }

    private async Task<PgError?> FetchAsync(FetchPlan fetch, IPgResultSink sink, bool describe, CancellationToken cancellationToken)
    {
        if (!_cursors.TryGetValue(fetch.Cursor, out Cursor? cursor))
        {
            return new PgError("34000", $"cursor \"{fetch.Cursor}\" does not exist");
        }
        long count = fetch.Count ?? long.MaxValue;
        (List<Row> rows, PgError? error) = await cursor.FetchAsync(count, fetch.TimeoutMs, _coordinator.Clock, cancellationToken);
        if (error is not null)
        {
            return error;
        }
        if (describe)
        {
            sink.RowDescription(cursor.Columns);
        }
        foreach (Row row in rows)
        {
            sink.Row(row.Datums);
        }
        sink.CommandComplete($"FETCH {rows.Count}");
        return null;
    }

    private async Task<PgError?> CopyToAsync(CopyToPlan copy, IPgResultSink sink, CancellationToken cancellationToken)
    {
        foreach (CopyOption option in copy.Options)
        {
            if (option.Name == "format" && !string.Equals(option.Value, "text", StringComparison.OrdinalIgnoreCase))
            {
                return new PgError("0A000", $"COPY TO STDOUT supports FORMAT text only, not {option.Value}");
            }
        }
        switch (copy.Inner)
        {
            case SelectPlan select:
            {
                (List<Row>? rows, PgError? error) = await _coordinator.PeekAsync(select.Expr, select.Finishing, ReadTimestamp(), cancellationToken);
                if (error is not null)
                {
                    return error;
                }
                sink.CopyOutBegin(select.Desc.Arity);
                var line = new StringBuilder();
                foreach (Row row in rows!)
                {
                    line.Clear();
                    AppendCopyLine(line, row, ColumnsOf(select.Desc));
                    sink.CopyData(Encoding.UTF8.GetBytes(line.ToString()));
                }
                sink.CopyDone();
                sink.CommandComplete($"COPY {rows.Count}");
                return null;
            }
            case SubscribePlan subscribe:
            {
                SubscribeCursor cursor = StartSubscribe(subscribe);
                try
                {
                    sink.CopyOutBegin(cursor.Columns.Count);
                    await sink.FlushAsync();
                    var line = new StringBuilder();
                    long total = 0;
                    // Runs until the client cancels or goes away, or the subscribe ends.
                    while (true)
                    {
                        (List<Row> rows, PgError? error) = await cursor.FetchAsync(long.MaxValue, null, _coordinator.Clock, cancellationToken);
                        if (error is not null)
                        {
                            return error;
                        }
                        foreach (Row row in rows)
                        {
                            line.Clear();
                            AppendCopyLine(line, row, cursor.Columns);
                            sink.CopyData(Encoding.UTF8.GetBytes(line.ToString()));
                        }
                        total += rows.Count;
                        await sink.FlushAsync();
                        if (cursor.Finished && rows.Count == 0)
                        {
                            sink.CopyDone();
                            sink.CommandComplete($"COPY {total}");
                            return null;
                        }
                    }
                }
                finally
                {
                    cursor.Close(_coordinator);
                }
            }
            default:
                return new PgError("0A000", "COPY TO STDOUT supports a query or SUBSCRIBE");
        }
    }

    private static void AppendCopyLine(StringBuilder line, Row row, IReadOnlyList<PgColumn> columns)
    {
        for (int i = 0; i < row.Count; i++)
        {
            if (i > 0)
            {
                line.Append('\t');
            }
            AppendCopyText(line, row[i], columns[i].Type);
        }
        line.Append('\n');
    }

    /// <summary>An open cursor: rows to fetch, and their columns.</summary>
    private abstract class Cursor(IReadOnlyList<PgColumn> columns)
    {
        public IReadOnlyList<PgColumn> Columns { get; } = columns;

        public abstract Task<(List<Row> Rows, PgError? Error)> FetchAsync(long count, long? timeoutMs, IClock clock, CancellationToken cancellationToken);

        public virtual void Close(Coordinator coordinator)
        {
        }
    }

    /// <summary>A cursor over a query's result, computed when it was declared.</summary>
    private sealed class RowsCursor(List<Row> rows, IReadOnlyList<PgColumn> columns) : Cursor(columns)
    {
        private int _next;

        public override Task<(List<Row> Rows, PgError? Error)> FetchAsync(long count, long? timeoutMs, IClock clock, CancellationToken cancellationToken)
        {
            int take = (int)Math.Min(count, rows.Count - _next);
            List<Row> batch = rows.GetRange(_next, take);
            _next += take;
            return Task.FromResult<(List<Row>, PgError?)>((batch, null));
        }
    }

    /// <summary>
    /// A live subscribe: each update becomes a row <c>(mz_timestamp, mz_diff, columns...)</c> in time order. A fetch
    /// waits until at least one row is there (or its timeout passes), then returns up to the count.
    /// </summary>
    private sealed class SubscribeCursor(GlobalId sinkId, Subscription subscription, SubscribePlan plan, ulong asOf, IReadOnlyList<PgColumn> columns)
        : Cursor(columns)
    {
        private readonly Queue<Row> _ready = new();
        private PgError? _error;
        private bool _closed;

        public bool Finished { get; private set; }

        public override async Task<(List<Row> Rows, PgError? Error)> FetchAsync(long count, long? timeoutMs, IClock clock, CancellationToken cancellationToken)
        {
            Absorb();
            if (_ready.Count == 0 && _error is null && !Finished && timeoutMs != 0)
            {
                TimeSpan remaining = timeoutMs is long ms ? TimeSpan.FromMilliseconds(ms) : TimeSpan.FromHours(1);
                long deadline = clock.MonotonicNanos + (long)remaining.TotalMilliseconds * 1_000_000;
                // Bounded by the deadline (or, without a timeout, one hour per round until something arrives).
                while (_ready.Count == 0 && _error is null && !Finished)
                {
                    long left = deadline - clock.MonotonicNanos;
                    if (timeoutMs is not null && left <= 0)
                    {
                        break;
                    }
                    await subscription.WaitAsync(clock, timeoutMs is null ? TimeSpan.FromHours(1) : TimeSpan.FromMilliseconds(Math.Max(1, left / 1_000_000)), cancellationToken);
                    Absorb();
                }
            }
            if (_error is not null && _ready.Count == 0)
            {
                return ([], _error);
            }
            var rows = new List<Row>();
            while (_ready.Count > 0 && rows.Count < count)
            {
                rows.Add(_ready.Dequeue());
            }
            return (rows, null);
        }

        private void Absorb()
        {
            foreach (SubscribeEvent subscribeEvent in subscription.Drain())
            {
                switch (subscribeEvent)
                {
                    case SubscribeBatch batch:
                        foreach (Update update in batch.Updates)
                        {
                            if (!plan.Snapshot && update.Time <= asOf)
                            {
                                continue;
                            }
                            var datums = new Datum[update.Row.Count + 2];
                            datums[0] = Datum.FromDecimal(update.Time);
                            datums[1] = Datum.FromInt64(update.Diff);
                            update.Row.Datums.CopyTo(datums.AsSpan(2));
                            _ready.Enqueue(new Row(datums));
                        }
                        Finished |= batch.Upper.IsEmpty;
                        break;
                    case SubscribeError error:
                        _error = new PgError(error.SqlState, error.Message);
                        break;
                    case SubscribeDropped:
                        _error = new PgError("XX000", "the subscribe was dropped because an object it reads was dropped");
                        break;
                }
            }
        }

        public override void Close(Coordinator coordinator)
        {
            if (!_closed)
            {
                _closed = true;
                coordinator.Compute.AllowCompaction(sinkId, Frontier.Empty);
            }
        }
    }
}
