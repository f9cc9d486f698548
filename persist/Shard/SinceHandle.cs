using System.Threading;
using System.Threading.Tasks;
using Kernel.Persist.Data;

namespace Kernel.Persist.Shard;

/// <summary>
/// A critical since holder: it never expires on its own and fences stale holders with an opaque token (the
/// storage controller stores its epoch there). Downgrades succeed only for the holder of the expected token.
/// </summary>
public sealed class SinceHandle
{
    private readonly ShardMachine _machine;
    private readonly Upkeep _upkeep;
    private readonly PersistContext _context;

    internal SinceHandle(PersistContext context, ShardMachine machine, string readerId, ulong opaque, Frontier since)
    {
        _context = context;
        _machine = machine;
        _upkeep = new Upkeep(context, machine);
        ReaderId = readerId;
        Opaque = opaque;
        Since = since;
    }

    public ShardId Shard => _machine.Shard;

    public string ReaderId { get; }

    /// <summary>The token as of this handle's last transition.</summary>
    public ulong Opaque { get; private set; }

    public Frontier Since { get; private set; }

    /// <summary>
    /// If the reader's token is <paramref name="expectedOpaque"/>, swaps it for <paramref name="newOpaque"/> and moves
    /// the since forward to <paramref name="newSince"/> (never back). Otherwise reports
    /// <see cref="SinceDowngradeStatus.Fenced"/> with the token that won.
    /// </summary>
    public async Task<PersistResult<SinceDowngrade>> CompareAndDowngradeSinceAsync(
        ulong expectedOpaque, ulong newOpaque, Frontier newSince, CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<SinceDowngrade>> applied = await _machine.ApplyAsync(
            "compare_and_downgrade_since",
            (state, _) => StateTransitions.CompareAndDowngradeSince(state, ReaderId, expectedOpaque, newOpaque, newSince),
            cancellationToken);
        if (!applied.IsOk)
        {
            return applied.Error!;
        }
        SinceDowngrade outcome = applied.Value.Outcome;
        if (outcome.Status is SinceDowngradeStatus.Downgraded or SinceDowngradeStatus.Fenced)
        {
            Opaque = outcome.CurrentOpaque;
            Since = outcome.Since;
        }
        if (applied.Value.Changed)
        {
            await _upkeep.RequestAsync([], applied.Value.State, cancellationToken);
        }
        return outcome;
    }

    /// <summary>Unregisters this critical reader, releasing its since hold.</summary>
    public async Task<PersistResult<bool>> ExpireAsync(CancellationToken cancellationToken = default)
    {
        PersistResult<Applied<bool>> applied = await _machine.ApplyAsync(
            "expire critical reader", (state, _) => StateTransitions.ExpireCriticalReader(state, ReaderId), cancellationToken);
        return applied.IsOk ? applied.Value.Outcome : applied.Error!;
    }
}
