using System;
using System.CommandLine;
using System.IO;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Compute;
using Kernel.Control;
using Kernel.Persist;
using Kernel.Persist.Location;
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
        var command = new Command("start", "Start environmentd and clusterd on the embedded default and serve pgwire.")
        {
            dataDir,
            port,
            controllerPort,
        };
        command.SetAction(parse => Run(parse.GetValue(dataDir)!, parse.GetValue(port), parse.GetValue(controllerPort)));
        return command;
    }

    private static int Run(string dataDirectory, int port, int controllerPort)
    {
        if (port is <= 0 or > 65535 || controllerPort is <= 0 or > 65535)
        {
            Console.Error.WriteLine("error: ports must be between 1 and 65535");
            return 2;
        }
        string root = Path.GetFullPath(dataDirectory);
        try
        {
            Directory.CreateDirectory(Path.Join(root, "persist"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"error: cannot create the data directory {root}: {e.Message}");
            return 2;
        }
        string persistRoot = Path.Join(root, "persist");
        string blobUri = "file://" + Path.Join(persistRoot, "blob");
        string consensusUri = "file://" + Path.Join(persistRoot, "consensus");

        // Each node opens its own handles on the shared persist directory (file consensus is safe for that).
        PersistClient OpenPersist(INodeContext context) => new(
            new FileBlob(new FileStorage(persistRoot), context.Random, "blob"),
            new FileConsensus(new FileStorage(persistRoot), context.Random, "consensus"),
            context.Clock,
            context.Random);

        using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = Path.Join(root, "nodes") });
        host.Start("clusterd", () => new Clusterd(new ClusterdConfig(controllerPort, (context, _, _) => OpenPersist(context))));
        var environmentd = new Environmentd(new EnvironmentdConfig(
            OpenPersist, blobUri, consensusUri, new Endpoint("127.0.0.1", controllerPort), port));
        host.Start("environmentd", () => environmentd);

        using var stop = new ManualResetEventSlim();
        using PosixSignalRegistration sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => { context.Cancel = true; stop.Set(); });
        using PosixSignalRegistration sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; stop.Set(); });
        Task<NodeOutcome> environmentdExit = host.WaitForExitAsync("environmentd");
        environmentdExit.ContinueWith(_ => stop.Set(), TaskScheduler.Default);

        Console.WriteLine($"Kernel is starting with data in {root}");
        Console.WriteLine($"Connect with: psql postgres://materialize@127.0.0.1:{port}/materialize");
        Console.WriteLine("Press Ctrl-C to stop.");
        stop.Wait();
        bool exitedOnItsOwn = environmentdExit.IsCompleted;
        Console.WriteLine("Stopping...");
        host.StopAllAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult();
        if (exitedOnItsOwn && environmentd.StopReason is string reason)
        {
            Console.Error.WriteLine($"error: environmentd stopped: {reason}");
            return 1;
        }
        Console.WriteLine("Stopped.");
        return 0;
    }
}
