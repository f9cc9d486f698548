using System;
using System.Globalization;
using System.IO;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Tools.ProductionRuntime;

/// <summary>A production node's whole outside world: the seams over the real OS, all bound to one <see cref="NodeLoop"/>.</summary>
/// <remarks>
/// Production has no fault injection and no coverage goals, so <see cref="Buggify"/> is always false and
/// <see cref="Sometimes"/> does nothing. <see cref="Always"/> is the one check that stays: a false condition
/// is logged, fails the node and throws.
/// </remarks>
public sealed class ProductionNodeContext : INodeContext
{
    private readonly NodeLoop _loop;
    private readonly TextWriter? _log;

    /// <summary><paramref name="log"/> receives <see cref="Trace"/> lines; a writer shared by nodes must be synchronized (<see cref="TextWriter.Synchronized"/>).</summary>
    public ProductionNodeContext(
        string nodeName,
        long incarnation,
        NodeLoop loop,
        IClock clock,
        SeededRandom random,
        INetwork network,
        IDurableStorage storage,
        TextWriter? log,
        CancellationToken stopping)
    {
        NodeName = nodeName;
        Incarnation = incarnation;
        _loop = loop;
        Clock = clock;
        Random = random;
        RandomSeed = random.Seed;
        Network = network;
        Storage = storage;
        Stopping = stopping;
        _log = log;
    }

    public string NodeName { get; }

    public long Incarnation { get; }

    public IClock Clock { get; }

    public IRandom Random { get; }

    /// <summary>The seed of <see cref="Random"/>, logged at start so the node's random choices can be replayed.</summary>
    public ulong RandomSeed { get; }

    public INetwork Network { get; }

    public IDurableStorage Storage { get; }

    public ICompute Compute => ThreadPoolCompute.Instance;

    public CancellationToken Stopping { get; }

    public NodeLoop Loop => _loop;

    /// <summary>Posts <paramref name="body"/> to the loop; an exception escaping it fails the node.</summary>
    public void Spawn(string name, Func<Task> body) => _loop.Post(() => _ = RunSpawnedAsync(name, body));

    public bool Buggify([CallerFilePath] string file = "", [CallerLineNumber] int line = 0) => false;

    public void Always(bool condition, string message)
    {
        if (condition)
        {
            return;
        }
        var violation = new InvariantViolationException(message);
        Trace("invariant.violated", message);
        // Fail the node first, so it fails even if some caller swallows the exception.
        _loop.Fail(violation, "an Always check");
        throw violation;
    }

    public void Sometimes(bool condition, string message)
    {
    }

    public void Trace(string eventName, string detail = "")
    {
        if (_log is null)
        {
            return;
        }
        string wall = Clock.WallNow.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        _log.WriteLine(detail.Length == 0
            ? $"{wall} {NodeName}#{Incarnation} {eventName}"
            : $"{wall} {NodeName}#{Incarnation} {eventName} {detail}");
    }

    private async Task RunSpawnedAsync(string name, Func<Task> body)
    {
        try
        {
            await body();
        }
        catch (OperationCanceledException) when (Stopping.IsCancellationRequested)
        {
            // Work giving up because the node is stopping gracefully is not a failure.
        }
        catch (Exception exception)
        {
            Trace("spawn.failed", $"{name}: {exception.GetType().Name}: {exception.Message}");
            _loop.Fail(exception, $"spawned task '{name}'");
        }
    }
}
