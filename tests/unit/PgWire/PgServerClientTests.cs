using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.PgWire;
using Kernel.Runtime;
using Kernel.Tests.Unit.Runtime;
using Kernel.Tests.Unit.Runtime.Production;
using Kernel.Tools.ProductionRuntime;
using Npgsql;
using Xunit;

namespace Kernel.Tests.Unit.PgWire;

/// <summary>
/// Real clients against a real <see cref="PgServer"/> on the production runtime over TCP: Npgsql (extended protocol,
/// binary parameters and results, errors, cancellation) and, when installed, psql (simple query, COPY TO STDOUT).
/// </summary>
public sealed class PgServerClientTests : IAsyncLifetime, IDisposable
{
    private readonly string _root = ProductionNodeHarness.NewTempDirectory();
    private readonly ProductionHost _host;
    private readonly TaskCompletionSource<Endpoint> _endpoint = Rendezvous.Create<Endpoint>();

    public PgServerClientTests()
    {
        _host = new ProductionHost(new ProductionHostOptions { RootDirectory = _root });
    }

    private TestBackend Backend { get; } = new();

    public async Task InitializeAsync()
    {
        _host.Start("pg", () => new DelegateNode(async context =>
        {
            var server = new PgServer(context.Network, Backend, context.Random.Fork("pgwire"));
            server.Start(0).Unwrap();
            _endpoint.SetResult(server.LocalEndpoint!.Value);
            await server.RunAsync(context.Stopping);
        }));
        await _endpoint.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public async Task DisposeAsync()
    {
        await _host.StopAllAsync(TimeSpan.FromSeconds(10));
        Dispose();
    }

    public void Dispose()
    {
        _host.Dispose();
        ProductionNodeHarness.DeleteDirectory(_root);
    }

    private string ConnectionString =>
        $"Host={_endpoint.Task.Result.Host};Port={_endpoint.Task.Result.Port};Username=tester;Database=db;" +
        "Server Compatibility Mode=NoTypeLoading;Pooling=false;Timeout=10;Command Timeout=30";

    [Fact]
    public async Task Npgsql_QueryTable_ReadsEveryColumnType()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select * from t", connection);
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();

        Assert.True(await reader.ReadAsync());
        Assert.Equal((1, "ada", 12.50m, true), (reader.GetInt32(0), reader.GetString(1), reader.GetDecimal(2), reader.GetBoolean(3)));
        Assert.True(await reader.ReadAsync());
        Assert.Equal(-0.001m, reader.GetDecimal(2));
        Assert.True(await reader.ReadAsync());
        Assert.True(reader.IsDBNull(1));
        Assert.False(await reader.ReadAsync());
        Assert.Equal("15.0", connection.ServerVersion);
    }

