namespace Kernel.Sql.Syntax;

/// <summary>One SQL statement.</summary>
public abstract record Statement : SyntaxNode;

/// <summary>
/// <c>name [= value]</c> in a WITH option list (SUBSCRIBE, COPY, FETCH, EXPLAIN). Values are kept as
/// PostgreSQL keeps them: words and booleans as <see cref="StringLiteral"/>s (<c>true</c>, <c>on</c>,
/// <c>csv</c>), numbers as numeric literals; the binder interprets them.
/// </summary>
/// <param name="Name">The option's name, lower-cased; EXPLAIN options may be several words joined by spaces.</param>
/// <param name="Value">The value, or null when only the name was given.</param>
public sealed record WithOption(string Name, Expression? Value) : SyntaxNode;

/// <summary>A query run for its rows: SELECT, VALUES, TABLE or a set operation.</summary>
public sealed record SelectStatement(Query Query) : Statement;

/// <summary><c>INSERT INTO table [AS alias] [(columns)] {query | DEFAULT VALUES} [RETURNING ...]</c>.</summary>
/// <remarks>
/// <see cref="Source"/>: the rows to insert; null for <c>DEFAULT VALUES</c>.
/// </remarks>
public sealed record InsertStatement(
    ObjectName Table,
    string? Alias,
    NodeList<string> Columns,
    Query? Source,
    NodeList<SelectItem> Returning) : Statement;

/// <summary><c>column = value</c> in UPDATE's SET list.</summary>
public sealed record Assignment(string Column, Expression Value) : SyntaxNode;

/// <summary><c>UPDATE table [[AS] alias] SET ... [WHERE ...] [RETURNING ...]</c>.</summary>
public sealed record UpdateStatement(
    ObjectName Table,
    string? Alias,
    NodeList<Assignment> Assignments,
    Expression? Where,
    NodeList<SelectItem> Returning) : Statement;

/// <summary><c>DELETE FROM table [[AS] alias] [WHERE ...] [RETURNING ...]</c>.</summary>
public sealed record DeleteStatement(ObjectName Table, string? Alias, Expression? Where, NodeList<SelectItem> Returning)
    : Statement;

public enum ColumnConstraintKind : byte
{
    NotNull,
    Null,
    Default,
    PrimaryKey,
    Unique,
}

/// <summary>A constraint written after a column's type.</summary>
/// <remarks>
/// <see cref="Default"/>: the expression of a <see cref="ColumnConstraintKind.Default"/> constraint.<br/>
/// <see cref="Name"/>: the name given with <c>CONSTRAINT name</c>.
/// </remarks>
public sealed record ColumnConstraint(ColumnConstraintKind Kind, Expression? Default, string? Name) : SyntaxNode;

/// <summary><c>name type [constraints]</c> in CREATE TABLE.</summary>
public sealed record ColumnDefinition(string Name, TypeName Type, NodeList<ColumnConstraint> Constraints) : SyntaxNode;

public enum TableConstraintKind : byte
{
    PrimaryKey,
    Unique,
}

/// <summary><c>[CONSTRAINT name] PRIMARY KEY (columns)</c> or <c>UNIQUE (columns)</c> in CREATE TABLE.</summary>
public sealed record TableConstraint(TableConstraintKind Kind, NodeList<string> Columns, string? Name) : SyntaxNode;

/// <summary><c>CREATE TABLE [IF NOT EXISTS] name (columns and constraints)</c>.</summary>
public sealed record CreateTableStatement(
    ObjectName Name,
    bool IfNotExists,
    NodeList<ColumnDefinition> Columns,
    NodeList<TableConstraint> Constraints) : Statement;

/// <summary><c>CREATE [OR REPLACE] VIEW [IF NOT EXISTS] name [(columns)] AS query</c>.</summary>
public sealed record CreateViewStatement(
    ObjectName Name,
    NodeList<string> Columns,
    Query Query,
    bool OrReplace,
    bool IfNotExists) : Statement;

/// <summary><c>CREATE [OR REPLACE] MATERIALIZED VIEW [IF NOT EXISTS] name [(columns)] AS query</c>.</summary>
public sealed record CreateMaterializedViewStatement(
    ObjectName Name,
    NodeList<string> Columns,
    Query Query,
    bool OrReplace,
    bool IfNotExists) : Statement;

