using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Compute.Arrangements;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// GROUP BY: per group key, the key columns then one column per aggregate. For each complete time, the groups
/// that changed retract their previous output row and insert the new one; unchanged groups cost nothing.
/// </summary>
/// <remarks>
/// With <see cref="Reduce.Global"/> and an empty key there is always exactly one output row: the value over
/// no rows (count 0, others NULL) is emitted at the as-of, and replaced while the input is non-empty.
/// A group whose aggregate fails (sum overflow) outputs that error instead of a row; an aggregate argument that
/// fails to evaluate sends the error (with the input row's time and diff) to the error collection and leaves
/// the value out. A group whose row count goes negative (a retraction without an insertion) outputs an error.
/// </remarks>
public sealed class ReduceNode : TimeOrderedNode
{
    private static readonly EvalError s_negativeCount = new("XX000", "internal error: negative multiplicity in reduce input");

    private readonly ImmutableArray<int> _groupKey;
    private readonly ImmutableArray<AggregateExpr> _aggregates;
    private readonly bool _global;
    private readonly ulong _asOf;
    private readonly Dictionary<Row, Group> _groups = [];
    private readonly List<Group> _dirty = [];
    private bool _defaultEmitted;

    public ReduceNode(Node input, ImmutableArray<int> groupKey, ImmutableArray<AggregateExpr> aggregates, bool global, ulong asOf)
        : base("reduce", input)
    {
        _groupKey = groupKey;
        _aggregates = aggregates;
        _global = global && groupKey.Length == 0;
        _asOf = asOf;
    }

    /// <summary>Groups currently held (for tests and introspection).</summary>
    public int GroupCount => _groups.Count;

    protected override void BeforeTimes()
    {
        if (_global && !_defaultEmitted)
        {
            _defaultEmitted = true;
            Group group = GetGroup(Row.Empty);
            (group.OutputRow, group.OutputError) = Output(group);
            EmitOutput(group.OutputRow, group.OutputError, _asOf, 1);
        }
    }

    protected override void ProcessTime(ulong time, List<Update> updates)
    {
        foreach (Update update in updates)
        {
            Row key = Arrangement.ExtractKey(update.Row, _groupKey);
            Group group = GetGroup(key);
            group.Count = checked(group.Count + update.Diff);
            ReadOnlySpan<Datum> datums = update.Row.Datums;
            for (int i = 0; i < _aggregates.Length; i++)
            {
                AggregateExpr aggregate = _aggregates[i];
                if (aggregate.Func == AggregateFunc.CountAll)
                {
                    continue;
                }
                if (!Evaluator.TryEval(aggregate.Expr, datums, out Datum value, out EvalError? error))
                {
                    EmitError(error, time, update.Diff);
                    continue;
                }
                group.Aggregates[i].Apply(value, update.Diff);
            }
            if (!group.Dirty)
            {
                group.Dirty = true;
                _dirty.Add(group);
            }
        }
        foreach (Group group in _dirty)
        {
            group.Dirty = false;
            (Row? row, EvalError? error) = group.Count == 0 && !_global ? (null, null) : Output(group);
            if (!Equals(row, group.OutputRow) || !Equals(error, group.OutputError))
            {
                EmitOutput(group.OutputRow, group.OutputError, time, -1);
                EmitOutput(row, error, time, 1);
                group.OutputRow = row;
                group.OutputError = error;
            }
            if (group.Count == 0 && !_global)
            {
                _groups.Remove(group.Key);
            }
        }
        _dirty.Clear();
    }

    private Group GetGroup(Row key)
    {
        if (!_groups.TryGetValue(key, out Group? group))
        {
            var states = new AggregateState[_aggregates.Length];
            for (int i = 0; i < states.Length; i++)
            {
                states[i] = new AggregateState(_aggregates[i]);
            }
            group = new Group(key, states);
            _groups.Add(key, group);
        }
        return group;
    }

    private (Row? Row, EvalError? Error) Output(Group group)
    {
        if (group.Count < 0)
        {
            return (null, s_negativeCount);
        }
        var datums = new Datum[group.Key.Count + _aggregates.Length];
        group.Key.Datums.CopyTo(datums);
        for (int i = 0; i < _aggregates.Length; i++)
        {
            if (!group.Aggregates[i].TryResult(group.Count, out Datum value, out EvalError? error))
            {
                return (null, error);
            }
            datums[group.Key.Count + i] = value;
        }
        return (new Row(datums), null);
    }

    private void EmitOutput(Row? row, EvalError? error, ulong time, long diff)
    {
        if (row is not null)
        {
            Emit(row, time, diff);
        }
        if (error is not null)
        {
            EmitError(error, time, diff);
        }
    }

    private sealed class Group(Row key, AggregateState[] aggregates)
    {
        public Row Key { get; } = key;

        public AggregateState[] Aggregates { get; } = aggregates;

        public long Count { get; set; }

        public bool Dirty { get; set; }

        public Row? OutputRow { get; set; }

        public EvalError? OutputError { get; set; }
    }
}
