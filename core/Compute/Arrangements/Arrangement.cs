using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Compute.Arrangements;

/// <summary>
/// A collection indexed by key columns: key → row → history of (time, diff). Used by joins and reduces inside a
/// dataflow, by index exports (shared with other dataflows and read by peeks).
/// </summary>
/// <remarks>
/// <para><see cref="Since"/> is the logical compaction frontier: times below it are indistinguishable, so they are
/// advanced to it and consolidated (zero sums dropped). <see cref="Upper"/> is the first time not yet complete:
/// inserts are only at times at or beyond it (checked), and <see cref="ReadAt"/> only at times in [since, upper).</para>
/// <para>Compaction is incremental: only the rows inserted into since the last compaction can have more than one
/// time below the new since, so only they are visited. A row that was compacted once holds a single entry.</para>
/// <para>Owned by one node loop; not thread-safe.</para>
/// </remarks>
public sealed class Arrangement
{
    private readonly Dictionary<Row, Dictionary<Row, History>> _byKey = [];
    private readonly List<(Row Key, Row Row, History History)> _touched = [];
    private readonly ImmutableArray<int> _keyColumns;

    public Arrangement(ImmutableArray<int> keyColumns)
    {
        _keyColumns = keyColumns.IsDefault ? ImmutableArray<int>.Empty : keyColumns;
    }

    /// <summary>The columns rows are indexed by, in order.</summary>
    public ImmutableArray<int> KeyColumns => _keyColumns;

    public Frontier Since { get; private set; } = Frontier.Minimum;

    public Frontier Upper { get; private set; } = Frontier.Minimum;

    /// <summary>Distinct keys currently held (including keys whose rows may accumulate to zero at some time).</summary>
    public int KeyCount => _byKey.Count;

    /// <summary>(key, row) entries currently held.</summary>
    public long EntryCount { get; private set; }

    /// <summary>The key of <paramref name="row"/>: its key columns, in order.</summary>
    public Row KeyOf(Row row) => ExtractKey(row, _keyColumns);

    /// <summary>The key columns of <paramref name="row"/> as a row.</summary>
    public static Row ExtractKey(Row row, ImmutableArray<int> columns)
    {
        if (columns.Length == 0)
        {
            return Row.Empty;
        }
        var datums = new Datum[columns.Length];
        for (int i = 0; i < columns.Length; i++)
        {
            datums[i] = row[columns[i]];
        }
        return new Row(datums);
    }

    /// <summary>Adds <paramref name="diff"/> copies of <paramref name="row"/> at <paramref name="time"/> (advanced to the since).</summary>
    public void Insert(Row row, ulong time, long diff) => Insert(KeyOf(row), row, time, diff);

    /// <summary>Like <see cref="Insert(Row, ulong, long)"/> with the key already extracted.</summary>
    public void Insert(Row key, Row row, ulong time, long diff)
    {
        if (Upper.IsBeyond(time))
        {
            throw new InvalidOperationException($"arrangement insert at {time} is below its upper {Upper}");
        }
        if (diff == 0)
        {
            return;
        }
        if (!Since.IsEmpty && time < Since.Time)
        {
            time = Since.Time;
        }
        if (!_byKey.TryGetValue(key, out Dictionary<Row, History>? rows))
        {
            rows = [];
            _byKey.Add(key, rows);
        }
        if (!rows.TryGetValue(row, out History? history))
        {
            history = new History();
            rows.Add(row, history);
            EntryCount++;
        }
        history.Add(time, diff);
        if (!history.Queued && history.Count > 1)
        {
            history.Queued = true;
            _touched.Add((key, row, history));
        }
        else if (!history.Queued && history.Count == 1 && history.Diffs[0] == 0)
        {
            // A single entry that summed to zero: queue it so compaction can drop it.
            history.Queued = true;
            _touched.Add((key, row, history));
        }
    }

    /// <summary>Moves the upper forward (never back); everything below it is complete.</summary>
    public void AdvanceUpper(Frontier upper)
    {
        if (upper < Upper)
        {
            throw new InvalidOperationException($"arrangement upper moving back from {Upper} to {upper}");
        }
        Upper = upper;
    }

