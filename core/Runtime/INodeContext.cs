using System;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Runtime;

/// <summary>
/// Everything a node may touch of the outside world. A node is a single-threaded event loop: all of its
/// code, every timer callback and every I/O completion runs on that loop, one item at a time, so a node's
/// state needs no locks. Nodes interact only through <see cref="Network"/> and their own <see cref="Storage"/>.
/// </summary>
public interface INodeContext
{
    /// <summary>The node's name; in the simulator it is also its network host name.</summary>
    string NodeName { get; }

    /// <summary>Counts restarts: 0 for the first start. Anything keyed to a process lifetime includes it.</summary>
    long Incarnation { get; }

    IClock Clock { get; }

    /// <summary>This node's random stream; fork it per subsystem.</summary>
    IRandom Random { get; }

    INetwork Network { get; }

    IDurableStorage Storage { get; }

    /// <summary>Runs pure CPU-bound work off the loop: on another core in production, in line in the simulator (see <see cref="ICompute"/>).</summary>
    ICompute Compute { get; }

    /// <summary>Cancelled when the node is asked to stop gracefully. A crash cancels nothing: work just stops.</summary>
    CancellationToken Stopping { get; }

    /// <summary>Starts <paramref name="body"/> on this node's loop. An exception escaping it fails the node (and a simulated run).</summary>
    void Spawn(string name, Func<Task> body);

    /// <summary>
    /// A fault-injection point (FoundationDB's BUGGIFY): in simulation, each call site is enabled for a run
    /// with some probability and then fires with some probability per call; in production it is always false.
    /// </summary>
    bool Buggify([CallerFilePath] string file = "", [CallerLineNumber] int line = 0);

    /// <summary>An invariant: false is a bug. Production logs it and fails the node; simulation fails the run.</summary>
    void Always(bool condition, string message);

    /// <summary>
    /// A coverage goal: the simulator counts how often <paramref name="condition"/> was true at this point, and
    /// a batch of runs that never saw it true reports the goal as missed. Production ignores it.
    /// </summary>
    void Sometimes(bool condition, string message);

    /// <summary>Records a semantic event: it goes into the simulated run's trace hash and readable event log.</summary>
    void Trace(string eventName, string detail = "");
}

/// <summary>A node's program. A restart creates a fresh instance and runs it again on the surviving disk.</summary>
public interface INode
{
    /// <summary>Runs until the node finishes or is stopped; returning ends the node normally.</summary>
    Task RunAsync(INodeContext context);
}

/// <summary>
/// Starts, crashes and restarts nodes: the simulator's world, or the production host. An orchestrator
/// (for example environmentd starting clusterd replicas) uses this seam so the same logic runs in both.
/// </summary>
public interface INodeSupervisor
{
    /// <summary>Starts a node named <paramref name="name"/>; <paramref name="factory"/> is called again on every restart.</summary>
    void Start(string name, Func<INode> factory);

    /// <summary>Stops the node abruptly: queued work, timers, connections and unflushed writes are lost.</summary>
    void Crash(string name);

    /// <summary>Starts a new incarnation of a crashed or finished node on its surviving disk.</summary>
    void Restart(string name);
}

/// <summary>Thrown by <see cref="INodeContext.Always"/>: a broken invariant, never caught by kernel code.</summary>
public sealed class InvariantViolationException(string message) : Exception(message);
