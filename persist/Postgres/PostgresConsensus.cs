using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Location;
using Npgsql;
using NpgsqlTypes;

namespace Kernel.Persist.Postgres;

/// <summary>
/// <see cref="IConsensus"/> on PostgreSQL: table <c>consensus(shard text, sequence_number bigint, data bytea,
/// primary key (shard, sequence_number))</c>, one row per version (Materialize's postgres.rs).
/// </summary>
/// <remarks>
/// <para>Compare-and-set from seqno E is one conditional INSERT of row E+1 that happens only if E is the key's
/// newest row. Under READ COMMITTED two racing inserts of E+1 both pass the condition, and the primary key lets
/// exactly one commit; the other hits the conflict and inserts nothing (<c>ON CONFLICT DO NOTHING</c>), a
/// mismatch. A first write may use any seqno, so the primary key alone cannot separate two of them: it runs in a
/// transaction that first takes a transaction-scoped advisory lock on the key's hash, then inserts only if the
/// key has no rows (a fresh READ COMMITTED snapshot per statement sees a racing first write once it committed).</para>
/// <para>Error classes: failing to open a connection, and any error the server reports (the statement was rolled
/// back), are determinate; a failure while a write was in flight (I/O, timeout) is indeterminate. Reads are
/// always determinate.</para>
/// </remarks>
public sealed class PostgresConsensus : IConsensus, IAsyncDisposable
{
    private const string CreateTable =
        "CREATE TABLE IF NOT EXISTS consensus (shard text NOT NULL, sequence_number bigint NOT NULL, data bytea NOT NULL, PRIMARY KEY (shard, sequence_number))";

    private const string HeadSql =
        "SELECT sequence_number, data FROM consensus WHERE shard = $1 ORDER BY sequence_number DESC LIMIT 1";

    private const string CasSql =
        "INSERT INTO consensus (shard, sequence_number, data) " +
        "SELECT $1, $2, $3 WHERE (SELECT sequence_number FROM consensus WHERE shard = $1 ORDER BY sequence_number DESC LIMIT 1) = $4 " +
        "ON CONFLICT DO NOTHING";

    private const string LockSql = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

    private const string GenesisSql =
        "INSERT INTO consensus (shard, sequence_number, data) " +
        "SELECT $1, $2, $3 WHERE NOT EXISTS (SELECT 1 FROM consensus WHERE shard = $1) " +
        "ON CONFLICT DO NOTHING";

    private const string ScanSql =
        "SELECT sequence_number, data FROM consensus WHERE shard = $1 AND sequence_number >= $2 ORDER BY sequence_number ASC LIMIT $3";

    private const string TruncateSql =
        "DELETE FROM consensus WHERE shard = $1 AND sequence_number < $2 " +
        "AND EXISTS (SELECT 1 FROM consensus WHERE shard = $1 AND sequence_number >= $2)";

    private const string ListKeysSql = "SELECT DISTINCT shard FROM consensus";

    private readonly NpgsqlDataSource _dataSource;

    private PostgresConsensus(NpgsqlDataSource dataSource)
    {
        _dataSource = dataSource;
    }

