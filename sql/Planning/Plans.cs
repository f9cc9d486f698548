using System.Collections.Immutable;
using Kernel.Expr;

namespace Kernel.Sql.Planning;

/// <summary>
/// A planned statement: names resolved to ids, types checked, queries lowered to <see cref="RelationExpr"/>.
/// The caller (environmentd) executes it; plans that return rows say what the rows look like.
/// </summary>
public abstract record Plan;

/// <summary>
/// <c>CREATE TABLE</c>. NOT NULL and PRIMARY KEY columns are not nullable in <paramref name="Desc"/>; PRIMARY KEY
/// and UNIQUE do not enforce uniqueness yet (they are accepted and only imply NOT NULL for primary keys).
/// </summary>
/// <remarks><see cref="Defaults"/>: the DEFAULT expression of each column, already cast to the column's type; null means NULL.</remarks>
public sealed record CreateTablePlan(string Name, RelationDesc Desc, ImmutableArray<ScalarExpr?> Defaults, bool IfNotExists) : Plan;

/// <summary>
/// <c>DROP {TABLE | VIEW | MATERIALIZED VIEW | INDEX}</c>. <paramref name="Ids"/> lists every item to drop, dependents
/// before the items they depend on: the named items, the indexes on them, and with CASCADE everything that
/// depends on them (transitively). Missing names under IF EXISTS leave notices in the <see cref="PlanResult"/>.
/// </summary>
public sealed record DropPlan(CatalogItemKind Kind, ImmutableArray<GlobalId> Ids, bool Cascade) : Plan;

/// <summary>
/// <c>INSERT</c>: <paramref name="Rows"/> produces full rows of the table, columns in table order, each already
/// cast to the column's type (omitted columns hold their default or NULL). NOT NULL is checked at execution
/// against the table's <see cref="RelationDesc"/> nullability.
/// </summary>
public sealed record InsertPlan(GlobalId Table, RelationExpr Rows) : Plan;

/// <summary>What a <see cref="ReadThenWritePlan"/> does to the rows it selects.</summary>
public enum WriteKind
{
    Delete,
    Update,
}

/// <summary>
/// <c>DELETE</c> or <c>UPDATE</c>: read <paramref name="Selection"/> (full rows of the table that match WHERE),
/// then retract them and, for UPDATE, insert the new rows. For UPDATE, <paramref name="Assignments"/> holds one
/// scalar per table column, evaluated over the old row, producing the new value (already cast to the column's
/// type); unassigned columns are a <see cref="ColumnRef"/> of themselves. Null for DELETE.
/// </summary>
public sealed record ReadThenWritePlan(GlobalId Table, RelationExpr Selection, WriteKind Kind, ImmutableArray<ScalarExpr>? Assignments) : Plan;

/// <summary>
/// A query: compute <paramref name="Expr"/>, then apply <paramref name="Finishing"/> (ORDER BY, LIMIT, OFFSET and the
/// final projection that drops hidden sort columns). <paramref name="Desc"/> describes the rows after finishing,
/// with PostgreSQL's column names.
/// </summary>
public sealed record SelectPlan(RelationExpr Expr, RowSetFinishing Finishing, RelationDesc Desc) : Plan;

/// <summary>
/// <c>CREATE VIEW</c>. <paramref name="Expr"/> is the bound query (the catalog stores it as the view's definition);
/// ORDER BY without LIMIT is dropped, with LIMIT it is a <see cref="TopK"/>. <paramref name="CreateSql"/> is the
/// statement printed canonically, for the catalog and SHOW CREATE.
/// </summary>
public sealed record CreateViewPlan(string Name, RelationExpr Expr, RelationDesc Desc, string CreateSql, bool IfNotExists, bool OrReplace) : Plan;

/// <summary><c>CREATE MATERIALIZED VIEW</c>: the same shape as <see cref="CreateViewPlan"/>.</summary>
public sealed record CreateMaterializedViewPlan(string Name, RelationExpr Expr, RelationDesc Desc, string CreateSql, bool IfNotExists, bool OrReplace) : Plan;

/// <summary>
/// <c>CREATE INDEX</c> on a table, view or materialized view, keyed by columns of it. A missing name is generated as
/// PostgreSQL does (<c>t_k_idx</c>, then <c>t_k_idx1</c>... if taken); <c>CREATE DEFAULT INDEX</c> keys by all columns
/// and is named <c>t_primary_idx</c> like Materialize.
/// </summary>
public sealed record CreateIndexPlan(string Name, GlobalId On, ImmutableArray<int> Key, bool IfNotExists) : Plan;

