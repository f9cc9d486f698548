using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Compute.Dataflow;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Replica;

/// <summary>
/// Applies a <see cref="RowSetFinishing"/> to a peek's rows: order by (PostgreSQL NULL placement, whole-row tie
/// break), skip the offset, keep the limit (a row of multiplicity n takes n positions), then project.
/// </summary>
public static class PeekFinishing
{
    /// <summary>The finished rows, or an error message when the finishing does not fit the rows' arity.</summary>
    public static ImmutableArray<(Row Row, long Count)> Apply(List<(Row Row, long Count)> rows, RowSetFinishing finishing, int arity, out string? error)
    {
        error = null;
        foreach (ColumnOrder order in finishing.OrderBy)
        {
            if (order.Column < 0 || order.Column >= arity)
            {
                error = $"ORDER BY column {order.Column} is out of range for {arity} columns";
                return [];
            }
        }
        ImmutableArray<int> project = finishing.Project.IsDefault ? [] : finishing.Project;
        foreach (int column in project)
        {
            if (column < 0 || column >= arity)
            {
                error = $"output column {column} is out of range for {arity} columns";
                return [];
            }
        }
        if (finishing.Offset < 0 || finishing.Limit is < 0)
        {
            error = "OFFSET and LIMIT must not be negative";
            return [];
        }
        var rowOrder = new RowOrder(finishing.OrderBy);
        rows.Sort((a, b) => rowOrder.Compare(a.Row, b.Row));
        var result = ImmutableArray.CreateBuilder<(Row Row, long Count)>();
        long skip = finishing.Offset;
        long remaining = finishing.Limit ?? long.MaxValue;
        foreach ((Row row, long count) in rows)
        {
            if (remaining <= 0)
            {
                break;
            }
            long available = count;
            long skipped = Math.Min(skip, available);
            skip -= skipped;
            available -= skipped;
            if (available <= 0)
            {
                continue;
            }
            long taken = Math.Min(available, remaining);
            remaining -= taken;
            result.Add((Project(row, project, arity), taken));
        }
        return result.ToImmutable();
    }

    private static Row Project(Row row, ImmutableArray<int> project, int arity)
    {
        if (project.Length == arity && row.Count == arity)
        {
            bool identity = true;
            for (int i = 0; i < project.Length && identity; i++)
            {
                identity = project[i] == i;
            }
            if (identity)
            {
                return row;
            }
        }
        var datums = new Datum[project.Length];
        for (int i = 0; i < project.Length; i++)
        {
            datums[i] = row[project[i]];
        }
        return new Row(datums);
    }
}
