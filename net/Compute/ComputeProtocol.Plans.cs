using System;
using System.Collections.Immutable;
using System.Globalization;
using Google.Protobuf.Collections;
using Kernel.Expr;
using Kernel.Net.Proto;
using Kernel.Persist.Data;

namespace Kernel.Net.Compute;

/// <summary>The wire form of dataflow descriptions: imports, plans (relation and scalar expressions), exports and types.</summary>
public static partial class ComputeProtocol
{
    // ---- Dataflows ----

    private static ProtoDataflowDescription ToProto(DataflowDescription dataflow)
    {
        var proto = new ProtoDataflowDescription { DebugName = dataflow.DebugName, AsOf = dataflow.AsOf };
        if (dataflow.Until is { } until)
        {
            proto.Until = new ProtoOptionalUInt64 { Value = until };
        }
        foreach (SourceImport source in dataflow.SourceImports)
        {
            proto.SourceImports.Add(new ProtoSourceImport { Id = ToProto(source.Id), ShardId = source.ShardId, Type = ToProto(source.RowType) });
        }
        foreach (IndexImport index in dataflow.IndexImports)
        {
            var protoIndex = new ProtoIndexImport { IndexId = ToProto(index.IndexId), On = ToProto(index.On), Type = ToProto(index.RowType) };
            AddIndices(protoIndex.Key, index.Key);
            proto.IndexImports.Add(protoIndex);
        }
        foreach (BuildDesc build in dataflow.ObjectsToBuild)
        {
            proto.ObjectsToBuild.Add(new ProtoBuildDesc { Id = ToProto(build.Id), Plan = ToProto(build.Plan) });
        }
        foreach (IndexExport index in dataflow.IndexExports)
        {
            var protoIndex = new ProtoIndexExport { IndexId = ToProto(index.IndexId), On = ToProto(index.On), Type = ToProto(index.RowType) };
            AddIndices(protoIndex.Key, index.Key);
            proto.IndexExports.Add(protoIndex);
        }
        foreach (SinkExport sink in dataflow.SinkExports)
        {
            var protoSink = new ProtoSinkExport { SinkId = ToProto(sink.SinkId), From = ToProto(sink.From), Type = ToProto(sink.RowType) };
            switch (sink.Target)
            {
                case PersistSinkTarget persist:
                    protoSink.PersistShardId = persist.ShardId;
                    break;
                case SubscribeSinkTarget:
                    protoSink.Subscribe = new ProtoEmpty();
                    break;
                default:
                    throw new ArgumentException($"sink target {sink.Target?.GetType().Name ?? "null"} has no encoding", nameof(dataflow));
            }
            proto.SinkExports.Add(protoSink);
        }
        return proto;
    }

