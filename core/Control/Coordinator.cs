using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Kernel.Control.Catalog;
using Kernel.Control.Compute;
using Kernel.Control.Storage;
using Kernel.Expr;
using Kernel.Net.Compute;
using Kernel.Persist.Data;
using Kernel.Persist.Shard;
using Kernel.PgWire;
using Kernel.Runtime;
using Kernel.Sql.Parsing;
using Kernel.Sql.Planning;

namespace Kernel.Control;

/// <summary>
/// The heart of environmentd: owns the catalog and both controllers and turns plans into catalog transactions,
/// table writes, dataflows and peeks. Sessions call it for everything that is shared.
/// </summary>
/// <remarks>
/// Reads are strict serializable: each one happens at the oracle's read timestamp when it starts, which covers
/// every write acknowledged before, and waits for its inputs to be complete there. DDL is serialized by
/// <see cref="DdlLock"/> (found by the simulator: two sessions' catalog appends raced, and the loser took itself for
/// fenced). Owned by the environmentd loop.
/// </remarks>
public sealed class Coordinator
{
    private readonly IRandom _random;
    private ulong _nextTransient = 1;
    private readonly Dictionary<GlobalId, GlobalId[]> _tablesUnder = []; // memo of TablesUnder, valid for one catalog version
    private long _tablesUnderVersion = -1;
    private readonly Dictionary<GlobalId, GlobalId[]> _companions = []; // table -> the tables sharing a dataflow with it
    private long _companionsDataflows = -1;
    private long _companionsCatalog = -1;

    public Coordinator(DurableCatalog durable, StorageController storage, ComputeController compute, IClock clock, IRandom random)
    {
        Clock = clock;
        Durable = durable;
        Storage = storage;
        Compute = compute;
        _random = random;
    }

    public DurableCatalog Durable { get; }

    /// <summary>
    /// Serializes catalog changes: a DDL statement checks names, commits its catalog transaction and applies it while
    /// holding this, so two sessions never both see a name as free, and catalog appends never race each other.
    /// </summary>
    internal AsyncLock DdlLock { get; } = new();

    public IClock Clock { get; }

    public SessionCatalog Catalog { get; } = new();

    public StorageController Storage { get; }

    public ComputeController Compute { get; }

    /// <summary>
    /// Rebuilds the in-memory catalog from the durable one (re-planning each entry's statement in id order), opens
    /// every table, recreates the dataflows of materialized views and indexes, and takes a fresh timestamp.
    /// </summary>
    public async Task<string?> BootstrapAsync()
    {
        Storage.HoldsFrozen = true;
        try
        {
            return await BootstrapFrozenAsync();
        }
        finally
        {
            Storage.HoldsFrozen = false;
        }
    }

    /// <summary><see cref="BootstrapAsync"/> with the storage controller's holds where the previous environmentd left them.</summary>
    private async Task<string?> BootstrapFrozenAsync()
    {
        foreach (CatalogEntry entry in Durable.Entries)
        {
            ParseResult parsed = Parser.Parse(entry.CreateSql);
            if (!parsed.IsSuccess || parsed.Statements.Count != 1)
            {
                return $"catalog entry {entry.Id} ({entry.Name}) does not parse: {parsed.Error}";
            }
            PlanResult planned = Planner.Plan(parsed.Statements[0].Statement, Catalog, []);
            if (!planned.IsSuccess)
            {
                return $"catalog entry {entry.Id} ({entry.Name}) does not plan: {planned.Error}";
            }
            CatalogItem item = ItemFromPlan(entry.Id, planned.Plan);
            Catalog.Add(item, entry.ShardId, entry.CreateSql);
            switch (item.Kind)
            {
                case CatalogItemKind.Table:
                {
                    string? error = await Storage.AddTableAsync(item.Id, new ShardId(entry.ShardId!));
                    if (error is not null)
                    {
                        return error;
                    }
                    break;
                }
                case CatalogItemKind.MaterializedView:
                {
                    string? error = await Storage.HoldSinceAsync(new ShardId(entry.ShardId!));
                    if (error is not null)
                    {
                        return error;
                    }
                    RelationExpr expr = ((CreateMaterializedViewPlan)planned.Plan).Expr;
                    PersistResult<ulong> asOf = await ResumeAsOfAsync(expr, entry.ShardId!);
                    if (!asOf.IsOk)
                    {
                        return $"materialized view {entry.Id} ({entry.Name}): reading the upper of its shard: {asOf.Error}";
                    }
                    CreateMaterializedViewDataflow(item, expr, entry.ShardId!, asOf.Value);
                    break;
                }
                case CatalogItemKind.Index:
                    CreateIndexDataflow(item, Storage.Oracle.ReadTs);
                    break;
            }
        }
        WriteOutcome advanced = await Storage.AdvanceAsync();
        if (!advanced.Committed)
        {
            return $"taking the first timestamp after start: {advanced.Error}";
        }
        Compute.AllowWrites();
        return null;
    }

