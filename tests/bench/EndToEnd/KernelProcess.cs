using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Npgsql;

namespace Kernel.Tests.Bench.EndToEnd;

/// <summary>
/// A <c>kernel start</c> process on a fresh data directory and two free loopback ports, as a user runs it. Its
/// output is kept (the last lines are shown when something fails); <see cref="DisposeAsync"/> stops it with SIGTERM
/// and kills it if it does not stop in time.
/// </summary>
public sealed class KernelProcess : IAsyncDisposable
{
    private const int OutputLinesKept = 200;

    private readonly Process _process;
    private readonly Queue<string> _output = new();
    private readonly Lock _outputLock = new();

    private KernelProcess(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public int ProcessId => _process.Id;

    /// <summary>A connection string for Npgsql against this kernel (no type loading: the kernel has no pg_type).</summary>
    public string ConnectionString => string.Create(CultureInfo.InvariantCulture,
        $"Host=127.0.0.1;Port={Port};Username=materialize;Database=materialize;Server Compatibility Mode=NoTypeLoading;Pooling=false;Timeout=30;Command Timeout=600");

    /// <summary>
    /// Builds the command line (Release) into <paramref name="outputDirectory"/> from the repository at
    /// <paramref name="repositoryRoot"/> and returns the path of its entry assembly.
    /// </summary>
    public static async Task<string> BuildAsync(string repositoryRoot, string outputDirectory)
    {
        string project = Path.Join(repositoryRoot, "tools", "Cli", "Kernel.Tools.Cli.csproj");
        (int exitCode, string output) = await RunToEndAsync("dotnet", ["build", project, "-c", "Release", "-o", outputDirectory, "--nologo", "-v", "q"]);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"building the kernel command line failed ({exitCode}):\n{output}");
        }
        return Path.Join(outputDirectory, "Kernel.Cli.dll");
    }

    /// <summary>Starts <c>kernel start</c> from <paramref name="cliDll"/> and waits until pgwire answers (at most <paramref name="timeout"/>).</summary>
    public static async Task<KernelProcess> StartAsync(string cliDll, string dataDirectory, TimeSpan timeout)
    {
        int port = FreePort();
        int controllerPort = FreePort();
        while (controllerPort == port)
        {
            controllerPort = FreePort();
        }
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in new[] { cliDll, "start", "--data-dir", dataDirectory, "--port", port.ToString(CultureInfo.InvariantCulture),
            "--controller-port", controllerPort.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }
        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet");
        var kernel = new KernelProcess(process, port);
        process.OutputDataReceived += (_, line) => kernel.Keep(line.Data);
        process.ErrorDataReceived += (_, line) => kernel.Keep(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await kernel.WaitUntilServingAsync(timeout);
        }
        catch
        {
            await kernel.DisposeAsync();
            throw;
        }
        return kernel;
    }

    /// <summary>CPU time (user + system) the kernel process has used so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    /// <summary>The kernel's last lines of output, for a failure report.</summary>
    public string OutputTail()
    {
        lock (_outputLock)
        {
            return string.Join('\n', _output);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                // SIGTERM asks for the clean shutdown a user's Ctrl-C gets.
                await RunToEndAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]);
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                try
                {
                    await _process.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                    await _process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_outputLock)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputLinesKept)
            {
                _output.Dequeue();
            }
        }
    }

    private async Task WaitUntilServingAsync(TimeSpan timeout)
    {
        var wall = Stopwatch.StartNew();
        string? lastError = null;
        // Bounded by the timeout.
        while (wall.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the kernel exited with code {_process.ExitCode} while starting:\n{OutputTail()}");
            }
            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString);
                await connection.OpenAsync();
                return;
            }
            catch (Exception e) when (e is NpgsqlException or SocketException or IOException or TimeoutException)
            {
                lastError = e.Message;
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"the kernel did not serve pgwire on port {Port} within {timeout} (last error: {lastError}):\n{OutputTail()}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static async Task<(int ExitCode, string Output)> RunToEndAsync(string program, string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await error);
    }
}
