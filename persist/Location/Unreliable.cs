using System;
using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Runtime;

namespace Kernel.Persist.Location;

/// <summary>
/// Fault injection for Blob and Consensus (Materialize's unreliable.rs): with some probability an operation
/// fails instead of answering. A failed read is determinate. A failed write is indeterminate and, by a fair
/// coin, either was applied or was not, so callers must make every retry safe.
/// </summary>
/// <remarks>Draws from its own <see cref="IRandom"/>, so a seeded run replays the same faults.</remarks>
public sealed class FaultSwitch
{
    private readonly IRandom _random;

    public FaultSwitch(IRandom random, double failureProbability)
    {
        _random = random;
        FailureProbability = failureProbability;
    }

    public double FailureProbability { get; set; }

    /// <summary>False stops all faults (a run's heal phase).</summary>
    public bool Enabled { get; set; } = true;

    public long FailuresInjected { get; private set; }

    internal bool ShouldFail()
    {
        if (!Enabled || !_random.Chance(FailureProbability))
        {
            return false;
        }
        FailuresInjected++;
        return true;
    }

    internal bool AppliedAnyway() => _random.Chance(0.5);
}

/// <summary>An <see cref="IBlob"/> that fails some operations on purpose; see <see cref="FaultSwitch"/>.</summary>
public sealed class UnreliableBlob(IBlob inner, FaultSwitch faults) : IBlob
{
    public async ValueTask<LocationResult<byte[]?>> GetAsync(string key) =>
        faults.ShouldFail() ? LocationError.Determinate($"injected fault: blob get '{key}'") : await inner.GetAsync(key);

    public async ValueTask<LocationResult> SetAsync(string key, ReadOnlyMemory<byte> value)
    {
        if (!faults.ShouldFail())
        {
            return await inner.SetAsync(key, value);
        }
        if (faults.AppliedAnyway())
        {
            await inner.SetAsync(key, value);
        }
        return LocationError.Indeterminate($"injected fault: blob set '{key}'");
    }

    public async ValueTask<LocationResult<long?>> DeleteAsync(string key)
    {
        if (!faults.ShouldFail())
        {
            return await inner.DeleteAsync(key);
        }
        if (faults.AppliedAnyway())
        {
            await inner.DeleteAsync(key);
        }
        return LocationError.Indeterminate($"injected fault: blob delete '{key}'");
    }

    public async ValueTask<LocationResult<IReadOnlyList<BlobMetadata>>> ListKeysAsync(string prefix) =>
        faults.ShouldFail() ? LocationError.Determinate($"injected fault: blob list '{prefix}'") : await inner.ListKeysAsync(prefix);
}

/// <summary>An <see cref="IConsensus"/> that fails some operations on purpose; see <see cref="FaultSwitch"/>.</summary>
public sealed class UnreliableConsensus(IConsensus inner, FaultSwitch faults) : IConsensus
{
    public async ValueTask<LocationResult<VersionedData?>> HeadAsync(string key) =>
        faults.ShouldFail() ? LocationError.Determinate($"injected fault: consensus head '{key}'") : await inner.HeadAsync(key);

    public async ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next)
    {
        if (!faults.ShouldFail())
        {
            return await inner.CompareAndSetAsync(key, expected, next);
        }
        if (faults.AppliedAnyway())
        {
            await inner.CompareAndSetAsync(key, expected, next);
        }
        return LocationError.Indeterminate($"injected fault: consensus compare_and_set '{key}' at seqno {next.SeqNo}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit) =>
        faults.ShouldFail() ? LocationError.Determinate($"injected fault: consensus scan '{key}'") : await inner.ScanAsync(key, from, limit);

    public async ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno)
    {
        if (!faults.ShouldFail())
        {
            return await inner.TruncateAsync(key, seqno);
        }
        if (faults.AppliedAnyway())
        {
            await inner.TruncateAsync(key, seqno);
        }
        return LocationError.Indeterminate($"injected fault: consensus truncate '{key}' below {seqno}");
    }

    public async ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() =>
        faults.ShouldFail() ? LocationError.Determinate("injected fault: consensus list keys") : await inner.ListKeysAsync();
}