    /// <summary>
    /// Where a materialized view's dataflow restarts after environmentd does: just below the upper its shard reached,
    /// so its sink continues without a gap (the previous environmentd held the view's inputs there, see
    /// <see cref="ComputeController.InputHold"/>), but not before what its inputs still hold nor after the read
    /// timestamp. A view whose shard was never written starts at the read timestamp, as a new one does.
    /// </summary>
    private async Task<PersistResult<ulong>> ResumeAsOfAsync(RelationExpr expr, string shard)
    {
        PersistResult<Frontier> upper = await Storage.FetchUpperAsync(new ShardId(shard));
        if (!upper.IsOk)
        {
            return upper.Error!;
        }
        ulong readTs = Storage.Oracle.ReadTs;
        ulong asOf = upper.Value!.IsEmpty || upper.Value.Time == 0 ? readTs : Math.Min(readTs, upper.Value.Time - 1);
        foreach (SourceImport source in SourcesOf(expr))
        {
            asOf = Math.Max(asOf, Storage.HeldSince(source.ShardId));
        }
        return asOf;
    }

    /// <summary>A fresh id for a dataflow object that lives only as long as one query.</summary>
    public GlobalId NextTransientId() => GlobalId.TransientId(_nextTransient++);

    /// <summary>The catalog item a successful CREATE plan describes, with id <paramref name="id"/>.</summary>
    public CatalogItem ItemFromPlan(GlobalId id, Plan plan) => plan switch
    {
        CreateTablePlan table => new CatalogItem(id, table.Name, CatalogItemKind.Table, table.Desc, null, null, [], table.Defaults, []),
        CreateViewPlan view => new CatalogItem(id, view.Name, CatalogItemKind.View, view.Desc, view.Expr, null, [], [], Planner.Dependencies(view.Expr)),
        CreateMaterializedViewPlan mv => new CatalogItem(id, mv.Name, CatalogItemKind.MaterializedView, mv.Desc, null, null, [], [], Planner.Dependencies(mv.Expr)),
        CreateIndexPlan index => new CatalogItem(id, index.Name, CatalogItemKind.Index, DescOfIndexed(index), null, index.On, index.Key, [], [index.On]),
        _ => throw new InvalidOperationException($"not a CREATE plan: {plan.GetType().Name}"),
    };

    private RelationDesc DescOfIndexed(CreateIndexPlan index) =>
        Catalog.Find(index.On)?.Desc ?? throw new InvalidOperationException($"index {index.Name} is on {index.On}, which is not in the catalog");

    /// <summary>Source imports for every collection <paramref name="expr"/> reads (tables and materialized views, by shard).</summary>
    public ImmutableArray<SourceImport> SourcesOf(RelationExpr expr)
    {
        var sources = ImmutableArray.CreateBuilder<SourceImport>();
        foreach (GlobalId id in Planner.Dependencies(expr))
        {
            CatalogItem item = Catalog.Find(id) ?? throw new InvalidOperationException($"plan reads {id}, which is not in the catalog");
            string shard = Catalog.ShardOf(id) ?? throw new InvalidOperationException($"plan reads {id} ({item.Name}), which has no shard");
            sources.Add(new SourceImport(id, shard, item.Desc.Type));
        }
        return sources.ToImmutable();
    }

