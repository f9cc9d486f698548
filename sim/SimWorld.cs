using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>Bounds on one run. Exceeding one fails the run: a system that never finishes its workload is a liveness bug.</summary>
public sealed record SimLimits(long StepsMax = 5_000_000, double VirtualSecondsMax = 600, double ChaosSecondsMax = 30);

/// <summary>Everything that determines a run besides the scenario's own code.</summary>
/// <remarks>
/// <c>ReorderWindowNanos</c>: events due within this much of the current time are enabled together, so the
/// strategy (not only the drawn latencies) decides their order. Running one that is due later moves the clock
/// to its due time; an event never runs before its due time by the clock, so the window only ever adds delay.
/// </remarks>
public sealed record SimRunConfig(ulong Seed, FaultProfile Faults, IStrategy Strategy, SimLimits Limits, bool KeepLog, long ReorderWindowNanos = 0);

/// <summary>
/// The simulated universe: one thread, virtual time, every node's queue, the network, the disks and the chaos
/// that crashes and partitions them. Nothing here is thread-safe; everything runs on the thread that calls
/// <see cref="Run"/>.
/// </summary>
/// <remarks>
/// A step is one of: the head of one node's queue (posted continuations run FIFO within a node, as on a real
/// event loop), or one due event (a timer, a frame arrival, a disk completion, a fault). The strategy chooses
/// among all enabled steps, which is where interleavings between nodes, and between a node's work and the
/// outside world, are explored. Virtual time moves only when nothing is enabled: it jumps to the next event,
/// and every event due at that instant becomes enabled together so that ties are explored too.
/// </remarks>
public sealed class SimWorld : INodeSupervisor
{
    private const long NanosPerMs = 1_000_000;
    private const long FaultTickNanos = 100 * NanosPerMs;

    private readonly List<SimNode> _nodes = [];
    private readonly Dictionary<string, SimNode> _nodesByName = new(StringComparer.Ordinal);
    private readonly PriorityQueue<SimEvent, (long Due, long Sequence)> _timers = new();
    private readonly List<SimEvent> _due = [];
    private readonly List<Candidate> _candidates = [];
    private readonly Dictionary<string, bool> _buggifySites = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _sometimes = new(StringComparer.Ordinal);
    private readonly IRandom _chaosRandom;
    private readonly IRandom _buggifyRandom;
    private readonly bool _buggifyEnabled;
    private readonly int _ownerThreadId;
    private long _sequence;
    private int _unfinishedWorkload;
    private string? _failure;
    private int _escapeCount;
    private string? _escapeDetail;
    private bool _chaosActive = true;

    public SimWorld(SimRunConfig config)
    {
        Config = config;
        var root = new SeededRandom(config.Seed);
        Random = root;
        _chaosRandom = root.Fork("chaos");
        _buggifyRandom = root.Fork("buggify");
        NetworkRandom = root.Fork("network");
        DiskRandom = root.Fork("disk");
        NodeRandom = root.Fork("nodes");
        // BUGGIFY is on in most runs but not all (FoundationDB: 80%), so its absence is tested too.
        _buggifyEnabled = config.Faults.Enabled != FaultKinds.None && root.Fork("buggify-enabled").Chance(0.8);
        Trace = new SimTrace(config.KeepLog);
        Network = new SimNetwork(this);
        _ownerThreadId = Environment.CurrentManagedThreadId;
        if (config.Faults.Enabled != FaultKinds.None)
        {
            Schedule(null, FaultTickNanos, "fault-tick", ChaosTick);
        }
    }

    public SimRunConfig Config { get; }

    public FaultProfile Faults => Config.Faults;

    /// <summary>The root stream; subsystems use their own forks.</summary>
    public IRandom Random { get; }

    internal IRandom NetworkRandom { get; }

    internal IRandom DiskRandom { get; }

    internal IRandom NodeRandom { get; }

    public SimTrace Trace { get; }

    public SimNetwork Network { get; }

    public long NowNanos { get; private set; }

    public double NowSeconds => NowNanos / 1e9;

    public long Steps { get; private set; }

    /// <summary>Set once the run failed; the first failure wins.</summary>
    public string? Failure => _failure;

    /// <summary>True until <see cref="Heal"/>: faults are injected only while chaos is active.</summary>
    public bool ChaosActive => _chaosActive;

    public IReadOnlyList<SimNode> Nodes => _nodes;

    public IReadOnlyDictionary<string, long> SometimesHits => _sometimes;

    internal bool IsOwnerThread => Environment.CurrentManagedThreadId == _ownerThreadId;

