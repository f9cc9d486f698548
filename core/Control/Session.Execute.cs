using System;
using System.Collections.Generic;
using System.Text;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Catalog;
using Kernel.Control.Storage;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Expr.Text;
using Kernel.Persist.Data;
using Kernel.PgWire;
using Kernel.Sql.Planning;
using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;

namespace Kernel.Control;

public sealed partial class Session
{
    /// <summary>Runs one bound plan; the error to report, or null on success.</summary>
    private async Task<PgError?> ExecutePlanAsync(Plan plan, Statement statement, string sql, IPgResultSink sink, bool describe, CancellationToken cancellationToken)
    {
        switch (plan)
        {
            case SelectPlan select:
            {
                (List<Row>? rows, PgError? error) = await _coordinator.PeekAsync(select.Expr, select.Finishing, ReadTimestamp(), cancellationToken);
                if (error is not null)
                {
                    return error;
                }
                if (describe)
                {
                    sink.RowDescription(ColumnsOf(select.Desc));
                }
                foreach (Row row in rows!)
                {
                    sink.Row(row.Datums);
                }
                sink.CommandComplete($"SELECT {rows!.Count}");
                return null;
            }
            case InsertPlan insert:
                return await InsertAsync(insert, sink, cancellationToken);
            case ReadThenWritePlan write:
                return await ReadThenWriteAsync(write, sink, cancellationToken);
            case CreateTablePlan table:
            {
                using IDisposable ddl = await _coordinator.DdlLock.AcquireAsync();
                return await CreateTableAsync(table, statement, sink);
            }
            case CreateViewPlan view:
            {
                using IDisposable ddl = await _coordinator.DdlLock.AcquireAsync();
                return await CreateObjectAsync(view.Name, view.IfNotExists, view.OrReplace, view.CreateSql, plan, CatalogEntryKind.View, "CREATE VIEW", sink);
            }
            case CreateMaterializedViewPlan mv:
            {
                using IDisposable ddl = await _coordinator.DdlLock.AcquireAsync();
                return await CreateObjectAsync(mv.Name, mv.IfNotExists, mv.OrReplace, mv.CreateSql, plan, CatalogEntryKind.MaterializedView, "CREATE MATERIALIZED VIEW", sink);
            }
            case CreateIndexPlan index:
            {
                using IDisposable ddl = await _coordinator.DdlLock.AcquireAsync();
                return await CreateObjectAsync(index.Name, index.IfNotExists, false, SqlPrinter.Print(statement), plan, CatalogEntryKind.Index, "CREATE INDEX", sink);
            }
            case DropPlan drop:
            {
                using IDisposable ddl = await _coordinator.DdlLock.AcquireAsync();
                return await DropAsync(drop, sink);
            }
            case ShowObjectsPlan show:
            {
                if (describe)
                {
                    sink.RowDescription([new PgColumn("name", SqlType.Text)]);
                }
                int count = 0;
                var names = new List<string>();
                foreach (CatalogItem item in _coordinator.Catalog.Items)
                {
                    if (item.Kind == show.Kind && (show.On is null || item.IndexOn == show.On))
                    {
                        names.Add(item.Name);
                    }
                }
                names.Sort(StringComparer.Ordinal);
                foreach (string name in names)
                {
                    sink.Row([Datum.FromString(name)]);
                    count++;
                }
                sink.CommandComplete($"SELECT {count}");
                return null;
            }
            case ShowColumnsPlan columns:
            {
                if (describe)
                {
                    sink.RowDescription(ColumnsOf(plan)!);
                }
                for (int i = 0; i < columns.Desc.Arity; i++)
                {
                    ColumnType type = columns.Desc.Type.Columns[i];
                    sink.Row([Datum.FromString(columns.Desc.Names[i]), Datum.FromBool(type.Nullable), Datum.FromString(type.Type.Name)]);
                }
                sink.CommandComplete($"SELECT {columns.Desc.Arity}");
                return null;
            }
            case ShowCreatePlan create:
            {
                if (describe)
                {
                    sink.RowDescription(ColumnsOf(plan)!);
                }
                CatalogItem item = _coordinator.Catalog.Find(create.Id)!;
                sink.Row([Datum.FromString(item.Name), Datum.FromString(_coordinator.Catalog.CreateSqlOf(create.Id) ?? "")]);
                sink.CommandComplete("SELECT 1");
                return null;
            }
            case ShowVariablePlan show:
                return ShowVariable(show, sink, describe);
            case SetVariablePlan set:
                return SetVariable(set.Name, set.Value, sink);
            case ResetVariablePlan reset:
                if (reset.Name is not null && !_variables.ContainsKey(reset.Name))
                {
                    return new PgError("42704", $"unrecognized configuration parameter \"{reset.Name}\"");
                }
                sink.CommandComplete("RESET");
                return null;
            case TransactionPlan transaction:
                return await TransactionAsync(transaction, sink);
            case DeclareCursorPlan declare:
                return await DeclareAsync(declare, sink, cancellationToken);
            case FetchPlan fetch:
                return await FetchAsync(fetch, sink, describe, cancellationToken);
            case ClosePlan close:
                if (close.Cursor is null)
                {
                    foreach (Cursor open in _cursors.Values)
                    {
                        open.Close(_coordinator);
                    }
                    _cursors.Clear();
                }
                else if (_cursors.Remove(close.Cursor, out Cursor? cursor))
                {
                    cursor.Close(_coordinator);
                }
                else
                {
                    return new PgError("34000", $"cursor \"{close.Cursor}\" does not exist");
                }
                sink.CommandComplete("CLOSE CURSOR");
                return null;
            case CopyToPlan copy:
                return await CopyToAsync(copy, sink, cancellationToken);
            case SubscribePlan:
                return new PgError(
                    "0A000",
                    "SUBSCRIBE streams without end and must be read through COPY or a cursor",
                    Hint: "Use COPY (SUBSCRIBE ...) TO STDOUT, or DECLARE c CURSOR FOR SUBSCRIBE ... and FETCH from it inside a transaction.");
            case ExplainPlan explain:
            {
                if (describe)
                {
                    sink.RowDescription(ColumnsOf(plan)!);
                }
                sink.Row([Datum.FromString(explain.Text)]);
                sink.CommandComplete("SELECT 1");
                return null;
            }
            default:
                return new PgError("0A000", $"{plan.GetType().Name} is not supported yet");
        }
    }