    /// <summary>The tables whose contents <paramref name="id"/> is computed from (a table: itself), in no particular order.</summary>
    public IReadOnlyList<GlobalId> TablesUnder(GlobalId id)
    {
        if (_tablesUnderVersion != Catalog.Version)
        {
            _tablesUnder.Clear();
            _tablesUnderVersion = Catalog.Version;
        }
        if (_tablesUnder.TryGetValue(id, out GlobalId[]? known))
        {
            return known;
        }
        GlobalId[] tables;
        CatalogItem? item = Catalog.Find(id);
        if (item is null)
        {
            tables = [];
        }
        else if (item.Kind == CatalogItemKind.Table)
        {
            tables = [id];
        }
        else
        {
            var under = new List<GlobalId>();
            foreach (GlobalId dependency in item.DependsOn)
            {
                AddDistinct(under, TablesUnder(dependency));
            }
            tables = [.. under];
        }
        _tablesUnder[id] = tables;
        return tables;
    }

    /// <summary>The tables whose contents <paramref name="expr"/> reads, through views, materialized views and indexes.</summary>
    public IReadOnlyList<GlobalId> TablesUnder(RelationExpr expr)
    {
        ImmutableArray<GlobalId> gets = Planner.Dependencies(expr);
        return gets.Length == 1 ? TablesUnder(gets[0]) : TablesUnder(gets);
    }

    private List<GlobalId> TablesUnder(IEnumerable<GlobalId> ids)
    {
        var tables = new List<GlobalId>();
        foreach (GlobalId id in ids)
        {
            AddDistinct(tables, TablesUnder(id));
        }
        return tables;
    }

    private List<GlobalId> TablesUnder(ImmutableArray<SourceImport> sources) => TablesUnder(sources.Select(source => source.Id));

    private static void AddDistinct(List<GlobalId> into, IReadOnlyList<GlobalId> ids)
    {
        foreach (GlobalId id in ids)
        {
            if (!into.Contains(id))
            {
                into.Add(id);
            }
        }
    }

    /// <summary>
    /// The tables that feed some live dataflow together with <paramref name="table"/>, directly or through
    /// materialized views, itself included (none when no dataflow reads it with another table). The storage
    /// controller moves them with every write to the table, so a join or union over them emits the write at once.
    /// Grouped transitively: tables linked through a chain of dataflows form one group.
    /// </summary>
    public IReadOnlyList<GlobalId> CompanionsOf(GlobalId table)
    {
        if (_companionsDataflows != Compute.DataflowsVersion || _companionsCatalog != Catalog.Version)
        {
            _companions.Clear();
            foreach (DataflowDescription dataflow in Compute.Dataflows)
            {
                List<GlobalId> tables = TablesUnder(dataflow.SourceImports);
                if (tables.Count < 2)
                {
                    continue;
                }
                var group = new SortedSet<GlobalId>(tables);
                foreach (GlobalId member in tables)
                {
                    if (_companions.TryGetValue(member, out GlobalId[]? earlier))
                    {
                        group.UnionWith(earlier);
                    }
                }
                GlobalId[] merged = [.. group];
                foreach (GlobalId member in merged)
                {
                    _companions[member] = merged;
                }
            }
            _companionsDataflows = Compute.DataflowsVersion;
            _companionsCatalog = Catalog.Version;
        }
        return _companions.TryGetValue(table, out GlobalId[]? companions) ? companions : [];
    }

    /// <summary>
    /// Creates <paramref name="description"/> and asks storage to move its input tables past its as_of, so that it
    /// hydrates now rather than at the next tick when they are idle.
    /// </summary>
    public void CreateDataflow(DataflowDescription description)
    {
        Compute.CreateDataflow(description);
        _ = Storage.EnsureReadableAsync(TablesUnder(description.SourceImports), description.AsOf);
    }

    public void CreateMaterializedViewDataflow(CatalogItem item, RelationExpr expr, string shard, ulong asOf)
    {
        CreateDataflow(new DataflowDescription(
            $"materialized view {item.Name}",
            SourcesOf(expr),
            [],
            [new BuildDesc(item.Id, expr)],
            [],
            [new SinkExport(item.Id, item.Id, new PersistSinkTarget(shard), expr.Type)],
            asOf,
            null));
    }

