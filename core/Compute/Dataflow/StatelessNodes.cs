using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Expr.Eval;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// A collection fed from outside the dataflow (a persist source or an imported index): updates and errors are
/// pushed in, times before <see cref="AsOf"/> are advanced to it, and the frontier is set by the feeder.
/// </summary>
public sealed class InputNode : Node
{
    private readonly List<Update> _pending = [];
    private readonly List<ErrorUpdate> _pendingErrors = [];
    private Frontier _frontier = Frontier.Minimum;

    public InputNode(string name, ulong asOf)
        : base(name, [])
    {
        AsOf = asOf;
    }

    public ulong AsOf { get; }

    /// <summary>The frontier the feeder has announced (applied on the next run).</summary>
    public Frontier Frontier => _frontier;

    /// <summary>Adds an update; its time must be at or beyond the announced frontier (after advancing to the as-of).</summary>
    public void Push(Row row, ulong time, long diff)
    {
        time = Math.Max(time, AsOf);
        CheckPushTime(time);
        _pending.Add(new Update(row, time, diff));
    }

    public void PushError(EvalError error, ulong time, long diff)
    {
        time = Math.Max(time, AsOf);
        CheckPushTime(time);
        _pendingErrors.Add(new ErrorUpdate(error, time, diff));
    }

    /// <summary>Announces that no update before <paramref name="frontier"/> will be pushed any more (never back).</summary>
    public void AdvanceTo(Frontier frontier)
    {
        if (frontier < _frontier)
        {
            throw new InvalidOperationException($"{Name}: input frontier moving back from {_frontier} to {frontier}");
        }
        _frontier = frontier;
    }

    internal override bool Run()
    {
        bool changed = _pending.Count > 0 || _pendingErrors.Count > 0;
        foreach (Update update in _pending)
        {
            Emit(update.Row, update.Time, update.Diff);
        }
        foreach (ErrorUpdate error in _pendingErrors)
        {
            EmitError(error.Error, error.Time, error.Diff);
        }
        _pending.Clear();
        _pendingErrors.Clear();
        return AdvanceOutput(_frontier) | changed;
    }

    private void CheckPushTime(ulong time)
    {
        if (_frontier.IsBeyond(time))
        {
            throw new InvalidOperationException($"{Name}: pushed an update at {time}, before the announced frontier {_frontier}");
        }
    }
}

/// <summary>A fixed collection: all rows at the as-of, then the frontier closes.</summary>
public sealed class ConstantNode : Node
{
    private readonly ImmutableArray<(Row Row, long Diff)> _rows;
    private readonly ulong _asOf;

    public ConstantNode(ImmutableArray<(Row Row, long Diff)> rows, ulong asOf)
        : base("constant", [])
    {
        _rows = rows;
        _asOf = asOf;
    }

    internal override bool Run()
    {
        if (OutputFrontier.IsEmpty)
        {
            return false;
        }
        foreach ((Row row, long diff) in _rows)
        {
            Emit(row, _asOf, diff);
        }
        return AdvanceOutput(Frontier.Empty);
    }
}

/// <summary>
/// Map, filter and project fused: <see cref="Map"/> appends scalars, <see cref="Filter"/> keeps rows whose
/// predicates are all true, <see cref="Project"/> keeps columns. An evaluation error sends (error, time, diff) to
/// the error collection and drops the row.
/// </summary>
public sealed class MapFilterProjectNode : Node
{
    private readonly ImmutableArray<ScalarExpr> _scalars;
    private readonly ImmutableArray<ScalarExpr> _predicates;
    private readonly ImmutableArray<int> _projection;
    private readonly int _inputArity;

    private MapFilterProjectNode(string name, Node input, int inputArity, ImmutableArray<ScalarExpr> scalars, ImmutableArray<ScalarExpr> predicates, ImmutableArray<int> projection)
        : base(name, [input])
    {
        _inputArity = inputArity;
        _scalars = scalars;
        _predicates = predicates;
        _projection = projection;
    }

    public static MapFilterProjectNode Map(Node input, int inputArity, ImmutableArray<ScalarExpr> scalars) =>
        new("map", input, inputArity, scalars, [], default);

    public static MapFilterProjectNode Filter(Node input, int inputArity, ImmutableArray<ScalarExpr> predicates) =>
        new("filter", input, inputArity, [], predicates, default);

    public static MapFilterProjectNode Project(Node input, int inputArity, ImmutableArray<int> outputs) =>
        new("project", input, inputArity, [], [], outputs);

    internal override bool Run()
    {
        Edge input = Inputs[0];
        bool changed = input.Data.Count > 0 || input.Errors.Count > 0;
        ForwardErrors();
        foreach (Update update in input.Data)
        {
            Process(update);
        }
        input.Data.Clear();
        return AdvanceOutput(input.Frontier) | changed;
    }

    private void Process(Update update)
    {
        Row row = update.Row;
        if (row.Count != _inputArity)
        {
            throw new InvalidOperationException($"{Name}: row {row} has {row.Count} columns, expected {_inputArity}");
        }
        if (_scalars.Length > 0)
        {
            var datums = new Datum[_inputArity + _scalars.Length];
            row.Datums.CopyTo(datums);
            for (int i = 0; i < _scalars.Length; i++)
            {
                if (!Evaluator.TryEval(_scalars[i], datums.AsSpan(0, _inputArity + i), out Datum value, out EvalError? error))
                {
                    EmitError(error, update.Time, update.Diff);
                    return;
                }
                datums[_inputArity + i] = value;
            }
            row = new Row(datums);
        }
        foreach (ScalarExpr predicate in _predicates)
        {
            if (!Evaluator.TryIsTrue(predicate, row.Datums, out bool isTrue, out EvalError? error))
            {
                EmitError(error, update.Time, update.Diff);
                return;
            }
            if (!isTrue)
            {
                return;
            }
        }
        if (!_projection.IsDefault)
        {
            var datums = new Datum[_projection.Length];
            for (int i = 0; i < _projection.Length; i++)
            {
                datums[i] = row[_projection[i]];
            }
            row = new Row(datums);
        }
        Emit(row, update.Time, update.Diff);
    }
}

/// <summary>The sum of its inputs (UNION ALL); with one input and <c>negate</c>, every data diff negated (errors unchanged).</summary>
public sealed class ConcatNode : Node
{
    private readonly bool _negate;

    public ConcatNode(IReadOnlyList<Node> inputs, bool negate)
        : base(negate ? "negate" : "union", inputs)
    {
        _negate = negate;
    }

    internal override bool Run()
    {
        bool changed = false;
        foreach (Edge input in Inputs)
        {
            changed |= input.Data.Count > 0 || input.Errors.Count > 0;
            foreach (Update update in input.Data)
            {
                Emit(update.Row, update.Time, _negate ? checked(-update.Diff) : update.Diff);
            }
            input.Data.Clear();
        }
        ForwardErrors();
        return AdvanceOutput(InputFrontier()) | changed;
    }
}