    /// <summary>The timestamp a read happens at: the oracle's read timestamp, which covers every acknowledged write.</summary>
    private ulong ReadTimestamp() => _coordinator.Storage.Oracle.ReadTs;

    private async Task<PgError?> InsertAsync(InsertPlan insert, IPgResultSink sink, CancellationToken cancellationToken)
    {
        CatalogItem table = _coordinator.Catalog.Find(insert.Table)!;
        (List<Row>? rows, PgError? error) = await EvaluateAsync(insert.Rows, cancellationToken);
        if (error is not null)
        {
            return error;
        }
        if (CheckNotNull(table, rows!) is PgError violation)
        {
            return violation;
        }
        var changes = new List<(Row, long)>(rows!.Count);
        foreach (Row row in rows)
        {
            changes.Add((row, 1));
        }
        if (_inTransaction)
        {
            _bufferedWrites.Add(new TableWrite(insert.Table, changes));
            sink.CommandComplete($"INSERT 0 {rows.Count}");
            return null;
        }
        WriteOutcome outcome = await _coordinator.Storage.WriteAsync([new TableWrite(insert.Table, changes)]);
        if (!outcome.Committed)
        {
            return new PgError("XX000", outcome.Error);
        }
        sink.CommandComplete($"INSERT 0 {rows.Count}");
        return null;
    }

