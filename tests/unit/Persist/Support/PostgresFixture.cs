using System;
using System.IO;
using System.Threading.Tasks;
using Kernel.Tests.Common;
using Npgsql;
using Xunit;

namespace Kernel.Tests.Unit.Persist.Support;

/// <summary>
/// A throwaway PostgreSQL 15 cluster on a free loopback port, trust auth, for the tests of one collection.
/// Started once, stopped (and its directory deleted) at the end. PostgreSQL refuses to run as root, so when the
/// tests run as root the cluster runs as the <c>postgres</c> user.
/// </summary>
/// <remarks>
/// Missing binaries fail every test that uses the fixture with a message saying what to install: CI installs
/// them, so a silent skip would hide a broken CI image.
/// </remarks>
public sealed class PostgresFixture : IAsyncLifetime
{
    private PostgresCluster? _cluster;

    public string ConnectionString => _cluster?.ConnectionString ?? "";

    public async Task InitializeAsync() =>
        _cluster = await PostgresCluster.StartAsync(Path.Join(Path.GetTempPath(), "kernel-pg-" + Guid.NewGuid().ToString("N")), durable: false);

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>A connection string whose search path is a fresh, empty schema: each test gets its own consensus table.</summary>
    public async Task<string> NewSchemaAsync()
    {
        string schema = "t_" + Guid.NewGuid().ToString("N");
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
        await command.ExecuteNonQueryAsync();
        return ConnectionString + $";Search Path={schema}";
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