    /// <summary>Adds a node and starts its first incarnation.</summary>
    public SimNode AddNode(string name, Func<INode> factory, SimNodeOptions options)
    {
        if (_nodesByName.ContainsKey(name))
        {
            throw new ArgumentException($"a node named '{name}' already exists", nameof(name));
        }
        var node = new SimNode(this, _nodes.Count, name, factory, options);
        _nodes.Add(node);
        _nodesByName.Add(name, node);
        if (options.IsWorkload)
        {
            _unfinishedWorkload++;
        }
        StartIncarnation(node);
        return node;
    }

    public SimNode Node(string name) =>
        _nodesByName.TryGetValue(name, out SimNode? node) ? node : throw new ArgumentException($"no node named '{name}'", nameof(name));

    public bool TryGetNode(string name, out SimNode node) => _nodesByName.TryGetValue(name, out node!);

    void INodeSupervisor.Start(string name, Func<INode> factory) => AddNode(name, factory, SimNodeOptions.Server);

    public void Crash(string name) => Crash(Node(name), "requested");

    public void Restart(string name)
    {
        SimNode node = Node(name);
        if (node.State != SimNodeState.Running)
        {
            StartIncarnation(node);
        }
    }

    /// <summary>Ends the chaos phase: no new faults, partitions and clogs lifted, paused nodes resumed, crashed nodes restarted.</summary>
    public void Heal()
    {
        if (!_chaosActive)
        {
            return;
        }
        _chaosActive = false;
        Record(null, "heal", "faults stop; partitions lifted; crashed nodes restart");
        Network.Heal();
        foreach (SimNode node in _nodes)
        {
            node.PausedUntilNanos = 0;
            if (node.State != SimNodeState.Running && node.Options.Crashable)
            {
                StartIncarnation(node);
            }
        }
    }

    /// <summary>Fails the run with <paramref name="message"/> (the first failure is kept).</summary>
    public void Fail(string message)
    {
        if (_failure is null)
        {
            _failure = message;
            Record(null, "FAILURE", message);
        }
    }

    /// <summary>Records a semantic event in the trace hash and log.</summary>
    public void Record(SimNode? node, string eventName, string detail = "") => Trace.Record(NowNanos, node?.Name ?? "world", eventName, detail);

    /// <summary>Schedules <paramref name="action"/> after <paramref name="delayNanos"/> on <paramref name="node"/>'s loop (or the world's, for null).</summary>
    public SimEvent Schedule(SimNode? node, long delayNanos, string label, Action action)
    {
        if (!IsOwnerThread)
        {
            // A timer or I/O started from a thread-pool thread: record it and touch nothing (the queues are not thread-safe).
            RecordEscape($"'{label}' scheduled from thread {Environment.CurrentManagedThreadId}, not the simulator's");
            var dropped = new SimEvent(0, 0, null, 0, label, action);
            dropped.Cancel();
            return dropped;
        }
        var ev = new SimEvent(NowNanos + Math.Max(0, delayNanos), _sequence++, node, node?.Epoch ?? 0, label, action);
        if (ev.DueNanos <= NowNanos)
        {
            _due.Add(ev);
        }
        else
        {
            _timers.Enqueue(ev, (ev.DueNanos, ev.Sequence));
        }
        return ev;
    }

    /// <summary>
    /// Runs until every workload node has finished, the run fails, or a limit is hit. Returns the failure, if any.
    /// </summary>
    public string? Run()
    {
        SimLimits limits = Config.Limits;
        long virtualNanosMax = (long)(limits.VirtualSecondsMax * 1e9);
        long chaosNanosMax = (long)(limits.ChaosSecondsMax * 1e9);
        while (_failure is null)
        {
            if (_unfinishedWorkload == 0)
            {
                break;
            }
            if (_escapeCount > 0)
            {
                Fail("work escaped the scheduler: " + _escapeDetail);
                break;
            }
            if (_chaosActive && NowNanos >= chaosNanosMax)
            {
                Heal();
            }
            CollectCandidates();
            if (_candidates.Count == 0)
            {
                if (!AdvanceTime())
                {
                    Fail($"no runnable work and no timers, yet {_unfinishedWorkload} workload node(s) have not finished: a deadlock, or work that escaped the scheduler");
                    break;
                }
                if (NowNanos > virtualNanosMax)
                {
                    Fail(string.Create(CultureInfo.InvariantCulture, $"workload did not finish within {limits.VirtualSecondsMax} virtual seconds"));
                    break;
                }
                continue;
            }
            if (Steps >= limits.StepsMax)
            {
                Fail($"workload did not finish within {limits.StepsMax} steps");
                break;
            }
            int pick = _candidates.Count == 1 ? 0 : Config.Strategy.Pick(_candidates, Steps);
            Execute(_candidates[pick]);
            Steps++;
            if (!IsOwnerThread)
            {
                Fail("a step resumed on a different thread than the simulator's");
            }
        }
        if (_escapeCount > 0)
        {
            Fail("work escaped the scheduler: " + _escapeDetail);
        }
        return _failure;
    }