    private async Task<PgError?> ReadThenWriteAsync(ReadThenWritePlan write, IPgResultSink sink, CancellationToken cancellationToken)
    {
        if (_inTransaction)
        {
            return new PgError("0A000", "UPDATE and DELETE are not supported inside an explicit transaction yet", Hint: "Run them outside BEGIN ... COMMIT.");
        }
        CatalogItem table = _coordinator.Catalog.Find(write.Table)!;
        PgError? failure = null;
        int affected = 0;
        WriteOutcome outcome = await _coordinator.Storage.ReadThenWriteAsync(async readTs =>
        {
            (List<Row>? rows, PgError? error) = await _coordinator.PeekAsync(
                write.Selection, RowSetFinishing.Trivial(write.Selection.Type.Arity), readTs, cancellationToken);
            if (error is not null)
            {
                failure = error;
                return (null, error.Message);
            }
            var changes = new List<(Row, long)>();
            var updated = new List<Row>();
            foreach (Row row in rows!)
            {
                changes.Add((row, -1));
                if (write.Kind == WriteKind.Update)
                {
                    var values = new Datum[write.Assignments!.Value.Length];
                    for (int i = 0; i < values.Length; i++)
                    {
                        if (!Evaluator.TryEval(write.Assignments.Value[i], row.Datums, out values[i], out EvalError? evalError))
                        {
                            failure = new PgError(evalError.SqlState, evalError.Message);
                            return (null, evalError.Message);
                        }
                    }
                    var newRow = new Row(values);
                    updated.Add(newRow);
                    changes.Add((newRow, 1));
                }
            }
            if (CheckNotNull(table, updated) is PgError violation)
            {
                failure = violation;
                return (null, violation.Message);
            }
            affected = rows.Count;
            return ([new TableWrite(write.Table, changes)], "");
        });
        if (failure is not null)
        {
            return failure;
        }
        if (!outcome.Committed)
        {
            return new PgError("XX000", outcome.Error);
        }
        sink.CommandComplete(write.Kind == WriteKind.Update ? $"UPDATE {affected}" : $"DELETE {affected}");
        return null;
    }

    private static PgError? CheckNotNull(CatalogItem table, List<Row> rows)
    {
        foreach (Row row in rows)
        {
            for (int i = 0; i < table.Desc.Arity; i++)
            {
                if (!table.Desc.Type.Columns[i].Nullable && row[i].IsNull)
                {
                    return new PgError(
                        "23502",
                        $"null value in column \"{table.Desc.Names[i]}\" of relation \"{table.Name}\" violates not-null constraint");
                }
            }
        }
        return null;
    }

    /// <summary>The rows of <paramref name="expr"/> now: evaluated here when it reads no collection, else peeked at the read timestamp.</summary>
    private async Task<(List<Row>? Rows, PgError? Error)> EvaluateAsync(RelationExpr expr, CancellationToken cancellationToken)
    {
        if (LocalEvaluation.TryEvaluate(expr, out List<Row>? rows, out EvalError? error))
        {
            return error is null ? (rows, null) : (null, new PgError(error.SqlState, error.Message));
        }
        return await _coordinator.PeekAsync(expr, RowSetFinishing.Trivial(expr.Type.Arity), ReadTimestamp(), cancellationToken);
    }

    private async Task<PgError?> CreateTableAsync(CreateTablePlan table, Statement statement, IPgResultSink sink)
    {
        if (_coordinator.Catalog.Resolve(table.Name) is not null)
        {
            if (table.IfNotExists)
            {
                sink.Notice(new PgError("42P07", $"relation \"{table.Name}\" already exists, skipping", "NOTICE"));
                sink.CommandComplete("CREATE TABLE");
                return null;
            }
            return new PgError("42P07", $"relation \"{table.Name}\" already exists");
        }
        (GlobalId id, string shard) = _coordinator.AllocateStorage();
        string createSql = SqlPrinter.Print(statement);
        CatalogItem item = _coordinator.ItemFromPlan(id, table);
        if (await CommitCatalogAsync([new CatalogEntry(id, table.Name, CatalogEntryKind.Table, createSql, shard)], []) is PgError error)
        {
            return error;
        }
        _coordinator.Catalog.Add(item, shard, createSql);
        string? opened = await _coordinator.Storage.AddTableAsync(id, new Kernel.Persist.Shard.ShardId(shard));
        if (opened is not null)
        {
            return new PgError("XX000", opened);
        }
        WriteOutcome advanced = await _coordinator.Storage.AdvanceAsync();
        if (!advanced.Committed)
        {
            return new PgError("XX000", advanced.Error);
        }
        sink.CommandComplete("CREATE TABLE");
        return null;
    }

