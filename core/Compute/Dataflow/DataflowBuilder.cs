using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;

namespace Kernel.Compute.Dataflow;

/// <summary>The outcome of building a dataflow: the dataflow, or why the description cannot be built.</summary>
public readonly record struct BuildResult(Dataflow? Dataflow, string? Error)
{
    public bool IsOk => Dataflow is not null;
}

/// <summary>
/// Turns a <see cref="DataflowDescription"/> into operators: one input per source import and per index import,
/// the objects to build in order (a <see cref="Get"/> names an import or an earlier object), then the exports.
/// A description that names unknown collections or columns out of range is refused with a message, never built.
/// </summary>
public static class DataflowBuilder
{
    /// <param name="description">What to build.</param>
    /// <param name="findIndex">The replica's existing index exports, for index imports (null when unknown).</param>
    public static BuildResult Build(DataflowDescription description, Func<GlobalId, IndexState?> findIndex)
    {
        var builder = new Builder(description.AsOf);
        try
        {
            return builder.Build(description, findIndex);
        }
        catch (PlanException e)
        {
            builder.DetachAll();
            return new BuildResult(null, e.Message);
        }
    }

    private sealed class PlanException(string message) : Exception(message);

    private sealed class Builder(ulong asOf)
    {
        private readonly List<Node> _nodes = [];
        private readonly Dictionary<GlobalId, (Node Node, int Arity)> _collections = [];
        private readonly List<(IndexState Index, InputNode Input)> _imports = [];

        public BuildResult Build(DataflowDescription description, Func<GlobalId, IndexState?> findIndex)
        {
            var sources = ImmutableSortedDictionary.CreateBuilder<GlobalId, InputNode>();
            foreach (SourceImport source in description.SourceImports)
            {
                var input = Add(new InputNode("source " + source.Id, asOf));
                Define(source.Id, input, source.RowType.Arity);
                sources[source.Id] = input;
            }
            foreach (IndexImport import in description.IndexImports)
            {
                IndexState index = findIndex(import.IndexId) ?? throw new PlanException($"index {import.IndexId} imported by {description.DebugName} does not exist on this replica");
                var input = Add(new InputNode("import " + import.IndexId, asOf));
                if (!index.Attach(input))
                {
                    throw new PlanException($"index {import.IndexId} cannot be read as of {asOf}: its since is {index.Since}");
                }
                _imports.Add((index, input));
                Define(import.On, input, import.RowType.Arity);
            }
            foreach (BuildDesc build in description.ObjectsToBuild)
            {
                (Node node, int arity) = Render(build.Plan);
                Define(build.Id, node, arity);
            }
            var indexes = ImmutableSortedDictionary.CreateBuilder<GlobalId, IndexState>();
            foreach (IndexExport export in description.IndexExports)
            {
                (Node node, int arity) = Lookup(export.On);
                CheckColumns(export.Key, arity, $"index {export.IndexId} key");
                var index = new IndexState(export);
                // Nothing before the as-of is ever correct in this dataflow, so nothing before it is readable.
                index.Compact(Frontier.At(asOf));
                Add(new ArrangeNode(node, index));
                if (!indexes.TryAdd(export.IndexId, index))
                {
                    throw new PlanException($"index {export.IndexId} is exported twice");
                }
            }
            var sinks = ImmutableSortedDictionary.CreateBuilder<GlobalId, SinkBuffer>();
            foreach (SinkExport export in description.SinkExports)
            {
                (Node node, _) = Lookup(export.From);
                var buffer = new SinkBuffer(export);
                Add(new SinkNode(node, buffer));
                if (!sinks.TryAdd(export.SinkId, buffer))
                {
                    throw new PlanException($"sink {export.SinkId} is exported twice");
                }
            }
            return new BuildResult(new Dataflow(description, _nodes, sources.ToImmutable(), _imports, indexes.ToImmutable(), sinks.ToImmutable()), null);
        }

        public void DetachAll()
        {
            foreach ((IndexState index, InputNode input) in _imports)
            {
                index.Detach(input);
            }
        }

        private T Add<T>(T node)
            where T : Node
        {
            _nodes.Add(node);
            return node;
        }

        private void Define(GlobalId id, Node node, int arity)
        {
            if (!_collections.TryAdd(id, (node, arity)))
            {
                throw new PlanException($"collection {id} is defined twice");
            }
        }

        private (Node Node, int Arity) Lookup(GlobalId id) =>
            _collections.TryGetValue(id, out (Node Node, int Arity) found) ? found : throw new PlanException($"collection {id} is not an import or an earlier object of the dataflow");

