using System.Collections.Generic;
using Kernel.Expr;
using Kernel.Sql.Planning;

namespace Kernel.Control.Catalog;

/// <summary>
/// The catalog as the planner reads it: every durable entry re-planned into a <see cref="CatalogItem"/> (columns,
/// view definitions, index keys, dependencies), with the persist shard of each table and materialized view.
/// </summary>
/// <remarks>Owned by the environmentd node loop; changed only by the coordinator after a catalog transaction commits.</remarks>
public sealed class SessionCatalog : ICatalogReader
{
    private readonly SortedDictionary<GlobalId, CatalogItem> _items = [];
    private readonly Dictionary<string, GlobalId> _byName = [];
    private readonly Dictionary<GlobalId, string> _shards = [];
    private readonly Dictionary<GlobalId, string> _createSql = [];

    public IEnumerable<CatalogItem> Items => _items.Values;

    /// <summary>Changes whenever an item is added or removed.</summary>
    public long Version { get; private set; }

    public CatalogItem? Resolve(string name) => _byName.TryGetValue(name, out GlobalId id) ? _items[id] : null;

    public CatalogItem? Find(GlobalId id) => _items.GetValueOrDefault(id);

    /// <summary>The persist shard of a table or materialized view; null for views and indexes.</summary>
    public string? ShardOf(GlobalId id) => _shards.GetValueOrDefault(id);

    public string? CreateSqlOf(GlobalId id) => _createSql.GetValueOrDefault(id);

    public void Add(CatalogItem item, string? shard, string createSql)
    {
        Version++;
        _items[item.Id] = item;
        _byName[item.Name] = item.Id;
        _createSql[item.Id] = createSql;
        if (shard is not null)
        {
            _shards[item.Id] = shard;
        }
    }

    public void Remove(GlobalId id)
    {
        Version++;
        if (_items.Remove(id, out CatalogItem? item))
        {
            _byName.Remove(item.Name);
        }
        _shards.Remove(id);
        _createSql.Remove(id);
    }

    /// <summary>The indexes on <paramref name="on"/>, in id order.</summary>
    public IEnumerable<CatalogItem> IndexesOn(GlobalId on)
    {
        foreach (CatalogItem item in _items.Values)
        {
            if (item.Kind == CatalogItemKind.Index && item.IndexOn == on)
            {
                yield return item;
            }
        }
    }
}