/// <summary>
/// <c>CREATE [UNIQUE] INDEX [[IF NOT EXISTS] name] ON object (keys)</c>, or Materialize's
/// <c>CREATE DEFAULT INDEX [name] ON object</c>. An index is an arrangement of the object's rows by its keys;
/// a default index arranges by the object's unique key, or all columns.
/// </summary>
/// <remarks>
/// <see cref="Keys"/>: the key expressions; empty for a default index.
/// </remarks>
public sealed record CreateIndexStatement(
    string? Name,
    ObjectName On,
    NodeList<OrderByItem> Keys,
    bool IsDefault,
    bool Unique,
    bool IfNotExists) : Statement;

public enum ObjectKind : byte
{
    Table,
    View,
    MaterializedView,
    Index,
}

public enum DropBehavior : byte
{
    Default,
    Cascade,
    Restrict,
}

/// <summary><c>DROP kind [IF EXISTS] name, ... [CASCADE | RESTRICT]</c>.</summary>
public sealed record DropStatement(ObjectKind Kind, bool IfExists, NodeList<ObjectName> Names, DropBehavior Behavior)
    : Statement;

/// <summary>
/// <c>SUBSCRIBE [TO] {name | (query)} [WITH (options)] [AS OF timestamp]</c>: stream a relation's changes.
/// Exactly one of <see cref="Name"/> and <see cref="Query"/> is set.
/// </summary>
public sealed record SubscribeStatement(ObjectName? Name, Query? Query, NodeList<WithOption> Options, Expression? AsOf)
    : Statement;

public enum CopyDirection : byte
{
    /// <summary><c>TO STDOUT</c>.</summary>
    ToStdout,

    /// <summary><c>FROM STDIN</c>.</summary>
    FromStdin,
}

/// <summary>
/// <c>COPY table [(columns)] {FROM STDIN | TO STDOUT} [options]</c> or <c>COPY (query | SUBSCRIBE ...) TO STDOUT [options]</c>.
/// Exactly one of <see cref="Table"/> and <see cref="Source"/> is set. PostgreSQL's old option spellings
/// (<c>CSV HEADER</c>, <c>DELIMITER ','</c>) are stored as the equivalent generic options.
/// </summary>
/// <remarks>
/// <see cref="Source"/>: the statement whose output is copied: a <see cref="SelectStatement"/> or a <see cref="SubscribeStatement"/>.
/// </remarks>
public sealed record CopyStatement(
    ObjectName? Table,
    NodeList<string> Columns,
    Statement? Source,
    CopyDirection Direction,
    NodeList<WithOption> Options) : Statement;

/// <summary><c>DECLARE name CURSOR [WITH HOLD] FOR {query | SUBSCRIBE ...}</c>.</summary>
/// <remarks>
/// <see cref="Source"/>: a <see cref="SelectStatement"/> or a <see cref="SubscribeStatement"/>.
/// </remarks>
public sealed record DeclareCursorStatement(string Name, Statement Source, bool WithHold) : Statement;

/// <summary><c>FETCH [FORWARD] [count | ALL] [FROM | IN] cursor [WITH (options)]</c>.</summary>
/// <remarks>
/// <see cref="Count"/>: how many rows to fetch; null for ALL. A bare <c>FETCH c</c> fetches one.
/// </remarks>
public sealed record FetchStatement(string Cursor, long? Count, NodeList<WithOption> Options) : Statement;

/// <summary><c>CLOSE cursor</c>, or <c>CLOSE ALL</c> when <see cref="Cursor"/> is null.</summary>
public sealed record CloseStatement(string? Cursor) : Statement;

public enum ShowObjectKind : byte
{
    Tables,
    Views,
    MaterializedViews,
    Indexes,
}

/// <summary>
/// <c>SHOW TABLES | VIEWS | MATERIALIZED VIEWS [FROM schema]</c> or <c>SHOW INDEXES [ON object | FROM schema]</c>.
/// </summary>
/// <remarks>
/// <see cref="From"/>: the schema to list, when given.<br/>
/// <see cref="On"/>: for indexes: the object whose indexes to list.
/// </remarks>
public sealed record ShowObjectsStatement(ShowObjectKind Kind, ObjectName? From, ObjectName? On) : Statement;

/// <summary><c>SHOW COLUMNS FROM object</c>.</summary>
public sealed record ShowColumnsStatement(ObjectName Table) : Statement;

/// <summary><c>SHOW CREATE {TABLE | VIEW | MATERIALIZED VIEW | INDEX} name</c>.</summary>
public sealed record ShowCreateStatement(ObjectKind Kind, ObjectName Name) : Statement;

