using System;
using System.Collections.Generic;
using System.Threading;
using Kernel.Runtime;

namespace Kernel.Sim;

public enum SimNodeState
{
    Running,
    Crashed,
    Finished,
}

/// <summary>How the world treats a node.</summary>
/// <param name="Crashable">Chaos may crash, pause and partition it (false for the workload's own clients and checkers).</param>
/// <param name="IsWorkload">The run ends when every workload node's program has returned.</param>
/// <param name="RestartOnExit">A node whose program returns (for example after a fatal I/O error) is restarted, as a supervisor would.</param>
public readonly record struct SimNodeOptions(bool Crashable = true, bool IsWorkload = false, bool RestartOnExit = true)
{
    public static SimNodeOptions Server => new(Crashable: true, IsWorkload: false, RestartOnExit: true);

    public static SimNodeOptions Workload => new(Crashable: false, IsWorkload: true, RestartOnExit: false);
}

/// <summary>A simulated process: its queue of posted work, its disk (which outlives crashes) and its lifecycle.</summary>
public sealed class SimNode
{
    internal SimNode(SimWorld world, int index, string name, Func<INode> factory, SimNodeOptions options)
    {
        World = world;
        Index = index;
        Name = name;
        Factory = factory;
        Options = options;
        Disk = new SimDisk(this);
        Clock = new SimClock(this);
    }

    public SimWorld World { get; }

    public int Index { get; }

    public string Name { get; }

    public SimNodeOptions Options { get; }

    internal Func<INode> Factory { get; set; }

    public SimNodeState State { get; internal set; } = SimNodeState.Crashed;

    /// <summary>Starts counted from 0; what the node sees as <see cref="INodeContext.Incarnation"/>.</summary>
    public long Incarnation { get; internal set; } = -1;

    /// <summary>Bumped at every start and crash; work and events carry the epoch they were made in.</summary>
    internal long Epoch { get; set; }

    internal Queue<(SendOrPostCallback Callback, object? State)> Queue { get; } = new();

    internal SimSynchronizationContext? Context { get; set; }

    internal SimNodeContext? NodeContext { get; set; }

    public SimDisk Disk { get; }

    internal SimClock Clock { get; }

    internal long PausedUntilNanos { get; set; }

    internal List<SimConnectionEnd> Connections { get; } = [];

    internal List<SimListener> Listeners { get; } = [];

    internal int NextEphemeralPort { get; set; } = 49152;

    internal CancellationTokenSource? Stopping { get; set; }

    public bool IsRunning => State == SimNodeState.Running;

    public override string ToString() => Name;
}

/// <summary>
/// The node loop as the BCL sees it: every <c>await</c> continuation, <c>Task.Yield</c> and timer callback of
/// a node is posted here, and the world runs it when the strategy picks this node.
/// </summary>
/// <remarks>
/// Work posted for an earlier incarnation is dropped, like the memory of a crashed process. A post from any
/// thread other than the simulator's means something escaped the scheduler (a thread-pool continuation); it is
/// recorded and fails the run.
/// </remarks>
internal sealed class SimSynchronizationContext(SimNode node, long epoch) : SynchronizationContext, ILoopContext
{
    public SimNode Node => node;

    public long Epoch => epoch;

    public override void Post(SendOrPostCallback d, object? state)
    {
        SimWorld world = node.World;
        if (!world.IsOwnerThread)
        {
            world.RecordEscape($"work posted to node {node.Name} from thread {Environment.CurrentManagedThreadId}, not the simulator's");
            return;
        }
        if (node.Epoch != epoch)
        {
            return;
        }
        node.Queue.Enqueue((d, state));
    }

    public override void Send(SendOrPostCallback d, object? state) =>
        throw new NotSupportedException("synchronous Send would block the only simulator thread");

    public override SynchronizationContext CreateCopy() => this;
}