/// <summary>
/// <c>SUBSCRIBE</c> to a named relation or a query. <paramref name="AsOf"/>: the <c>AS OF</c> time when given;
/// <paramref name="Snapshot"/>: whether to emit the contents at the start time first (default true);
/// <paramref name="Progress"/>: whether to emit progress rows (default false).
/// </summary>
public sealed record SubscribePlan(RelationExpr Expr, RelationDesc Desc, ulong? AsOf, bool Snapshot, bool Progress) : Plan;

/// <summary><c>SHOW TABLES | VIEWS | MATERIALIZED VIEWS | INDEXES [ON object]</c>; <paramref name="On"/> only for indexes.</summary>
public sealed record ShowObjectsPlan(CatalogItemKind Kind, GlobalId? On = null) : Plan;

/// <summary><c>SHOW name</c>; <c>SHOW ALL</c> has the name <c>all</c>. Names are lower-case.</summary>
public sealed record ShowVariablePlan(string Name) : Plan;

/// <summary><c>SHOW COLUMNS FROM object</c>: the object's id and columns.</summary>
public sealed record ShowColumnsPlan(GlobalId Id, RelationDesc Desc) : Plan;

/// <summary><c>SHOW CREATE kind name</c>.</summary>
public sealed record ShowCreatePlan(CatalogItemKind Kind, GlobalId Id) : Plan;

/// <summary>
/// <c>SET [LOCAL] name = value</c>: the value as text (several values joined with <c>", "</c>), or null for DEFAULT.
/// The caller validates names and values.
/// </summary>
public sealed record SetVariablePlan(string Name, string? Value, bool Local) : Plan;

/// <summary><c>RESET name</c>; <paramref name="Name"/> is null for <c>RESET ALL</c>.</summary>
public sealed record ResetVariablePlan(string? Name) : Plan;

/// <summary><c>DECLARE name CURSOR FOR ...</c>; <paramref name="Inner"/> is a <see cref="SelectPlan"/> or a <see cref="SubscribePlan"/>.</summary>
public sealed record DeclareCursorPlan(string Name, Plan Inner, bool WithHold) : Plan;

/// <summary><c>FETCH [count | ALL] cursor</c>; <paramref name="Count"/> is null for ALL. <paramref name="TimeoutMs"/>: the <c>timeout</c> option, when given.</summary>
public sealed record FetchPlan(string Cursor, long? Count, long? TimeoutMs = null) : Plan;

/// <summary><c>CLOSE cursor</c>; <paramref name="Cursor"/> is null for <c>CLOSE ALL</c>.</summary>
public sealed record ClosePlan(string? Cursor) : Plan;

/// <summary>One COPY option, lower-cased name, value as text (null when only the name was given).</summary>
public sealed record CopyOption(string Name, string? Value);

/// <summary><c>COPY (query | SUBSCRIBE ...) TO STDOUT</c> or <c>COPY table TO STDOUT</c>; <paramref name="Inner"/> is a <see cref="SelectPlan"/> or <see cref="SubscribePlan"/>.</summary>
public sealed record CopyToPlan(Plan Inner, ImmutableArray<CopyOption> Options) : Plan;

/// <summary>
/// <c>COPY table [(columns)] FROM STDIN</c>: <paramref name="Columns"/> are the table columns the input rows fill, in
/// input order; the others take their default (<paramref name="Defaults"/>, null = NULL).
/// </summary>
public sealed record CopyFromPlan(GlobalId Table, RelationDesc TableDesc, ImmutableArray<int> Columns, ImmutableArray<ScalarExpr?> Defaults, ImmutableArray<CopyOption> Options) : Plan;

/// <summary>Transaction control statements.</summary>
public enum TransactionKind
{
    Begin,
    Commit,
    Rollback,
}

/// <summary><c>BEGIN</c>, <c>COMMIT</c> or <c>ROLLBACK</c>. <paramref name="ReadOnly"/> is set for <c>BEGIN READ ONLY</c>.</summary>
public sealed record TransactionPlan(TransactionKind Kind, bool ReadOnly = false) : Plan;

/// <summary><c>EXPLAIN</c>: <paramref name="Text"/> is the planned statement's relational plan, one operator per line.</summary>
public sealed record ExplainPlan(Plan Explained, string Text) : Plan;
