using System;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tests.Unit.Runtime;

/// <summary>
/// Runs test bodies as the programs of real nodes of one runtime implementation (production or simulated), so
/// one set of contract tests checks every implementation of the seams.
/// </summary>
/// <remarks>
/// Each call starts fresh nodes with empty disks and completes when every body has returned. A body that
/// throws (an assertion failure included) fails its node, and the harness rethrows that exception; a node that
/// fails makes the harness stop waiting for the others. Bodies run on their node's loop, so they may use
/// nothing but their <see cref="INodeContext"/> and, to pass values between nodes, a
/// <see cref="Rendezvous.Create{T}"/> completion source. Such sources are created once per call, so an
/// implementation must run the bodies exactly once per call (a simulator harness runs one seed per call).
/// </remarks>
public abstract class NodeHarness
{
    /// <summary>Runs <paramref name="body"/> as one fresh node.</summary>
    public abstract Task RunNodeAsync(Func<INodeContext, Task> body);

    /// <summary>
    /// Runs two fresh nodes at once, each able to reach the other over <see cref="INodeContext.Network"/> at the
    /// endpoint its listener reports (the node name is the host in simulation; an IP address in production).
    /// </summary>
    public abstract Task RunNodesAsync(Func<INodeContext, Task> first, Func<INodeContext, Task> second);
}

/// <summary>How two test nodes hand each other a value (typically a listener's endpoint).</summary>
public static class Rendezvous
{
    /// <summary>
    /// Continuations run asynchronously, so the completing node never runs the waiting node's code on its own
    /// loop: the waiter resumes on its own loop through its captured context.
    /// </summary>
    public static TaskCompletionSource<T> Create<T>() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A node whose program is a delegate.</summary>
public sealed class DelegateNode(Func<INodeContext, Task> body) : INode
{
    public Task RunAsync(INodeContext context) => body(context);
}
