using System;
using System.Threading.Tasks;
using Npgsql;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// psql (the simple query protocol) against a running <c>kernel start</c>: exact printed output, COPY TO STDOUT, and
/// a live <c>COPY (SUBSCRIBE ...) TO STDOUT</c>. Tables are prefixed <c>psql_</c>.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class PsqlTests(KernelFixture fixture)
{
    private static readonly TimeSpan LineTimeout = TimeSpan.FromSeconds(15);

    [PsqlFact]
    public async Task Walkthrough_TableInsertMaterializedViewSelect_PrintsExactly()
    {
        const string Script = """
            CREATE TABLE psql_orders (region text, amount integer);
            INSERT INTO psql_orders VALUES ('east', 5), ('west', 1), ('east', 7), ('west', 2), ('north', 20);
            CREATE MATERIALIZED VIEW psql_totals AS SELECT region, sum(amount) AS total, count(*) AS orders FROM psql_orders GROUP BY region;
            SELECT * FROM psql_totals ORDER BY region;
            INSERT INTO psql_orders VALUES ('west', 10);
            SELECT region, total FROM psql_totals WHERE region = 'west';
            SHOW MATERIALIZED VIEWS;

            """;
        Psql.Result result = await Psql.RunScriptAsync(fixture.Kernel, Script);
        Assert.True(result.ExitCode == 0, $"psql failed ({result.ExitCode}): {result.Stderr}");
        Assert.Equal("", result.Stderr);
        string expected = Lines(
            "CREATE TABLE",
            "INSERT 0 5",
            "CREATE MATERIALIZED VIEW",
            " region | total | orders ",
            "--------+-------+--------",
            " east   |    12 |      2",
            " north  |    20 |      1",
            " west   |     3 |      2",
            "(3 rows)",
            "",
            "INSERT 0 1",
            " region | total ",
            "--------+-------",
            " west   |    13",
            "(1 row)",
            "");
        Assert.StartsWith(expected, result.Stdout, StringComparison.Ordinal);
        // SHOW lists every materialized view of the shared server; ours is among them.
        Assert.Contains(" psql_totals\n", result.Stdout[expected.Length..], StringComparison.Ordinal);
    }

    [PsqlFact]
    public async Task CopySelectToStdout_PrintsTextFormat()
    {
        const string Script = """
            CREATE TABLE psql_copy (id integer, name text, price numeric, day date, ok boolean, at timestamp, ratio double precision);
            INSERT INTO psql_copy VALUES (1, 'plain', 1.50, '2024-01-02', true, '2024-01-02 03:04:05', 0.5), (2, 'back\slash', NULL, NULL, false, NULL, -1e10);
            COPY (SELECT * FROM psql_copy ORDER BY id) TO STDOUT;
            COPY (SELECT name, id * 10 FROM psql_copy WHERE id = 2) TO STDOUT;

            """;
        Psql.Result result = await Psql.RunScriptAsync(fixture.Kernel, Script);
        Assert.True(result.ExitCode == 0, $"psql failed ({result.ExitCode}): {result.Stderr}");
        // psql prints no command tag after COPY TO STDOUT, only the data.
        Assert.Equal(
            Lines(
                "CREATE TABLE",
                "INSERT 0 2",
                "1\tplain\t1.50\t2024-01-02\tt\t2024-01-02 03:04:05\t0.5",
                "2\tback\\\\slash\t\\N\t\\N\tf\t\\N\t-10000000000",
                "back\\\\slash\t20"),
            result.Stdout);
    }

    [PsqlFact(needsLineBuffering: true)]
    public async Task CopySubscribeToStdout_ShowsALaterInsertLive()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await NpgsqlTests.ExecuteAsync(connection, "CREATE TABLE psql_live (id integer, note text)");
        await NpgsqlTests.ExecuteAsync(connection, "INSERT INTO psql_live VALUES (1, 'snapshot')");

        using var subscribe = new Psql.Streaming(fixture.Kernel, "-c", "COPY (SUBSCRIBE psql_live) TO STDOUT");
        string[] first = (await subscribe.NextLineAsync(LineTimeout)).Split('\t');
        Assert.Equal(["1", "1", "snapshot"], first[1..]);
        ulong snapshotTime = ulong.Parse(first[0], System.Globalization.CultureInfo.InvariantCulture);

        await NpgsqlTests.ExecuteAsync(connection, "INSERT INTO psql_live VALUES (2, 'live')");
        string[] second = (await subscribe.NextLineAsync(LineTimeout)).Split('\t');
        Assert.Equal(["1", "2", "live"], second[1..]);
        Assert.True(ulong.Parse(second[0], System.Globalization.CultureInfo.InvariantCulture) > snapshotTime);

        await NpgsqlTests.ExecuteAsync(connection, "UPDATE psql_live SET note = 'changed' WHERE id = 1");
        string[] retraction = (await subscribe.NextLineAsync(LineTimeout)).Split('\t');
        string[] addition = (await subscribe.NextLineAsync(LineTimeout)).Split('\t');
        // Within one timestamp the order of updates is not specified.
        if (retraction[1] == "1")
        {
            (retraction, addition) = (addition, retraction);
        }
        Assert.Equal(["-1", "1", "snapshot"], retraction[1..]);
        Assert.Equal(["1", "1", "changed"], addition[1..]);
        Assert.Equal(retraction[0], addition[0]);
        Assert.False(subscribe.HasExited);
        Assert.Empty(subscribe.Pending());

        // Stopping the client (killing psql) leaves the server serving.
        subscribe.Dispose();
        Assert.Equal(NpgsqlTests.Rows([1, "changed"], [2, "live"]), await NpgsqlTests.ReadRowsAsync(connection, "SELECT id, note FROM psql_live ORDER BY id"));
    }

    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";
}
