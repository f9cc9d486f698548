using System;

namespace Kernel.Sql.Syntax;

/// <summary>A scalar expression. Parentheses leave no node: the tree's shape records the grouping.</summary>
public abstract record Expression : SyntaxNode;

/// <summary>A column reference: <c>a</c>, <c>t.a</c>, <c>s.t.a</c> (parts case-folded, outermost first).</summary>
public sealed record ColumnRef(NodeList<string> Parts) : Expression
{
    public static ColumnRef Of(params ReadOnlySpan<string> parts) => new(NodeList.Create(parts));
}

/// <summary>A positional parameter <c>$n</c> of a prepared statement.</summary>
public sealed record Parameter(int Number) : Expression;

/// <summary>An integer constant that fits in 64 bits; larger ones are <see cref="NumericLiteral"/>s.</summary>
/// <remarks>
/// A leading minus sign is a <see cref="UnaryOperation"/>, as in PostgreSQL's grammar; binding folds it
/// (which is how <c>-9223372036854775808</c> ends up a bigint).
/// </remarks>
public sealed record IntegerLiteral(long Value) : Expression;

/// <summary>A numeric constant with a point or exponent, or an integer too large for 64 bits; kept as written.</summary>
public sealed record NumericLiteral(string Text) : Expression;

/// <summary>A string constant, escapes already decoded.</summary>
public sealed record StringLiteral(string Value) : Expression;

/// <summary>
/// A bit-string constant, as PostgreSQL's lexer leaves it: <c>b</c> followed by the binary digits of
/// <c>B'0101'</c>, or <c>x</c> followed by the hex digits of <c>X'1F'</c>. The digits are checked when bound.
/// </summary>
public sealed record BitStringLiteral(string Value) : Expression;

public sealed record BooleanLiteral(bool Value) : Expression;

public sealed record NullLiteral : Expression;

/// <summary>The <c>DEFAULT</c> keyword used as a value in <c>VALUES</c> rows and <c>UPDATE ... SET</c>.</summary>
public sealed record DefaultValue : Expression;

/// <summary>A prefix operator: <c>-x</c>, <c>+x</c>, or any other operator such as <c>~x</c> or <c>|/x</c>.</summary>
public sealed record UnaryOperation(string Operator, Expression Operand) : Expression;

/// <summary>
/// A binary operator looked up by name when bound: comparisons, arithmetic, <c>||</c> and any other operator.
/// <c>!=</c> is stored as <c>&lt;&gt;</c>, as PostgreSQL does.
/// </summary>
public sealed record BinaryOperation(Expression Left, string Operator, Expression Right) : Expression;

/// <summary><c>a AND b AND c</c>: a left-nested chain is flattened into one node, as in PostgreSQL's BoolExpr.</summary>
public sealed record AndExpression(NodeList<Expression> Operands) : Expression;

/// <summary><c>a OR b OR c</c>, flattened like <see cref="AndExpression"/>.</summary>
public sealed record OrExpression(NodeList<Expression> Operands) : Expression;

public sealed record NotExpression(Expression Operand) : Expression;

/// <summary><c>x IS [NOT] NULL</c>, also written <c>x ISNULL</c> and <c>x NOTNULL</c>.</summary>
public sealed record IsNullExpression(Expression Operand, bool Negated) : Expression;

public enum BooleanTestKind : byte
{
    True,
    False,
    Unknown,
}

/// <summary><c>x IS [NOT] TRUE | FALSE | UNKNOWN</c>.</summary>
public sealed record IsBooleanExpression(Expression Operand, BooleanTestKind Kind, bool Negated) : Expression;

/// <summary><c>a IS [NOT] DISTINCT FROM b</c>.</summary>
public sealed record IsDistinctFromExpression(Expression Left, Expression Right, bool Negated) : Expression;

/// <summary><c>x [NOT] BETWEEN [SYMMETRIC] low AND high</c>.</summary>
public sealed record BetweenExpression(Expression Operand, Expression Low, Expression High, bool Negated, bool Symmetric)
    : Expression;

/// <summary><c>x [NOT] IN (a, b, ...)</c>.</summary>
public sealed record InListExpression(Expression Operand, NodeList<Expression> Items, bool Negated) : Expression;

/// <summary><c>x [NOT] IN (SELECT ...)</c>; the operand may be a <see cref="RowConstructor"/>.</summary>
public sealed record InSubqueryExpression(Expression Operand, Query Query, bool Negated) : Expression;

/// <summary><c>x [NOT] LIKE | ILIKE pattern [ESCAPE e]</c>.</summary>
public sealed record LikeExpression(
    Expression Operand,
    Expression Pattern,
    Expression? Escape,
    bool CaseInsensitive,
    bool Negated) : Expression;

public enum Quantifier : byte
{
    /// <summary><c>ANY</c>, also spelled <c>SOME</c>.</summary>
    Any,
    All,
}

