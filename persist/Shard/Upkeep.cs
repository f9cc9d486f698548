using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;

namespace Kernel.Persist.Shard;

/// <summary>
/// The compaction and maintenance that one handle's calls ask for, done after those calls return instead of before:
/// an append is acknowledged as soon as its state is in Consensus, and the merges and the maintenance pass it called
/// for follow on the same node loop, one at a time.
/// </summary>
/// <remarks>
/// Upkeep never decides correctness: a merge applies only if its inputs are still in the state, maintenance is safe
/// to run from anywhere at any time, and work that is dropped (a full queue, a crash, a failure) leaves batches
/// uncompacted or garbage uncollected until a later call asks again, never wrong. The queue is bounded by
/// <see cref="MergesQueuedMax"/>; at most one pass runs per handle. Owned by the handle's node loop.
/// </remarks>
internal sealed class Upkeep
{
    /// <summary>Merges waiting beyond this are dropped: a later write asks for the compaction again.</summary>
    public const int MergesQueuedMax = 64;

    private readonly PersistContext _context;
    private readonly ShardMachine _machine;
    private readonly Queue<MergeRequest> _merges = new();
    private bool _maintenanceDue;
    private bool _running;

    public Upkeep(PersistContext context, ShardMachine machine)
    {
        _context = context;
        _machine = machine;
    }

    /// <summary>Asks for <paramref name="merges"/> and, when <paramref name="state"/>'s seqno calls for it, a maintenance pass.</summary>
    public async Task RequestAsync(ImmutableArray<MergeRequest> merges, ShardState state, CancellationToken cancellationToken)
    {
        if (!_context.Config.InlineMaintenance)
        {
            return;
        }
        if (!_context.Config.UpkeepInBackground)
        {
            // Inline (the default): the caller waits for its own upkeep.
            if (_context.Config.CompactionEnabled)
            {
                foreach (MergeRequest merge in merges)
                {
                    await Compactor.CompactAsync(_context, _machine, merge, cancellationToken);
                }
            }
            await Maintenance.MaybeRunAsync(_context, _machine, state, cancellationToken);
            return;
        }
        if (_context.Config.CompactionEnabled)
        {
            foreach (MergeRequest merge in merges)
            {
                if (_merges.Count < MergesQueuedMax)
                {
                    _merges.Enqueue(merge);
                }
            }
        }
        _maintenanceDue |= Maintenance.IsDue(_context, state);
        if (!_running && (_merges.Count > 0 || _maintenanceDue))
        {
            _running = true;
            _ = RunAsync();
        }
    }

    private async Task RunAsync()
    {
        // Let the caller's continuation (the acknowledgement) run first.
        await Task.Yield();
        try
        {
            // Bounded: each round takes one queued item; the queue is bounded and new items come only from calls.
            while (true)
            {
                if (_merges.TryDequeue(out MergeRequest? merge))
                {
                    // Appends in a row each ask for a merge of the spine's tail, so the queue holds overlapping
                    // requests: once one applies, the others' inputs are gone. Skip those
                    // before reading and writing parts for nothing (the cached state is the newest this handle saw;
                    // a stale one only lets a request through, and the merge itself then checks again).
                    if (_machine.Cached is ShardState cached && !StateTransitions.MergeInputsPresent(cached, merge.Inputs))
                    {
                        continue;
                    }
                    await Compactor.CompactAsync(_context, _machine, merge, CancellationToken.None);
                }
                else if (_maintenanceDue)
                {
                    _maintenanceDue = false;
                    await Maintenance.RunAsync(_context, _machine, CancellationToken.None);
                }
                else
                {
                    break;
                }
            }
        }
        finally
        {
            _running = false;
        }
    }
}
