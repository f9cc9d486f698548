using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Kernel.Runtime;
using Kernel.Tools.ProductionRuntime;

namespace Kernel.Tests.Unit.Runtime.Production;

/// <summary>Runs test bodies as nodes of a <see cref="ProductionHost"/>: real threads, sockets and files.</summary>
/// <remarks>Every run gets a fresh host and a fresh temporary root directory, deleted afterwards.</remarks>
public sealed class ProductionNodeHarness(TcpNetworkOptions? network = null) : NodeHarness
{
    /// <summary>A backstop against a hung test, far above what any test needs; not a timing assertion.</summary>
    public static readonly TimeSpan RunTimeout = TimeSpan.FromSeconds(60);

    public override Task RunNodeAsync(Func<INodeContext, Task> body) => RunAsync([body]);

    public override Task RunNodesAsync(Func<INodeContext, Task> first, Func<INodeContext, Task> second) => RunAsync([first, second]);

    /// <summary>A fresh, empty directory under the system temp directory.</summary>
    public static string NewTempDirectory()
    {
        string path = Path.Join(Path.GetTempPath(), "kernel-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }

    public static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp directory must not fail the test.
        }
    }

    /// <summary>Throws the node's own exception (an assertion failure, say) if it failed, and fails if it did not complete.</summary>
    public static void ThrowIfNotCompleted(NodeOutcome outcome)
    {
        if (outcome.Failure is not null)
        {
            ExceptionDispatchInfo.Capture(outcome.Failure).Throw();
        }
        if (outcome.Exit != NodeExit.Completed)
        {
            throw new InvalidOperationException($"node {outcome.Name}#{outcome.Incarnation} ended {outcome.Exit}, not Completed");
        }
    }

    private async Task RunAsync(IReadOnlyList<Func<INodeContext, Task>> bodies)
    {
        string root = NewTempDirectory();
        try
        {
            using var host = new ProductionHost(new ProductionHostOptions { RootDirectory = root, Network = network ?? new TcpNetworkOptions() });
            var pending = new List<Task<NodeOutcome>>();
            for (int i = 0; i < bodies.Count; i++)
            {
                Func<INodeContext, Task> body = bodies[i];
                string name = "n" + i;
                host.Start(name, () => new DelegateNode(body));
                pending.Add(host.WaitForExitAsync(name));
            }
            // Outcomes in the order nodes end: a failed node is reported at once, while its peer may wait on it forever
            // (disposing the host then crashes the peer).
            DateTime deadline = DateTime.UtcNow + RunTimeout;
            while (pending.Count > 0)
            {
                TimeSpan left = deadline - DateTime.UtcNow;
                Task<NodeOutcome> ended = await Task.WhenAny(pending).WaitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero);
                pending.Remove(ended);
                ThrowIfNotCompleted(await ended);
            }
        }
        finally
        {
            DeleteDirectory(root);
        }
    }
}
