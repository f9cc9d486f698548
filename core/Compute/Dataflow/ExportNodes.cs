using System.Collections.Generic;
using Kernel.Compute.Arrangements;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// An index a dataflow exports: the collection arranged by key with its errors beside it, shared with peeks and
/// with other dataflows on the replica that import it. <see cref="Upper"/> is its write frontier.
/// </summary>
public sealed class IndexState
{
    private readonly List<InputNode> _listeners = [];

    public IndexState(IndexExport export)
    {
        Export = export;
        Data = new Arrangement(export.Key);
    }

    public IndexExport Export { get; }

    public GlobalId Id => Export.IndexId;

    public Arrangement Data { get; }

    public ErrorCollection Errors { get; } = new();

    public Frontier Upper => Data.Upper;

    public Frontier Since => Data.Since;

    /// <summary>
    /// Feeds <paramref name="input"/> (an index import of another dataflow) with everything the index holds,
    /// then with every later change. False when the input's as-of is before the index's since.
    /// </summary>
    public bool Attach(InputNode input)
    {
        if (!Data.Since.LessEqual(input.AsOf))
        {
            return false;
        }
        foreach (Update update in Data.Updates())
        {
            input.Push(update.Row, update.Time, update.Diff);
        }
        foreach ((EvalError error, ulong time, long diff) in Errors.Updates())
        {
            input.PushError(error, time, diff);
        }
        input.AdvanceTo(Frontier.Join(Data.Upper, Frontier.At(input.AsOf)));
        _listeners.Add(input);
        return true;
    }

    public void Detach(InputNode input) => _listeners.Remove(input);

    /// <summary>Logical compaction of data and errors to <paramref name="since"/>.</summary>
    public void Compact(Frontier since)
    {
        Data.Compact(since);
        Errors.Compact(since);
    }

    internal void Insert(Update update)
    {
        Data.Insert(update.Row, update.Time, update.Diff);
        foreach (InputNode listener in _listeners)
        {
            listener.Push(update.Row, update.Time, update.Diff);
        }
    }

    internal void InsertError(ErrorUpdate error)
    {
        Errors.Insert(error.Error, error.Time, error.Diff);
        foreach (InputNode listener in _listeners)
        {
            listener.PushError(error.Error, error.Time, error.Diff);
        }
    }

    internal void AdvanceUpper(Frontier upper)
    {
        Data.AdvanceUpper(upper);
        foreach (InputNode listener in _listeners)
        {
            if (listener.Frontier < upper)
            {
                listener.AdvanceTo(upper);
            }
        }
    }
}

/// <summary>Arranges its input into an <see cref="IndexState"/>.</summary>
public sealed class ArrangeNode : Node
{
    public ArrangeNode(Node input, IndexState index)
        : base("arrange " + index.Id, [input])
    {
        Index = index;
    }

    public IndexState Index { get; }

    internal override bool Run()
    {
        Edge input = Inputs[0];
        bool changed = input.Data.Count > 0 || input.Errors.Count > 0;
        foreach (Update update in input.Data)
        {
            Index.Insert(update);
        }
        foreach (ErrorUpdate error in input.Errors)
        {
            Index.InsertError(error);
        }
        input.Data.Clear();
        input.Errors.Clear();
        Frontier frontier = input.Frontier;
        if (frontier > Index.Upper)
        {
            Index.AdvanceUpper(frontier);
        }
        return AdvanceOutput(frontier) | changed;
    }
}

/// <summary>
/// What a sink has received from its dataflow and not yet taken: updates, errors and the frontier below which
/// they are complete. The sink (subscribe or persist) drains it.
/// </summary>
public sealed class SinkBuffer
{
    public SinkBuffer(SinkExport export)
    {
        Export = export;
    }

    public SinkExport Export { get; }

    public GlobalId Id => Export.SinkId;

    public List<Update> Data { get; } = [];

    public List<ErrorUpdate> Errors { get; } = [];

    /// <summary>Every update at a time before this has arrived.</summary>
    public Frontier Frontier { get; internal set; } = Frontier.Minimum;
}

/// <summary>Hands its input to a <see cref="SinkBuffer"/>.</summary>
public sealed class SinkNode : Node
{
    public SinkNode(Node input, SinkBuffer buffer)
        : base("sink " + buffer.Id, [input])
    {
        Buffer = buffer;
    }

    public SinkBuffer Buffer { get; }

    internal override bool Run()
    {
        Edge input = Inputs[0];
        bool changed = input.Data.Count > 0 || input.Errors.Count > 0;
        Buffer.Data.AddRange(input.Data);
        Buffer.Errors.AddRange(input.Errors);
        input.Data.Clear();
        input.Errors.Clear();
        Frontier frontier = input.Frontier;
        if (frontier > Buffer.Frontier)
        {
            Buffer.Frontier = frontier;
        }
        return AdvanceOutput(frontier) | changed;
    }
}