/// <summary>
/// <c>x op ANY | ALL (SELECT ...)</c>. The operator is an ordinary operator name; <c>LIKE</c> and
/// <c>ILIKE</c> become <c>~~</c>, <c>!~~</c>, <c>~~*</c> and <c>!~~*</c> as in PostgreSQL.
/// </summary>
public sealed record QuantifiedSubqueryExpression(Expression Left, string Operator, Quantifier Quantifier, Query Query)
    : Expression;

/// <summary><c>x op ANY | ALL (array)</c>: the array form of <see cref="QuantifiedSubqueryExpression"/>.</summary>
public sealed record QuantifiedArrayExpression(Expression Left, string Operator, Quantifier Quantifier, Expression Array)
    : Expression;

/// <summary>
/// A type cast, whatever its spelling: <c>CAST(x AS t)</c>, <c>x::t</c>, or a typed literal such as
/// <c>DATE '2024-01-01'</c> (a cast of a <see cref="StringLiteral"/>).
/// </summary>
public sealed record CastExpression(Expression Operand, TypeName Type) : Expression;

/// <summary>
/// A function call, aggregate or window function. Special syntax becomes an ordinary call as in PostgreSQL:
/// <c>COALESCE</c>, <c>NULLIF</c>, <c>GREATEST</c> and <c>LEAST</c> keep their names;
/// <c>EXTRACT</c>, <c>POSITION</c>, <c>SUBSTRING ... FROM</c>, <c>TRIM</c>, <c>OVERLAY</c> and
/// <c>AT TIME ZONE</c> become calls of <c>pg_catalog</c> functions.
/// </summary>
/// <param name="Name">The function's name.</param>
/// <param name="Arguments">The arguments; empty for <c>f()</c> and <c>count(*)</c>.</param>
/// <param name="Distinct">Whether the call is <c>f(DISTINCT ...)</c>.</param>
/// <param name="Star">Whether the call is <c>f(*)</c>.</param>
/// <param name="OrderBy">An aggregate's own ordering: <c>string_agg(x, ',' ORDER BY x)</c>.</param>
/// <param name="Filter">The <c>FILTER (WHERE ...)</c> condition of an aggregate.</param>
/// <param name="Over">The window of a window function call.</param>
public sealed record FunctionCall(
    ObjectName Name,
    NodeList<Expression> Arguments,
    bool Distinct,
    bool Star,
    NodeList<OrderByItem> OrderBy,
    Expression? Filter,
    WindowSpecification? Over) : Expression
{
    /// <summary>A plain call <c>name(arguments)</c>.</summary>
    public static FunctionCall Of(string name, params ReadOnlySpan<Expression> arguments) =>
        new(ObjectName.Of(name), NodeList.Create(arguments), false, false, NodeList<OrderByItem>.Empty, null, null);

    /// <summary>A plain call of a function with a qualified name.</summary>
    public static FunctionCall Of(ObjectName name, params ReadOnlySpan<Expression> arguments) =>
        new(name, NodeList.Create(arguments), false, false, NodeList<OrderByItem>.Empty, null, null);
}

/// <summary><c>OVER (PARTITION BY ... ORDER BY ...)</c>. Frame clauses are not supported yet.</summary>
public sealed record WindowSpecification(NodeList<Expression> PartitionBy, NodeList<OrderByItem> OrderBy) : SyntaxNode;

/// <summary><c>CASE [operand] WHEN ... THEN ... [ELSE ...] END</c>; with an operand, each condition is compared to it.</summary>
public sealed record CaseExpression(Expression? Operand, NodeList<WhenClause> Whens, Expression? Else) : Expression;

public sealed record WhenClause(Expression Condition, Expression Result) : SyntaxNode;

/// <summary><c>EXISTS (SELECT ...)</c>.</summary>
public sealed record ExistsExpression(Query Query) : Expression;

/// <summary>A scalar subquery <c>(SELECT ...)</c> used as a value.</summary>
public sealed record SubqueryExpression(Query Query) : Expression;

/// <summary><c>ROW(a, b)</c> or the implicit form <c>(a, b)</c>.</summary>
public sealed record RowConstructor(NodeList<Expression> Items) : Expression;

public enum SqlValueFunctionKind : byte
{
    CurrentDate,
    CurrentTime,
    CurrentTimestamp,
    LocalTime,
    LocalTimestamp,
    CurrentRole,
    CurrentUser,
    SessionUser,
    User,
    CurrentCatalog,
    CurrentSchema,
}

/// <summary>
/// A niladic SQL-standard function written without parentheses: <c>CURRENT_DATE</c>,
/// <c>CURRENT_TIMESTAMP(3)</c>, <c>CURRENT_USER</c>...
/// </summary>
/// <remarks>
/// <see cref="Precision"/>: the fractional-seconds precision of the time functions, when given.
/// </remarks>
public sealed record SqlValueFunction(SqlValueFunctionKind Kind, int? Precision = null) : Expression;
