using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading.Tasks;

namespace Kernel.Tests.Common;

/// <summary>
/// A throwaway PostgreSQL 15 cluster on a free loopback port with trust auth, stopped and deleted by
/// <see cref="DisposeAsync"/>. PostgreSQL refuses to run as root, so as root the cluster runs as the
/// <c>postgres</c> user. Shared by the unit tests (durability off, for speed) and the benchmarks (durability on,
/// as PostgreSQL is measured as a peer); linked into both projects as a source file.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly string _root;
    private readonly string _dataDirectory;
    private readonly bool _durable;
    private bool _started;

    private PostgresCluster(string root, bool durable)
    {
        _root = root;
        _dataDirectory = Path.Join(root, "data");
        _durable = durable;
    }

    public string ConnectionString { get; private set; } = "";

    /// <summary>Why no cluster can start here (the server binaries are missing), or null.</summary>
    public static string? MissingBinaries() =>
        File.Exists(Path.Join(BinDirectory, "initdb")) && File.Exists(Path.Join(BinDirectory, "pg_ctl"))
            ? null
            : $"PostgreSQL 15 server binaries are missing from {BinDirectory}: install the Debian package postgresql-15 (apt-get install postgresql-15).";

    /// <summary>
    /// Starts a cluster in <paramref name="root"/> (created; must not exist yet). Durable: PostgreSQL's defaults
    /// (fsync on, synchronous_commit on). Not durable: fsync, synchronous commit and full page writes off.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(string root, bool durable)
    {
        if (MissingBinaries() is { } missing)
        {
            throw new InvalidOperationException(missing);
        }
        var cluster = new PostgresCluster(root, durable);
        try
        {
            await cluster.StartAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
        return cluster;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (_started)
            {
                // A durable cluster shuts down cleanly; a throwaway one need not write anything on the way out.
                await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-m", _durable ? "fast" : "immediate", "-w", "stop"], AsPostgres);
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
                // Best effort: a leftover temp directory must not fail a run.
            }
        }
    }

    private static bool AsPostgres => Environment.UserName == "root";

    private async Task StartAsync()
    {
        string sockets = Path.Join(_root, "sockets");
        Directory.CreateDirectory(sockets);
        if (AsPostgres)
        {
            await RunAsync("chown", ["-R", "postgres:postgres", _root], asPostgres: false);
        }
        string[] initdb = _durable
            ? ["-D", _dataDirectory, "-A", "trust", "-U", "postgres", "-E", "UTF8"]
            : ["-D", _dataDirectory, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"];
        await RunAsync(Path.Join(BinDirectory, "initdb"), initdb, AsPostgres);
        int port = FreePort();
        string options = $"-p {port} -k {sockets} -c listen_addresses=127.0.0.1";
        if (!_durable)
        {
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
        }
        await RunAsync(Path.Join(BinDirectory, "pg_ctl"), ["-D", _dataDirectory, "-w", "-t", "60", "-l", Path.Join(_root, "server.log"), "-o", options, "start"], AsPostgres);
        _started = true;
        ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres;Timeout=15;Command Timeout=30";
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
