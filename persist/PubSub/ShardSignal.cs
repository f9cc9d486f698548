using System.Collections.Generic;
using System.Threading.Tasks;
using Kernel.Persist.Shard;

namespace Kernel.Persist.PubSub;

/// <summary>The newest seqno announced for one shard, and a completion that fires when a newer one is.</summary>
internal sealed class ShardSignal
{
    public ulong LatestSeqNo { get; private set; }

    public TaskCompletionSource Changed { get; private set; } = new();

    public bool Subscribed { get; set; }

    public void Advance(ulong seqNo)
    {
        if (seqNo <= LatestSeqNo)
        {
            return;
        }
        LatestSeqNo = seqNo;
        TaskCompletionSource fired = Changed;
        Changed = new TaskCompletionSource();
        fired.TrySetResult();
    }
}

internal sealed class ShardIdComparer : IComparer<ShardId>
{
    public static ShardIdComparer Instance { get; } = new();

    public int Compare(ShardId x, ShardId y) => string.CompareOrdinal(x.Value, y.Value);
}
