using System.Collections.Immutable;

namespace Kernel.Expr;

/// <summary>
/// Everything a replica needs to build and run one dataflow: the persist shards and indexes it reads, the
/// objects it computes (in dependency order), and what it exports (indexes kept in memory, materialized views
/// written to persist, subscribes streamed to the controller). <see cref="AsOf"/> is the time the dataflow's
/// output is first correct from: updates before it are advanced to it. <see cref="Until"/>, when set, is the
/// time beyond which output is not needed.
/// </summary>
public sealed record DataflowDescription(
    string DebugName,
    ImmutableArray<SourceImport> SourceImports,
    ImmutableArray<IndexImport> IndexImports,
    ImmutableArray<BuildDesc> ObjectsToBuild,
    ImmutableArray<IndexExport> IndexExports,
    ImmutableArray<SinkExport> SinkExports,
    ulong AsOf,
    ulong? Until)
{
    /// <summary>Ids this dataflow exports (index ids and sink ids): the ids commands and responses name.</summary>
    public ImmutableArray<GlobalId> ExportIds =>
        System.Linq.ImmutableArrayExtensions.Select(IndexExports, e => e.IndexId).ToImmutableArray()
            .AddRange(System.Linq.ImmutableArrayExtensions.Select(SinkExports, s => s.SinkId));
}

/// <summary>A persist shard read as collection <see cref="Id"/> (snapshot at the as-of, then listen).</summary>
public sealed record SourceImport(GlobalId Id, string ShardId, RelationType RowType);

/// <summary>An index another dataflow on this replica exports, read as collection <see cref="On"/>.</summary>
public sealed record IndexImport(GlobalId IndexId, GlobalId On, ImmutableArray<int> Key, RelationType RowType);

/// <summary>An object the dataflow computes, named so later objects and exports can <see cref="Get"/> it.</summary>
public sealed record BuildDesc(GlobalId Id, RelationExpr Plan);

/// <summary>An arrangement of collection <see cref="On"/> by <see cref="Key"/> columns, kept for peeks and other dataflows.</summary>
public sealed record IndexExport(GlobalId IndexId, GlobalId On, ImmutableArray<int> Key, RelationType RowType);

/// <summary>Where a sink sends collection <see cref="From"/>.</summary>
public sealed record SinkExport(GlobalId SinkId, GlobalId From, SinkTarget Target, RelationType RowType);

/// <summary>The destination of a sink.</summary>
public abstract record SinkTarget;

/// <summary>A materialized view: the collection written to a persist shard with compare_and_append, correcting itself against what the shard holds.</summary>
public sealed record PersistSinkTarget(string ShardId) : SinkTarget;

/// <summary>A subscribe: batches of updates streamed to the controller as SubscribeResponse messages.</summary>
public sealed record SubscribeSinkTarget : SinkTarget;