    /// <summary>
    /// Logical compaction to <paramref name="since"/> (never back): times below it advance to it and consolidate.
    /// The empty frontier is not a compaction target; the owner drops the arrangement instead.
    /// </summary>
    public void Compact(Frontier since)
    {
        if (since <= Since || since.IsEmpty)
        {
            return;
        }
        Since = since;
        ulong sinceTime = since.Time;
        int kept = 0;
        for (int i = 0; i < _touched.Count; i++)
        {
            (Row key, Row row, History history) = _touched[i];
            history.AdvanceAndConsolidate(sinceTime);
            if (history.Count == 0)
            {
                history.Queued = false;
                Dictionary<Row, History> rows = _byKey[key];
                rows.Remove(row);
                EntryCount--;
                if (rows.Count == 0)
                {
                    _byKey.Remove(key);
                }
            }
            else if (history.Count > 1 || history.Diffs[0] == 0)
            {
                _touched[kept++] = (key, row, history);
            }
            else
            {
                history.Queued = false;
            }
        }
        _touched.RemoveRange(kept, _touched.Count - kept);
    }

    /// <summary>The rows with a positive count at <paramref name="time"/>, sorted by row; requires since &lt;= time &lt; upper.</summary>
    public List<(Row Row, long Count)> ReadAt(ulong time)
    {
        if (!IsReadable(time))
        {
            throw new InvalidOperationException($"arrangement read at {time} outside [{Since}, {Upper})");
        }
        var result = new List<(Row Row, long Count)>();
        foreach (Dictionary<Row, History> rows in _byKey.Values)
        {
            foreach ((Row row, History history) in rows)
            {
                long count = history.AccumulateAt(time);
                if (count > 0)
                {
                    result.Add((row, count));
                }
            }
        }
        result.Sort(static (a, b) => a.Row.CompareTo(b.Row));
        return result;
    }

    /// <summary>True when <paramref name="time"/> is in [since, upper).</summary>
    public bool IsReadable(ulong time) => Since.LessEqual(time) && Upper.IsBeyond(time);

    /// <summary>Calls <paramref name="visit"/> for every (row, time, diff) under <paramref name="key"/>.</summary>
    public void ForEachUnderKey<TState>(Row key, ref TState state, Visitor<TState> visit)
    {
        if (!_byKey.TryGetValue(key, out Dictionary<Row, History>? rows))
        {
            return;
        }
        foreach ((Row row, History history) in rows)
        {
            for (int i = 0; i < history.Count; i++)
            {
                visit(ref state, row, history.Times[i], history.Diffs[i]);
            }
        }
    }

    /// <summary>Every (row, time, diff) held, in no particular order (callers consolidate).</summary>
    public IEnumerable<Update> Updates()
    {
        foreach (Dictionary<Row, History> rows in _byKey.Values)
        {
            foreach ((Row row, History history) in rows)
            {
                for (int i = 0; i < history.Count; i++)
                {
                    if (history.Diffs[i] != 0)
                    {
                        yield return new Update(row, history.Times[i], history.Diffs[i]);
                    }
                }
            }
        }
    }

    /// <summary>A callback over one entry of a key; <typeparamref name="TState"/> avoids a closure allocation.</summary>
    public delegate void Visitor<TState>(ref TState state, Row row, ulong time, long diff);

    /// <summary>The (time, diff) history of one row, kept short by compaction; times unsorted until consolidated.</summary>
    private sealed class History
    {
        public ulong[] Times = new ulong[1];
        public long[] Diffs = new long[1];
        public int Count;
        public bool Queued;

        public void Add(ulong time, long diff)
        {
            // Fold into an existing entry at the same time: the common case of repeated changes in one batch.
            for (int i = Count - 1; i >= 0 && i >= Count - 4; i--)
            {
                if (Times[i] == time)
                {
                    Diffs[i] = checked(Diffs[i] + diff);
                    return;
                }
            }
            if (Count == Times.Length)
            {
                Array.Resize(ref Times, Count * 2);
                Array.Resize(ref Diffs, Count * 2);
            }
            Times[Count] = time;
            Diffs[Count] = diff;
            Count++;
        }

        public long AccumulateAt(ulong time)
        {
            long sum = 0;
            for (int i = 0; i < Count; i++)
            {
                if (Times[i] <= time)
                {
                    sum = checked(sum + Diffs[i]);
                }
            }
            return sum;
        }

        public void AdvanceAndConsolidate(ulong since)
        {
            long below = 0;
            int write = 0;
            for (int i = 0; i < Count; i++)
            {
                if (Times[i] <= since)
                {
                    below = checked(below + Diffs[i]);
                }
                else if (Diffs[i] != 0)
                {
                    Times[write] = Times[i];
                    Diffs[write] = Diffs[i];
                    write++;
                }
            }
            if (below != 0)
            {
                // Keep the compacted entry first; order of the rest does not matter.
                if (write == Times.Length)
                {
                    Array.Resize(ref Times, write + 1);
                    Array.Resize(ref Diffs, write + 1);
                }
                Times[write] = since;
                Diffs[write] = below;
                write++;
            }
            Count = write;
        }
    }
}
