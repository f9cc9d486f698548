using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute;
using Kernel.Control;
using Kernel.Persist;
using Kernel.Persist.Location;
using Kernel.Persist.PubSub;
using Kernel.Persist.Shard;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;

namespace Kernel.Tools.Cli;

/// <summary>
/// <c>kernel start</c>: environmentd and clusterd on the embedded default (file blob and file consensus under one
/// data directory), in this process, until Ctrl-C or SIGTERM.
/// </summary>
internal static class StartCommand
{
    public static Command Create()
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "Directory for all durable state (created if missing).",
            DefaultValueFactory = _ => "kernel-data",
        };
        var port = new Option<int>("--port") { Description = "pgwire port.", DefaultValueFactory = _ => Environmentd.PgWirePortDefault };
        var controllerPort = new Option<int>("--controller-port")
        {
            Description = "Port of the controller protocol between environmentd and clusterd.",
            DefaultValueFactory = _ => 2100,
        };
        Option<int> pubsubPort = PubSubPortOption();
        var separate = new Option<bool>("--clusterd-process")
        {
            Description = "Run clusterd as a separate process (kernel clusterd) instead of inside this one.",
        };
        var command = new Command("start", "Start environmentd and clusterd on the embedded default and serve pgwire.")
        {
            dataDir,
            port,
            controllerPort,
            pubsubPort,
            separate,
        };
        command.SetAction(parse => Run(
            parse.GetValue(dataDir)!, parse.GetValue(port), parse.GetValue(controllerPort), parse.GetValue(pubsubPort), parse.GetValue(separate)));
        return command;
    }

    /// <summary><c>kernel clusterd</c>: one replica serving the controller protocol, with persist under a data directory.</summary>
    public static Command CreateClusterd()
    {
        var dataDir = new Option<string>("--data-dir")
        {
            Description = "The data directory environmentd uses (clusterd reads and writes its persist directory).",
            DefaultValueFactory = _ => "kernel-data",
        };
        var controllerPort = new Option<int>("--controller-port") { Description = "Port to serve the controller protocol on.", DefaultValueFactory = _ => 2100 };
        Option<int> pubsubPort = PubSubPortOption();
        var command = new Command("clusterd", "Run one clusterd replica (started by kernel start --clusterd-process).") { dataDir, controllerPort, pubsubPort };
        command.SetAction(parse => RunClusterd(parse.GetValue(dataDir)!, parse.GetValue(controllerPort), parse.GetValue(pubsubPort)));
        return command;
    }

    private static Option<int> PubSubPortOption() => new("--pubsub-port")
    {
        Description = "Port of environmentd's persist pubsub hub, which tells clusterd of new commits at once.",
        DefaultValueFactory = _ => PubSubServer.PortDefault,
    };

    private static int RunClusterd(string dataDirectory, int controllerPort, int pubsubPort)
    {
        if (controllerPort is <= 0 or > 65535 || pubsubPort is <= 0 or > 65535)
        {
            Console.Error.WriteLine("error: ports must be between 1 and 65535");
            return 2;
        }
        string root = Path.GetFullPath(dataDirectory);
        string persistRoot = Path.Join(root, "persist");
        if (!Directory.Exists(persistRoot))
        {
            Console.Error.WriteLine($"error: {persistRoot} does not exist; start environmentd on this data directory first");
            return 2;
        }
        using var logFile = new StreamWriter(Path.Join(root, "clusterd.log"), append: true) { AutoFlush = true };
        using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = Path.Join(root, "nodes-clusterd"), Log = TextWriter.Synchronized(logFile) });
        host.Start("clusterd", () => new Clusterd(new ClusterdConfig(
            controllerPort, (context, _, _, notifier) => OpenPersist(persistRoot, context, notifier), new Endpoint("127.0.0.1", pubsubPort))));
        using var stop = new ManualResetEventSlim();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Set(); });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Set(); });
        host.WaitForExitAsync("clusterd").ContinueWith(_ => stop.Set(), TaskScheduler.Default);
        Console.WriteLine($"clusterd serving the controller protocol on port {controllerPort}");
        stop.Wait();
        host.StopAllAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        return 0;
    }

    // Each node opens its own handles on the shared persist directory (both consensus layouts are safe for several
    // processes). A data directory written before consensus became a log keeps its per-key layout, so that its
    // acknowledged data stays readable.
    private static PersistClient OpenPersist(string persistRoot, INodeContext context, IShardNotifier notifier) => new(
        new PersistContext(
            new FileBlob(new FileStorage(persistRoot), context.Random, "blob"),
            PersistCommands.HoldsPerKeyConsensus(Path.Join(persistRoot, "consensus"))
                ? new FileConsensus(new FileStorage(persistRoot), context.Random, "consensus")
                : new LogConsensus(new FileStorage(persistRoot), "consensus"),
            context.Clock,
            context.Random)
        {
            Notifier = notifier,
            Compute = context.Compute,
        });

    private static int Run(string dataDirectory, int port, int controllerPort, int pubsubPort, bool separateClusterd)
    {
        if (port is <= 0 or > 65535 || controllerPort is <= 0 or > 65535 || pubsubPort is <= 0 or > 65535)
        {
            Console.Error.WriteLine("error: ports must be between 1 and 65535");
            return 2;
        }
        string root = Path.GetFullPath(dataDirectory);
        try
        {
            // Both location directories exist from the start, so `kernel persist inspect` works on a fresh data directory
            // whose batches are all still inline in Consensus (FileBlob would only create its directory on a first write).
            Directory.CreateDirectory(Path.Join(root, "persist", "blob"));
            Directory.CreateDirectory(Path.Join(root, "persist", "consensus"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot create the data directory {root}: {e.Message}");
            return 2;
        }
        string persistRoot = Path.Join(root, "persist");
        string blobUri = "file://" + Path.Join(persistRoot, "blob");
        string consensusUri = "file://" + Path.Join(persistRoot, "consensus");

        // The nodes' traces (start, ready, replica status reports, failures) go to a log file in the data directory.
        using var logFile = new StreamWriter(Path.Join(root, "kernel.log"), append: true) { AutoFlush = true };
        using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = Path.Join(root, "nodes"), Log = TextWriter.Synchronized(logFile) });
        Process? clusterdProcess = null;
        if (separateClusterd)
        {
            var startInfo = new ProcessStartInfo(Environment.ProcessPath ?? "dotnet") { UseShellExecute = false };
            startInfo.ArgumentList.Add(typeof(StartCommand).Assembly.Location);
            foreach (string argument in (string[])[
                "clusterd", "--data-dir", root,
                "--controller-port", controllerPort.ToString(CultureInfo.InvariantCulture),
                "--pubsub-port", pubsubPort.ToString(CultureInfo.InvariantCulture),
            ])
            {
                startInfo.ArgumentList.Add(argument);
            }
            clusterdProcess = Process.Start(startInfo);
            if (clusterdProcess is null)
            {
                Console.Error.WriteLine("error: could not start the clusterd process");
                return 1;
            }
        }
        else
        {
            host.Start("clusterd", () => new Clusterd(new ClusterdConfig(
            controllerPort, (context, _, _, notifier) => OpenPersist(persistRoot, context, notifier), new Endpoint("127.0.0.1", pubsubPort))));
        }
        var environmentd = new Environmentd(new EnvironmentdConfig(
            (context, notifier) => OpenPersist(persistRoot, context, notifier), blobUri, consensusUri, new Endpoint("127.0.0.1", controllerPort), port, pubsubPort));
        host.Start("environmentd", () => environmentd);

        using var stop = new ManualResetEventSlim();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Set(); });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Set(); });
        Task<NodeOutcome> environmentdExit = host.WaitForExitAsync("environmentd");
        environmentdExit.ContinueWith(_ => stop.Set(), TaskScheduler.Default);

        Console.WriteLine($"Kernel is starting with data in {root} (log: {Path.Join(root, "kernel.log")})");
        Console.WriteLine($"Connect with: psql postgres://materialize@127.0.0.1:{port}/materialize");
        Console.WriteLine("Press Ctrl-C to stop.");
        stop.Wait();
        bool exitedOnItsOwn = environmentdExit.IsCompleted;
        Console.WriteLine("Stopping...");
        host.StopAllAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        if (clusterdProcess is not null)
        {
            clusterdProcess.Kill(entireProcessTree: true);
            clusterdProcess.WaitForExit(10_000);
            clusterdProcess.Dispose();
        }
        if (exitedOnItsOwn && environmentd.StopReason is string reason)
        {
            Console.Error.WriteLine($"error: environmentd stopped: {reason}");
            return 1;
        }
        Console.WriteLine("Stopped.");
        return 0;
    }
}