    internal void RecordEscape(string detail)
    {
        // Called from a foreign thread: touch nothing but these two fields.
        if (Interlocked.Increment(ref _escapeCount) == 1)
        {
            Volatile.Write(ref _escapeDetail, detail);
        }
    }

    internal void RunOnNode(SimNode node, SendOrPostCallback callback, object? state)
    {
        SynchronizationContext? previous = SynchronizationContext.Current;
        SynchronizationContext.SetSynchronizationContext(node.Context);
        try
        {
            callback(state);
        }
        catch (Exception e)
        {
            Fail($"node {node.Name} threw: {Describe(e)}");
        }
        finally
        {
            SynchronizationContext.SetSynchronizationContext(previous);
        }
    }

    internal static string Describe(Exception e) => e is InvariantViolationException ? "invariant violated: " + e.Message : e.GetType().Name + ": " + e.Message + " " + e.StackTrace;

    internal void StartIncarnation(SimNode node)
    {
        node.Epoch++;
        node.Incarnation++;
        node.State = SimNodeState.Running;
        node.PausedUntilNanos = 0;
        node.Queue.Clear();
        node.Stopping = new CancellationTokenSource();
        node.Context = new SimSynchronizationContext(node, node.Epoch);
        var context = new SimNodeContext(node, node.Epoch, NodeRandom.Fork(node.Name + "#" + node.Incarnation.ToString(CultureInfo.InvariantCulture)));
        node.NodeContext = context;
        Record(node, "start", "incarnation " + node.Incarnation.ToString(CultureInfo.InvariantCulture));
        INode program = node.Factory();
        long epoch = node.Epoch;
        node.Context.Post(_ => context.RunMain(program, epoch), null);
    }

    internal void OnNodeReturned(SimNode node, long epoch)
    {
        if (node.Epoch != epoch)
        {
            return;
        }
        node.State = SimNodeState.Finished;
        node.Epoch++;
        node.Queue.Clear();
        Network.OnNodeDown(node, "node exited");
        Record(node, "exit");
        if (node.Options.IsWorkload)
        {
            _unfinishedWorkload--;
        }
        else if (node.Options.RestartOnExit)
        {
            ScheduleRestart(node);
        }
    }

    internal void Crash(SimNode node, string reason)
    {
        if (node.State != SimNodeState.Running)
        {
            return;
        }
        node.State = SimNodeState.Crashed;
        node.Epoch++;
        node.Queue.Clear();
        Record(node, "crash", reason);
        Network.OnNodeDown(node, "peer crashed");
        node.Disk.Crash(DiskRandom, Faults);
    }

    private void ScheduleRestart(SimNode node)
    {
        long delay = (long)(Exponential(_chaosRandom, Math.Max(1, Faults.RestartDelayMeanMs)) * NanosPerMs);
        Schedule(null, delay, "restart", () =>
        {
            if (node.State != SimNodeState.Running)
            {
                StartIncarnation(node);
            }
        });
    }

    internal bool Buggify(string site)
    {
        if (!_buggifyEnabled || !_chaosActive)
        {
            return false;
        }
        if (!_buggifySites.TryGetValue(site, out bool active))
        {
            active = _buggifyRandom.Chance(0.25);
            _buggifySites.Add(site, active);
        }
        return active && _buggifyRandom.Chance(0.25);
    }

    internal void Sometimes(bool condition, string message)
    {
        _sometimes.TryGetValue(message, out long hits);
        _sometimes[message] = hits + (condition ? 1 : 0);
    }

    internal static double Exponential(IRandom random, double mean) => -mean * Math.Log(1 - random.NextDouble());

    private void CollectCandidates()
    {
        _candidates.Clear();
        long horizon = NowNanos + Config.ReorderWindowNanos;
        while (_timers.TryPeek(out SimEvent? soon, out (long Due, long Sequence) priority) && priority.Due <= horizon)
        {
            _timers.Dequeue();
            if (!soon.IsStale)
            {
                _due.Add(soon);
            }
        }
        foreach (SimNode node in _nodes)
        {
            if (node.Queue.Count > 0 && node.PausedUntilNanos <= NowNanos)
            {
                _candidates.Add(new Candidate(node.Index, node, null));
            }
        }
        for (int i = 0; i < _due.Count; i++)
        {
            SimEvent ev = _due[i];
            if (ev.IsStale)
            {
                _due.RemoveAt(i--);
                continue;
            }
            if (ev.Node is { } node && node.PausedUntilNanos > NowNanos)
            {
                continue;
            }
            _candidates.Add(new Candidate(ev.Node?.Index ?? -1, ev.Node, ev));
        }
    }

