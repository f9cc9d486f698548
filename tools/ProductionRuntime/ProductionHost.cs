using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>Settings of a <see cref="ProductionHost"/>.</summary>
public sealed record ProductionHostOptions
{
    /// <summary>Each node's data directory is <c>RootDirectory/NodeName</c>; it survives crashes and restarts.</summary>
    public required string RootDirectory { get; init; }

    public TcpNetworkOptions Network { get; init; } = new();

    /// <summary>Receives node traces and host events; wrapped in <see cref="TextWriter.Synchronized"/>, not disposed.</summary>
    public TextWriter? Log { get; init; }

    /// <summary>How long a crash waits for the node's thread to finish the callback it is running.</summary>
    public TimeSpan CrashJoinTimeout { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>How one incarnation of a node ended.</summary>
public enum NodeExit
{
    /// <summary>RunAsync returned without a stop being requested.</summary>
    Completed,

    /// <summary>A graceful stop was requested and RunAsync returned (or gave up with the stopping token).</summary>
    Stopped,

    /// <summary>RunAsync, a spawned task, a loop callback or an Always check threw; see <see cref="NodeOutcome.Failure"/>.</summary>
    Failed,

    /// <summary>Crashed by the host, or did not stop within the timeout of a graceful stop.</summary>
    Crashed,
}

/// <summary>How one incarnation of a node ended. <c>FailureSource</c> says where <c>Failure</c> was thrown, in plain words.</summary>
public sealed record NodeOutcome(string Name, long Incarnation, NodeExit Exit, Exception? Failure, string FailureSource);

/// <summary>
/// Runs nodes in this process, each on its own <see cref="NodeLoop"/> thread with its own data directory,
/// TCP network, clock and random seed: the production <see cref="INodeSupervisor"/>.
/// </summary>
/// <remarks>
/// Thread-safe: an orchestrator node may call it from its own loop. The node table is guarded by
/// <c>_gate</c>, which is never held while waiting for a node's thread, so a node calling the host cannot
/// deadlock with the host waiting for that node.
/// <para>
/// A crash here is as close to a process crash as one process can get: the loop stops running anything
/// (queued work, timers and I/O completions are dropped) and the node's sockets and files are closed at
/// once. Two things differ from a real crash. Unflushed writes are not lost, because they already sit in
/// the OS page cache, which only a machine crash drops; test lost writes in the simulator. And a callback
/// that is running when the crash comes runs to its end, because .NET cannot abort a thread; the crash
/// waits up to <see cref="ProductionHostOptions.CrashJoinTimeout"/> for it.
/// </para>
/// </remarks>
public sealed class ProductionHost : INodeSupervisor, IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, NodeRecord> _nodes = new(StringComparer.Ordinal); // guarded by _gate
    private readonly ProductionHostOptions _options;
    private readonly TextWriter? _log;
    private readonly InProcessPorts? _inProcess; // the nodes' framed listeners, for in-memory dials between them
    private bool _disposed; // guarded by _gate

    public ProductionHost(ProductionHostOptions options)
    {
        _options = options;
        _inProcess = options.Network.InProcessShortcut ? new InProcessPorts() : null;
        _log = options.Log is null ? null : TextWriter.Synchronized(options.Log);
        Directory.CreateDirectory(options.RootDirectory);
    }

    /// <summary>Starts incarnation 0 of a new node. Its data directory is created if missing, and kept if present.</summary>
    public void Start(string name, Func<INode> factory)
    {
        if (StoragePath.Validate(name) is not null || name.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException($"'{name}' is not a usable node name: it must be one valid path segment", nameof(name));
        }
        string dataDirectory = Path.GetFullPath(Path.Join(_options.RootDirectory, name));
        Directory.CreateDirectory(dataDirectory);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_nodes.ContainsKey(name))
            {
                throw new InvalidOperationException($"node '{name}' was already started; use Restart");
            }
            var record = new NodeRecord(name, factory, dataDirectory);
            _nodes.Add(name, record);
            record.Current = Launch(record, incarnation: 0);
        }
    }

    /// <summary>Crashes the node's current incarnation; a no-op if it already ended.</summary>
    public void Crash(string name) => End(CurrentRun(name), NodeExit.Crashed, "crash requested");

    /// <summary>Starts the next incarnation, with a fresh node from the factory, on the same data directory.</summary>
    /// <exception cref="InvalidOperationException">The current incarnation is still running: crash or stop it first.</exception>
    public void Restart(string name)
    {
        NodeRun previous = CurrentRun(name);
        if (!previous.Loop.IsStopped)
        {
            throw new InvalidOperationException($"node '{name}' incarnation {previous.Incarnation} is still running; crash or stop it first");
        }
        // Make sure the old incarnation's sockets and files are closed before the new one opens them again.
        previous.Loop.WaitForExit(_options.CrashJoinTimeout);
        Finish(previous);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            NodeRecord record = _nodes[name];
            if (record.Current != previous)
            {
                throw new InvalidOperationException($"node '{name}' was restarted concurrently");
            }
            record.Current = Launch(record, previous.Incarnation + 1);
        }
    }

    /// <summary>Completes when the current incarnation ends, with how it ended.</summary>
    public Task<NodeOutcome> WaitForExitAsync(string name) => CurrentRun(name).Outcome.Task;

    /// <summary>
    /// Cancels the node's <see cref="INodeContext.Stopping"/> token (on its loop) and waits for it to end; a node
    /// still running after <paramref name="timeout"/> is crashed.
    /// </summary>
    public async Task<NodeOutcome> StopAsync(string name, TimeSpan timeout)
    {
        NodeRun run = CurrentRun(name);
        run.StopRequested = true;
        run.Loop.Post(static state => ((NodeRun)state!).Stopping.Cancel(), run);
        try
        {
            return await run.Outcome.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            End(run, NodeExit.Crashed, $"did not stop within {timeout}");
            return await run.Outcome.Task;
        }
    }

    /// <summary>Stops every node concurrently; see <see cref="StopAsync"/>.</summary>
    public async Task<IReadOnlyList<NodeOutcome>> StopAllAsync(TimeSpan timeout)
    {
        List<string> names;
        lock (_gate)
        {
            names = [.. _nodes.Keys];
        }
        names.Sort(StringComparer.Ordinal);
        var stops = new List<Task<NodeOutcome>>(names.Count);
        foreach (string name in names)
        {
            stops.Add(StopAsync(name, timeout));
        }
        return await Task.WhenAll(stops);
    }

    public long GetIncarnation(string name) => CurrentRun(name).Incarnation;

    public bool IsRunning(string name) => !CurrentRun(name).Loop.IsStopped;

    public string GetDataDirectory(string name)
    {
        lock (_gate)
        {
            return Record(name).DataDirectory;
        }
    }

    /// <summary>Crashes every node that is still running. Data directories are left in place.</summary>
    public void Dispose()
    {
        List<NodeRun> runs = [];
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            foreach (NodeRecord record in _nodes.Values)
            {
                runs.Add(record.Current!);
            }
        }
        foreach (NodeRun run in runs)
        {
            End(run, NodeExit.Crashed, "host disposed");
        }
    }

    private NodeRun Launch(NodeRecord record, long incarnation)
    {
        var loop = new NodeLoop(record.Name + "#" + incarnation.ToString(CultureInfo.InvariantCulture));
        SeededRandom random = ProductionRandom.Create();
        var network = new TcpNetwork(loop, _options.Network, _inProcess);
        var storage = new FileStorage(record.DataDirectory);
        var stopping = new CancellationTokenSource();
        var context = new ProductionNodeContext(
            record.Name, incarnation, loop, new ProductionClock(loop), random, network, storage, _log, stopping.Token);
        var run = new NodeRun(record.Name, incarnation, loop, network, storage, stopping, context);
        loop.Post(() => _ = RunNodeAsync(run, record.Factory));
        // Finish runs on the thread pool, never on some node's loop: Start may be called from an orchestrator's loop.
        loop.Exited.ContinueWith(
            static (_, state) =>
            {
                (ProductionHost host, NodeRun exited) = ((ProductionHost, NodeRun))state!;
                host.Finish(exited);
            },
            (this, run),
            CancellationToken.None,
            TaskContinuationOptions.None,
            TaskScheduler.Default);
        loop.Start();
        return run;
    }

    /// <summary>The node's program, on its own loop. A factory that throws fails the node like RunAsync throwing.</summary>
    private static async Task RunNodeAsync(NodeRun run, Func<INode> factory)
    {
        ProductionNodeContext context = run.Context;
        context.Trace("node.start", $"seed={context.RandomSeed} data={((FileStorage)context.Storage).RootDirectory}");
        try
        {
            INode node = factory();
            await node.RunAsync(context);
            run.EndFromLoop(run.StopRequested ? NodeExit.Stopped : NodeExit.Completed);
        }
        catch (OperationCanceledException) when (run.Stopping.IsCancellationRequested)
        {
            run.EndFromLoop(NodeExit.Stopped);
        }
        catch (Exception exception)
        {
            run.Loop.Fail(exception, "RunAsync");
        }
    }

    /// <summary>Ends a run from outside its loop: stop the loop, close sockets and files, wait for the thread, record the outcome.</summary>
    private void End(NodeRun run, NodeExit exit, string reason)
    {
        if (run.TryEnd(exit, reason))
        {
            run.CloseResources();
            run.Loop.WaitForExit(_options.CrashJoinTimeout);
        }
        Finish(run);
    }

    /// <summary>Records how a stopped run ended and releases what it held. Idempotent; runs on any thread.</summary>
    private void Finish(NodeRun run)
    {
        if (!run.Loop.IsStopped)
        {
            return; // only reached through End or Restart, which stop the loop first
        }
        NodeOutcome? outcome = run.Complete();
        if (outcome is null)
        {
            return;
        }
        run.CloseResources();
        if (outcome.Failure is not null)
        {
            WriteLog($"node {run.Name}#{run.Incarnation} failed in {outcome.FailureSource}: {outcome.Failure}");
        }
        else
        {
            WriteLog($"node {run.Name}#{run.Incarnation} {outcome.Exit.ToString().ToLowerInvariant()}{(run.Reason.Length == 0 ? "" : ": " + run.Reason)}");
        }
        run.Outcome.TrySetResult(outcome);
    }

    private void WriteLog(string line)
    {
        _log?.WriteLine($"{DateTimeOffset.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)} host {line}");
    }

    private NodeRun CurrentRun(string name)
    {
        lock (_gate)
        {
            return Record(name).Current!;
        }
    }

    private NodeRecord Record(string name) =>
        _nodes.TryGetValue(name, out NodeRecord? record) ? record : throw new ArgumentException($"no node named '{name}'", nameof(name));

    private sealed class NodeRecord(string name, Func<INode> factory, string dataDirectory)
    {
        public string Name { get; } = name;

        public Func<INode> Factory { get; } = factory;

        public string DataDirectory { get; } = dataDirectory;

        public NodeRun? Current { get; set; } // guarded by the host's _gate
    }

    /// <summary>One incarnation of a node, and the resources it owns.</summary>
    /// <remarks>
    /// Whoever stops the loop first decides the outcome: <see cref="NodeLoop.Fail"/> (a failure), or
    /// <see cref="TryEnd"/> (completion, stop, crash). Both go through the loop's own lock, so exactly one wins;
    /// <c>_gate</c> makes the winner's exit visible before <see cref="Complete"/> reads it.
    /// </remarks>
    private sealed class NodeRun(
        string name,
        long incarnation,
        NodeLoop loop,
        TcpNetwork network,
        FileStorage storage,
        CancellationTokenSource stopping,
        ProductionNodeContext context)
    {
        private readonly object _gate = new();
        private NodeExit? _exit; // guarded by _gate
        private bool _completed; // guarded by _gate
        private int _resourcesClosed; // 0 or 1, set once by Interlocked

        public string Name { get; } = name;

        public long Incarnation { get; } = incarnation;

        public NodeLoop Loop { get; } = loop;

        /// <summary>Cancelled on the loop by a graceful stop. Never disposed: it owns no timer, and node code keeps its token.</summary>
        public CancellationTokenSource Stopping { get; } = stopping;

        public ProductionNodeContext Context { get; } = context;

        public TaskCompletionSource<NodeOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Set by StopAsync on the host's thread, read on the loop after RunAsync returns.</summary>
        public volatile bool StopRequested;

        public string Reason { get; private set; } = ""; // written under _gate before the loop stops

        /// <summary>Stops the loop with <paramref name="exit"/> as the outcome, unless it had already stopped.</summary>
        public bool TryEnd(NodeExit exit, string reason)
        {
            lock (_gate)
            {
                if (!Loop.Stop())
                {
                    return false;
                }
                _exit = exit;
                Reason = reason;
                return true;
            }
        }

        /// <summary>RunAsync finished on the loop: stopping the loop ends the callback running now, and nothing after it.</summary>
        public void EndFromLoop(NodeExit exit) => TryEnd(exit, "");

        /// <summary>The outcome, the first time it is asked for once the loop has stopped; null afterwards.</summary>
        public NodeOutcome? Complete()
        {
            lock (_gate)
            {
                if (_completed)
                {
                    return null;
                }
                _completed = true;
                Exception? failure = Loop.Failure;
                return failure is not null
                    ? new NodeOutcome(Name, Incarnation, NodeExit.Failed, failure, Loop.FailureSource)
                    : new NodeOutcome(Name, Incarnation, _exit ?? NodeExit.Crashed, null, "");
            }
        }

        public void CloseResources()
        {
            if (Interlocked.Exchange(ref _resourcesClosed, 1) == 0)
            {
                network.Dispose();
                storage.Dispose();
            }
        }
    }
}
