using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.PgWire;

namespace Kernel.Tests.Unit.PgWire;

/// <summary>
/// A pgwire handler over a tiny in-memory table, for tests only. It understands a handful of fixed statements
/// (see <see cref="TestSession"/>), enough to drive every path of the server: rows, commands, errors, notices,
/// transactions, COPY, cancellation and a session that throws.
/// </summary>
public sealed class TestBackend : IPgServerHandler
{
    public List<(int ProcessId, int SecretKey)> Cancels { get; } = [];

    public List<IReadOnlyDictionary<string, string>> Startups { get; } = [];

    public int SessionsDisposed { get; set; }

    /// <summary>The table t: (id int4, name text, score numeric, ok bool).</summary>
    public List<Datum[]> Rows { get; } =
    [
        [Datum.FromInt64(1), Datum.FromString("ada"), Datum.FromDecimal(12.50m), Datum.FromBool(true)],
        [Datum.FromInt64(2), Datum.FromString("bob"), Datum.FromDecimal(-0.001m), Datum.FromBool(false)],
        [Datum.FromInt64(3), Datum.Null, Datum.FromDecimal(1234567.89m), Datum.Null],
    ];

    public static IReadOnlyList<PgColumn> Columns { get; } =
        [new("id", SqlType.Int32), new("name", SqlType.Text), new("score", SqlType.Numeric), new("ok", SqlType.Bool)];

    public PgSessionStart StartSession(IReadOnlyDictionary<string, string> startupParameters, int processId, int secretKey)
    {
        Startups.Add(startupParameters);
        if (startupParameters.GetValueOrDefault("database") == "nope")
        {
            return PgSessionStart.Refused(new PgError("3D000", "database \"nope\" does not exist"));
        }
        return PgSessionStart.Started(new TestSession(this));
    }

    public void Cancel(int processId, int secretKey) => Cancels.Add((processId, secretKey));
}

/// <summary>
/// Statements (case-insensitive): <c>select * from t</c>; <c>select N</c>; <c>select $1::type, ...</c> (echoes its
/// parameters); <c>insert into t values (N, 'name')</c>; <c>generate N</c> (N rows of bigint); <c>copy t to stdout</c>;
/// <c>begin</c>, <c>commit</c>, <c>rollback</c>; <c>notice</c>; <c>sleep</c> (until canceled); <c>crash</c> (throws);
/// an empty statement; anything else is a syntax error.
/// </summary>
public sealed partial class TestSession(TestBackend backend) : IPgSession
{
    private char _status = 'I';

    public IReadOnlyList<KeyValuePair<string, string>> ParameterStatus { get; } = [new("TimeZone", "Etc/UTC"), new("kernel_test", "yes")];

    public char TransactionStatus => _status;

    public ValueTask DisposeAsync()
    {
        backend.SessionsDisposed++;
        return ValueTask.CompletedTask;
    }

    public async Task ExecuteSimpleAsync(string sql, IPgResultSink sink, CancellationToken cancellationToken)
    {
        string[] statements = sql.Split(';');
        for (int i = 0; i < statements.Length; i++)
        {
            string statement = statements[i].Trim();
            if (statement.Length == 0 && (statements.Length > 1))
            {
                if (i == statements.Length - 1 && i > 0)
                {
                    continue; // a trailing semicolon
                }
            }
            PgPrepareResult prepared = Prepare(statement, []);
            if (prepared.Error is not null)
            {
                Fail(sink, prepared.Error);
                return;
            }
            if (prepared.Statement!.Columns is { } columns)
            {
                sink.RowDescription(columns);
            }
            if (!await RunAsync(prepared.Statement, [], sink, cancellationToken))
            {
                return;
            }
        }
    }

