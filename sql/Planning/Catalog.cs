using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>What a catalog item is. SQL statements name items of one kind (DROP VIEW needs a view).</summary>
public enum CatalogItemKind
{
    Table,
    View,
    MaterializedView,
    Index,
}

/// <summary>One named item of the catalog as the planner sees it.</summary>
/// <param name="Id">The item's durable id; plans refer to items by id, never by name.</param>
/// <param name="Name">The item's name, case-folded.</param>
/// <param name="Kind">Table, view, materialized view or index.</param>
/// <param name="Desc">The item's columns (for an index: the columns of the object it indexes).</param>
/// <param name="Definition">
/// Views only: the bound plan of the view's query, which the planner inlines wherever the view is used; null
/// for every other kind (tables and materialized views are read with a <see cref="Get"/> of their id).
/// </param>
/// <param name="IndexOn">Indexes only: the indexed object.</param>
/// <param name="IndexKey">Indexes only: the key columns of the indexed object; empty otherwise.</param>
/// <param name="Defaults">Tables only: the DEFAULT expression of each column (null means NULL); empty otherwise.</param>
/// <param name="DependsOn">
/// The items this item's definition reads (for views and materialized views: <see cref="Planner.Dependencies"/> of
/// the plan; for indexes: the indexed object). DROP uses it to find dependents.
/// </param>
public sealed record CatalogItem(
    GlobalId Id,
    string Name,
    CatalogItemKind Kind,
    RelationDesc Desc,
    RelationExpr? Definition,
    GlobalId? IndexOn,
    ImmutableArray<int> IndexKey,
    ImmutableArray<ScalarExpr?> Defaults,
    ImmutableArray<GlobalId> DependsOn);

/// <summary>The planner's read-only view of the catalog.</summary>
/// <remarks>The planner never mutates the catalog: plans describe changes that the caller applies.</remarks>
public interface ICatalogReader
{
    /// <summary>
    /// The item named <paramref name="name"/> (a case-folded identifier), or null. The planner passes the last
    /// part of a qualified name (<c>public.t</c> and <c>materialize.public.t</c> both resolve as <c>t</c>).
    /// </summary>
    CatalogItem? Resolve(string name);

    /// <summary>Every item, sorted by id: for SHOW, dependency checks and name generation.</summary>
    IEnumerable<CatalogItem> Items { get; }
}
