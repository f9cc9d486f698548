using System;
using System.Buffers;
using System.Collections.Generic;
using System.Runtime.InteropServices;

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
        // Writers often hand over sorted updates (an arrangement's output, rows keyed in order): checking costs
        // n - 1 comparisons and usually stops at the first pair out of order, a sort of sorted input n log2 n.
        if (!IsSorted(updates))
        {
            updates.Sort(UpdateComparer.Instance);
        }
        return ConsolidateSorted(updates);
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
        Advance(updates, since);
        return ConsolidateInPlace(updates);
    }

    /// <summary>
    /// Runs shorter than this on average are sorted together rather than merged: 64 runs of 10 updates (a merge of
    /// inline batches, one commit each) took as long either way and merging allocated three times as much
    /// (ConsolidationBenchmarks, when each merge of two runs allocated a new list).
    /// </summary>
    public const int MergeRunUpdatesMin = 64;

    /// <summary>
    /// <see cref="AdvanceAndConsolidateInPlace"/> of the concatenation of <paramref name="runs"/>, by merging them
    /// when each is sorted by (row, time), as every part persist writes is: about n log2 k comparisons for k runs
    /// of n updates in all instead of a sort's n log2 n, which for a compaction of two or three large batches is
    /// most of its CPU. Runs are merged two at a time, in rounds, then equal (row, time) pairs are summed in one pass.
    /// Advancing times to the since keeps a sorted run sorted (max(t, since) never reverses two times). An
    /// unsorted run is not an error: the runs are then concatenated and sorted, as are many short runs
    /// (<see cref="MergeRunUpdatesMin"/>). The runs' lists are advanced in place.
    /// </summary>
    public static List<Update> MergeAndConsolidate(List<List<Update>> runs, Frontier since)
    {
        int total = 0;
        foreach (List<Update> run in runs)
        {
            total += run.Count;
        }
        // Short runs are sorted together anyway: only check sortedness where a merge may follow.
        if (total < MergeRunUpdatesMin * runs.Count || !runs.TrueForAll(IsSorted))
        {
            var all = new List<Update>(total);
            foreach (List<Update> run in runs)
            {
                all.AddRange(run);
            }
            return AdvanceAndConsolidateInPlace(all, since);
        }
        if (runs.Count == 0)
        {
            return [];
        }
        // Rounds of merges of neighbouring runs, back and forth between the result's storage and one scratch array,
        // starting in whichever makes the last round land in the result: two arrays in all, where a new list per
        // merge allocated the updates once per round again (log2 k times).
        int rounds = 0;
        for (int k = runs.Count; k > 1; k = (k + 1) / 2)
        {
            rounds++;
        }
        var merged = new List<Update>(total);
        CollectionsMarshal.SetCount(merged, total);
        Update[] scratch = rounds == 0 ? [] : ArrayPool<Update>.Shared.Rent(total);
        try
        {
            Span<Update> source = rounds % 2 == 0 ? CollectionsMarshal.AsSpan(merged) : scratch.AsSpan(0, total);
            Span<Update> target = rounds % 2 == 0 ? scratch.AsSpan(0, rounds == 0 ? 0 : total) : CollectionsMarshal.AsSpan(merged);
            var starts = new List<int>(runs.Count + 1);
            int at = 0;
            foreach (List<Update> run in runs)
            {
                Advance(run, since);
                starts.Add(at);
                CollectionsMarshal.AsSpan(run).CopyTo(source[at..]);
                at += run.Count;
            }
            starts.Add(total);
            // Bounded: each round halves the number of runs.
            while (starts.Count > 2)
            {
                var next = new List<int>(starts.Count / 2 + 2);
                int i = 0;
                for (; i + 2 < starts.Count; i += 2)
                {
                    next.Add(starts[i]);
                    MergeTwo(source[starts[i]..starts[i + 1]], source[starts[i + 1]..starts[i + 2]], target[starts[i]..starts[i + 2]]);
                }
                if (i + 1 < starts.Count)
                {
                    // An odd run out: copied as it is.
                    next.Add(starts[i]);
                    source[starts[i]..starts[i + 1]].CopyTo(target[starts[i]..]);
                }
                next.Add(total);
                starts = next;
                Span<Update> swap = source;
                source = target;
                target = swap;
            }
        }
        finally
        {
            if (rounds > 0)
            {
                ArrayPool<Update>.Shared.Return(scratch, clearArray: true); // it holds rows
            }
        }
        // Equal (row, time) pairs, from different runs or made equal by the advance, are adjacent now: sum them once.
        return ConsolidateSorted(merged);
    }

    /// <summary>Merges two sorted runs into <paramref name="into"/> (their combined length); equal (row, time) pairs are summed later, once.</summary>
    private static void MergeTwo(ReadOnlySpan<Update> left, ReadOnlySpan<Update> right, Span<Update> into)
    {
        int l = 0, r = 0, w = 0;
        while (l < left.Length && r < right.Length)
        {
            into[w++] = UpdateComparer.Instance.Compare(left[l], right[r]) <= 0 ? left[l++] : right[r++];
        }
        left[l..].CopyTo(into[w..]);
        right[r..].CopyTo(into[(w + left.Length - l)..]);
    }

    /// <summary>Sums adjacent equal (row, time) pairs of a sorted list and drops zero sums, in place.</summary>
    private static List<Update> ConsolidateSorted(List<Update> updates)
    {
        int write = 0;
        for (int read = 0; read < updates.Count; read++)
        {
            Update current = updates[read];
            if (write > 0 && SameRowAndTime(updates[write - 1], current))
            {
                updates[write - 1] = updates[write - 1] with { Diff = checked(updates[write - 1].Diff + current.Diff) };
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

    /// <summary>
    /// Equal row and time, by comparison rather than <see cref="Row.Equals(Row)"/>: rows decoded from a part have no
    /// hash yet, and computing one to tell two rows apart costs more than the comparison that usually settles it at
    /// the first column.
    /// </summary>
    private static bool SameRowAndTime(in Update a, in Update b) => a.Time == b.Time && a.Row.CompareTo(b.Row) == 0;

    /// <summary>Moves every time below <paramref name="since"/> up to it, in place.</summary>
    private static void Advance(List<Update> updates, Frontier since)
    {
        if (since.IsEmpty)
        {
            return;
        }
        for (int i = 0; i < updates.Count; i++)
        {
            Update update = updates[i];
            if (update.Time < since.Time)
            {
                updates[i] = update with { Time = since.Time };
            }
        }
    }

    private static bool IsSorted(List<Update> run)
    {
        for (int i = 1; i < run.Count; i++)
        {
            if (UpdateComparer.Instance.Compare(run[i - 1], run[i]) > 0)
            {
                return false;
            }
        }
        return true;
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
