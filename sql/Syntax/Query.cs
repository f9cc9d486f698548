namespace Kernel.Sql.Syntax;

/// <summary>
/// A query: an optional WITH list, a body (SELECT, VALUES or a set operation) and the clauses that apply
/// to the whole body: ORDER BY, LIMIT and OFFSET.
/// </summary>
/// <remarks>
/// Parenthesized queries merge into the enclosing one as in PostgreSQL: <c>(SELECT 1) LIMIT 1</c> is the same
/// tree as <c>SELECT 1 LIMIT 1</c>. <c>FETCH FIRST n ROWS ONLY</c> is stored as a limit, and
/// <c>LIMIT ALL</c> as no limit.
/// </remarks>
public sealed record Query(
    NodeList<CommonTableExpression> With,
    QueryBody Body,
    NodeList<OrderByItem> OrderBy,
    Expression? Limit,
    Expression? Offset) : SyntaxNode
{
    /// <summary>A query that is just <paramref name="body"/>.</summary>
    public static Query Of(QueryBody body) =>
        new(NodeList<CommonTableExpression>.Empty, body, NodeList<OrderByItem>.Empty, null, null);

    /// <summary>Whether the query has no clause beyond its body, so that it can stand wherever a body can.</summary>
    public bool IsBodyOnly => With.Count == 0 && OrderBy.Count == 0 && Limit is null && Offset is null;
}

/// <summary><c>name [(columns)] AS (query)</c> in a WITH list.</summary>
public sealed record CommonTableExpression(string Name, NodeList<string> Columns, Query Query) : SyntaxNode;

/// <summary>The part of a query that produces rows, before ORDER BY and LIMIT apply.</summary>
public abstract record QueryBody : SyntaxNode;

/// <summary>One <c>SELECT</c>: projection, FROM, WHERE, GROUP BY and HAVING.</summary>
/// <remarks>
/// <see cref="Distinct"/>: <c>DISTINCT</c> or <c>DISTINCT ON (...)</c>; null for neither (or <c>ALL</c>).<br/>
/// <see cref="Items"/>: the projection; empty for PostgreSQL's <c>SELECT FROM t</c>.<br/>
/// <see cref="From"/>: the FROM list; its items are cross-joined.
/// </remarks>
public sealed record Select(
    SelectDistinct? Distinct,
    NodeList<SelectItem> Items,
    NodeList<FromItem> From,
    Expression? Where,
    NodeList<Expression> GroupBy,
    Expression? Having) : QueryBody;

/// <summary><c>DISTINCT</c> (no expressions) or <c>DISTINCT ON (expressions)</c>.</summary>
public sealed record SelectDistinct(NodeList<Expression> On) : SyntaxNode;

/// <summary><c>VALUES (a, b), (c, d)</c>.</summary>
public sealed record Values(NodeList<NodeList<Expression>> Rows) : QueryBody;

public enum SetOperator : byte
{
    Union,
    Intersect,
    Except,
}

/// <summary><c>left UNION | INTERSECT | EXCEPT [ALL] right</c>. INTERSECT binds tighter than the other two.</summary>
public sealed record SetOperation(SetOperator Operator, bool All, QueryBody Left, QueryBody Right) : QueryBody;

/// <summary>
/// A parenthesized query used as a set operand when it has clauses of its own (WITH, ORDER BY, LIMIT,
/// OFFSET); a parenthesized query without them is just its body.
/// </summary>
public sealed record ParenthesizedQuery(Query Query) : QueryBody;

/// <summary>One entry of a SELECT list.</summary>
public abstract record SelectItem : SyntaxNode;

/// <summary><c>expression [AS alias]</c>.</summary>
public sealed record ExpressionItem(Expression Expression, string? Alias) : SelectItem;

/// <summary><c>*</c> or <c>qualifier.*</c>.</summary>
public sealed record Wildcard(ObjectName? Qualifier) : SelectItem;

public enum SortDirection : byte
{
    Default,
    Ascending,
    Descending,
}

public enum NullsOrder : byte
{
    Default,
    First,
    Last,
}

/// <summary><c>expression [ASC | DESC] [NULLS FIRST | LAST]</c> in ORDER BY lists and index keys.</summary>
public sealed record OrderByItem(Expression Expression, SortDirection Direction, NullsOrder Nulls) : SyntaxNode
{
    public static OrderByItem Of(Expression expression) => new(expression, SortDirection.Default, NullsOrder.Default);
}