    public void CreateIndexDataflow(CatalogItem index, ulong asOf)
    {
        GlobalId on = index.IndexOn!.Value;
        CatalogItem indexed = Catalog.Find(on) ?? throw new InvalidOperationException($"index {index.Name} is on {on}, which is not in the catalog");
        ImmutableArray<SourceImport> sources;
        ImmutableArray<BuildDesc> objects;
        if (indexed.Kind == CatalogItemKind.View)
        {
            sources = SourcesOf(indexed.Definition!);
            objects = [new BuildDesc(on, indexed.Definition!)];
        }
        else
        {
            sources = [new SourceImport(on, Catalog.ShardOf(on)!, indexed.Desc.Type)];
            objects = [];
        }
        CreateDataflow(new DataflowDescription(
            $"index {index.Name}", sources, [], objects, [new IndexExport(index.Id, on, index.IndexKey, indexed.Desc.Type)], [], asOf, null));
    }

    /// <summary>
    /// Computes <paramref name="expr"/> at <paramref name="timestamp"/> with <paramref name="finishing"/>: from an index
    /// when the query reads an indexed collection as it is, otherwise through a transient dataflow.
    /// </summary>
    public async Task<(List<Row>? Rows, PgError? Error)> PeekAsync(RelationExpr expr, RowSetFinishing finishing, ulong timestamp, CancellationToken cancellationToken)
    {
        // Idle tables may lag behind the read timestamp; the read asks for them to move first.
        await Storage.EnsureReadableAsync(TablesUnder(expr), timestamp);
        GlobalId target;
        GlobalId? transient = null;
        PeekLookup? lookup = null;
        if (TryIndexPeek(expr, ref finishing, out GlobalId index, out lookup))
        {
            target = index;
        }
        else
        {
            GlobalId objectId = NextTransientId();
            GlobalId indexId = NextTransientId();
            var key = ImmutableArray.CreateBuilder<int>(expr.Type.Arity);
            for (int i = 0; i < expr.Type.Arity; i++)
            {
                key.Add(i);
            }
            Compute.CreateDataflow(new DataflowDescription(
                "peek", SourcesOf(expr), [], [new BuildDesc(objectId, expr)], [new IndexExport(indexId, objectId, key.MoveToImmutable(), expr.Type)], [], timestamp, null));
            target = indexId;
            transient = indexId;
        }
        try
        {
            PeekResult result = await Compute.PeekAsync(target, timestamp, finishing, lookup, cancellationToken);
            switch (result)
            {
                case PeekRows rows:
                {
                    var expanded = new List<Row>(rows.Rows.Length);
                    foreach ((Row row, long count) in rows.Rows)
                    {
                        for (long i = 0; i < count; i++)
                        {
                            expanded.Add(row);
                        }
                    }
                    return (expanded, null);
                }
                case PeekError error:
                    return (null, new PgError(error.SqlState, error.Message));
                default:
                    return (null, new PgError("57014", "canceling statement due to user request"));
            }
        }
        finally
        {
            if (transient is GlobalId drop)
            {
                Compute.AllowCompaction(drop, Frontier.Empty);
            }
        }
    }

