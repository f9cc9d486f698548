using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;
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
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private string _root = "";
    private string _dataDirectory = "";

    public string ConnectionString { get; private set; } = "";

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Join(BinDirectory, "initdb")) || !File.Exists(Path.Join(BinDirectory, "pg_ctl")))
        {
            throw new InvalidOperationException(
                $"PostgreSQL 15 server binaries are missing from {BinDirectory}: install the Debian package postgresql-15 (apt-get install postgresql-15).");
        }
        _root = Path.Join(Path.GetTempPath(), "kernel-pg-" + Guid.NewGuid().ToString("N"));
        _dataDirectory = Path.Join(_root, "data");
        string sockets = Path.Join(_root, "sockets");
        Directory.CreateDirectory(sockets);
        bool root = Environment.UserName == "root";
        if (root)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _root], asPostgres: false);
        }
        await RunAsync(Path.Join(BinDirectory, "initdb"), ["-D", _dataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"], root);
        int port = FreePort();
        string options = $"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-w", "-t", "60", "-l", Path.Join(_root, "server.log"), "-o", options, "start"], root);
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=15;Command Timeout=30";
    }

    public async Task DisposeAsync()
    {
        if (_dataDirectory.Length == 0)
        {
            return;
        }
        try
        {
            await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-m", "immediate", "-w", "stop"], Environment.UserName == "root");
        }
        finally
        {
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // Best effort.
            }
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

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task RunAsync(string program, string[] arguments, bool asPostgres)
    {
        var start = new ProcessStartInfo(asPostgres ? "runuser" : program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asPostgres)
        {
            start.ArgumentList.Add("-u");
            start.ArgumentList.Add("postgres");
            start.ArgumentList.Add("--");
            start.ArgumentList.Add(program);
        }
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', arguments)} exited {process.ExitCode}: {await output} {await error}");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    public const string Name = "postgres";
}
