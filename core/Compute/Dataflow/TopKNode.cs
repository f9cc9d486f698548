using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Compute.Arrangements;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// Per group, the rows from position <c>offset</c> to <c>offset + limit</c> in ORDER BY order (ties broken by
/// the whole row; a row of multiplicity n takes n positions). Each group keeps its rows in a sorted map and its
/// last output; for each complete time, the changed groups recompute their window (cost offset + limit, or the
/// group's size without a limit) and emit the difference from the previous output.
/// </summary>
public sealed class TopKNode : TimeOrderedNode
{
    private readonly ImmutableArray<int> _groupKey;
    private readonly long? _limit;
    private readonly long _offset;
    private readonly RowOrder _order;
    private readonly Dictionary<Row, TopKGroup> _groups = [];
    private readonly List<TopKGroup> _dirty = [];

    public TopKNode(Node input, ImmutableArray<int> groupKey, ImmutableArray<ColumnOrder> orderBy, long? limit, long offset)
        : base("topk", input)
    {
        _groupKey = groupKey;
        _limit = limit;
        _offset = Math.Max(0, offset);
        _order = new RowOrder(orderBy);
    }

    protected override void ProcessTime(ulong time, List<Update> updates)
    {
        foreach (Update update in updates)
        {
            Row key = Arrangement.ExtractKey(update.Row, _groupKey);
            if (!_groups.TryGetValue(key, out TopKGroup? group))
            {
                group = new TopKGroup(key, new SortedDictionary<Row, long>(_order));
                _groups.Add(key, group);
            }
            group.Rows.TryGetValue(update.Row, out long count);
            long after = checked(count + update.Diff);
            if (after == 0)
            {
                group.Rows.Remove(update.Row);
            }
            else
            {
                group.Rows[update.Row] = after;
            }
            if (!group.Dirty)
            {
                group.Dirty = true;
                _dirty.Add(group);
            }
        }
        foreach (TopKGroup group in _dirty)
        {
            group.Dirty = false;
            List<(Row Row, long Count)> window = Window(group.Rows);
            Dictionary<Row, long> difference = [];
            foreach ((Row row, long count) in window)
            {
                difference[row] = count;
            }
            foreach ((Row row, long count) in group.Output)
            {
                difference.TryGetValue(row, out long now);
                difference[row] = now - count;
            }
            // Emit in window order, then the rows that left, so the emission order is deterministic.
            foreach ((Row row, _) in window)
            {
                Emit(row, time, difference[row]);
                difference[row] = 0;
            }
            foreach ((Row row, _) in group.Output)
            {
                Emit(row, time, difference[row]);
                difference[row] = 0;
            }
            group.Output = window;
            if (group.Rows.Count == 0)
            {
                _groups.Remove(group.Key);
            }
        }
        _dirty.Clear();
    }

    private List<(Row Row, long Count)> Window(SortedDictionary<Row, long> rows)
    {
        var window = new List<(Row Row, long Count)>();
        long skip = _offset;
        long remaining = _limit ?? long.MaxValue;
        foreach ((Row row, long count) in rows)
        {
            if (remaining <= 0)
            {
                break;
            }
            if (count <= 0)
            {
                continue;
            }
            long available = count;
            if (skip > 0)
            {
                long skipped = Math.Min(skip, available);
                skip -= skipped;
                available -= skipped;
            }
            if (available <= 0)
            {
                continue;
            }
            long taken = Math.Min(available, remaining);
            remaining -= taken;
            window.Add((row, taken));
        }
        return window;
    }

    private sealed class TopKGroup(Row key, SortedDictionary<Row, long> rows)
    {
        public Row Key { get; } = key;

        public SortedDictionary<Row, long> Rows { get; } = rows;

        public List<(Row Row, long Count)> Output { get; set; } = [];

        public bool Dirty { get; set; }
    }
}

/// <summary>
/// ORDER BY order over rows with PostgreSQL NULL placement (each term says where NULLs go), ties broken by the
/// whole row so the order is total.
/// </summary>
public sealed class RowOrder : IComparer<Row>
{
    private readonly ImmutableArray<ColumnOrder> _orderBy;

    public RowOrder(ImmutableArray<ColumnOrder> orderBy)
    {
        _orderBy = orderBy.IsDefault ? ImmutableArray<ColumnOrder>.Empty : orderBy;
    }

    public int Compare(Row? x, Row? y)
    {
        if (x is null || y is null)
        {
            return x is null ? (y is null ? 0 : -1) : 1;
        }
        foreach (ColumnOrder term in _orderBy)
        {
            Datum a = x[term.Column];
            Datum b = y[term.Column];
            int result;
            if (a.IsNull || b.IsNull)
            {
                if (a.IsNull && b.IsNull)
                {
                    continue;
                }
                // A NULL sorts after every value when NullsLast, before every value otherwise.
                result = a.IsNull == term.NullsLast ? 1 : -1;
            }
            else
            {
                result = a.CompareTo(b);
                if (term.Descending)
                {
                    result = -result;
                }
            }
            if (result != 0)
            {
                return result;
            }
        }
        return x.CompareTo(y);
    }
}
