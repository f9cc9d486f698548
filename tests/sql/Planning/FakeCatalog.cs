using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Planning;
using Kernel.Sql.Syntax;
using Xunit;

namespace Kernel.Tests.Sql.Planning;

/// <summary>An in-memory catalog for planner tests: items by name, plus the rows of each table for the interpreter.</summary>
internal sealed class FakeCatalog : ICatalogReader
{
    private readonly SortedDictionary<GlobalId, CatalogItem> _items = [];
    private ulong _nextId = 1;

    public Dictionary<GlobalId, List<Row>> Data { get; } = [];

    public IEnumerable<CatalogItem> Items => _items.Values;

    public CatalogItem? Resolve(string name)
    {
        foreach (CatalogItem item in _items.Values)
        {
            if (item.Name == name)
            {
                return item;
            }
        }
        return null;
    }

    public CatalogItem Add(string name, CatalogItemKind kind, RelationDesc desc, RelationExpr? definition = null,
        GlobalId? indexOn = null, ImmutableArray<int> indexKey = default, ImmutableArray<ScalarExpr?> defaults = default)
    {
        var id = GlobalId.UserId(_nextId++);
        ImmutableArray<GlobalId> dependsOn = definition is not null ? Planner.Dependencies(definition)
            : indexOn is GlobalId on ? [on] : [];
        var item = new CatalogItem(id, name, kind, desc, definition, indexOn, indexKey.IsDefault ? [] : indexKey,
            defaults.IsDefault ? [.. new ScalarExpr?[desc.Arity]] : defaults, dependsOn);
        _items[id] = item;
        return item;
    }

    public void Remove(GlobalId id) => _items.Remove(id);

    /// <summary>Plans and applies a DDL statement (CREATE TABLE / VIEW / MATERIALIZED VIEW / INDEX, DROP) the way environmentd would.</summary>
    public PlanResult Execute(string sql)
    {
        Statement statement = Sql.ParseOne(sql);
        PlanResult result = Planner.Plan(statement, this, []);
        if (!result.IsSuccess)
        {
            return result;
        }
        Apply(result.Plan);
        return result;
    }

    public void Apply(Plan plan)
    {
        switch (plan)
        {
            case CreateTablePlan table when Resolve(table.Name) is null:
                Data[Add(table.Name, CatalogItemKind.Table, table.Desc, defaults: table.Defaults).Id] = [];
                break;
            case CreateViewPlan view when Resolve(view.Name) is null:
                Add(view.Name, CatalogItemKind.View, view.Desc, view.Expr);
                break;
            case CreateMaterializedViewPlan view when Resolve(view.Name) is null:
                // The fake stores a materialized view as its definition: the interpreter computes it on read.
                Add(view.Name, CatalogItemKind.MaterializedView, view.Desc, view.Expr);
                break;
            case CreateIndexPlan index when Resolve(index.Name) is null:
                Add(index.Name, CatalogItemKind.Index, _items[index.On].Desc, indexOn: index.On, indexKey: index.Key);
                break;
            case DropPlan drop:
                foreach (GlobalId id in drop.Ids)
                {
                    Remove(id);
                }
                break;
            case InsertPlan insert:
                foreach ((Row row, long diff) in Interpreter.Run(insert.Rows, this))
                {
                    for (long i = 0; i < diff; i++)
                    {
                        Data[insert.Table].Add(row);
                    }
                }
                break;
            default:
                break;
        }
    }

    /// <summary>The standard fixture: t(k integer not null, v text, n numeric), u(k integer, w bigint), view tv, some rows.</summary>
    public static FakeCatalog Standard()
    {
        var catalog = new FakeCatalog();
        Assert.True(catalog.Execute("CREATE TABLE t (k integer NOT NULL, v text, n numeric)").IsSuccess);
        Assert.True(catalog.Execute("CREATE TABLE u (k int, w bigint DEFAULT 7)").IsSuccess);
        Assert.True(catalog.Execute("CREATE VIEW tv AS SELECT k, v FROM t WHERE k > 1").IsSuccess);
        catalog.Run("INSERT INTO t VALUES (1, 'a', 1.5), (2, 'b', 2.5), (3, NULL, NULL), (4, 'b', 4)");
        catalog.Run("INSERT INTO u VALUES (1, 10), (2, 20), (2, 21), (5, NULL)");
        return catalog;
    }

    public void Run(string sql)
    {
        PlanResult result = Execute(sql);
        Assert.True(result.IsSuccess, $"{sql}: {result.Error}");
    }
}
