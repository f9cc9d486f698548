using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Storage;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.PgWire;
using Kernel.Sql.Parsing;
using Kernel.Sql.Planning;
using Kernel.Sql.Syntax;

namespace Kernel.Control;

/// <summary>
/// One client session behind pgwire: parses and plans each statement, executes it through the coordinator, and
/// keeps what is the session's own: variables, cursors, the explicit transaction and its buffered writes.
/// </summary>
/// <remarks>
/// Transactions: BEGIN ... COMMIT buffers INSERTs and applies them in one group commit at COMMIT (ROLLBACK drops
/// them); reads inside a transaction each take a fresh timestamp; UPDATE and DELETE are refused inside explicit
/// transactions for now. Owned by the environmentd node loop.
/// </remarks>
public sealed partial class Session : IPgSession
{
    private static readonly SqlType MzTimestampType = SqlType.Numeric;

    private readonly Coordinator _coordinator;
    private readonly SortedDictionary<string, string> _variables;
    private readonly Dictionary<string, Cursor> _cursors = [];
    private readonly List<TableWrite> _bufferedWrites = [];
    private bool _inTransaction;
    private bool _transactionFailed;

    public Session(Coordinator coordinator, IReadOnlyDictionary<string, string> startupParameters)
    {
        _coordinator = coordinator;
        _variables = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["application_name"] = "",
            ["client_encoding"] = "UTF8",
            ["client_min_messages"] = "notice",
            ["database"] = "materialize",
            ["datestyle"] = "ISO, MDY",
            ["extra_float_digits"] = "3",
            ["integer_datetimes"] = "on",
            ["intervalstyle"] = "postgres",
            ["search_path"] = "public",
            ["server_encoding"] = "UTF8",
            ["server_version"] = "15.0",
            ["server_version_num"] = "150000",
            ["standard_conforming_strings"] = "on",
            ["statement_timeout"] = "0",
            ["timezone"] = "UTC",
            ["transaction_isolation"] = "strict serializable",
            ["user"] = "materialize",
        };
        foreach ((string name, string value) in startupParameters)
        {
            string key = name.ToLowerInvariant();
            if (key is "application_name" or "client_encoding" or "datestyle" or "extra_float_digits" or "search_path" or "timezone" or "database" or "user")
            {
                _variables[key] = value;
            }
        }
    }

    public IReadOnlyList<KeyValuePair<string, string>> ParameterStatus =>
    [
        new("application_name", _variables["application_name"]),
        new("server_version", _variables["server_version"]),
        new("TimeZone", _variables["timezone"]),
        new("DateStyle", _variables["datestyle"]),
    ];

    public char TransactionStatus => !_inTransaction ? 'I' : _transactionFailed ? 'E' : 'T';

    public ValueTask DisposeAsync()
    {
        foreach (Cursor cursor in _cursors.Values)
        {
            cursor.Close(_coordinator);
        }
        _cursors.Clear();
        return ValueTask.CompletedTask;
    }

    public async Task ExecuteSimpleAsync(string sql, IPgResultSink sink, CancellationToken cancellationToken)
    {
        ParseResult parsed = Parser.Parse(sql);
        if (!parsed.IsSuccess)
        {
            Fail(sink, new PgError(parsed.Error!.SqlState, parsed.Error.Message, Hint: parsed.Error.Hint, Position: parsed.Error.Position > 0 ? parsed.Error.Position : null));
            return;
        }
        if (parsed.Statements.Count == 0)
        {
            sink.EmptyQuery();
            return;
        }
        for (int i = 0; i < parsed.Statements.Count; i++)
        {
            bool ok = await ExecuteStatementAsync(parsed.Statements[i].Statement, sql, [], [], sink, describe: true, cancellationToken);
            if (!ok)
            {
                return;
            }
        }
    }

    public PgPrepareResult Prepare(string sql, IReadOnlyList<SqlType?> declaredParameterTypes)
    {
        ParseResult parsed = Parser.Parse(sql);
        if (!parsed.IsSuccess)
        {
            _transactionFailed |= _inTransaction;
            return PgPrepareResult.Failed(new PgError(parsed.Error!.SqlState, parsed.Error.Message, Hint: parsed.Error.Hint, Position: parsed.Error.Position > 0 ? parsed.Error.Position : null));
        }
        if (parsed.Statements.Count > 1)
        {
            return PgPrepareResult.Failed(new PgError("42601", "cannot insert multiple commands into a prepared statement"));
        }
        if (parsed.Statements.Count == 0)
        {
            return PgPrepareResult.Prepared(new PgPrepared(sql, [], null, null));
        }
        Statement statement = parsed.Statements[0].Statement;
        var known = new SqlType[declaredParameterTypes.Count];
        for (int i = 0; i < known.Length; i++)
        {
            known[i] = declaredParameterTypes[i] ?? SqlType.Unknown;
        }
        if (NeedsNoPlanToDescribe(statement))
        {
            return PgPrepareResult.Prepared(new PgPrepared(sql, known, ColumnsWithoutPlan(statement), statement));
        }
        PlanResult planned = Planner.Plan(statement, _coordinator.Catalog, known);
        if (!planned.IsSuccess)
        {
            // As in PostgreSQL, an error at Parse aborts an open transaction like one at execution.
            _transactionFailed |= _inTransaction;
            return PgPrepareResult.Failed(ToPgError(planned.Error));
        }
        return PgPrepareResult.Prepared(new PgPrepared(sql, planned.ParameterTypes, ColumnsOf(planned.Plan), statement));
    }

    public async Task ExecuteAsync(PgPrepared statement, IReadOnlyList<Datum> parameters, IPgResultSink sink, CancellationToken cancellationToken)
    {
        if (statement.State is not Statement parsed)
        {
            sink.EmptyQuery();
            return;
        }
        await ExecuteStatementAsync(parsed, statement.Sql, statement.ParameterTypes, parameters, sink, describe: false, cancellationToken);
    }

    /// <summary>Plans and runs one statement; false when it failed (the error has been written).</summary>
    private async Task<bool> ExecuteStatementAsync(
        Statement statement, string sql, IReadOnlyList<SqlType> parameterTypes, IReadOnlyList<Datum> parameters, IPgResultSink sink, bool describe, CancellationToken cancellationToken)
    {
        if (_inTransaction && _transactionFailed && statement is not (CommitStatement or RollbackStatement))
        {
            sink.Error(new PgError("25P02", "current transaction is aborted, commands ignored until end of transaction block"));
            return false;
        }
        PlanResult planned = Planner.Plan(statement, _coordinator.Catalog, parameterTypes);
        if (!planned.IsSuccess)
        {
            Fail(sink, ToPgError(planned.Error));
            return false;
        }
        foreach (string notice in planned.Notices)
        {
            sink.Notice(new PgError("00000", notice, "NOTICE"));
        }
        Plan plan = planned.Plan;
        if (parameters.Count > 0)
        {
            PlanResult bound = Planner.BindParameters(plan, parameters);
            if (!bound.IsSuccess)
            {
                Fail(sink, ToPgError(bound.Error));
                return false;
            }
            plan = bound.Plan;
        }
        PgError? error;
        try
        {
            error = await ExecutePlanAsync(plan, statement, sql, sink, describe, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            error = new PgError("57014", "canceling statement due to user request");
        }
        if (error is not null)
        {
            Fail(sink, error);
            return false;
        }
        return true;
    }

    private void Fail(IPgResultSink sink, PgError error)
    {
        if (_inTransaction)
        {
            _transactionFailed = true;
        }
        sink.Error(error);
    }

    private static PgError ToPgError(PlanError error) => new(error.SqlState, error.Message, Hint: error.Hint, Position: error.Position);

    private static bool NeedsNoPlanToDescribe(Statement statement) => statement is FetchStatement;

    private IReadOnlyList<PgColumn>? ColumnsWithoutPlan(Statement statement) =>
        statement is FetchStatement fetch && _cursors.TryGetValue(fetch.Cursor.ToLowerInvariant(), out Cursor? cursor) ? cursor.Columns : null;

    private static List<PgColumn> ColumnsOf(RelationDesc desc)
    {
        var columns = new List<PgColumn>(desc.Arity);
        for (int i = 0; i < desc.Arity; i++)
        {
            columns.Add(new PgColumn(desc.Names[i], desc.Type.Columns[i].Type));
        }
        return columns;
    }

    private static List<PgColumn>? ColumnsOf(Plan plan) => plan switch
    {
        SelectPlan select => ColumnsOf(select.Desc),
        ShowObjectsPlan => [new PgColumn("name", SqlType.Text)],
        ShowVariablePlan show => show.Name == "all"
            ? [new PgColumn("name", SqlType.Text), new PgColumn("setting", SqlType.Text)]
            : [new PgColumn(show.Name, SqlType.Text)],
        ShowColumnsPlan => [new PgColumn("name", SqlType.Text), new PgColumn("nullable", SqlType.Bool), new PgColumn("type", SqlType.Text)],
        ShowCreatePlan => [new PgColumn("name", SqlType.Text), new PgColumn("create_sql", SqlType.Text)],
        ExplainPlan => [new PgColumn("Physical Plan", SqlType.Text)],
        _ => null,
    };

    private static List<PgColumn> SubscribeColumns(RelationDesc desc)
    {
        var columns = new List<PgColumn> { new("mz_timestamp", MzTimestampType), new("mz_diff", SqlType.Int64) };
        columns.AddRange(ColumnsOf(desc));
        return columns;
    }
}