    private bool AdvanceTime()
    {
        while (_timers.TryPeek(out SimEvent? next, out _))
        {
            if (next.IsStale)
            {
                _timers.Dequeue();
                continue;
            }
            // Paused nodes hold their due events back; the pause itself has a wake-up event, so time keeps moving.
            long due = next.DueNanos;
            NowNanos = Math.Max(NowNanos, due);
            long horizon = NowNanos + Config.ReorderWindowNanos;
            while (_timers.TryPeek(out SimEvent? ev, out (long Due, long Sequence) priority) && priority.Due <= horizon)
            {
                _timers.Dequeue();
                if (!ev.IsStale)
                {
                    _due.Add(ev);
                }
            }
            return true;
        }
        return _due.Count > 0 && AdvancePastPauses();
    }

    // Everything due belongs to paused nodes: jump to the earliest wake-up.
    private bool AdvancePastPauses()
    {
        long wake = long.MaxValue;
        foreach (SimEvent ev in _due)
        {
            if (ev.Node is { } node && node.PausedUntilNanos > NowNanos)
            {
                wake = Math.Min(wake, node.PausedUntilNanos);
            }
        }
        if (wake == long.MaxValue)
        {
            return false;
        }
        NowNanos = wake;
        return true;
    }

    private void Execute(Candidate candidate)
    {
        if (candidate.Event is { } ev)
        {
            _due.Remove(ev);
            NowNanos = Math.Max(NowNanos, ev.DueNanos);
            Trace.Step(1, candidate.Owner, NowNanos);
            if (Trace.KeepsLog && ev.Label.Length > 0)
            {
                Trace.Note(NowNanos, ev.Node?.Name ?? "world", ev.Label, "");
            }
            if (ev.Node is { } node)
            {
                RunOnNode(node, static state => ((Action)state!)(), ev.Action);
            }
            else
            {
                try
                {
                    ev.Action();
                }
                catch (Exception e)
                {
                    Fail("world event threw: " + Describe(e));
                }
            }
            return;
        }
        SimNode owner = candidate.Node!;
        (SendOrPostCallback callback, object? state) = owner.Queue.Dequeue();
        Trace.Step(0, candidate.Owner, NowNanos);
        RunOnNode(owner, callback, state);
    }

    private void ChaosTick()
    {
        if (!_chaosActive)
        {
            return;
        }
        FaultProfile f = Faults;
        IRandom r = _chaosRandom;
        if (r.Chance(f.CrashPerTick) && PickCrashable(r, running: true) is { } victim)
        {
            // At a random moment within the tick, not on its boundary, so crashes land between any two steps.
            Schedule(null, r.NextInt64(0, FaultTickNanos), "crash", () =>
            {
                if (_chaosActive && victim.IsRunning)
                {
                    Crash(victim, "chaos");
                    ScheduleRestart(victim);
                }
            });
        }
        if (r.Chance(f.PausePerTick) && PickCrashable(r, running: true) is { } sleeper)
        {
            long pause = (long)(Exponential(r, 500) * NanosPerMs);
            sleeper.PausedUntilNanos = NowNanos + pause;
            Record(sleeper, "pause", string.Create(CultureInfo.InvariantCulture, $"{pause / NanosPerMs} ms"));
            Schedule(null, pause, "unpause", static () => { });
        }
        if (r.Chance(f.PartitionPerTick))
        {
            Network.StartRandomPartition(r, (long)(Exponential(r, 1000) * NanosPerMs));
        }
        if (r.Chance(f.ClogPerTick) && PickCrashable(r, running: false) is { } clogged)
        {
            Network.Clog(clogged, (long)(Exponential(r, 300) * NanosPerMs));
        }
        if (r.Chance(f.ClockStepPerTick) && PickCrashable(r, running: false) is { } skewed)
        {
            long stepNanos = (long)((r.NextDouble() - 0.5) * 20_000 * NanosPerMs);
            skewed.Clock.StepWall(stepNanos);
            Record(skewed, "clock-step", string.Create(CultureInfo.InvariantCulture, $"{stepNanos / NanosPerMs} ms"));
        }
        Schedule(null, FaultTickNanos, "fault-tick", ChaosTick);
    }

    private SimNode? PickCrashable(IRandom r, bool running)
    {
        int count = 0;
        foreach (SimNode node in _nodes)
        {
            if (node.Options.Crashable && (!running || node.IsRunning))
            {
                count++;
            }
        }
        if (count == 0)
        {
            return null;
        }
        int pick = r.Next(count);
        foreach (SimNode node in _nodes)
        {
            if (node.Options.Crashable && (!running || node.IsRunning) && pick-- == 0)
            {
                return node;
            }
        }
        return null;
    }
}
