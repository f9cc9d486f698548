using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Location;

namespace Kernel.Sim.Scenarios;

/// <summary>
/// Several consensus instances over one directory, each call going to the next in turn: what two processes that
/// share a consensus directory look like to its files, inside one simulated node.
/// </summary>
internal sealed class TakeTurnsConsensus(params IConsensus[] instances) : IConsensus
{
    private int _next;

    private IConsensus Next() => instances[_next++ % instances.Length];

    public ValueTask<LocationResult<VersionedData?>> HeadAsync(string key) => Next().HeadAsync(key);

    public ValueTask<LocationResult<CasOutcome>> CompareAndSetAsync(string key, ulong? expected, VersionedData next) =>
        Next().CompareAndSetAsync(key, expected, next);

    public ValueTask<LocationResult<IReadOnlyList<VersionedData>>> ScanAsync(string key, ulong from, int limit) => Next().ScanAsync(key, from, limit);

    public ValueTask<LocationResult<long>> TruncateAsync(string key, ulong seqno) => Next().TruncateAsync(key, seqno);

    public ValueTask<LocationResult<IReadOnlyList<string>>> ListKeysAsync() => Next().ListKeysAsync();
}