        private (Node Node, int Arity) Render(RelationExpr plan)
        {
            switch (plan)
            {
                case Constant constant:
                    foreach ((Row row, _) in constant.Rows)
                    {
                        if (row.Count != constant.RowType.Arity)
                        {
                            throw new PlanException($"constant row {row} does not have {constant.RowType.Arity} columns");
                        }
                    }
                    return (Add(new ConstantNode(constant.Rows, asOf)), constant.RowType.Arity);
                case Get get:
                    return Lookup(get.Id);
                case Map map:
                {
                    (Node input, int arity) = Render(map.Input);
                    for (int i = 0; i < map.Scalars.Length; i++)
                    {
                        CheckScalar(map.Scalars[i], arity + i);
                    }
                    return (Add(MapFilterProjectNode.Map(input, arity, map.Scalars)), arity + map.Scalars.Length);
                }
                case Filter filter:
                {
                    (Node input, int arity) = Render(filter.Input);
                    foreach (ScalarExpr predicate in filter.Predicates)
                    {
                        CheckScalar(predicate, arity);
                    }
                    return (Add(MapFilterProjectNode.Filter(input, arity, filter.Predicates)), arity);
                }
                case Project project:
                {
                    (Node input, int arity) = Render(project.Input);
                    CheckColumns(project.Outputs, arity, "project");
                    return (Add(MapFilterProjectNode.Project(input, arity, project.Outputs)), project.Outputs.Length);
                }
                case Join join:
                {
                    (Node left, int leftArity) = Render(join.Left);
                    (Node right, int rightArity) = Render(join.Right);
                    CheckColumns(join.LeftKey, leftArity, "join left key");
                    CheckColumns(join.RightKey, rightArity, "join right key");
                    if (join.LeftKey.Length != join.RightKey.Length)
                    {
                        throw new PlanException($"join keys differ in length ({join.LeftKey.Length} and {join.RightKey.Length})");
                    }
                    return (Add(new JoinNode(left, right, join.LeftKey, join.RightKey)), leftArity + rightArity);
                }
                case Reduce reduce:
                {
                    (Node input, int arity) = Render(reduce.Input);
                    CheckColumns(reduce.GroupKey, arity, "reduce key");
                    foreach (AggregateExpr aggregate in reduce.Aggregates)
                    {
                        CheckScalar(aggregate.Expr, arity);
                        CheckAggregate(aggregate);
                    }
                    return (Add(new ReduceNode(input, reduce.GroupKey, reduce.Aggregates, reduce.Global, asOf)), reduce.GroupKey.Length + reduce.Aggregates.Length);
                }
                case Distinct distinct:
                {
                    (Node input, int arity) = Render(distinct.Input);
                    return (Add(new CountNode(input, distinct: true)), arity);
                }
                case Threshold threshold:
                {
                    (Node input, int arity) = Render(threshold.Input);
                    return (Add(new CountNode(input, distinct: false)), arity);
                }
                case Negate negate:
                {
                    (Node input, int arity) = Render(negate.Input);
                    return (Add(new ConcatNode([input], negate: true)), arity);
                }
                case Union union:
                {
                    if (union.Inputs.IsDefaultOrEmpty)
                    {
                        throw new PlanException("union of no inputs");
                    }
                    var inputs = new List<Node>();
                    int arity = -1;
                    foreach (RelationExpr branch in union.Inputs)
                    {
                        (Node input, int branchArity) = Render(branch);
                        if (arity >= 0 && branchArity != arity)
                        {
                            throw new PlanException($"union inputs differ in arity ({arity} and {branchArity})");
                        }
                        arity = branchArity;
                        inputs.Add(input);
                    }
                    return (Add(new ConcatNode(inputs, negate: false)), arity);
                }
                case TopK topK:
                {
                    (Node input, int arity) = Render(topK.Input);
                    CheckColumns(topK.GroupKey, arity, "top-k key");
                    foreach (ColumnOrder order in topK.OrderBy)
                    {
                        CheckColumn(order.Column, arity, "top-k order");
                    }
                    if (topK.Limit is < 0 || topK.Offset < 0)
                    {
                        throw new PlanException("top-k limit and offset must not be negative");
                    }
                    return (Add(new TopKNode(input, topK.GroupKey, topK.OrderBy, topK.Limit, topK.Offset)), arity);
                }
                default:
                    throw new PlanException($"unsupported plan node {plan.GetType().Name}");
            }
        }

        private static void CheckAggregate(AggregateExpr aggregate)
        {
            if (aggregate.Func == AggregateFunc.Sum && aggregate.ResultType.Type.Kind is not (SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64 or SqlTypeKind.Numeric or SqlTypeKind.Float64))
            {
                throw new PlanException($"sum into {aggregate.ResultType.Type.Name} is not supported");
            }
        }

        private static void CheckColumns(ImmutableArray<int> columns, int arity, string what)
        {
            if (columns.IsDefault)
            {
                throw new PlanException($"{what}: no columns given");
            }
            foreach (int column in columns)
            {
                CheckColumn(column, arity, what);
            }
        }

        private static void CheckColumn(int column, int arity, string what)
        {
            if (column < 0 || column >= arity)
            {
                throw new PlanException($"{what}: column {column} is out of range for {arity} columns");
            }
        }

        private static void CheckScalar(ScalarExpr expr, int arity)
        {
            switch (expr)
            {
                case ColumnRef column:
                    CheckColumn(column.Index, arity, "scalar expression");
                    break;
                case Literal:
                    break;
                case CallUnary unary:
                    CheckScalar(unary.Arg, arity);
                    break;
                case CallBinary binary:
                    CheckScalar(binary.Left, arity);
                    CheckScalar(binary.Right, arity);
                    break;
                case CallVariadic variadic:
                    foreach (ScalarExpr arg in variadic.Args)
                    {
                        CheckScalar(arg, arity);
                    }
                    break;
                case IfThenElse branch:
                    CheckScalar(branch.Cond, arity);
                    CheckScalar(branch.Then, arity);
                    CheckScalar(branch.Else, arity);
                    break;
                case Cast cast:
                    CheckScalar(cast.Arg, arity);
                    break;
                default:
                    throw new PlanException($"unsupported scalar expression {expr.GetType().Name}");
            }
        }
    }
}
