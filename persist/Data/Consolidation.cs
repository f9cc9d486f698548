using System;
using System.Collections.Generic;

namespace Kernel.Persist.Data;

/// <summary>
/// Consolidation: the canonical form of a multiset of updates. Sort by (row, time), sum the diffs of equal
/// (row, time) pairs, drop zero sums. Two collections are equal exactly when their consolidated forms are.
/// </summary>
public static class Consolidation
{
    /// <summary>Consolidates <paramref name="updates"/> in place and returns it; the result is sorted.</summary>
    /// <exception cref="OverflowException">A sum of diffs does not fit in a long: a broken invariant upstream.</exception>
    public static List<Update> ConsolidateInPlace(List<Update> updates)
    {
        if (updates.Count == 0)
        {
            return updates;
        }
        updates.Sort(UpdateComparer.Instance);
        int write = 0;
        for (int read = 0; read < updates.Count; read++)
        {
            Update current = updates[read];
            if (write > 0 && updates[write - 1].Time == current.Time && updates[write - 1].Row.Equals(current.Row))
            {
                Update previous = updates[write - 1];
                updates[write - 1] = previous with { Diff = checked(previous.Diff + current.Diff) };
            }
            else
            {
                updates[write++] = current;
            }
        }
        updates.RemoveRange(write, updates.Count - write);
        updates.RemoveAll(static update => update.Diff == 0);
        return updates;
    }

    /// <summary>A consolidated copy of <paramref name="updates"/>.</summary>
    public static List<Update> Consolidate(IEnumerable<Update> updates) => ConsolidateInPlace(new List<Update>(updates));

    /// <summary>
    /// Advances every time below <paramref name="since"/> to it (logical compaction), then consolidates in place.
    /// Updates at times at or beyond <paramref name="since"/> keep their times, so a read at any time at or
    /// beyond since sees the same accumulated collection before and after.
    /// </summary>
    public static List<Update> AdvanceAndConsolidateInPlace(List<Update> updates, Frontier since)
    {
        if (!since.IsEmpty)
        {
            for (int i = 0; i < updates.Count; i++)
            {
                Update update = updates[i];
                if (update.Time < since.Time)
                {
                    updates[i] = update with { Time = since.Time };
                }
            }
        }
        return ConsolidateInPlace(updates);
    }

    /// <summary>The collection's contents at <paramref name="asOf"/>: updates at times up to it, all moved to it, consolidated.</summary>
    public static List<Update> AccumulateAt(IEnumerable<Update> updates, ulong asOf)
    {
        var result = new List<Update>();
        foreach (Update update in updates)
        {
            if (update.Time <= asOf)
            {
                result.Add(update with { Time = asOf });
            }
        }
        return ConsolidateInPlace(result);
    }
}