    public PgPrepareResult Prepare(string sql, IReadOnlyList<SqlType?> declaredParameterTypes)
    {
        string text = sql.Trim().TrimEnd(';').Trim();
        string lower = text.ToLowerInvariant();
        if (lower.Length == 0)
        {
            return Prepared(sql, [], null, "empty");
        }
        if (lower == "select * from t")
        {
            return Prepared(sql, [], TestBackend.Columns, "scan");
        }
        if (ParameterList().Match(lower) is { Success: true } echo)
        {
            var types = new List<SqlType>();
            foreach (Capture capture in echo.Groups["type"].Captures)
            {
                types.Add(TypeNamed(capture.Value));
            }
            for (int i = 0; i < declaredParameterTypes.Count && i < types.Count; i++)
            {
                if (declaredParameterTypes[i] is SqlType declared && declared.Kind != types[i].Kind)
                {
                    return PgPrepareResult.Failed(new PgError("42804", $"parameter ${i + 1} declared {declared} but used as {types[i]}"));
                }
            }
            PgColumn[] columns = [.. types.Select((type, i) => new PgColumn("p" + (i + 1).ToString(CultureInfo.InvariantCulture), type))];
            return Prepared(sql, types, columns, "echo");
        }
        if (SelectNumber().Match(lower) is { Success: true } number)
        {
            return Prepared(sql, [], [new PgColumn("?column?", SqlType.Int32)], long.Parse(number.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        if (Generate().Match(lower) is { Success: true } generate)
        {
            return Prepared(sql, [], [new PgColumn("n", SqlType.Int64)], ("generate", int.Parse(generate.Groups[1].Value, CultureInfo.InvariantCulture)));
        }
        if (Insert().Match(text) is { Success: true } insert)
        {
            return Prepared(sql, [], null, ("insert", long.Parse(insert.Groups[1].Value, CultureInfo.InvariantCulture), insert.Groups[2].Value));
        }
        return lower switch
        {
            "copy t to stdout" or "copy (select * from t) to stdout" => Prepared(sql, [], null, "copy"),
            "begin" or "commit" or "rollback" or "notice" or "sleep" or "crash" => Prepared(sql, [], null, lower),
            _ => PgPrepareResult.Failed(new PgError("42601", $"syntax error at or near \"{text.Split(' ')[0]}\"", Position: 1)),
        };
    }

    public async Task ExecuteAsync(PgPrepared statement, IReadOnlyList<Datum> parameters, IPgResultSink sink, CancellationToken cancellationToken) =>
        await RunAsync(statement, parameters, sink, cancellationToken);

    // Runs one prepared statement; false when it failed (a simple query then stops).
    private async Task<bool> RunAsync(PgPrepared statement, IReadOnlyList<Datum> parameters, IPgResultSink sink, CancellationToken cancellationToken)
    {
        if (_status == 'E' && statement.State is not "rollback" and not "commit")
        {
            sink.Error(new PgError("25P02", "current transaction is aborted, commands ignored until end of transaction block"));
            return false;
        }
        switch (statement.State)
        {
            case "empty":
                sink.EmptyQuery();
                return true;
            case "scan":
                foreach (Datum[] row in backend.Rows)
                {
                    sink.Row(row);
                }
                sink.CommandComplete("SELECT " + backend.Rows.Count.ToString(CultureInfo.InvariantCulture));
                return true;
            case "echo":
                sink.Row(parameters.ToArray());
                sink.CommandComplete("SELECT 1");
                return true;
            case long value:
                sink.Row([Datum.FromInt64(value)]);
                sink.CommandComplete("SELECT 1");
                return true;
            case ("generate", int count):
                for (int i = 1; i <= count; i++)
                {
                    sink.Row([Datum.FromInt64(i)]);
                }
                sink.CommandComplete("SELECT " + count.ToString(CultureInfo.InvariantCulture));
                return true;
            case ("insert", long id, string name):
                backend.Rows.Add([Datum.FromInt64(id), Datum.FromString(name), Datum.Null, Datum.Null]);
                sink.CommandComplete("INSERT 0 1");
                return true;
            case "copy":
                sink.CopyOutBegin(TestBackend.Columns.Count);
                foreach (Datum[] row in backend.Rows)
                {
                    string line = string.Join('\t', row.Select((d, i) => d.IsNull ? "\\N" : Kernel.Expr.Text.DatumText.Format(d, TestBackend.Columns[i].Type))) + "\n";
                    sink.CopyData(Encoding.UTF8.GetBytes(line));
                }
                sink.CopyDone();
                sink.CommandComplete("COPY " + backend.Rows.Count.ToString(CultureInfo.InvariantCulture));
                return true;
            case "begin":
                _status = 'T';
                sink.CommandComplete("BEGIN");
                return true;
            case "commit":
                sink.CommandComplete(_status == 'E' ? "ROLLBACK" : "COMMIT");
                _status = 'I';
                return true;
            case "rollback":
                _status = 'I';
                sink.CommandComplete("ROLLBACK");
                return true;
            case "notice":
                sink.Notice(new PgError("00000", "just so you know", "NOTICE"));
                sink.CommandComplete("DO");
                return true;
            case "sleep":
            {
                var never = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                using CancellationTokenRegistration registration = cancellationToken.Register(() => never.TrySetCanceled(cancellationToken));
                await never.Task;
                return true;
            }
            case "crash":
                throw new InvalidOperationException("the test session crashed on purpose");
            default:
                throw new InvalidOperationException($"unknown state {statement.State}");
        }
    }

    private void Fail(IPgResultSink sink, PgError error)
    {
        if (_status == 'T')
        {
            _status = 'E';
        }
        sink.Error(error);
    }

    private static PgPrepareResult Prepared(string sql, IReadOnlyList<SqlType> parameters, IReadOnlyList<PgColumn>? columns, object state) =>
        PgPrepareResult.Prepared(new PgPrepared(sql, parameters, columns, state));

    private static SqlType TypeNamed(string name) => name switch
    {
        "bool" => SqlType.Bool,
        "int2" => SqlType.Int16,
        "int4" => SqlType.Int32,
        "int8" => SqlType.Int64,
        "float8" => SqlType.Float64,
        "numeric" => SqlType.Numeric,
        "text" => SqlType.Text,
        "varchar" => SqlType.Varchar,
        "date" => SqlType.Date,
        "timestamp" => SqlType.Timestamp,
        _ => SqlType.Unknown,
    };

    [GeneratedRegex(@"^select (?:\$\d+(?:::(?<type>[a-z0-9]+)|(?<type>))(?:, *)?)+$")]
    private static partial Regex ParameterList();

    [GeneratedRegex(@"^select (\d+)$")]
    private static partial Regex SelectNumber();

    [GeneratedRegex(@"^generate (\d+)$")]
    private static partial Regex Generate();

    [GeneratedRegex(@"^insert into t values \((\d+), *'([^']*)'\)$", RegexOptions.IgnoreCase)]
    private static partial Regex Insert();
}
