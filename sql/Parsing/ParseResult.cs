using System.Diagnostics.CodeAnalysis;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

/// <summary>One statement of a parsed string, with where its text lies.</summary>
/// <param name="Statement">The statement's syntax tree.</param>
/// <param name="Offset">The UTF-16 offset of the statement's first token.</param>
/// <param name="Length">The length of the statement's text, up to the end of its last token (the ';' excluded).</param>
public readonly record struct ParsedStatement(Statement Statement, int Offset, int Length)
{
    /// <summary>The statement's text within <paramref name="sql"/>, the string it was parsed from.</summary>
    public string Text(string sql) => sql.Substring(Offset, Length);
}

/// <summary>The outcome of <see cref="Parser.Parse"/>: the statements, or the first error.</summary>
public sealed class ParseResult
{
    private ParseResult(NodeList<ParsedStatement> statements, ParseError? error)
    {
        Statements = statements;
        Error = error;
    }

    /// <summary>The statements in order; empty when the text holds none (only comments or ';') or on error.</summary>
    public NodeList<ParsedStatement> Statements { get; }

    public ParseError? Error { get; }

    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    internal static ParseResult Success(NodeList<ParsedStatement> statements) => new(statements, null);

    internal static ParseResult Failure(ParseError error) => new(NodeList<ParsedStatement>.Empty, error);

    public override string ToString() => Error?.ToString() ?? Statements.ToString();
}

/// <summary>The outcome of <see cref="Parser.ParseExpression(string)"/>: one expression, or the first error.</summary>
public sealed class ExpressionParseResult
{
    private ExpressionParseResult(Expression? expression, ParseError? error)
    {
        Expression = expression;
        Error = error;
    }

    public Expression? Expression { get; }

    public ParseError? Error { get; }

    [MemberNotNullWhen(true, nameof(Expression))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    internal static ExpressionParseResult Success(Expression expression) => new(expression, null);

    internal static ExpressionParseResult Failure(ParseError error) => new(null, error);

    public override string ToString() => Error?.ToString() ?? Expression!.ToString();
}