    private static DataflowDescription FromProto(ProtoDataflowDescription proto)
    {
        var sources = ImmutableArray.CreateBuilder<SourceImport>(proto.SourceImports.Count);
        foreach (ProtoSourceImport source in proto.SourceImports)
        {
            sources.Add(new SourceImport(FromProto(Required(source.Id, "source_import.id")), source.ShardId, FromProto(Required(source.Type, "source_import.type"))));
        }
        var indexImports = ImmutableArray.CreateBuilder<IndexImport>(proto.IndexImports.Count);
        foreach (ProtoIndexImport index in proto.IndexImports)
        {
            indexImports.Add(new IndexImport(
                FromProto(Required(index.IndexId, "index_import.index_id")),
                FromProto(Required(index.On, "index_import.on")),
                Indices(index.Key, int.MaxValue, "index import key"),
                FromProto(Required(index.Type, "index_import.type"))));
        }
        var builds = ImmutableArray.CreateBuilder<BuildDesc>(proto.ObjectsToBuild.Count);
        foreach (ProtoBuildDesc build in proto.ObjectsToBuild)
        {
            builds.Add(new BuildDesc(FromProto(Required(build.Id, "build.id")), FromProto(Required(build.Plan, "build.plan"))));
        }
        var indexExports = ImmutableArray.CreateBuilder<IndexExport>(proto.IndexExports.Count);
        foreach (ProtoIndexExport index in proto.IndexExports)
        {
            indexExports.Add(new IndexExport(
                FromProto(Required(index.IndexId, "index_export.index_id")),
                FromProto(Required(index.On, "index_export.on")),
                Indices(index.Key, int.MaxValue, "index export key"),
                FromProto(Required(index.Type, "index_export.type"))));
        }
        var sinks = ImmutableArray.CreateBuilder<SinkExport>(proto.SinkExports.Count);
        foreach (ProtoSinkExport sink in proto.SinkExports)
        {
            SinkTarget target = sink.TargetCase switch
            {
                ProtoSinkExport.TargetOneofCase.PersistShardId => new PersistSinkTarget(sink.PersistShardId),
                ProtoSinkExport.TargetOneofCase.Subscribe => new SubscribeSinkTarget(),
                _ => throw new MalformedMessageException("sink export has no target"),
            };
            sinks.Add(new SinkExport(FromProto(Required(sink.SinkId, "sink_export.sink_id")), FromProto(Required(sink.From, "sink_export.from")), target, FromProto(Required(sink.Type, "sink_export.type"))));
        }
        return new DataflowDescription(
            proto.DebugName,
            sources.MoveToImmutable(),
            indexImports.MoveToImmutable(),
            builds.MoveToImmutable(),
            indexExports.MoveToImmutable(),
            sinks.MoveToImmutable(),
            proto.AsOf,
            proto.Until?.Value);
    }

    private static ProtoRowSetFinishing ToProto(RowSetFinishing finishing)
    {
        var proto = new ProtoRowSetFinishing { Offset = finishing.Offset };
        if (finishing.Limit is { } limit)
        {
            proto.Limit = new ProtoOptionalInt64 { Value = limit };
        }
        AddOrders(proto.OrderBy, finishing.OrderBy);
        AddIndices(proto.Project, finishing.Project);
        return proto;
    }

    private static RowSetFinishing FromProto(ProtoRowSetFinishing proto) =>
        new(Orders(proto.OrderBy), proto.Limit?.Value, proto.Offset, Indices(proto.Project, int.MaxValue, "finishing projection"));

    // ---- Relation expressions ----