    /// <summary>Connects and creates the table if it is missing. The connection string's search path picks the schema.</summary>
    public static async Task<LocationResult<PostgresConsensus>> OpenAsync(string connectionString)
    {
        NpgsqlDataSource dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync();
            await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
            // Concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog; serialize it.
            await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock(7263545283)", connection, transaction))
            {
                await lockCommand.ExecuteNonQueryAsync();
            }
            await using (var create = new NpgsqlCommand(CreateTable, connection, transaction))
            {
                await create.ExecuteNonQueryAsync();
            }
            await transaction.CommitAsync();
            return new PostgresConsensus(dataSource);
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            await dataSource.DisposeAsync();
            return LocationError.Determinate("postgres consensus: opening: " + exception.Message);
        }
    }

    /// <summary>
    /// Connects for inspection: nothing is created, and every transaction is read-only on the server
    /// (<c>default_transaction_read_only</c>), so a write through the result fails determinately instead of
    /// changing anything. A database without the consensus table is an error, not an empty one.
    /// </summary>
    public static async Task<LocationResult<PostgresConsensus>> OpenReadOnlyAsync(string connectionString)
    {
        NpgsqlDataSource dataSource;
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            builder.Options = (string.IsNullOrEmpty(builder.Options) ? "" : builder.Options + " ") + "-c default_transaction_read_only=on";
            dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        }
        catch (ArgumentException exception)
        {
            return LocationError.Determinate("postgres consensus: bad connection string: " + exception.Message);
        }
        string? missingWhere;
        try
        {
            await using NpgsqlConnection connection = await dataSource.OpenConnectionAsync();
            await using var command = new NpgsqlCommand("SELECT to_regclass('consensus') IS NOT NULL, current_database(), current_schemas(false)::text", connection);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            missingWhere = reader.GetBoolean(0) ? null : $"database '{reader.GetString(1)}', schemas {reader.GetString(2)}";
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            await dataSource.DisposeAsync();
            return LocationError.Determinate("postgres consensus: opening: " + exception.Message);
        }
        if (missingWhere is not null)
        {
            await dataSource.DisposeAsync();
            return LocationError.Determinate($"postgres consensus: there is no consensus table in {missingWhere}");
        }
        return new PostgresConsensus(dataSource);
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    public async ValueTask<LocationResult<VersionedData?>> HeadAsync(string key)
    {
        ConsensusChecks.Key(key);
        try
        {
            await using NpgsqlCommand command = _dataSource.CreateCommand(HeadSql);
            command.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            if (!await reader.ReadAsync())
            {
                return LocationResult<VersionedData?>.Ok(null);
            }
            return new VersionedData((ulong)reader.GetInt64(0), (byte[])reader.GetValue(1));
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            return LocationError.Determinate($"postgres consensus head '{key}': {exception.Message}");
        }
    }

    public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        ConsensusChecks.CompareAndSetArguments(key, expected, next);
        NpgsqlConnection connection;
        try
        {
            connection = await _dataSource.OpenConnectionAsync();
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            return LocationError.Determinate($"postgres consensus compare_and_set '{key}': connecting: {exception.Message}");
        }
        await using (connection)
        {
            try
            {
                int inserted;
                if (expected is ulong previous)
                {
                    await using var command = new NpgsqlCommand(CasSql, connection);
                    AddVersion(command, key, next);
                    command.Parameters.Add(new NpgsqlParameter { Value = (long)previous, NpgsqlDbType = NpgsqlDbType.Bigint });
                    inserted = await command.ExecuteNonQueryAsync();
                }
                else
                {
                    await using NpgsqlTransaction transaction = await connection.BeginTransactionAsync();
                    await using (var lockCommand = new NpgsqlCommand(LockSql, connection, transaction))
                    {
                        lockCommand.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
                        await lockCommand.ExecuteNonQueryAsync();
                    }
                    await using (var command = new NpgsqlCommand(GenesisSql, connection, transaction))
                    {
                        AddVersion(command, key, next);
                        inserted = await command.ExecuteNonQueryAsync();
                    }
                    await transaction.CommitAsync();
                }
                return inserted == 1 ? CasOutcome.Committed : CasOutcome.ExpectationMismatch;
            }
            catch (PostgresException exception)
            {
                // The server rejected the statement: it was rolled back.
                return LocationError.Determinate($"postgres consensus compare_and_set '{key}': {exception.SqlState}: {exception.MessageText}");
            }
            catch (Exception exception) when (IsDatabaseFailure(exception))
            {
                return LocationError.Indeterminate($"postgres consensus compare_and_set '{key}' at seqno {next.SeqNo}: {exception.Message}");
            }
        }
    }

    public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit)
    {
        ConsensusChecks.Key(key);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var versions = new List<VersionedData>();
        try
        {
            await using NpgsqlCommand command = _dataSource.CreateCommand(ScanSql);
            command.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)Math.Min(from, VersionedData.SeqNoMax), NpgsqlDbType = NpgsqlDbType.Bigint });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)limit, NpgsqlDbType = NpgsqlDbType.Bigint });
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                versions.Add(new VersionedData((ulong)reader.GetInt64(0), (byte[])reader.GetValue(1)));
            }
            return LocationResult<IReadOnlyList<VersionedData>>.Ok(versions);
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            return LocationError.Determinate($"postgres consensus scan '{key}': {exception.Message}");
        }
    }

    public async ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        ConsensusChecks.Key(key);
        LocationResult<VersionedData?> head = await HeadAsync(key);
        if (!head.IsOk)
        {
            return head.Error!;
        }
        if (head.Value is not VersionedData headVersion)
        {
            return LocationError.Determinate($"consensus key '{key}' has no versions to truncate");
        }
        if (seqno > headVersion.SeqNo)
        {
            return LocationError.Determinate($"cannot truncate consensus key '{key}' below seqno {seqno}: its head is {headVersion.SeqNo}");
        }
        try
        {
            await using NpgsqlCommand command = _dataSource.CreateCommand(TruncateSql);
            command.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter { Value = (long)seqno, NpgsqlDbType = NpgsqlDbType.Bigint });
            return (long)await command.ExecuteNonQueryAsync();
        }
        catch (PostgresException exception)
        {
            return LocationError.Determinate($"postgres consensus truncate '{key}': {exception.SqlState}: {exception.MessageText}");
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            return LocationError.Indeterminate($"postgres consensus truncate '{key}' below {seqno}: {exception.Message}");
        }
    }

    public async ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync()
    {
        var keys = new List<string>();
        try
        {
            await using NpgsqlCommand command = _dataSource.CreateCommand(ListKeysSql);
            await using NpgsqlDataReader reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                keys.Add(reader.GetString(0));
            }
        }
        catch (Exception exception) when (IsDatabaseFailure(exception))
        {
            return LocationError.Determinate("postgres consensus list keys: " + exception.Message);
        }
        // The database's collation may not be ordinal; the contract is.
        keys.Sort(StringComparer.Ordinal);
        return LocationResult<IReadOnlyList<string>>.Ok(keys);
    }

    private static void AddVersion(NpgsqlCommand command, string key, VersionedData next)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = key, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter { Value = (long)next.SeqNo, NpgsqlDbType = NpgsqlDbType.Bigint });
        command.Parameters.Add(new NpgsqlParameter { Value = next.Data, NpgsqlDbType = NpgsqlDbType.Bytea });
    }

    private static bool IsDatabaseFailure(Exception exception) =>
        exception is NpgsqlException or TimeoutException or System.IO.IOException or InvalidOperationException or OperationCanceledException;
}