    private async Task<PgError?> CreateObjectAsync(
        string name, bool ifNotExists, bool orReplace, string createSql, Plan plan, CatalogEntryKind kind, string tag, IPgResultSink sink)
    {
        if (_coordinator.Catalog.Resolve(name) is CatalogItem existing)
        {
            if (ifNotExists)
            {
                sink.Notice(new PgError("42P07", $"relation \"{name}\" already exists, skipping", "NOTICE"));
                sink.CommandComplete(tag);
                return null;
            }
            if (!orReplace || existing.Kind != (kind == CatalogEntryKind.View ? CatalogItemKind.View : CatalogItemKind.MaterializedView))
            {
                return new PgError("42P07", $"relation \"{name}\" already exists");
            }
            return new PgError("0A000", "CREATE OR REPLACE of an existing object is not supported yet", Hint: "DROP it first, then CREATE it again.");
        }
        string? shard = null;
        GlobalId id;
        if (kind == CatalogEntryKind.MaterializedView)
        {
            (id, shard) = _coordinator.AllocateStorage();
        }
        else
        {
            id = _coordinator.AllocateId();
        }
        CatalogItem item = _coordinator.ItemFromPlan(id, plan);
        if (await CommitCatalogAsync([new CatalogEntry(id, name, kind, createSql, shard)], []) is PgError error)
        {
            return error;
        }
        _coordinator.Catalog.Add(item, shard, createSql);
        // The as_of is read right before the dataflow is created, with no await in between: the read holds follow the
        // read timestamp, so a time taken before an await may be compacted away by the time the dataflow starts
        // (found by the simulator, seed 2: the hold on the view's shard took a second to place during an outage).
        if (plan is CreateMaterializedViewPlan mv)
        {
            string? held = await _coordinator.Storage.HoldSinceAsync(new Kernel.Persist.Shard.ShardId(shard!));
            if (held is not null)
            {
                return new PgError("XX000", held);
            }
            _coordinator.CreateMaterializedViewDataflow(item, mv.Expr, shard!, ReadTimestamp());
        }
        else if (kind == CatalogEntryKind.Index)
        {
            _coordinator.CreateIndexDataflow(item, ReadTimestamp());
        }
        sink.CommandComplete(tag);
        return null;
    }

    private async Task<PgError?> DropAsync(DropPlan drop, IPgResultSink sink)
    {
        string tag = drop.Kind switch
        {
            CatalogItemKind.Table => "DROP TABLE",
            CatalogItemKind.View => "DROP VIEW",
            CatalogItemKind.MaterializedView => "DROP MATERIALIZED VIEW",
            _ => "DROP INDEX",
        };
        if (drop.Ids.IsEmpty)
        {
            sink.CommandComplete(tag);
            return null;
        }
        if (await CommitCatalogAsync([], drop.Ids) is PgError error)
        {
            return error;
        }
        foreach (GlobalId id in drop.Ids)
        {
            CatalogItem? item = _coordinator.Catalog.Find(id);
            if (item is null)
            {
                continue;
            }
            switch (item.Kind)
            {
                case CatalogItemKind.Table:
                    _coordinator.Storage.DropTable(id);
                    _coordinator.Storage.ReleaseSince(new Kernel.Persist.Shard.ShardId(_coordinator.Catalog.ShardOf(id)!));
                    break;
                case CatalogItemKind.MaterializedView:
                    _coordinator.Storage.ReleaseSince(new Kernel.Persist.Shard.ShardId(_coordinator.Catalog.ShardOf(id)!));
                    _coordinator.Compute.AllowCompaction(id, Frontier.Empty);
                    break;
                case CatalogItemKind.Index:
                    _coordinator.Compute.AllowCompaction(id, Frontier.Empty);
                    break;
            }
            _coordinator.Catalog.Remove(id);
        }
        sink.CommandComplete(tag);
        return null;
    }