    private static ProtoRelationExpr ToProto(RelationExpr expr)
    {
        switch (expr)
        {
            case Constant constant:
            {
                var writer = new RowPacking.Writer(RowPacking.CountDatums(constant.Rows, static r => r.Row));
                var proto = new ProtoConstant { Type = ToProto(constant.RowType) };
                foreach ((Row row, long diff) in constant.Rows)
                {
                    writer.Add(row);
                    proto.Diffs.Add(diff);
                }
                proto.Rows = writer.Finish();
                return new ProtoRelationExpr { Constant = proto };
            }
            case Get get:
                return new ProtoRelationExpr { Get = new ProtoGet { Id = ToProto(get.Id), Type = ToProto(get.RowType) } };
            case Map map:
            {
                var proto = new ProtoMap { Input = ToProto(map.Input) };
                foreach (ScalarExpr scalar in map.Scalars)
                {
                    proto.Scalars.Add(ToProto(scalar));
                }
                return new ProtoRelationExpr { Map = proto };
            }
            case Filter filter:
            {
                var proto = new ProtoFilter { Input = ToProto(filter.Input) };
                foreach (ScalarExpr predicate in filter.Predicates)
                {
                    proto.Predicates.Add(ToProto(predicate));
                }
                return new ProtoRelationExpr { Filter = proto };
            }
            case Project project:
            {
                var proto = new ProtoProject { Input = ToProto(project.Input) };
                AddIndices(proto.Outputs, project.Outputs);
                return new ProtoRelationExpr { Project = proto };
            }
            case Join join:
            {
                var proto = new ProtoJoin { Left = ToProto(join.Left), Right = ToProto(join.Right) };
                AddIndices(proto.LeftKey, join.LeftKey);
                AddIndices(proto.RightKey, join.RightKey);
                return new ProtoRelationExpr { Join = proto };
            }
            case Reduce reduce:
            {
                var proto = new ProtoReduce { Input = ToProto(reduce.Input), Global = reduce.Global };
                AddIndices(proto.GroupKey, reduce.GroupKey);
                foreach (AggregateExpr aggregate in reduce.Aggregates)
                {
                    proto.Aggregates.Add(new ProtoAggregateExpr
                    {
                        Func = (uint)aggregate.Func,
                        Expr = ToProto(aggregate.Expr),
                        Distinct = aggregate.Distinct,
                        Type = ToProto(aggregate.ResultType),
                    });
                }
                return new ProtoRelationExpr { Reduce = proto };
            }
            case Distinct distinct:
                return new ProtoRelationExpr { Distinct = new ProtoUnaryRelation { Input = ToProto(distinct.Input) } };
            case Union union:
            {
                var proto = new ProtoUnion();
                foreach (RelationExpr input in union.Inputs)
                {
                    proto.Inputs.Add(ToProto(input));
                }
                return new ProtoRelationExpr { Union = proto };
            }
            case Negate negate:
                return new ProtoRelationExpr { Negate = new ProtoUnaryRelation { Input = ToProto(negate.Input) } };
            case Threshold threshold:
                return new ProtoRelationExpr { Threshold = new ProtoUnaryRelation { Input = ToProto(threshold.Input) } };
            case TopK topK:
            {
                var proto = new ProtoTopK { Input = ToProto(topK.Input), Offset = topK.Offset };
                if (topK.Limit is { } limit)
                {
                    proto.Limit = new ProtoOptionalInt64 { Value = limit };
                }
                AddIndices(proto.GroupKey, topK.GroupKey);
                AddOrders(proto.OrderBy, topK.OrderBy);
                return new ProtoRelationExpr { TopK = proto };
            }
            default:
                throw new ArgumentException($"relation expression {expr?.GetType().Name ?? "null"} has no encoding", nameof(expr));
        }
    }

