using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

/// <summary>
/// A recursive-descent parser for the PostgreSQL dialect Kernel speaks. It accepts what PostgreSQL 15's
/// grammar accepts for the statements in scope, builds the same tree shapes (operator precedence,
/// flattened AND/OR, merged parenthesized queries) and reports errors with PostgreSQL's messages and
/// positions. Valid PostgreSQL that Kernel does not support yet fails with SQLSTATE 0A000.
/// </summary>
/// <remarks>
/// <para>
/// The public entry points never throw: every outcome is a <see cref="ParseResult"/>. Inside, the first
/// error unwinds the descent through a private exception, caught at the entry points; nothing else is caught.
/// </para>
/// <para>
/// Depth is bounded: every nested expression, query, statement, parenthesized FROM item and every link of
/// an operator, join or set-operation chain counts one level, and beyond <see cref="DepthMax"/> levels the
/// statement fails with 54001. The tree is then shallow enough for anything that walks it recursively
/// (printer, binder, record equality) on an ordinary thread stack. A stack probe backs the limit up for
/// callers that start parsing with little stack left.
/// </para>
/// <para>
/// Expressions are parsed by precedence climbing over PostgreSQL's table (gram.y), loosest first: OR, AND,
/// NOT, IS, comparison, BETWEEN/IN/LIKE, other operators, + -, * / %, ^, AT TIME ZONE, COLLATE, unary + -,
/// ::. An operator's token decides how far its left operand extends; comparison, BETWEEN/IN/LIKE and IS
/// DISTINCT FROM do not associate, so <c>a &lt; b &lt; c</c> is an error as in PostgreSQL. Where PostgreSQL's
/// grammar lets a keyword be both an operator and a select item's label (<c>SELECT a IS FROM t</c>), the
/// token after it decides, as its LALR(1) parser does.
/// </para>
/// </remarks>
public sealed partial class Parser
{
    /// <summary>The deepest nesting a statement may have (see the remarks on <see cref="Parser"/>).</summary>
    public const int DepthMax = 200;

    private readonly string _sql;
    private readonly List<Token> _tokens;

    // Set when lexing stopped early: the last token is then a zero-length sentinel at the error, and
    // reaching it reports this error instead of a syntax error (PostgreSQL lexes lazily, so a syntax
    // error before the bad token wins).
    private readonly ParseError? _lexError;
    private int _index;
    private int _depth;

    private Parser(string sql)
    {
        _sql = sql;
        _tokens = new List<Token>(Math.Min(sql.Length / 4, 1 << 16) + 4);
        _lexError = Lexer.Tokenize(sql, _tokens);
        if (_lexError is not null)
        {
            int offset = _lexError.Offset >= 0 ? _lexError.Offset : sql.Length;
            _tokens.Add(new Token(TokenKind.Other, offset, 0, Keyword.None, null));
        }
    }

    /// <summary>
    /// Parses every statement of <paramref name="sql"/>, separated by semicolons; empty statements are skipped,
    /// so a text of only comments and semicolons yields none.
    /// </summary>
    public static ParseResult Parse(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var parser = new Parser(sql);
        try
        {
            return ParseResult.Success(parser.ParseStatements());
        }
        catch (ParseException exception)
        {
            return ParseResult.Failure(exception.Error);
        }
    }

