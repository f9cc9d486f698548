using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>
/// A built dataflow: its operators in topological order, the inputs its sources feed, and its exports (indexes
/// and sink buffers). Synchronous: <see cref="Step"/> moves pending updates through every operator once.
/// </summary>
/// <remarks>Owned by the replica's loop. Build one with <see cref="DataflowBuilder.Build"/>.</remarks>
public sealed class Dataflow
{
    private readonly List<Node> _nodes;
    private readonly List<(IndexState Index, InputNode Input)> _imports;

    internal Dataflow(
        DataflowDescription description,
        List<Node> nodes,
        ImmutableSortedDictionary<GlobalId, InputNode> sourceInputs,
        List<(IndexState Index, InputNode Input)> imports,
        ImmutableSortedDictionary<GlobalId, IndexState> indexes,
        ImmutableSortedDictionary<GlobalId, SinkBuffer> sinks)
    {
        Description = description;
        _nodes = nodes;
        SourceInputs = sourceInputs;
        _imports = imports;
        Indexes = indexes;
        Sinks = sinks;
    }

    public DataflowDescription Description { get; }

    /// <summary>The inputs of the source imports, by collection id: a persist source (or a test) feeds them.</summary>
    public ImmutableSortedDictionary<GlobalId, InputNode> SourceInputs { get; }

    /// <summary>The index exports, by index id.</summary>
    public ImmutableSortedDictionary<GlobalId, IndexState> Indexes { get; }

    /// <summary>The sink exports, by sink id.</summary>
    public ImmutableSortedDictionary<GlobalId, SinkBuffer> Sinks { get; }

    /// <summary>The meet of every input's frontier (sources and imported indexes).</summary>
    public Frontier InputFrontier
    {
        get
        {
            Frontier meet = Frontier.Empty;
            foreach (InputNode input in SourceInputs.Values)
            {
                meet = Frontier.Meet(meet, input.Frontier);
            }
            foreach ((_, InputNode input) in _imports)
            {
                meet = Frontier.Meet(meet, input.Frontier);
            }
            return meet;
        }
    }

    /// <summary>Runs every operator once, in topological order; true when anything moved.</summary>
    public bool Step()
    {
        bool changed = false;
        foreach (Node node in _nodes)
        {
            changed |= node.Run();
        }
        return changed;
    }

    /// <summary>Steps until nothing moves (bounded: each step drains every edge, so two steps normally suffice).</summary>
    public void StepUntilIdle()
    {
        for (int i = 0; i < 1000; i++)
        {
            if (!Step())
            {
                return;
            }
        }
        throw new InvalidOperationException($"dataflow {Description.DebugName} did not settle in 1000 steps");
    }

    /// <summary>Stops receiving from imported indexes (when the dataflow is dropped).</summary>
    public void Detach()
    {
        foreach ((IndexState index, InputNode input) in _imports)
        {
            index.Detach(input);
        }
    }
}
