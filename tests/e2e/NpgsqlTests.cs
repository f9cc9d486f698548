using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Npgsql;
using NpgsqlTypes;
using Xunit;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// Npgsql against a running <c>kernel start</c>, over the extended protocol with binary parameters and results.
/// Every test uses its own tables (prefixed <c>npg_</c>) because the server is shared by the collection.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class NpgsqlTests(KernelFixture fixture)
{
    private static readonly DateOnly SomeDate = new(2024, 2, 29);
    private static readonly DateTime SomeTimestamp = new DateTime(2024, 2, 29, 13, 45, 59, DateTimeKind.Unspecified).AddTicks(1234560);

    [Fact]
    public async Task EveryType_BinaryParameters_ReadBackExactly()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection,
            "CREATE TABLE npg_types (b boolean, s smallint, i integer, l bigint, d double precision, n numeric, t text, v varchar, dt date, ts timestamp)");

        const string Insert = "INSERT INTO npg_types VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
        await using (var command = new NpgsqlCommand(Insert, connection))
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Boolean, Value = true });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint, Value = short.MinValue });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = int.MaxValue });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = long.MinValue });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Double, Value = Math.PI });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Numeric, Value = -12345678901234.56789m });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = "héllo ✓ 'quoted' \t tab" });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Varchar, Value = "varying" });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Date, Value = SomeDate });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Timestamp, Value = SomeTimestamp });
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }
        await using (var command = new NpgsqlCommand(Insert, connection))
        {
            NpgsqlDbType[] types =
            [
                NpgsqlDbType.Boolean, NpgsqlDbType.Smallint, NpgsqlDbType.Integer, NpgsqlDbType.Bigint, NpgsqlDbType.Double,
                NpgsqlDbType.Numeric, NpgsqlDbType.Text, NpgsqlDbType.Varchar, NpgsqlDbType.Date, NpgsqlDbType.Timestamp,
            ];
            foreach (NpgsqlDbType type in types)
            {
                command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = type, Value = DBNull.Value });
            }
            Assert.Equal(1, await command.ExecuteNonQueryAsync());
        }

        await using (var command = new NpgsqlCommand("SELECT b, s, i, l, d, n, t, v, dt, ts FROM npg_types ORDER BY i", connection))
        await using (NpgsqlDataReader reader = await command.ExecuteReaderAsync())
        {
            string[] typeNames =
            [
                "boolean", "smallint", "integer", "bigint", "double precision", "numeric", "text", "character varying", "date",
                "timestamp without time zone",
            ];
            for (int i = 0; i < typeNames.Length; i++)
            {
                Assert.Equal(typeNames[i], reader.GetDataTypeName(i));
            }
            Assert.True(await reader.ReadAsync());
            Assert.True(reader.GetFieldValue<bool>(0));
            Assert.Equal(short.MinValue, reader.GetFieldValue<short>(1));
            Assert.Equal(int.MaxValue, reader.GetFieldValue<int>(2));
            Assert.Equal(long.MinValue, reader.GetFieldValue<long>(3));
            Assert.Equal(Math.PI, reader.GetFieldValue<double>(4));
            decimal numeric = reader.GetFieldValue<decimal>(5);
            Assert.Equal(-12345678901234.56789m, numeric);
            Assert.Equal("-12345678901234.56789", numeric.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("héllo ✓ 'quoted' \t tab", reader.GetFieldValue<string>(6));
            Assert.Equal("varying", reader.GetFieldValue<string>(7));
            Assert.Equal(SomeDate, reader.GetFieldValue<DateOnly>(8));
            Assert.Equal(SomeTimestamp, reader.GetFieldValue<DateTime>(9));

            // NULLs sort last in ascending order.
            Assert.True(await reader.ReadAsync());
            for (int i = 0; i < typeNames.Length; i++)
            {
                Assert.True(reader.IsDBNull(i), $"column {i} should be NULL");
            }
            Assert.False(await reader.ReadAsync());
        }

        // WHERE with parameters of several types.
        await using (var command = new NpgsqlCommand("SELECT i FROM npg_types WHERE l = $1 AND t = $2 AND dt = $3 AND n = $4", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = long.MinValue });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = "héllo ✓ 'quoted' \t tab" });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Date, Value = SomeDate });
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Numeric, Value = -12345678901234.56789m });
            Assert.Equal([int.MaxValue], await ReadColumnAsync<int>(command));
        }
        await using (var command = new NpgsqlCommand("SELECT count(*) FROM npg_types WHERE s = $1", connection))
        {
            command.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Smallint, Value = (short)7 });
            Assert.Equal([0L], await ReadColumnAsync<long>(command));
        }
    }

    [Fact]
    public async Task GroupByHaving_Aggregates_ExactResults()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_sales (region text, amount integer)");
        Assert.Equal(6, await ExecuteAsync(connection,
            "INSERT INTO npg_sales VALUES ('east', 5), ('east', 7), ('west', 1), ('west', 2), ('north', 20), ('north', NULL)"));

        var rows = await ReadRowsAsync(connection,
            "SELECT region, count(*), count(amount), sum(amount), min(amount), max(amount) FROM npg_sales " +
            "GROUP BY region HAVING sum(amount) > 10 ORDER BY region");
        Assert.Equal(Rows(["east", 2L, 2L, 12L, 5, 7], ["north", 2L, 1L, 20L, 20, 20]), rows);

        Assert.Equal(Rows([5L]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_sales WHERE amount < 10 OR amount IS NULL"));
    }

    [Fact]
    public async Task InnerJoin_MatchesOnlyRelatedRows()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_customers (id integer, name text)");
        await ExecuteAsync(connection, "CREATE TABLE npg_orders (id integer, customer_id integer, total bigint)");
        await ExecuteAsync(connection, "INSERT INTO npg_customers VALUES (1, 'ada'), (2, 'brian'), (3, 'carol')");
        await ExecuteAsync(connection, "INSERT INTO npg_orders VALUES (10, 1, 100), (11, 1, 150), (12, 3, 7), (13, 4, 999)");

        Assert.Equal(
            Rows(["ada", 10, 100L], ["ada", 11, 150L], ["carol", 12, 7L]),
            await ReadRowsAsync(connection,
                "SELECT c.name, o.id, o.total FROM npg_customers c JOIN npg_orders o ON o.customer_id = c.id ORDER BY o.id"));
        Assert.Equal(
            // sum(bigint) is numeric, as in PostgreSQL.
            Rows(["ada", 250m]),
            await ReadRowsAsync(connection,
                "SELECT c.name, sum(o.total) FROM npg_customers AS c INNER JOIN npg_orders AS o ON o.customer_id = c.id " +
                "WHERE c.name = 'ada' GROUP BY c.name"));
    }

    [Fact]
    public async Task OrderByLimitOffset_ReturnsTheRightWindow()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_numbers (x integer, label text)");
        await ExecuteAsync(connection,
            "INSERT INTO npg_numbers VALUES (4, 'd'), (1, 'a'), (9, 'i'), (7, 'g'), (2, 'b'), (8, 'h'), (3, 'c'), (6, 'f'), (5, 'e'), (10, 'j')");

        Assert.Equal(Rows([8, "h"], [7, "g"], [6, "f"]), await ReadRowsAsync(connection, "SELECT x, label FROM npg_numbers ORDER BY x DESC LIMIT 3 OFFSET 2"));
        Assert.Equal(Rows(["a"], ["b"]), await ReadRowsAsync(connection, "SELECT label FROM npg_numbers ORDER BY label LIMIT 2"));
        Assert.Equal(Rows([10]), await ReadRowsAsync(connection, "SELECT x FROM npg_numbers ORDER BY x OFFSET 9"));
        Assert.Empty(await ReadRowsAsync(connection, "SELECT x FROM npg_numbers ORDER BY x LIMIT 5 OFFSET 10"));
    }

    [Fact]
    public async Task UpdateAndDelete_ReportAffectedRows_AndChangeTheData()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_accounts (id integer, balance bigint, owner text)");
        Assert.Equal(5, await ExecuteAsync(connection,
            "INSERT INTO npg_accounts VALUES (1, 100, 'a'), (2, 200, 'b'), (3, 300, 'c'), (4, 400, 'd'), (5, 500, 'e')"));

        await using (var update = new NpgsqlCommand("UPDATE npg_accounts SET balance = balance + $1 WHERE id >= $2", connection))
        {
            update.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Bigint, Value = 5L });
            update.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer, Value = 3 });
            Assert.Equal(3, await update.ExecuteNonQueryAsync());
        }
        Assert.Equal(0, await ExecuteAsync(connection, "UPDATE npg_accounts SET owner = 'nobody' WHERE id > 100"));
        Assert.Equal(2, await ExecuteAsync(connection, "DELETE FROM npg_accounts WHERE balance < 300"));
        Assert.Equal(0, await ExecuteAsync(connection, "DELETE FROM npg_accounts WHERE owner = 'zzz'"));

        Assert.Equal(
            Rows([3, 305L, "c"], [4, 405L, "d"], [5, 505L, "e"]),
            await ReadRowsAsync(connection, "SELECT id, balance, owner FROM npg_accounts ORDER BY id"));

        Assert.Equal(3, await ExecuteAsync(connection, "DELETE FROM npg_accounts"));
        Assert.Empty(await ReadRowsAsync(connection, "SELECT * FROM npg_accounts"));
    }

    [Fact]
    public async Task ViewsMaterializedViewsIndexes_SeeEveryAcknowledgedWrite()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_events (kind text, n integer)");
        await ExecuteAsync(connection, "INSERT INTO npg_events VALUES ('click', 1), ('view', 2), ('click', 3)");
        await ExecuteAsync(connection, "CREATE VIEW npg_clicks AS SELECT n FROM npg_events WHERE kind = 'click'");
        await ExecuteAsync(connection, "CREATE MATERIALIZED VIEW npg_totals AS SELECT kind, count(*) AS events, sum(n) AS total FROM npg_events GROUP BY kind");
        await ExecuteAsync(connection, "CREATE INDEX npg_events_kind ON npg_events (kind)");

        Assert.Equal(Rows([1], [3]), await ReadRowsAsync(connection, "SELECT n FROM npg_clicks ORDER BY n"));
        Assert.Equal(Rows(["click", 2L, 4L], ["view", 1L, 2L]), await ReadRowsAsync(connection, "SELECT kind, events, total FROM npg_totals ORDER BY kind"));

        // Strict serializable: every read right after an acknowledged write sees it, in the table, the view, the
        // materialized view and through the index, with no waiting in between.
        for (int round = 0; round < 5; round++)
        {
            int n = 10 + round;
            await ExecuteAsync(connection, $"INSERT INTO npg_events VALUES ('click', {n})");
            Assert.Equal(Rows([(long)(3 + round)]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_clicks"));
            Assert.Equal(
                Rows(["click", (long)(3 + round), (long)(4 + ((10 + n) * (round + 1) / 2))]),
                await ReadRowsAsync(connection, "SELECT kind, events, total FROM npg_totals WHERE kind = 'click'"));
            Assert.Equal(Rows([(long)(3 + round)]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_events WHERE kind = 'click'"));
        }
        await ExecuteAsync(connection, "DELETE FROM npg_events WHERE kind = 'view'");
        Assert.Equal(Rows(["click"]), await ReadRowsAsync(connection, "SELECT kind FROM npg_totals ORDER BY kind"));

        Assert.Contains("npg_events", await ReadColumnAsync<string>(connection, "SHOW TABLES"));
        Assert.Contains("npg_clicks", await ReadColumnAsync<string>(connection, "SHOW VIEWS"));
        Assert.DoesNotContain("npg_totals", await ReadColumnAsync<string>(connection, "SHOW VIEWS"));
        Assert.Contains("npg_totals", await ReadColumnAsync<string>(connection, "SHOW MATERIALIZED VIEWS"));
        Assert.Contains("npg_events_kind", await ReadColumnAsync<string>(connection, "SHOW INDEXES"));

        await ExecuteAsync(connection, "DROP INDEX npg_events_kind");
        await ExecuteAsync(connection, "DROP VIEW npg_clicks");
        await ExecuteAsync(connection, "DROP MATERIALIZED VIEW npg_totals");
        Assert.DoesNotContain("npg_events_kind", await ReadColumnAsync<string>(connection, "SHOW INDEXES"));
        Assert.DoesNotContain("npg_clicks", await ReadColumnAsync<string>(connection, "SHOW VIEWS"));
        Assert.DoesNotContain("npg_totals", await ReadColumnAsync<string>(connection, "SHOW MATERIALIZED VIEWS"));
        await AssertSqlStateAsync(connection, "SELECT * FROM npg_totals", "42P01");

        // The table outlives what was built on it, and is still writable.
        await ExecuteAsync(connection, "INSERT INTO npg_events VALUES ('view', 100)");
        Assert.Equal(Rows([8L]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_events"));
        await ExecuteAsync(connection, "DROP TABLE npg_events");
        Assert.DoesNotContain("npg_events", await ReadColumnAsync<string>(connection, "SHOW TABLES"));
    }

    /// <summary>
    /// An index on a (non-materialized) view answers reads of the view, by key with a bound parameter, filtered by other
    /// columns, and whole; every read right after an acknowledged write sees it, and after the index is dropped the same
    /// reads are answered the general way with the same results.
    /// </summary>
    [Fact]
    public async Task IndexedView_ParameterizedKeyLookups_SeeEveryAcknowledgedWrite()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_sales (id bigint, region text, amount bigint)");
        await ExecuteAsync(connection, "INSERT INTO npg_sales VALUES (1, 'north', 5), (2, 'south', 7), (3, 'north', 11)");
        await ExecuteAsync(connection, "CREATE VIEW npg_by_region AS SELECT region, count(*) AS n, sum(amount) AS total FROM npg_sales GROUP BY region");
        await ExecuteAsync(connection, "CREATE INDEX npg_by_region_region ON npg_by_region (region)");

        for (int round = 0; round < 2; round++)
        {
            decimal north = 16; // sum(bigint) is numeric, as in PostgreSQL
            for (int i = 0; i < 4; i++)
            {
                await ExecuteAsync(connection, $"UPDATE npg_sales SET amount = amount + 1 WHERE id = 1");
                north++;
                await using var lookup = new NpgsqlCommand("SELECT n, total FROM npg_by_region WHERE region = $1", connection);
                lookup.Parameters.Add(new NpgsqlParameter { Value = "north" });
                Assert.Equal(Rows([2L, north]), await ReadRowsAsync(lookup));
                Assert.Equal(Rows(["south", 7m]), await ReadRowsAsync(connection, "SELECT region, total FROM npg_by_region WHERE n = 1"));
                Assert.Equal(Rows(["north", 2L, north], ["south", 1L, 7m]), await ReadRowsAsync(connection, "SELECT * FROM npg_by_region ORDER BY region"));
            }
            await ExecuteAsync(connection, "UPDATE npg_sales SET amount = 5 WHERE id = 1");
            if (round == 0)
            {
                await ExecuteAsync(connection, "DROP INDEX npg_by_region_region");
            }
        }
        await ExecuteAsync(connection, "DROP VIEW npg_by_region");
        await ExecuteAsync(connection, "DROP TABLE npg_sales");
    }

    [Fact]
    public async Task SetAndShow_RoundTripASessionVariable()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "SET application_name = 'e2e-tests'");
        Assert.Equal(Rows(["e2e-tests"]), await ReadRowsAsync(connection, "SHOW application_name"));
        Assert.Equal(Rows(["strict serializable"]), await ReadRowsAsync(connection, "SHOW transaction_isolation"));
        await AssertSqlStateAsync(connection, "SHOW no_such_variable", "42704");
    }

    [Fact]
    public async Task Errors_CarryTheirSqlState_AndLeaveTheConnectionUsable()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_errors (id integer NOT NULL, divisor integer)");
        await ExecuteAsync(connection, "INSERT INTO npg_errors VALUES (1, 1), (2, 0)");

        await AssertSqlStateAsync(connection, "SELECT * FROM npg_no_such_table", "42P01");
        await AssertSqlStateAsync(connection, "SELECT no_such_column FROM npg_errors", "42703");
        await AssertSqlStateAsync(connection, "SELEC id FROM npg_errors", "42601");
        await AssertSqlStateAsync(connection, "SELECT id / divisor FROM npg_errors", "22012");
        await AssertSqlStateAsync(connection, "INSERT INTO npg_errors VALUES (NULL, 5)", "23502");
        await AssertSqlStateAsync(connection, "UPDATE npg_errors SET id = NULL WHERE id = 1", "23502");
        await AssertSqlStateAsync(connection, "CREATE TABLE npg_errors (x integer)", "42P07");
        await AssertSqlStateAsync(connection, "SELECT 1 / 0", "22012");
        await AssertSqlStateAsync(connection, "INSERT INTO npg_errors VALUES ('not a number', 1)", "22P02");

        // Nothing the failed statements tried to write is there, and the connection still works.
        Assert.Equal(Rows([1, 1], [2, 0]), await ReadRowsAsync(connection, "SELECT id, divisor FROM npg_errors ORDER BY id"));
        Assert.Equal(Rows([1]), await ReadRowsAsync(connection, "SELECT id / divisor FROM npg_errors WHERE divisor <> 0"));
    }

    [Fact]
    public async Task SubscribeCursor_FetchesTheSnapshot_ThenALaterInsertFromAnotherConnection()
    {
        await using NpgsqlConnection reader = await fixture.OpenAsync();
        await using NpgsqlConnection writer = await fixture.OpenAsync();
        await ExecuteAsync(writer, "CREATE TABLE npg_feed (id integer, note text)");
        await ExecuteAsync(writer, "INSERT INTO npg_feed VALUES (1, 'before')");

        await using NpgsqlTransaction transaction = await reader.BeginTransactionAsync();
        await ExecuteAsync(reader, "DECLARE c CURSOR FOR SUBSCRIBE npg_feed");
        List<object[]> snapshot = await ReadRowsAsync(reader, "FETCH ALL c");
        Assert.Single(snapshot);
        Assert.Equal(1L, snapshot[0][1]);
        Assert.Equal(1, snapshot[0][2]);
        Assert.Equal("before", snapshot[0][3]);

        await ExecuteAsync(writer, "INSERT INTO npg_feed VALUES (2, 'after')");
        await ExecuteAsync(writer, "DELETE FROM npg_feed WHERE id = 1");

        // FETCH waits for at least one row; the command timeout bounds it if the update never comes.
        var updates = new List<object[]>();
        for (int attempt = 0; attempt < 10 && updates.Count < 2; attempt++)
        {
            updates.AddRange(await ReadRowsAsync(reader, "FETCH ALL c"));
        }
        Assert.Equal(2, updates.Count);
        updates.Sort((a, b) => ((decimal)a[0]).CompareTo((decimal)b[0]));
        Assert.Equal(new object[] { 1L, 2, "after" }, updates[0][1..]);
        Assert.Equal(new object[] { -1L, 1, "before" }, updates[1][1..]);
        Assert.True((decimal)updates[0][0] > (decimal)snapshot[0][0], "the insert's timestamp should be after the snapshot's");
        Assert.True((decimal)updates[1][0] > (decimal)updates[0][0], "the delete's timestamp should be after the insert's");
        await transaction.CommitAsync();

        // The cursor is gone with the transaction; the connection goes on.
        await AssertSqlStateAsync(reader, "FETCH ALL c", "34000");
        Assert.Equal(Rows([2]), await ReadRowsAsync(reader, "SELECT id FROM npg_feed"));
    }

    [Fact]
    public async Task PreparedStatement_ReusedWithNewParameters_EachTime()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_prepared (k integer, v text)");
        await using (var insert = new NpgsqlCommand("INSERT INTO npg_prepared VALUES ($1, $2)", connection))
        {
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Integer });
            insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text });
            await insert.PrepareAsync();
            for (int k = 1; k <= 4; k++)
            {
                insert.Parameters[0].Value = k;
                insert.Parameters[1].Value = k % 2 == 0 ? "even" : DBNull.Value;
                Assert.Equal(1, await insert.ExecuteNonQueryAsync());
            }
        }
        await using (var select = new NpgsqlCommand("SELECT k FROM npg_prepared WHERE v = $1 ORDER BY k", connection))
        {
            select.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Text, Value = "even" });
            await select.PrepareAsync();
            Assert.Equal([2, 4], await ReadColumnAsync<int>(select));
            await ExecuteAsync(connection, "INSERT INTO npg_prepared VALUES (6, 'even')");
            Assert.Equal([2, 4, 6], await ReadColumnAsync<int>(select));
        }
        Assert.Equal(Rows([2L]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_prepared WHERE v IS NULL"));
    }

    [Fact]
    public async Task Transaction_CommitAppliesAllInserts_RollbackNone()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await using NpgsqlConnection observer = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_tx (id integer)");

        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, "INSERT INTO npg_tx VALUES (1)");
            await ExecuteAsync(connection, "INSERT INTO npg_tx VALUES (2), (3)");
            // Not visible to anyone before COMMIT.
            Assert.Equal(Rows([0L]), await ReadRowsAsync(observer, "SELECT count(*) FROM npg_tx"));
            await transaction.CommitAsync();
        }
        Assert.Equal(Rows([1], [2], [3]), await ReadRowsAsync(observer, "SELECT id FROM npg_tx ORDER BY id"));

        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, "INSERT INTO npg_tx VALUES (4)");
            await transaction.RollbackAsync();
        }
        Assert.Equal(Rows([3L]), await ReadRowsAsync(observer, "SELECT count(*) FROM npg_tx"));

        // An error while executing (division by zero) aborts the transaction: later statements fail with 25P02, and
        // COMMIT rolls back.
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, "INSERT INTO npg_tx VALUES (5)");
            PostgresException first = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "SELECT 1 / (id - id) FROM npg_tx"));
            Assert.Equal("22012", first.SqlState);
            PostgresException next = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "INSERT INTO npg_tx VALUES (6)"));
            Assert.Equal("25P02", next.SqlState);
            await transaction.CommitAsync();
        }
        Assert.Equal(Rows([3L]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_tx"));
    }

    [Fact]
    public async Task Transaction_ErrorAtParse_AbortsTheTransaction()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_tx_parse (id integer)");
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, "INSERT INTO npg_tx_parse VALUES (1)");
            PostgresException first = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "SELECT * FROM npg_no_such_table"));
            Assert.Equal("42P01", first.SqlState);
            // PostgreSQL (and this server over the simple protocol) answers 25P02 here, and COMMIT rolls back.
            PostgresException next = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, "INSERT INTO npg_tx_parse VALUES (2)"));
            Assert.Equal("25P02", next.SqlState);
            await transaction.CommitAsync();
        }
        Assert.Equal(Rows([0L]), await ReadRowsAsync(connection, "SELECT count(*) FROM npg_tx_parse"));
    }

    [Fact]
    public async Task ConcurrentWriters_EveryAcknowledgedInsertIsCountedOnce()
    {
        await using (NpgsqlConnection setup = await fixture.OpenAsync())
        {
            await ExecuteAsync(setup, "CREATE TABLE npg_concurrent (writer integer, seq integer)");
            await ExecuteAsync(setup, "CREATE MATERIALIZED VIEW npg_concurrent_counts AS SELECT writer, count(*) AS n FROM npg_concurrent GROUP BY writer");
        }
        const int Writers = 4;
        const int InsertsPerWriter = 15;
        var tasks = new List<Task>();
        for (int writer = 0; writer < Writers; writer++)
        {
            int id = writer;
            tasks.Add(Task.Run(async () =>
            {
                await using NpgsqlConnection connection = await fixture.OpenAsync();
                for (int seq = 0; seq < InsertsPerWriter; seq++)
                {
                    Assert.Equal(1, await ExecuteAsync(connection, $"INSERT INTO npg_concurrent VALUES ({id}, {seq})"));
                }
            }));
        }
        await Task.WhenAll(tasks);
        await using NpgsqlConnection reader = await fixture.OpenAsync();
        Assert.Equal(
            Rows([0, 15L], [1, 15L], [2, 15L], [3, 15L]),
            await ReadRowsAsync(reader, "SELECT writer, n FROM npg_concurrent_counts ORDER BY writer"));
        Assert.Equal(Rows([60L, 60L]), await ReadRowsAsync(reader, "SELECT count(*), count(DISTINCT writer * 100 + seq) FROM npg_concurrent"));
    }

    [Fact]
    public async Task FetchThatWaits_IsCanceledByTheCommandTimeout_AndTheConnectionRecovers()
    {
        await using NpgsqlConnection connection = await fixture.OpenAsync();
        await ExecuteAsync(connection, "CREATE TABLE npg_quiet (id integer)");
        await using (NpgsqlTransaction transaction = await connection.BeginTransactionAsync())
        {
            await ExecuteAsync(connection, "DECLARE q CURSOR FOR SUBSCRIBE npg_quiet");
            // Nothing ever arrives: Npgsql sends a CancelRequest after the timeout and the server answers 57014.
            await using var fetch = new NpgsqlCommand("FETCH ALL q", connection) { CommandTimeout = 1 };
            NpgsqlException error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => fetch.ExecuteNonQueryAsync());
            Assert.True(error.InnerException is TimeoutException || (error as PostgresException)?.SqlState == "57014", error.ToString());
            Assert.Equal(System.Data.ConnectionState.Open, connection.State);
            await transaction.RollbackAsync();
        }
        Assert.Equal(Rows([1]), await ReadRowsAsync(connection, "SELECT 1"));
    }

    internal static List<object[]> Rows(params object[][] rows) => [.. rows];

    internal static async Task<int> ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteNonQueryAsync();
    }

    internal static async Task<List<object[]>> ReadRowsAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await ReadRowsAsync(command);
    }

    internal static async Task<List<object[]>> ReadRowsAsync(NpgsqlCommand command)
    {
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var rows = new List<object[]>();
        while (await reader.ReadAsync())
        {
            var values = new object[reader.FieldCount];
            reader.GetValues(values);
            rows.Add(values);
        }
        return rows;
    }

    internal static async Task<List<T>> ReadColumnAsync<T>(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await ReadColumnAsync<T>(command);
    }

    private static async Task<List<T>> ReadColumnAsync<T>(NpgsqlCommand command)
    {
        await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
        var values = new List<T>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetFieldValue<T>(0));
        }
        return values;
    }

    internal static async Task AssertSqlStateAsync(NpgsqlConnection connection, string sql, string sqlState)
    {
        PostgresException error = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(connection, sql));
        Assert.True(sqlState == error.SqlState, $"{sql}: expected SQLSTATE {sqlState}, got {error.SqlState}: {error.MessageText}");
        Assert.False(string.IsNullOrWhiteSpace(error.MessageText));
        // The connection is still usable after the error.
        Assert.Equal(Rows([1]), await ReadRowsAsync(connection, "SELECT 1"));
    }
}