    private static RelationExpr FromProto(ProtoRelationExpr proto)
    {
        switch (proto.KindCase)
        {
            case ProtoRelationExpr.KindOneofCase.Constant:
            {
                ProtoConstant constant = proto.Constant;
                var reader = new RowPacking.Reader(Required(constant.Rows, "constant.rows"));
                if (constant.Diffs.Count != reader.RowCount)
                {
                    throw new MalformedMessageException($"constant carries {reader.RowCount} rows but {constant.Diffs.Count} diffs");
                }
                var rows = ImmutableArray.CreateBuilder<(Row, long)>(reader.RowCount);
                for (int i = 0; i < reader.RowCount; i++)
                {
                    rows.Add((reader.ReadRow(), constant.Diffs[i]));
                }
                reader.CheckConsumed();
                return new Constant(rows.MoveToImmutable(), FromProto(Required(constant.Type, "constant.type")));
            }
            case ProtoRelationExpr.KindOneofCase.Get:
                return new Get(FromProto(Required(proto.Get.Id, "get.id")), FromProto(Required(proto.Get.Type, "get.type")));
            case ProtoRelationExpr.KindOneofCase.Map:
                return new Map(FromProto(Required(proto.Map.Input, "map.input")), Scalars(proto.Map.Scalars));
            case ProtoRelationExpr.KindOneofCase.Filter:
                return new Filter(FromProto(Required(proto.Filter.Input, "filter.input")), Scalars(proto.Filter.Predicates));
            case ProtoRelationExpr.KindOneofCase.Project:
            {
                RelationExpr input = FromProto(Required(proto.Project.Input, "project.input"));
                return new Project(input, Indices(proto.Project.Outputs, input.Type.Arity, "projection"));
            }
            case ProtoRelationExpr.KindOneofCase.Join:
                return new Join(
                    FromProto(Required(proto.Join.Left, "join.left")),
                    FromProto(Required(proto.Join.Right, "join.right")),
                    Indices(proto.Join.LeftKey, int.MaxValue, "join left key"),
                    Indices(proto.Join.RightKey, int.MaxValue, "join right key"));
            case ProtoRelationExpr.KindOneofCase.Reduce:
            {
                ProtoReduce reduce = proto.Reduce;
                RelationExpr input = FromProto(Required(reduce.Input, "reduce.input"));
                var aggregates = ImmutableArray.CreateBuilder<AggregateExpr>(reduce.Aggregates.Count);
                foreach (ProtoAggregateExpr aggregate in reduce.Aggregates)
                {
                    aggregates.Add(new AggregateExpr(
                        Enum<AggregateFunc>(aggregate.Func, "aggregate function"),
                        FromProto(Required(aggregate.Expr, "aggregate.expr")),
                        aggregate.Distinct,
                        FromProto(Required(aggregate.Type, "aggregate.type"))));
                }
                return new Reduce(input, Indices(reduce.GroupKey, input.Type.Arity, "group key"), aggregates.MoveToImmutable(), reduce.Global);
            }
            case ProtoRelationExpr.KindOneofCase.Distinct:
                return new Distinct(FromProto(Required(proto.Distinct.Input, "distinct.input")));
            case ProtoRelationExpr.KindOneofCase.Union:
            {
                if (proto.Union.Inputs.Count == 0)
                {
                    throw new MalformedMessageException("a union has no inputs");
                }
                var inputs = ImmutableArray.CreateBuilder<RelationExpr>(proto.Union.Inputs.Count);
                foreach (ProtoRelationExpr input in proto.Union.Inputs)
                {
                    inputs.Add(FromProto(input));
                }
                return new Union(inputs.MoveToImmutable());
            }
            case ProtoRelationExpr.KindOneofCase.Negate:
                return new Negate(FromProto(Required(proto.Negate.Input, "negate.input")));
            case ProtoRelationExpr.KindOneofCase.Threshold:
                return new Threshold(FromProto(Required(proto.Threshold.Input, "threshold.input")));
            case ProtoRelationExpr.KindOneofCase.TopK:
            {
                ProtoTopK topK = proto.TopK;
                return new TopK(
                    FromProto(Required(topK.Input, "top_k.input")),
                    Indices(topK.GroupKey, int.MaxValue, "top-k group key"),
                    Orders(topK.OrderBy),
                    topK.Limit?.Value,
                    topK.Offset);
            }
            default:
                throw new MalformedMessageException("a relation expression has no kind");
        }
    }

    // ---- Scalar expressions ----

    private static ProtoScalarExpr ToProto(ScalarExpr expr)
    {
        switch (expr)
        {
            case ColumnRef column:
                return new ProtoScalarExpr { ColumnRef = new ProtoColumnRef { Index = (uint)column.Index, Type = ToProto(column.ColumnType) } };
            case Literal literal:
            {
                var writer = new RowPacking.Writer(1);
                writer.Add(new Row(literal.Value));
                return new ProtoScalarExpr { Literal = new ProtoLiteral { Value = writer.Finish(), Type = ToProto(literal.ColumnType) } };
            }
            case CallUnary unary:
                return new ProtoScalarExpr
                {
                    CallUnary = new ProtoCallUnary { Func = (uint)unary.Func, Arg = ToProto(unary.Arg), Type = ToProto(unary.ResultType) },
                };
            case CallBinary binary:
                return new ProtoScalarExpr
                {
                    CallBinary = new ProtoCallBinary
                    {
                        Func = (uint)binary.Func,
                        Left = ToProto(binary.Left),
                        Right = ToProto(binary.Right),
                        Type = ToProto(binary.ResultType),
                    },
                };
            case CallVariadic variadic:
            {
                var proto = new ProtoCallVariadic { Func = (uint)variadic.Func, Type = ToProto(variadic.ResultType) };
                foreach (ScalarExpr arg in variadic.Args)
                {
                    proto.Args.Add(ToProto(arg));
                }
                return new ProtoScalarExpr { CallVariadic = proto };
            }
            case IfThenElse ite:
                return new ProtoScalarExpr
                {
                    IfThenElse = new ProtoIfThenElse { Cond = ToProto(ite.Cond), Then = ToProto(ite.Then), Else = ToProto(ite.Else), Type = ToProto(ite.ResultType) },
                };
            case Cast cast:
                return new ProtoScalarExpr
                {
                    Cast = new ProtoCast { Arg = ToProto(cast.Arg), Target = ToProto(cast.Target), Explicit = cast.Explicit, Type = ToProto(cast.ResultType) },
                };
            default:
                throw new ArgumentException($"scalar expression {expr?.GetType().Name ?? "null"} has no encoding", nameof(expr));
        }
    }