    private async Task<PgError?> CommitCatalogAsync(IReadOnlyList<CatalogEntry> added, IReadOnlyList<GlobalId> removed)
    {
        CatalogWriteStatus status = await _coordinator.Durable.CommitAsync(added, removed);
        return status switch
        {
            CatalogWriteStatus.Committed => null,
            CatalogWriteStatus.Fenced => new PgError("57P01", "this environmentd has been replaced by a newer one; reconnect"),
            _ => new PgError("XX000", "the catalog could not be written; the change may or may not have been applied"),
        };
    }

    private PgError? ShowVariable(ShowVariablePlan show, IPgResultSink sink, bool describe)
    {
        if (show.Name == "all")
        {
            if (describe)
            {
                sink.RowDescription(ColumnsOf(show)!);
            }
            foreach ((string name, string value) in _variables)
            {
                sink.Row([Datum.FromString(name), Datum.FromString(value)]);
            }
            sink.CommandComplete($"SELECT {_variables.Count}");
            return null;
        }
        if (!_variables.TryGetValue(show.Name, out string? setting))
        {
            return new PgError("42704", $"unrecognized configuration parameter \"{show.Name}\"");
        }
        if (describe)
        {
            sink.RowDescription(ColumnsOf(show)!);
        }
        sink.Row([Datum.FromString(setting)]);
        sink.CommandComplete("SELECT 1");
        return null;
    }

    private PgError? SetVariable(string name, string? value, IPgResultSink sink)
    {
        if (!_variables.ContainsKey(name))
        {
            return new PgError("42704", $"unrecognized configuration parameter \"{name}\"");
        }
        if (name is "server_version" or "server_version_num" or "server_encoding" or "integer_datetimes")
        {
            return new PgError("55P02", $"parameter \"{name}\" cannot be changed");
        }
        if (value is not null)
        {
            _variables[name] = value;
        }
        sink.CommandComplete("SET");
        return null;
    }

    private async Task<PgError?> TransactionAsync(TransactionPlan transaction, IPgResultSink sink)
    {
        switch (transaction.Kind)
        {
            case TransactionKind.Begin:
                if (_inTransaction)
                {
                    sink.Notice(new PgError("25001", "there is already a transaction in progress", "WARNING"));
                }
                _inTransaction = true;
                sink.CommandComplete("BEGIN");
                return null;
            case TransactionKind.Commit:
            {
                bool failed = _transactionFailed;
                List<TableWrite> writes = [.. _bufferedWrites];
                EndTransaction();
                if (failed)
                {
                    sink.CommandComplete("ROLLBACK");
                    return null;
                }
                if (writes.Count > 0)
                {
                    WriteOutcome outcome = await _coordinator.Storage.WriteAsync(writes);
                    if (!outcome.Committed)
                    {
                        return new PgError("XX000", outcome.Error);
                    }
                }
                sink.CommandComplete("COMMIT");
                return null;
            }
            default:
                EndTransaction();
                sink.CommandComplete("ROLLBACK");
                return null;
        }
    }

    private void EndTransaction()
    {
        _inTransaction = false;
        _transactionFailed = false;
        _bufferedWrites.Clear();
        foreach ((string name, Cursor cursor) in new List<KeyValuePair<string, Cursor>>(_cursors))
        {
            cursor.Close(_coordinator);
            _cursors.Remove(name);
        }
    }

    /// <summary>The text form COPY writes for a value: PostgreSQL's output with tab, newline, carriage return and backslash escaped; \N for NULL.</summary>
    internal static void AppendCopyText(StringBuilder line, Datum value, SqlType type)
    {
        if (value.IsNull)
        {
            line.Append("\\N");
            return;
        }
        foreach (char c in DatumText.Format(value, type))
        {
            switch (c)
            {
                case '\\':
                    line.Append("\\\\");
                    break;
                case '\t':
                    line.Append("\\t");
                    break;
                case '\n':
                    line.Append("\\n");
                    break;
                case '\r':
                    line.Append("\\r");
                    break;
                default:
                    line.Append(c);
                    break;
            }
        }
    }
}
