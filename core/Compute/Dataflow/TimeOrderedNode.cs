using System.Collections.Generic;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// Base of operators that need every update of a time before they can answer for it (reduce, distinct,
/// threshold, top-k): updates wait in a buffer ordered by time until the input frontier passes their time, then
/// each complete time is processed once, in time order, and its output diffs are emitted at that time.
/// Errors pass through at once (their times are at or beyond the input frontier, hence the output frontier).
/// </summary>
public abstract class TimeOrderedNode : Node
{
    private readonly SortedDictionary<ulong, List<Update>> _pending = [];
    private readonly Stack<List<Update>> _spareLists = new();

    protected TimeOrderedNode(string name, Node input)
        : base(name, [input])
    {
    }

    internal override bool Run()
    {
        Edge input = Inputs[0];
        bool changed = input.Data.Count > 0 || input.Errors.Count > 0;
        ForwardErrors();
        foreach (Update update in input.Data)
        {
            if (!_pending.TryGetValue(update.Time, out List<Update>? atTime))
            {
                atTime = _spareLists.Count > 0 ? _spareLists.Pop() : [];
                _pending.Add(update.Time, atTime);
            }
            atTime.Add(update);
        }
        input.Data.Clear();

        Frontier frontier = input.Frontier;
        BeforeTimes();
        while (_pending.Count > 0)
        {
            ulong time = FirstKey();
            if (frontier.LessEqual(time))
            {
                break;
            }
            List<Update> updates = _pending[time];
            _pending.Remove(time);
            ProcessTime(time, updates);
            updates.Clear();
            _spareLists.Push(updates);
            changed = true;
        }
        return AdvanceOutput(frontier) | changed;
    }

    /// <summary>Called at the start of every run, before any time is processed (for output owed at the as-of).</summary>
    protected virtual void BeforeTimes()
    {
    }

    /// <summary>Applies every update of <paramref name="time"/> (all of them, in arrival order) and emits the output diffs at it.</summary>
    protected abstract void ProcessTime(ulong time, List<Update> updates);

    private ulong FirstKey()
    {
        using SortedDictionary<ulong, List<Update>>.Enumerator enumerator = _pending.GetEnumerator();
        enumerator.MoveNext();
        return enumerator.Current.Key;
    }
}
