using System;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Sim;

/// <summary>What one incarnation of a simulated node sees of the world.</summary>
internal sealed class SimNodeContext : INodeContext
{
    private readonly SimNode _node;
    private readonly long _epoch;

    public SimNodeContext(SimNode node, long epoch, IRandom random)
    {
        _node = node;
        _epoch = epoch;
        Random = random;
        Clock = new SimNodeClock(node, epoch);
        Network = new SimNodeNetwork(node, epoch);
        Storage = new SimDiskView(node, epoch);
        Stopping = node.Stopping!.Token;
    }

    public string NodeName => _node.Name;

    public long Incarnation => _node.Incarnation;

    public IClock Clock { get; }

    public IRandom Random { get; }

    public INetwork Network { get; }

    public IDurableStorage Storage { get; }

    public ICompute Compute => SimCompute.Instance;

    public CancellationToken Stopping { get; }

    public void Spawn(string name, Func<Task> body)
    {
        long epoch = _epoch;
        _node.Context!.Post(_ =>
        {
            if (_node.Epoch == epoch)
            {
                _ = Guard(name, body);
            }
        }, null);
    }

    public bool Buggify(string file = "", int line = 0) => _node.World.Buggify(file + ":" + line.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public void Always(bool condition, string message)
    {
        if (!condition)
        {
            _node.World.Fail($"node {_node.Name}: invariant violated: {message}");
            throw new InvariantViolationException(message);
        }
    }

    public void Sometimes(bool condition, string message) => _node.World.Sometimes(condition, message);

    public void Trace(string eventName, string detail = "") => _node.World.Record(_node, eventName, detail);

    internal void RunMain(INode program, long epoch) => _ = RunMainAsync(program, epoch);

    private async Task RunMainAsync(INode program, long epoch)
    {
        await Guard("main", () => program.RunAsync(this));
        _node.World.OnNodeReturned(_node, epoch);
    }

    private async Task Guard(string name, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // A graceful stop: not a failure.
        }
        catch (Exception e)
        {
            if (_node.Epoch == _epoch)
            {
                _node.World.Fail($"node {_node.Name} task '{name}' failed: {SimWorld.Describe(e)}");
            }
        }
    }
}