    [Fact]
    public async Task Npgsql_ParametersOfSeveralTypes_RoundTrip()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "select $1::int2, $2::int4, $3::int8, $4::float8, $5::numeric, $6::text, $7::bool, $8::date, $9::timestamp, $10::int4", connection);
        var timestamp = new DateTime(2024, 2, 29, 13, 14, 15, 678, DateTimeKind.Unspecified).AddTicks(9 * 10);
        command.Parameters.Add(new NpgsqlParameter<short> { TypedValue = -7 });
        command.Parameters.Add(new NpgsqlParameter<int> { Value = 123456 });
        command.Parameters.Add(new NpgsqlParameter<long> { Value = long.MaxValue });
        command.Parameters.Add(new NpgsqlParameter<double> { Value = 0.25 });
        command.Parameters.Add(new NpgsqlParameter<decimal> { Value = -98765.4321m });
        command.Parameters.Add(new NpgsqlParameter<string> { Value = "grüße" });
        command.Parameters.Add(new NpgsqlParameter<bool> { Value = true });
        command.Parameters.Add(new NpgsqlParameter<DateOnly> { Value = new DateOnly(1999, 12, 31) });
        command.Parameters.Add(new NpgsqlParameter<DateTime> { Value = timestamp, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Timestamp });
        command.Parameters.Add(new NpgsqlParameter { Value = DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Integer });
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();

        Assert.True(await reader.ReadAsync());
        Assert.Equal((short)-7, reader.GetInt16(0));
        Assert.Equal(123456, reader.GetInt32(1));
        Assert.Equal(long.MaxValue, reader.GetInt64(2));
        Assert.Equal(0.25, reader.GetDouble(3));
        Assert.Equal(-98765.4321m, reader.GetDecimal(4));
        Assert.Equal("grüße", reader.GetString(5));
        Assert.True(reader.GetBoolean(6));
        Assert.Equal(new DateOnly(1999, 12, 31), reader.GetFieldValue<DateOnly>(7));
        Assert.Equal(timestamp, reader.GetDateTime(8));
        Assert.True(reader.IsDBNull(9));
    }

    [Fact]
    public async Task Npgsql_ErrorThenQuery_ConnectionStaysUsable()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();

        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var bad = new NpgsqlCommand("bogus statement", connection);
            await bad.ExecuteNonQueryAsync();
        });
        await using var insert = new NpgsqlCommand("insert into t values (9, 'zed')", connection);
        int inserted = await insert.ExecuteNonQueryAsync();
        await using var good = new NpgsqlCommand("select 5", connection);
        object? five = await good.ExecuteScalarAsync();

        Assert.Equal("42601", error.SqlState);
        Assert.Equal(1, error.Position);
        Assert.Equal(1, inserted);
        Assert.Equal(5, five);
    }

    [Fact]
    public async Task Npgsql_CanceledCommand_Reports57014AndConnectionStaysUsable()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var sleep = new NpgsqlCommand("sleep", connection);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Exception thrown = await Assert.ThrowsAnyAsync<Exception>(() => sleep.ExecuteNonQueryAsync(cancel.Token));
        await using var after = new NpgsqlCommand("select 6", connection);
        object? six = await after.ExecuteScalarAsync();

        Assert.True(thrown is OperationCanceledException || thrown is PostgresException { SqlState: "57014" }, thrown.ToString());
        var postgres = (thrown as PostgresException) ?? (PostgresException?)thrown.InnerException;
        Assert.Equal("57014", postgres?.SqlState);
        Assert.Equal(6, six);
        Assert.NotEmpty(Backend.Cancels);
    }

    [PsqlFact]
    public async Task Psql_SelectAndCopyToStdout_PrintsRows()
    {
        string psql = FindOnPath("psql")!;
        Endpoint endpoint = await _endpoint.Task;

        string select = await RunPsqlAsync(psql, endpoint, "-A", "-t", "-c", "select * from t");
        string copy = await RunPsqlAsync(psql, endpoint, "-c", "copy t to stdout");

        Assert.Equal("1|ada|12.50|t\n2|bob|-0.001|f\n3||1234567.89|", select.TrimEnd('\n'));
        Assert.Equal("1\tada\t12.50\tt\n2\tbob\t-0.001\tf\n3\t\\N\t1234567.89\t\\N\n", copy);
    }

    private static async Task<string> RunPsqlAsync(string psql, Endpoint endpoint, params string[] arguments)
    {
        var start = new ProcessStartInfo(psql)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in (string[])["-X", "-h", endpoint.Host, "-p", endpoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "-U", "tester", "-d", "db", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["PGCONNECT_TIMEOUT"] = "10";
        start.Environment["PGSSLMODE"] = "prefer";
        using Process process = Process.Start(start)!;
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, $"psql exited {process.ExitCode}: {await errors}");
        return await output;
    }

    internal static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
            .Select(directory => Path.Join(directory, name))
            .FirstOrDefault(File.Exists);
}

/// <summary>A fact that is skipped, saying why, when psql is not installed.</summary>
public sealed class PsqlFactAttribute : FactAttribute
{
    public PsqlFactAttribute()
    {
        if (PgServerClientTests.FindOnPath("psql") is null)
        {
            Skip = "psql is not on PATH; install the PostgreSQL client (postgresql-client) to run this test";
        }
    }
}
