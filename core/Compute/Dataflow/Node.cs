using System;
using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>One change to an error collection: <see cref="Error"/> gains <see cref="Diff"/> copies at <see cref="Time"/>.</summary>
public readonly record struct ErrorUpdate(EvalError Error, ulong Time, long Diff);

/// <summary>
/// The connection from one node's output to one input of another: the updates (data and errors) sent but not
/// yet consumed. The frontier of the input is the source node's <see cref="Node.OutputFrontier"/>.
/// </summary>
public sealed class Edge
{
    internal Edge(Node source)
    {
        Source = source;
    }

    public Node Source { get; }

    internal List<Update> Data { get; } = [];

    internal List<ErrorUpdate> Errors { get; } = [];

    /// <summary>The input frontier: no update at a time before it will arrive on this edge any more.</summary>
    public Frontier Frontier => Source.OutputFrontier;
}

/// <summary>
/// An operator of a dataflow. Every node consumes updates from its input edges, produces updates for its
/// output edges, and keeps an output frontier that only moves forward; it never emits at a time before it.
/// </summary>
/// <remarks>
/// A dataflow runs its nodes in creation order, which is topological (inputs are created first): one pass of
/// <see cref="Run"/> over all nodes moves every pending update as far as it can go. Data and errors travel on
/// the same edges; errors go through every operator unchanged except where an operator creates new ones.
/// </remarks>
public abstract class Node
{
    private readonly List<Edge> _outputs = [];

    protected Node(string name, IReadOnlyList<Node> inputs)
    {
        Name = name;
        var edges = new Edge[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            edges[i] = inputs[i].Connect();
        }
        Inputs = edges;
    }

    /// <summary>For tracing and error messages.</summary>
    public string Name { get; }

    /// <summary>No update at a time before this will be emitted any more.</summary>
    public Frontier OutputFrontier { get; private set; } = Frontier.Minimum;

    protected IReadOnlyList<Edge> Inputs { get; }

    /// <summary>Updates emitted since this counter was last read; the dataflow uses it to tell progress.</summary>
    internal long Emitted { get; set; }

    /// <summary>A new output edge to a consumer.</summary>
    internal Edge Connect()
    {
        var edge = new Edge(this);
        _outputs.Add(edge);
        return edge;
    }

    /// <summary>Consumes pending input, emits, advances the output frontier. True when anything changed.</summary>
    internal abstract bool Run();

    /// <summary>The meet of the input frontiers (empty when there are no inputs).</summary>
    protected Frontier InputFrontier()
    {
        Frontier meet = Frontier.Empty;
        foreach (Edge input in Inputs)
        {
            meet = Frontier.Meet(meet, input.Frontier);
        }
        return meet;
    }

    protected void Emit(Row row, ulong time, long diff)
    {
        if (diff == 0)
        {
            return;
        }
        CheckTime(time);
        var update = new Update(row, time, diff);
        foreach (Edge output in _outputs)
        {
            output.Data.Add(update);
        }
        Emitted++;
    }

    protected void EmitError(EvalError error, ulong time, long diff)
    {
        if (diff == 0)
        {
            return;
        }
        CheckTime(time);
        var update = new ErrorUpdate(error, time, diff);
        foreach (Edge output in _outputs)
        {
            output.Errors.Add(update);
        }
        Emitted++;
    }

    /// <summary>Passes every pending error of every input through unchanged, and clears them.</summary>
    protected void ForwardErrors()
    {
        foreach (Edge input in Inputs)
        {
            foreach (ErrorUpdate error in input.Errors)
            {
                EmitError(error.Error, error.Time, error.Diff);
            }
            input.Errors.Clear();
        }
    }

    /// <summary>Moves the output frontier forward; true when it moved.</summary>
    protected bool AdvanceOutput(Frontier frontier)
    {
        if (frontier < OutputFrontier)
        {
            throw new InvalidOperationException($"{Name}: output frontier moving back from {OutputFrontier} to {frontier}");
        }
        if (frontier == OutputFrontier)
        {
            return false;
        }
        OutputFrontier = frontier;
        return true;
    }

    private void CheckTime(ulong time)
    {
        if (OutputFrontier.IsBeyond(time))
        {
            throw new InvalidOperationException($"{Name}: emitting at {time}, before its output frontier {OutputFrontier}");
        }
    }
}
