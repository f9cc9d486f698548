using System.Collections.Generic;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// Distinct and threshold: keeps each row's accumulated count and, for each complete time, emits the change of
/// f(count) for the rows that changed, where f is <c>count &gt; 0 ? 1 : 0</c> (distinct) or <c>max(count, 0)</c>
/// (threshold). Work per time is proportional to the rows that changed.
/// </summary>
public sealed class CountNode : TimeOrderedNode
{
    private readonly bool _distinct;
    private readonly Dictionary<Row, long> _counts = [];
    private readonly Dictionary<Row, long> _before = [];
    private readonly List<Row> _changed = [];

    public CountNode(Node input, bool distinct)
        : base(distinct ? "distinct" : "threshold", input)
    {
        _distinct = distinct;
    }

    protected override void ProcessTime(ulong time, List<Update> updates)
    {
        foreach (Update update in updates)
        {
            _counts.TryGetValue(update.Row, out long count);
            if (_before.TryAdd(update.Row, count))
            {
                _changed.Add(update.Row);
            }
            long after = checked(count + update.Diff);
            if (after == 0)
            {
                _counts.Remove(update.Row);
            }
            else
            {
                _counts[update.Row] = after;
            }
        }
        foreach (Row row in _changed)
        {
            long before = _before[row];
            _counts.TryGetValue(row, out long after);
            Emit(row, time, checked(Output(after) - Output(before)));
        }
        _changed.Clear();
        _before.Clear();
    }

    private long Output(long count) => _distinct ? (count > 0 ? 1 : 0) : (count > 0 ? count : 0);
}
