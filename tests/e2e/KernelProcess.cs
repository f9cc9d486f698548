using System;
using System.Diagnostics;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Tests.EndToEnd;

/// <summary>
/// One <c>kernel start</c> child process on a data directory, serving pgwire on a free port.
/// </summary>
/// <remarks>
/// The binary is Kernel.Cli.dll next to the test assembly (the project references tools/Cli for that); set
/// KERNEL_E2E_CLI to the path of another Kernel.Cli.dll to test a different build. The process is started with
/// <c>dotnet Kernel.Cli.dll start</c>; <see cref="StartAsync"/> returns once the pgwire port accepts connections.
/// Stdout and stderr are captured so that failures can show what the server printed.
/// </remarks>
public sealed partial class KernelProcess : IDisposable
{
    /// <summary>How long a start may take before the test fails: generous, the machine may be busy building.</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly Lock _outputLock = new();

    private KernelProcess(Process process, string dataDirectory, int port, int controllerPort)
    {
        _process = process;
        DataDirectory = dataDirectory;
        Port = port;
        ControllerPort = controllerPort;
    }

    public string DataDirectory { get; }

    public int Port { get; }

    public int ControllerPort { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>Everything the process printed so far, stdout and stderr interleaved as they arrived.</summary>
    public string Output
    {
        get
        {
            lock (_outputLock)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A connection string for Npgsql. NoTypeLoading because the server has no pg_catalog yet.</summary>
    public string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Username=materialize;Database=materialize;Pooling=false;" +
        "Server Compatibility Mode=NoTypeLoading;Timeout=15;Command Timeout=30";

    /// <summary>A connection URI for psql.</summary>
    public string Uri => $"postgres://materialize@127.0.0.1:{Port}/materialize";

    public static string CliPath
    {
        get
        {
            string? overridden = Environment.GetEnvironmentVariable("KERNEL_E2E_CLI");
            return string.IsNullOrEmpty(overridden) ? Path.Combine(AppContext.BaseDirectory, "Kernel.Cli.dll") : overridden;
        }
    }

    /// <summary>A fresh, empty temporary directory for a data directory.</summary>
    public static string NewDataDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "kernel-e2e-" + Path.GetRandomFileName());
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// Starts <c>kernel start</c> on <paramref name="dataDirectory"/> with fresh free ports and waits until pgwire accepts
    /// connections; with <paramref name="clusterdProcess"/>, clusterd runs in a process of its own (<c>--clusterd-process</c>).
    /// </summary>
    public static async Task<KernelProcess> StartAsync(string dataDirectory, bool clusterdProcess = false)
    {
        string cli = CliPath;
        if (!File.Exists(cli))
        {
            throw new InvalidOperationException($"the kernel command line was not found at {cli}; build the test project, or set KERNEL_E2E_CLI");
        }
        (int port, int controllerPort, int pubsubPort) = FreePorts();
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(cli);
        info.ArgumentList.Add("start");
        info.ArgumentList.Add("--data-dir");
        info.ArgumentList.Add(dataDirectory);
        info.ArgumentList.Add("--port");
        info.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--controller-port");
        info.ArgumentList.Add(controllerPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        info.ArgumentList.Add("--pubsub-port");
        info.ArgumentList.Add(pubsubPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (clusterdProcess)
        {
            info.ArgumentList.Add("--clusterd-process");
        }
        var process = new Process { StartInfo = info };
        var kernel = new KernelProcess(process, dataDirectory, port, controllerPort);
        process.OutputDataReceived += (_, e) => kernel.Append(e.Data);
        process.ErrorDataReceived += (_, e) => kernel.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await kernel.WaitUntilAcceptingAsync();
        }
        catch
        {
            kernel.Dispose();
            throw;
        }
        return kernel;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_outputLock)
        {
            _output.AppendLine(line);
        }
    }

    private async Task WaitUntilAcceptingAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"kernel start exited with code {_process.ExitCode} before serving pgwire:\n{Output}");
            }
            using var client = new TcpClient();
            try
            {
                using var attempt = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync(IPAddress.Loopback, Port, attempt.Token);
                return;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException)
            {
                await Task.Delay(100);
            }
        }
        throw new TimeoutException($"kernel start did not accept pgwire connections on port {Port} within {StartTimeout.TotalSeconds} s:\n{Output}");
    }

    /// <summary>
    /// Three distinct free ports (pgwire, controller, persist pubsub), found by binding port 0; every port is passed
    /// explicitly so that servers of parallel tests (and of other people on the machine) never meet on a default.
    /// </summary>
    private static (int Port, int ControllerPort, int PubSubPort) FreePorts()
    {
        var listeners = new TcpListener[3];
        try
        {
            for (int i = 0; i < listeners.Length; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }
            return (PortOf(listeners[0]), PortOf(listeners[1]), PortOf(listeners[2]));
        }
        finally
        {
            foreach (TcpListener? listener in listeners)
            {
                listener?.Stop();
            }
        }
    }

    private static int PortOf(TcpListener listener) => ((IPEndPoint)listener.LocalEndpoint).Port;

    /// <summary>Sends SIGTERM (a graceful stop) and waits for the process to exit; its exit code.</summary>
    public async Task<int> TerminateAsync(TimeSpan timeout)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            throw new PlatformNotSupportedException("SIGTERM needs a POSIX system");
        }
        const int SigTerm = 15;
        if (Kill(_process.Id, SigTerm) != 0)
        {
            throw new InvalidOperationException($"kill(SIGTERM) failed with errno {Marshal.GetLastPInvokeError()}");
        }
        using var wait = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"kernel start did not exit within {timeout.TotalSeconds} s of SIGTERM:\n{Output}");
        }
        // The asynchronous readers may still hold the last lines; the parameterless wait drains them.
        _process.WaitForExit();
        return _process.ExitCode;
    }

    /// <summary>Sends SIGKILL and waits for the process to be gone.</summary>
    public void KillHard()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        _process.Dispose();
    }

    /// <summary>Deletes a data directory, best effort (a test's cleanup must not hide the test's own failure).</summary>
    public static void DeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left behind in the temporary directory; nothing else depends on it.
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
