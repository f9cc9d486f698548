using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace Kernel.Tests.Bench;

/// <summary>
/// A throwaway PostgreSQL 15 cluster on a free loopback port with default durability (fsync on,
/// synchronous_commit on, wal_sync_method fdatasync), as performance-notes.md §2 measured PostgreSQL. The logic
/// is the unit tests' PostgresFixture's, which turns durability off for speed. Stopped, and its directory deleted,
/// by <see cref="DisposeAsync"/>. PostgreSQL refuses to run as root, so as root it runs as user <c>postgres</c>.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly string _root;
    private readonly string _dataDirectory;
    private bool _started;

    private PostgresCluster(string root)
    {
        _root = root;
        _dataDirectory = Path.Join(root, "data");
    }

    public string ConnectionString { get; private set; } = "";

    /// <summary>Null (with the reason) when the server binaries are missing.</summary>
    public static async Task<(PostgresCluster? Cluster, string Problem)> StartAsync(string parentDirectory)
    {
        if (!File.Exists(Path.Join(BinDirectory, "initdb")) || !File.Exists(Path.Join(BinDirectory, "pg_ctl")))
        {
            return (null, $"PostgreSQL 15 server binaries are missing from {BinDirectory} (apt-get install postgresql-15)");
        }
        var cluster = new PostgresCluster(Path.Join(parentDirectory, "postgres"));
        try
        {
            await cluster.StartAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return (cluster, "");
    }

    private async Task StartAsync()
    {
        string sockets = Path.Join(_root, "sockets");
        Directory.CreateDirectory(sockets);
        bool root = Environment.UserName == "root";
        if (root)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _root], asPostgres: false);
        }
        await RunAsync(Path.Join(BinDirectory, "initdb"), ["-D", _dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8"], root);
        int port = FreePort();
        string options = $"-p {port} -k {sockets} -c listen_addresses=127.0.0.1";
        await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-w", "-t", "60", "-l", Path.Join(_root, "server.log"), "-o", options, "start"], root);
        _started = true;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=15;Command Timeout=30";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started)
            {
                await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-m", "fast", "-w", "stop"], Environment.UserName == "root");
            }
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