    /// <summary>
    /// The fast path: a query that reads an indexed collection as it is, or filtered with equalities that pin every key
    /// column of one of its indexes (<c>WHERE k = 5</c>), possibly under a projection, is answered by the index itself,
    /// reading only the pinned keys; no dataflow is built. The projection folds into <paramref name="finishing"/>.
    /// </summary>
    private bool TryIndexPeek(RelationExpr expr, ref RowSetFinishing finishing, out GlobalId index, out PeekLookup? lookup)
    {
        index = default;
        lookup = null;
        RowSetFinishing adjusted = finishing;
        if (expr is Project project)
        {
            ImmutableArray<int> outputs = project.Outputs;
            var orderBy = ImmutableArray.CreateBuilder<ColumnOrder>(finishing.OrderBy.Length);
            foreach (ColumnOrder order in finishing.OrderBy)
            {
                orderBy.Add(order with { Column = outputs[order.Column] });
            }
            var columns = ImmutableArray.CreateBuilder<int>(finishing.Project.Length);
            foreach (int column in finishing.Project)
            {
                columns.Add(outputs[column]);
            }
            adjusted = finishing with { OrderBy = orderBy.MoveToImmutable(), Project = columns.MoveToImmutable() };
            expr = project.Input;
        }
        expr = IndexedViewOf(expr) ?? expr;
        if (expr is Filter viewFilter && IndexedViewOf(viewFilter.Input) is Get view)
        {
            expr = viewFilter with { Input = view };
        }
        if (expr is Get get)
        {
            if (FirstIndexOn(get.Id) is not GlobalId whole)
            {
                return false;
            }
            index = whole;
            finishing = adjusted;
            return true;
        }
        if (expr is not Filter { Input: Get source } filter)
        {
            return false;
        }
        var predicates = new List<ScalarExpr>();
        foreach (ScalarExpr predicate in filter.Predicates)
        {
            Conjuncts(predicate, predicates);
        }
        var pinned = new Dictionary<int, Datum>();
        foreach (ScalarExpr predicate in predicates)
        {
            if (predicate is not CallBinary { Func: BinaryFunc.Eq } eq)
            {
                continue;
            }
            (ColumnRef? column, Literal? literal) = (eq.Left, eq.Right) switch
            {
                (ColumnRef c, Literal l) => (c, l),
                (Literal l, ColumnRef c) => (c, l),
                _ => ((ColumnRef?)null, (Literal?)null),
            };
            if (column is not null && literal is not null && !literal.Value.IsNull
                && column.Type.Type.Kind is not (SqlTypeKind.Numeric or SqlTypeKind.Float64))
            {
                // Exact-bit types only: a numeric 1.0 and 1.00 are equal values but different keys in the index.
                pinned[column.Index] = literal.Value;
            }
        }
        foreach (CatalogItem candidate in Catalog.IndexesOn(source.Id))
        {
            if (!Compute.HasCollection(candidate.Id) || candidate.IndexKey.IsEmpty)
            {
                continue;
            }
            var key = new Datum[candidate.IndexKey.Length];
            bool complete = true;
            for (int i = 0; i < key.Length && complete; i++)
            {
                complete = pinned.TryGetValue(candidate.IndexKey[i], out key[i]);
            }
            if (complete)
            {
                index = candidate.Id;
                lookup = new PeekLookup([new Row(key)], [.. predicates]);
                finishing = adjusted;
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// A read of an indexed view: the planner inlines a view's definition where the query names it, so the definition
    /// object itself stands in the plan (matched by reference: a rewritten plan is not matched, and goes the general
    /// way). Returned as a <see cref="Get"/> of the view when an index on it is on the cluster, so that the index answers
    /// (Materialize matches indexed views the same way, by name before inlining); otherwise null.
    /// </summary>
    private Get? IndexedViewOf(RelationExpr expr)
    {
        if (expr is Get)
        {
            return null;
        }
        foreach (CatalogItem item in Catalog.Items)
        {
            if (item.Kind == CatalogItemKind.View && ReferenceEquals(item.Definition, expr) && FirstIndexOn(item.Id) is not null)
            {
                return new Get(item.Id, item.Desc.Type);
            }
        }
        return null;
    }

    private static void Conjuncts(ScalarExpr predicate, List<ScalarExpr> into)
    {
        if (predicate is CallVariadic { Func: VariadicFunc.And } and)
        {
            foreach (ScalarExpr argument in and.Args)
            {
                Conjuncts(argument, into);
            }
            return;
        }
        into.Add(predicate);
    }

    private GlobalId? FirstIndexOn(GlobalId id)
    {
        foreach (CatalogItem index in Catalog.IndexesOn(id))
        {
            if (Compute.HasCollection(index.Id))
            {
                return index.Id;
            }
        }
        return null;
    }

    /// <summary>Allocates a user id and a shard id for a new catalog object.</summary>
    public (GlobalId Id, string Shard) AllocateStorage() => (Durable.AllocateUserId(), ShardId.New(_random).Value);

    public GlobalId AllocateId() => Durable.AllocateUserId();
}
