using System.Collections.Generic;

namespace Kernel.Sql.Parsing;

public enum TokenKind : byte
{
    EndOfInput,

    /// <summary>An unquoted word; <see cref="Token.Keyword"/> says whether it spells a keyword.</summary>
    Identifier,
    QuotedIdentifier,

    /// <summary>A string constant in any spelling: <c>'...'</c>, <c>E'...'</c> or <c>$tag$...$tag$</c>.</summary>
    String,

    /// <summary><c>B'...'</c> or <c>X'...'</c>.</summary>
    BitString,

    /// <summary>Digits only (any size); see <see cref="Numeric"/> for the rest.</summary>
    Integer,

    /// <summary>A number with a decimal point or an exponent.</summary>
    Numeric,

    /// <summary><c>$n</c>.</summary>
    Parameter,

    /// <summary>An operator other than the punctuation kinds below, such as <c>||</c>, <c>~~</c> or <c>@&gt;</c>.</summary>
    Operator,
    LeftParen,
    RightParen,
    LeftBracket,
    RightBracket,
    Comma,
    Semicolon,
    Colon,
    Dot,
    Plus,
    Minus,
    Star,
    Slash,
    Percent,
    Caret,
    Less,
    Greater,
    Equals,
    LessEquals,
    GreaterEquals,

    /// <summary><c>&lt;&gt;</c> or <c>!=</c>.</summary>
    NotEquals,

    /// <summary><c>::</c>.</summary>
    DoubleColon,

    /// <summary><c>..</c>.</summary>
    DotDot,

    /// <summary><c>:=</c>.</summary>
    ColonEquals,

    /// <summary><c>=&gt;</c>.</summary>
    EqualsGreater,

    /// <summary>Any other character, which no statement accepts.</summary>
    Other,
}

/// <summary>One lexical token.</summary>
/// <param name="Kind">What the token is.</param>
/// <param name="Offset">The 0-based UTF-16 offset of its first character.</param>
/// <param name="Length">Its length in the text, quotes and prefixes included.</param>
/// <param name="Keyword">The keyword an unquoted word spells, otherwise <see cref="Keyword.None"/>.</param>
/// <param name="Value">
/// The decoded value: an identifier folded to lower case (null for keywords, whose spelling is in
/// <see cref="KeywordTable"/>), a quoted identifier or string without quotes and escapes, a bit string as
/// <c>b0101</c> / <c>x1f</c>, an operator's or a numeric's text. Null for integers, parameters and
/// punctuation, which are read from the text.
/// </param>
public readonly record struct Token(TokenKind Kind, int Offset, int Length, Keyword Keyword, string? Value)
{
    public int End => Offset + Length;

    /// <summary>The token's text as written in <paramref name="sql"/>.</summary>
    public string Text(string sql) => sql.Substring(Offset, Length);
}

/// <summary>The tokens of a text, ending with <see cref="TokenKind.EndOfInput"/>, or the tokens before a lexical error and the error.</summary>
public sealed record TokenizeResult(IReadOnlyList<Token> Tokens, ParseError? Error);