/// <summary>
/// <c>SHOW variable</c>; <c>SHOW ALL</c> has the name <c>all</c>, and the SQL-standard spellings become the
/// variable names (<c>SHOW TIME ZONE</c> → <c>timezone</c>).
/// </summary>
public sealed record ShowVariableStatement(string Name) : Statement;

/// <summary>
/// <c>SET [SESSION | LOCAL] variable {TO | =} {value, ... | DEFAULT}</c>; also <c>SET TIME ZONE</c>,
/// <c>SET SCHEMA</c> and <c>SET NAMES</c> under their variable names. Values are kept as PostgreSQL keeps
/// them (see <see cref="WithOption"/>); an empty list means DEFAULT.
/// </summary>
public sealed record SetVariableStatement(string Name, NodeList<Expression> Values, bool Local) : Statement
{
    public bool IsDefault => Values.Count == 0;
}

/// <summary><c>RESET variable</c>, or <c>RESET ALL</c> when <see cref="Name"/> is null.</summary>
public sealed record ResetVariableStatement(string? Name) : Statement;

public enum IsolationLevel : byte
{
    ReadUncommitted,
    ReadCommitted,
    RepeatableRead,
    Serializable,

    /// <summary>Materialize's <c>STRICT SERIALIZABLE</c>.</summary>
    StrictSerializable,
}

/// <summary>One mode of BEGIN / START TRANSACTION.</summary>
public abstract record TransactionMode : SyntaxNode;

/// <summary><c>ISOLATION LEVEL level</c>.</summary>
public sealed record IsolationLevelMode(IsolationLevel Level) : TransactionMode;

/// <summary><c>READ ONLY</c> or <c>READ WRITE</c>.</summary>
public sealed record AccessMode(bool ReadOnly) : TransactionMode;

/// <summary><c>[NOT] DEFERRABLE</c>.</summary>
public sealed record DeferrableMode(bool Deferrable) : TransactionMode;

/// <summary><c>BEGIN [WORK | TRANSACTION] [modes]</c> or <c>START TRANSACTION [modes]</c>.</summary>
public sealed record BeginStatement(NodeList<TransactionMode> Modes) : Statement;

/// <summary><c>COMMIT</c> or <c>END</c>.</summary>
public sealed record CommitStatement : Statement;

/// <summary><c>ROLLBACK</c> or <c>ABORT</c>.</summary>
public sealed record RollbackStatement : Statement;

/// <summary>
/// <c>EXPLAIN</c>, in PostgreSQL's forms (<c>EXPLAIN [ANALYZE] [VERBOSE] statement</c>,
/// <c>EXPLAIN (option [value], ...) statement</c>) and Materialize's
/// (<c>EXPLAIN [stage] PLAN [WITH (options)] [AS format] FOR statement</c>, <c>EXPLAIN TIMESTAMP FOR ...</c>).
/// PostgreSQL's ANALYZE and VERBOSE keywords become the options <c>analyze</c> and <c>verbose</c>.
/// </summary>
/// <remarks>
/// <see cref="Stage"/>: Materialize's stage, lower-cased: <c>raw plan</c>, <c>optimized plan</c>, <c>timestamp</c>...; null otherwise.<br/>
/// <see cref="Format"/>: Materialize's <c>AS</c> format, lower-cased (<c>text</c>, <c>verbose text</c>, <c>json</c>); null otherwise.
/// </remarks>
public sealed record ExplainStatement(string? Stage, NodeList<WithOption> Options, string? Format, Statement Statement)
    : Statement;

public enum DiscardTarget : byte
{
    All,
    Plans,
    Sequences,
    Temporary,
}

/// <summary><c>DISCARD {ALL | PLANS | SEQUENCES | TEMP}</c>.</summary>
public sealed record DiscardStatement(DiscardTarget Target) : Statement;

/// <summary><c>PREPARE name [(types)] AS statement</c>.</summary>
public sealed record PrepareStatement(string Name, NodeList<TypeName> ParameterTypes, Statement Statement) : Statement;

/// <summary><c>EXECUTE name [(arguments)]</c>.</summary>
public sealed record ExecuteStatement(string Name, NodeList<Expression> Arguments) : Statement;

/// <summary><c>DEALLOCATE [PREPARE] name</c>, or <c>DEALLOCATE ALL</c> when <see cref="Name"/> is null.</summary>
public sealed record DeallocateStatement(string? Name) : Statement;