    private static ScalarExpr FromProto(ProtoScalarExpr proto)
    {
        switch (proto.KindCase)
        {
            case ProtoScalarExpr.KindOneofCase.ColumnRef:
            {
                uint index = proto.ColumnRef.Index;
                return index <= int.MaxValue
                    ? new ColumnRef((int)index, FromProto(Required(proto.ColumnRef.Type, "column_ref.type")))
                    : throw new MalformedMessageException($"column index {index} is out of range");
            }
            case ProtoScalarExpr.KindOneofCase.Literal:
            {
                var reader = new RowPacking.Reader(Required(proto.Literal.Value, "literal.value"));
                if (reader.RowCount != 1)
                {
                    throw new MalformedMessageException($"a literal carries {reader.RowCount} rows, not one");
                }
                Row row = reader.ReadRow();
                reader.CheckConsumed();
                return row.Count == 1
                    ? new Literal(row[0], FromProto(Required(proto.Literal.Type, "literal.type")))
                    : throw new MalformedMessageException($"a literal carries {row.Count} values, not one");
            }
            case ProtoScalarExpr.KindOneofCase.CallUnary:
                return new CallUnary(
                    Enum<UnaryFunc>(proto.CallUnary.Func, "unary function"),
                    FromProto(Required(proto.CallUnary.Arg, "call_unary.arg")),
                    FromProto(Required(proto.CallUnary.Type, "call_unary.type")));
            case ProtoScalarExpr.KindOneofCase.CallBinary:
                return new CallBinary(
                    Enum<BinaryFunc>(proto.CallBinary.Func, "binary function"),
                    FromProto(Required(proto.CallBinary.Left, "call_binary.left")),
                    FromProto(Required(proto.CallBinary.Right, "call_binary.right")),
                    FromProto(Required(proto.CallBinary.Type, "call_binary.type")));
            case ProtoScalarExpr.KindOneofCase.CallVariadic:
                return new CallVariadic(
                    Enum<VariadicFunc>(proto.CallVariadic.Func, "variadic function"),
                    Scalars(proto.CallVariadic.Args),
                    FromProto(Required(proto.CallVariadic.Type, "call_variadic.type")));
            case ProtoScalarExpr.KindOneofCase.IfThenElse:
                return new IfThenElse(
                    FromProto(Required(proto.IfThenElse.Cond, "if_then_else.cond")),
                    FromProto(Required(proto.IfThenElse.Then, "if_then_else.then")),
                    FromProto(Required(proto.IfThenElse.Else, "if_then_else.else")),
                    FromProto(Required(proto.IfThenElse.Type, "if_then_else.type")));
            case ProtoScalarExpr.KindOneofCase.Cast:
                return new Cast(
                    FromProto(Required(proto.Cast.Arg, "cast.arg")),
                    FromProto(Required(proto.Cast.Target, "cast.target")),
                    proto.Cast.Explicit,
                    FromProto(Required(proto.Cast.Type, "cast.type")));
            default:
                throw new MalformedMessageException("a scalar expression has no kind");
        }
    }

