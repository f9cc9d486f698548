namespace Kernel.Sql.Syntax;

/// <summary>One item of a FROM list: a table, a subquery, a table function or a join of items.</summary>
public abstract record FromItem : SyntaxNode;

/// <summary><c>alias [(column, ...)]</c> after a FROM item.</summary>
public sealed record Alias(string Name, NodeList<string> Columns) : SyntaxNode
{
    public static Alias Of(string name) => new(name, NodeList<string>.Empty);
}

/// <summary>A table or view by name.</summary>
public sealed record TableReference(ObjectName Name, Alias? Alias) : FromItem;

/// <summary><c>[LATERAL] (query) [alias]</c>. Unlike PostgreSQL 15 (and like 16), the alias is optional.</summary>
public sealed record SubqueryReference(Query Query, Alias? Alias, bool Lateral) : FromItem;

/// <summary><c>[LATERAL] f(arguments) [alias]</c>: a set-returning function such as <c>generate_series</c>.</summary>
public sealed record FunctionReference(FunctionCall Function, Alias? Alias, bool Lateral) : FromItem;

public enum JoinKind : byte
{
    Inner,
    Left,
    Right,
    Full,
    Cross,
}

/// <summary>
/// <c>left [NATURAL] kind JOIN right [ON ... | USING (...)]</c>. <see cref="Condition"/> is null only for
/// CROSS JOIN; <see cref="Alias"/> is set only for a parenthesized join with an alias.
/// </summary>
public sealed record JoinReference(JoinKind Kind, FromItem Left, FromItem Right, JoinCondition? Condition, Alias? Alias)
    : FromItem;

/// <summary>How a join matches rows.</summary>
public abstract record JoinCondition : SyntaxNode;

/// <summary><c>ON expression</c>.</summary>
public sealed record OnCondition(Expression Expression) : JoinCondition;

/// <summary><c>USING (columns) [AS alias]</c>.</summary>
public sealed record UsingCondition(NodeList<string> Columns, string? Alias) : JoinCondition;

/// <summary><c>NATURAL</c>: equality on every column name the two sides share.</summary>
public sealed record NaturalCondition : JoinCondition;