    /// <summary>Parses <paramref name="sql"/> as one scalar expression, such as a stored column default.</summary>
    public static ExpressionParseResult ParseExpression(string sql)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var parser = new Parser(sql);
        try
        {
            Expression expression = parser.ParseExpression();
            parser.Expect(TokenKind.EndOfInput);
            return ExpressionParseResult.Success(expression);
        }
        catch (ParseException exception)
        {
            return ExpressionParseResult.Failure(exception.Error);
        }
    }

    private NodeList<ParsedStatement> ParseStatements()
    {
        var statements = new List<ParsedStatement>();
        while (true)
        {
            while (TryToken(TokenKind.Semicolon))
            {
            }

            if (At(TokenKind.EndOfInput))
            {
                return NodeList.From(statements);
            }

            int start = Current.Offset;
            Statement statement = ParseStatement();
            int end = _tokens[_index - 1].End;
            statements.Add(new ParsedStatement(statement, start, end - start));
            if (!TryToken(TokenKind.Semicolon) && !At(TokenKind.EndOfInput))
            {
                throw SyntaxError();
            }
        }
    }

    // ---- token cursor -----------------------------------------------------------------------------

    private Token Current => _tokens[_index];

    private Token Peek(int ahead = 1) => _tokens[Math.Min(_index + ahead, _tokens.Count - 1)];

    private Token Advance()
    {
        Token token = _tokens[_index];
        if (_index < _tokens.Count - 1)
        {
            _index++;
        }

        return token;
    }

    private bool At(TokenKind kind) => Current.Kind == kind;

    private bool AtKeyword(Keyword keyword) => IsKeyword(Current, keyword);

    private static bool IsKeyword(Token token, Keyword keyword) =>
        token.Kind == TokenKind.Identifier && token.Keyword == keyword;

    private bool PeekKeyword(int ahead, Keyword keyword) => IsKeyword(Peek(ahead), keyword);

    // Kernel's own statement words (SUBSCRIBE, OPTIMIZED...) are not PostgreSQL keywords: they are matched
    // as plain identifiers, so that they stay ordinary names everywhere else.
    private static bool IsWord(Token token, string word) =>
        token.Kind == TokenKind.Identifier && token.Keyword == Keyword.None && token.Value == word;

    private bool AtWord(string word) => IsWord(Current, word);

    private static bool IsStatementEnd(Token token) => token.Kind is TokenKind.Semicolon or TokenKind.EndOfInput;

    private bool PeekWord(int ahead, string word) => IsWord(Peek(ahead), word);

    /// <summary>
    /// Whether the current token is NOT on its own. PostgreSQL's lexer turns NOT before BETWEEN, IN, LIKE,
    /// ILIKE or SIMILAR into another token (NOT_LA), which fits nowhere a plain NOT does.
    /// </summary>
    private bool AtPlainNot() => AtKeyword(Keyword.Not) && !IsNegatableInfix(Peek());

    private bool TryToken(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            return false;
        }

        Advance();
        return true;
    }

    private Token Expect(TokenKind kind)
    {
        if (Current.Kind != kind)
        {
            throw SyntaxError();
        }

        return Advance();
    }

    private bool TryKeyword(Keyword keyword)
    {
        if (!AtKeyword(keyword))
        {
            return false;
        }

        Advance();
        return true;
    }

    private bool TryKeywords(Keyword first, Keyword second)
    {
        if (!AtKeyword(first) || !PeekKeyword(1, second))
        {
            return false;
        }

        Advance();
        Advance();
        return true;
    }

    private Token ExpectKeyword(Keyword keyword)
    {
        if (!AtKeyword(keyword))
        {
            throw SyntaxError();
        }

        return Advance();
    }

    // ---- names ------------------------------------------------------------------------------------

    // PostgreSQL's name classes: ColId (column, table and other object names), type_function_name
    // (function and type names), ColLabel (after AS and after a dot: any word), BareColLabel (a select
    // label without AS) and NonReservedWord (option names and values).
    private static bool IsColumnId(Token token) =>
        token.Kind == TokenKind.QuotedIdentifier
        || (token.Kind == TokenKind.Identifier
            && (token.Keyword == Keyword.None
                || KeywordTable.Category(token.Keyword) is KeywordCategory.Unreserved or KeywordCategory.ColumnName));

    private static bool IsTypeFunctionName(Token token) =>
        token.Kind == TokenKind.QuotedIdentifier
        || (token.Kind == TokenKind.Identifier
            && (token.Keyword == Keyword.None
                || KeywordTable.Category(token.Keyword) is KeywordCategory.Unreserved or KeywordCategory.TypeFunctionName));

    private static bool IsColumnLabel(Token token) =>
        token.Kind is TokenKind.Identifier or TokenKind.QuotedIdentifier;

    private static bool IsBareColumnLabel(Token token) =>
        token.Kind == TokenKind.QuotedIdentifier
        || (token.Kind == TokenKind.Identifier
            && (token.Keyword == Keyword.None || KeywordTable.Info(token.Keyword).IsBareLabel));

    private static bool IsNonReservedWord(Token token) =>
        token.Kind == TokenKind.QuotedIdentifier
        || (token.Kind == TokenKind.Identifier
            && (token.Keyword == Keyword.None || KeywordTable.Category(token.Keyword) != KeywordCategory.Reserved));

    private static string NameOf(Token token) => token.Value ?? KeywordTable.Text(token.Keyword);

    private string ParseColumnId()
    {
        if (!IsColumnId(Current))
        {
            throw SyntaxError();
        }

        return NameOf(Advance());
    }

    private string ParseColumnLabel()
    {
        if (!IsColumnLabel(Current))
        {
            throw SyntaxError();
        }

        return NameOf(Advance());
    }

    /// <summary><c>ColId ('.' ColLabel)*</c>: a table, view, index or schema name.</summary>
    private ObjectName ParseQualifiedName()
    {
        int start = Current.Offset;
        string first = ParseColumnId();
        if (!At(TokenKind.Dot))
        {
            return new ObjectName(NodeList.Create([first])) { Location = new SourceLocation(start) };
        }

        var parts = new List<string> { first };
        while (TryToken(TokenKind.Dot))
        {
            parts.Add(ParseColumnLabel());
        }

        return new ObjectName(NodeList.From(parts)) { Location = new SourceLocation(start) };
    }

    /// <summary><c>(name, ...)</c>, the parenthesis included.</summary>
    private NodeList<string> ParseParenthesizedColumnList()
    {
        Expect(TokenKind.LeftParen);
        var names = new List<string>();
        do
        {
            names.Add(ParseColumnId());
        }
        while (TryToken(TokenKind.Comma));

        Expect(TokenKind.RightParen);
        return NodeList.From(names);
    }

    // ---- depth ------------------------------------------------------------------------------------

    private void Enter()
    {
        // The depth limit is what bounds the tree; the stack probe is only a backstop for a caller that
        // starts parsing with little stack left, which would otherwise end the process.
        if (++_depth > DepthMax || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            throw new ParseException(ParseError.At(
                _sql,
                SqlState.StatementTooComplex,
                "statement too deeply nested",
                Current.Offset,
                $"Nesting of expressions, subqueries and operator chains is limited to {DepthMax} levels."));
        }
    }

    private void Leave() => _depth--;

    // ---- errors -----------------------------------------------------------------------------------

    private ParseException SyntaxError() => SyntaxErrorAt(Current);

    private ParseException SyntaxErrorAt(Token token)
    {
        if (_lexError is not null && (IsLexErrorSentinel(token) || (LooksAhead(token) && IsLexErrorSentinel(TokenAfter(token)))))
        {
            return new ParseException(_lexError);
        }

        if (token.Kind == TokenKind.EndOfInput)
        {
            return new ParseException(ParseError.At(_sql, SqlState.SyntaxError, "syntax error at end of input", _sql.Length));
        }

        return new ParseException(ParseError.At(
            _sql,
            SqlState.SyntaxError,
            $"syntax error at or near \"{token.Text(_sql)}\"",
            token.Offset));
    }

    private bool IsLexErrorSentinel(Token token) =>
        _lexError is not null && token.Kind == TokenKind.Other && token.Length == 0 && token.Offset == _tokens[^1].Offset;

    // PostgreSQL's lexer reads one token past NOT, NULLS and WITH before the grammar sees them, so a lexical
    // error right after one of them is reported even when the grammar would fail at the keyword.
    private static bool LooksAhead(Token token) =>
        token.Kind == TokenKind.Identifier && token.Keyword is Keyword.Not or Keyword.Nulls or Keyword.With;

    private Token TokenAfter(Token token)
    {
        int index = _tokens.FindIndex(candidate => candidate.Offset == token.Offset && candidate.Length == token.Length);
        return index >= 0 && index + 1 < _tokens.Count ? _tokens[index + 1] : token;
    }

    /// <summary>A 0A000 error for valid PostgreSQL that Kernel does not implement, at <paramref name="token"/>.</summary>
    private ParseException NotSupported(string feature, Token token)
    {
        if (IsLexErrorSentinel(token))
        {
            return new ParseException(_lexError!);
        }

        return new ParseException(ParseError.At(_sql, SqlState.FeatureNotSupported, $"{feature} is not supported", token.Offset));
    }

    private ParseException NotSupported(string feature) => NotSupported(feature, Current);

    private ParseException Error(string sqlState, string message, Token token, string? hint = null) =>
        new(ParseError.At(_sql, sqlState, message, token.Offset, hint));

    private ParseException ErrorAt(string sqlState, string message, int offset) =>
        new(ParseError.At(_sql, sqlState, message, offset));

    /// <summary>Unwinds the descent on the first error; caught only by the public entry points.</summary>
    private sealed class ParseException(ParseError error) : Exception(error.Message)
    {
        public ParseError Error { get; } = error;
    }
}