    private static ImmutableArray<ScalarExpr> Scalars(RepeatedField<ProtoScalarExpr> protos)
    {
        var scalars = ImmutableArray.CreateBuilder<ScalarExpr>(protos.Count);
        foreach (ProtoScalarExpr proto in protos)
        {
            scalars.Add(FromProto(proto));
        }
        return scalars.MoveToImmutable();
    }

    // ---- Types ----

    private static ProtoSqlType ToProto(SqlType type) =>
        new() { Kind = (uint)type.Kind, Length = type.Length, Precision = type.Precision, Scale = type.Scale };

    private static SqlType FromProto(ProtoSqlType proto) =>
        new(Enum<SqlTypeKind>(proto.Kind, "SQL type kind"), proto.Length, proto.Precision, proto.Scale);

    private static ProtoColumnType ToProto(ColumnType type) => new() { Type = ToProto(type.Type), Nullable = type.Nullable };

    private static ColumnType FromProto(ProtoColumnType proto) => new(FromProto(Required(proto.Type, "column_type.type")), proto.Nullable);

    private static ProtoRelationType ToProto(RelationType type)
    {
        var proto = new ProtoRelationType();
        foreach (ColumnType column in type.Columns)
        {
            proto.Columns.Add(ToProto(column));
        }
        return proto;
    }

    private static RelationType FromProto(ProtoRelationType proto)
    {
        var columns = ImmutableArray.CreateBuilder<ColumnType>(proto.Columns.Count);
        foreach (ProtoColumnType column in proto.Columns)
        {
            columns.Add(FromProto(column));
        }
        return new RelationType(columns.MoveToImmutable());
    }

    private static void AddOrders(RepeatedField<ProtoColumnOrder> target, ImmutableArray<ColumnOrder> orders)
    {
        foreach (ColumnOrder order in orders)
        {
            target.Add(new ProtoColumnOrder { Column = (uint)order.Column, Descending = order.Descending, NullsLast = order.NullsLast });
        }
    }

    private static ImmutableArray<ColumnOrder> Orders(RepeatedField<ProtoColumnOrder> protos)
    {
        var orders = ImmutableArray.CreateBuilder<ColumnOrder>(protos.Count);
        foreach (ProtoColumnOrder proto in protos)
        {
            if (proto.Column > int.MaxValue)
            {
                throw new MalformedMessageException($"order column {proto.Column} is out of range");
            }
            orders.Add(new ColumnOrder((int)proto.Column, proto.Descending, proto.NullsLast));
        }
        return orders.MoveToImmutable();
    }

    /// <summary>Column indices travel unsigned: a negative index (a caller's bug) arrives out of range and is refused.</summary>
    private static void AddIndices(RepeatedField<uint> target, ImmutableArray<int> indices)
    {
        foreach (int index in indices)
        {
            target.Add((uint)index);
        }
    }

    private static ImmutableArray<int> Indices(RepeatedField<uint> protos, int arity, string what)
    {
        var indices = ImmutableArray.CreateBuilder<int>(protos.Count);
        foreach (uint index in protos)
        {
            if (index >= (uint)arity)
            {
                throw new MalformedMessageException(arity == int.MaxValue
                    ? $"{what} column {index} is out of range"
                    : $"{what} column {index} is past the input's {arity} columns");
            }
            indices.Add((int)index);
        }
        return indices.MoveToImmutable();
    }

    private static T Enum<T>(uint value, string what)
        where T : struct, Enum
    {
        // ToObject truncates to the enum's underlying type, so the value is compared back after the conversion.
        var candidate = (T)System.Enum.ToObject(typeof(T), value);
        return System.Enum.IsDefined(candidate) && Convert.ToUInt64(candidate, CultureInfo.InvariantCulture) == value
            ? candidate
            : throw new MalformedMessageException($"{what} {value} is unknown");
    }
}
