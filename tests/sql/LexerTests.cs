using System.Collections.Generic;
using System.Linq;
using Kernel.Sql;
using Kernel.Sql.Parsing;
using Xunit;

namespace Kernel.Tests.Sql;

/// <summary>
/// The lexer against PostgreSQL 15's lexical rules. Expected error messages and positions were taken from
/// a PostgreSQL 15 server.
/// </summary>
public sealed class LexerTests
{
    private static List<Token> Tokens(string sql)
    {
        TokenizeResult result = Lexer.Tokenize(sql);
        Assert.Null(result.Error);
        Assert.Equal(TokenKind.EndOfInput, result.Tokens[^1].Kind);
        return [.. result.Tokens.Take(result.Tokens.Count - 1)];
    }

    private static Token Single(string sql) => Assert.Single(Tokens(sql));

    private static ParseError Error(string sql)
    {
        TokenizeResult result = Lexer.Tokenize(sql);
        Assert.NotNull(result.Error);
        return result.Error;
    }

    [Theory]
    [InlineData("SELECT", Keyword.Select)]
    [InlineData("select", Keyword.Select)]
    [InlineData("SeLeCt", Keyword.Select)]
    [InlineData("current_timestamp", Keyword.CurrentTimestamp)]
    public void Keyword_AnyCase_IsRecognized(string text, Keyword keyword)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.Identifier, token.Kind);
        Assert.Equal(keyword, token.Keyword);
        Assert.Null(token.Value);
    }

    [Theory]
    [InlineData("Foo", "foo")]
    [InlineData("FOO_bar$1", "foo_bar$1")]
    [InlineData("_x", "_x")]
    [InlineData("ÉtÉ", "ÉtÉ")]
    [InlineData("straße", "straße")]
    public void Identifier_Unquoted_FoldsAsciiLettersOnly(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.Identifier, token.Kind);
        Assert.Equal(Keyword.None, token.Keyword);
        Assert.Equal(value, token.Value);
    }

    [Theory]
    [InlineData("subscribe")]
    [InlineData("optimized")]
    [InlineData("json")]
    public void KernelStatementWords_AreNotKeywords(string text) => Assert.Equal(Keyword.None, Single(text).Keyword);

    [Fact]
    public void Identifier_WithNonAsciiLookalike_IsNotAKeyword()
    {
        // Dotless i upper-cases to I in .NET's case-insensitive comparison, but PostgreSQL folds ASCII only.
        Assert.Equal(Keyword.None, Single("ın").Keyword);
    }

    [Theory]
    [InlineData("\"Foo\"", "Foo")]
    [InlineData("\"select\"", "select")]
    [InlineData("\"a\"\"b\"", "a\"b")]
    [InlineData("\"with space\"", "with space")]
    public void Identifier_Quoted_KeepsCaseAndUnescapesQuotes(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.QuotedIdentifier, token.Kind);
        Assert.Equal(Keyword.None, token.Keyword);
        Assert.Equal(value, token.Value);
    }

    [Theory]
    [InlineData("'abc'", "abc")]
    [InlineData("''", "")]
    [InlineData("'it''s'", "it's")]
    [InlineData("'a\\nb'", "a\\nb")]
    [InlineData("'a'\n'b'", "ab")]
    [InlineData("'a' \t\r\n  'b'\n'c'", "abc")]
    [InlineData("'a' -- comment\n 'b'", "ab")]
    public void String_Standard_UnescapesQuotesAndJoinsContinuations(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.String, token.Kind);
        Assert.Equal(value, token.Value);
        Assert.Equal(text.Length, token.Length);
    }

    [Fact]
    public void String_SeparatedWithoutNewline_IsTwoTokens()
    {
        Assert.Equal(2, Tokens("'a' 'b'").Count);
        Assert.Equal(2, Tokens("'a' /* c */\n'b'").Count);
    }

    [Theory]
    [InlineData(@"E'a\nb'", "a\nb")]
    [InlineData(@"e'\b\f\n\r\t\v'", "\b\f\n\r\t\v")]
    [InlineData(@"E'\'\\'", "'\\")]
    [InlineData(@"E'\q'", "q")]
    [InlineData(@"E'\x41\x4a'", "AJ")]
    [InlineData(@"E'\x'", "x")]
    [InlineData(@"E'\101\60'", "A0")]
    [InlineData(@"E'\xc3\xa9'", "é")]
    [InlineData(@"E'\u00e9\U0001F600'", "é😀")]
    [InlineData(@"E'\uD83D\uDE00'", "😀")]
    [InlineData("E'a'\n'\\n'", "a\n")]
    public void String_Extended_DecodesEscapesToUtf8(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.String, token.Kind);
        Assert.Equal(value, token.Value);
    }

    [Theory]
    [InlineData("$$a'b$$", "a'b")]
    [InlineData("$$$$", "")]
    [InlineData("$tag$ $$ $Tag$ $tag$", " $$ $Tag$ ")]
    [InlineData("$a$x$ba$ $a$", "x$ba$ ")]
    [InlineData("$é$\\n$é$", "\\n")]
    public void String_DollarQuoted_IsTakenVerbatim(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.String, token.Kind);
        Assert.Equal(value, token.Value);
    }

    [Theory]
    [InlineData("B'0101'", "b0101")]
    [InlineData("x'1F'", "x1F")]
    [InlineData("b'01'\n'10'", "b0110")]
    public void BitString_KeepsPostgresPrefix(string text, string value)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.BitString, token.Kind);
        Assert.Equal(value, token.Value);
    }

    [Fact]
    public void NationalString_IsNcharKeywordThenString()
    {
        List<Token> tokens = Tokens("N'abc'");
        Assert.Equal(2, tokens.Count);
        Assert.Equal(Keyword.Nchar, tokens[0].Keyword);
        Assert.Equal(1, tokens[0].Length);
        Assert.Equal("abc", tokens[1].Value);
    }

    [Theory]
    [InlineData("42", TokenKind.Integer)]
    [InlineData("007", TokenKind.Integer)]
    [InlineData("99999999999999999999999", TokenKind.Integer)]
    [InlineData("4.2", TokenKind.Numeric)]
    [InlineData("4.", TokenKind.Numeric)]
    [InlineData(".5", TokenKind.Numeric)]
    [InlineData("1e10", TokenKind.Numeric)]
    [InlineData("1.5E-3", TokenKind.Numeric)]
    [InlineData("1.e5", TokenKind.Numeric)]
    [InlineData(".5e+2", TokenKind.Numeric)]
    public void Number_IsClassifiedIntegerOrNumeric(string text, TokenKind kind)
    {
        Token token = Single(text);
        Assert.Equal(kind, token.Kind);
        Assert.Equal(text.Length, token.Length);
    }

    [Fact]
    public void Number_FollowedByDotDot_IsIntegerThenDotDot()
    {
        List<Token> tokens = Tokens("1..2");
        Assert.Equal([TokenKind.Integer, TokenKind.DotDot, TokenKind.Integer], tokens.Select(t => t.Kind));
    }

    [Fact]
    public void Parameter_IsDollarNumber()
    {
        Token token = Single("$12");
        Assert.Equal(TokenKind.Parameter, token.Kind);
        Assert.Equal(3, token.Length);
    }

    [Theory]
    [InlineData("<=", TokenKind.LessEquals)]
    [InlineData(">=", TokenKind.GreaterEquals)]
    [InlineData("<>", TokenKind.NotEquals)]
    [InlineData("!=", TokenKind.NotEquals)]
    [InlineData("::", TokenKind.DoubleColon)]
    [InlineData(":=", TokenKind.ColonEquals)]
    [InlineData("=>", TokenKind.EqualsGreater)]
    [InlineData("..", TokenKind.DotDot)]
    [InlineData("+", TokenKind.Plus)]
    [InlineData("%", TokenKind.Percent)]
    [InlineData("^", TokenKind.Caret)]
    public void Operator_Punctuation_HasItsOwnKind(string text, TokenKind kind) => Assert.Equal(kind, Single(text).Kind);

    [Theory]
    [InlineData("||")]
    [InlineData("->>")]
    [InlineData("@>")]
    [InlineData("!~~*")]
    [InlineData("|/")]
    [InlineData("@-")]
    [InlineData("<<=")]
    public void Operator_Other_KeepsItsText(string text)
    {
        Token token = Single(text);
        Assert.Equal(TokenKind.Operator, token.Kind);
        Assert.Equal(text, token.Value);
    }

    [Theory]
    [InlineData("a*-1", new[] { TokenKind.Identifier, TokenKind.Star, TokenKind.Minus, TokenKind.Integer })]
    [InlineData("a<-1", new[] { TokenKind.Identifier, TokenKind.Less, TokenKind.Minus, TokenKind.Integer })]
    [InlineData("a<=-1", new[] { TokenKind.Identifier, TokenKind.LessEquals, TokenKind.Minus, TokenKind.Integer })]
    [InlineData("a+--x\n1", new[] { TokenKind.Identifier, TokenKind.Plus, TokenKind.Integer })]
    [InlineData("a+/*x*/1", new[] { TokenKind.Identifier, TokenKind.Plus, TokenKind.Integer })]
    public void Operator_EndingInSignOrComment_IsSplitAsPostgresDoes(string text, TokenKind[] kinds) =>
        Assert.Equal(kinds, Tokens(text).Select(t => t.Kind));

    [Fact]
    public void Operator_EndingInMinusWithNonStandardChar_KeepsTheMinus()
    {
        Assert.Equal("@-", Tokens("a @- 1")[1].Value);
    }

    [Fact]
    public void Comments_NestedBlockAndLine_AreSkipped()
    {
        List<Token> tokens = Tokens("/* a /* nested */ still comment */ SELECT -- line\n 1");
        Assert.Equal([Keyword.Select, Keyword.None], tokens.Select(t => t.Keyword));
        Assert.Equal(35, tokens[0].Offset);
    }

    [Fact]
    public void Offsets_AreUtf16IndexesOfTokenStarts()
    {
        List<Token> tokens = Tokens("SELECT  'é😀',\n\tx");
        Assert.Equal([0, 8, 13, 16], tokens.Select(t => t.Offset));
        Assert.Equal("'é😀'", tokens[1].Text("SELECT  'é😀',\n\tx"));
    }

    [Theory]
    [InlineData("{", TokenKind.Other)]
    [InlineData("\\", TokenKind.Other)]
    [InlineData("$", TokenKind.Other)]
    [InlineData("\v", TokenKind.Other)]
    public void UnknownCharacter_IsOtherToken(string text, TokenKind kind) => Assert.Equal(kind, Single(text).Kind);

    [Fact]
    public void DollarNotStartingAQuote_IsOtherThenWord()
    {
        List<Token> tokens = Tokens("$a b");
        Assert.Equal([TokenKind.Other, TokenKind.Identifier, TokenKind.Identifier], tokens.Select(t => t.Kind));
    }

    [Theory]
    [InlineData("SELECT 'abc", "unterminated quoted string at or near \"'abc\"", 8)]
    [InlineData("SELECT 'abc\nfrom t", "unterminated quoted string at or near \"'abc\nfrom t\"", 8)]
    [InlineData("SELECT e'abc", "unterminated quoted string at or near \"e'abc\"", 8)]
    [InlineData("SELECT e'\\", "unterminated quoted string at or near \"e'\\\"", 8)]
    [InlineData("SELECT \"abc", "unterminated quoted identifier at or near \"\"abc\"", 8)]
    [InlineData("SELECT \"\"", "zero-length delimited identifier at or near \"\"\"\"", 8)]
    [InlineData("SELECT $$abc", "unterminated dollar-quoted string at or near \"$$abc\"", 8)]
    [InlineData("SELECT $a$ abc", "unterminated dollar-quoted string at or near \"$a$ abc\"", 8)]
    [InlineData("/* abc", "unterminated /* comment at or near \"/* abc\"", 1)]
    [InlineData("select 1 /* a /* b */ c", "unterminated /* comment at or near \"/* a /* b */ c\"", 10)]
    [InlineData("SELECT 12abc def", "trailing junk after numeric literal at or near \"12abc\"", 8)]
    [InlineData("SELECT 1.5e3x y", "trailing junk after numeric literal at or near \"1.5e3x\"", 8)]
    [InlineData("SELECT 1e+ 2", "trailing junk after numeric literal at or near \"1e+\"", 8)]
    [InlineData("SELECT 1.2e", "trailing junk after numeric literal at or near \"1.2e\"", 8)]
    [InlineData("SELECT 0x1F", "trailing junk after numeric literal at or near \"0x1F\"", 8)]
    [InlineData("SELECT $1a", "trailing junk after parameter at or near \"$1a\"", 8)]
    [InlineData("SELECT e'\\uD800'", "invalid Unicode surrogate pair at or near \"'\"", 16)]
    [InlineData("SELECT e'\\uDC00'", "invalid Unicode surrogate pair at or near \"\\uDC00\"", 10)]
    [InlineData("SELECT e'\\uD800x'", "invalid Unicode surrogate pair at or near \"x\"", 16)]
    [InlineData("SELECT e'\\uD800", "invalid Unicode surrogate pair at end of input", 16)]
    [InlineData("SELECT e'\\uD800\\u0041'", "invalid Unicode surrogate pair at or near \"\\u0041\"", 16)]
    [InlineData("SELECT e'\\U00110000'", "invalid Unicode escape value at or near \"\\U00110000\"", 10)]
    [InlineData("SELECT b'01", "unterminated bit string literal at or near \"b'01\"", 8)]
    [InlineData("SELECT x'01", "unterminated hexadecimal string literal at or near \"x'01\"", 8)]
    public void Error_SyntaxLevel_MatchesPostgres(string sql, string message, int position)
    {
        ParseError error = Error(sql);
        Assert.Equal(SqlState.SyntaxError, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(position, error.Position);
    }

    [Fact]
    public void Error_ShortUnicodeEscape_IsInvalidEscapeWithHint()
    {
        ParseError error = Error("SELECT e'\\u12'");
        Assert.Equal(SqlState.InvalidEscapeSequence, error.SqlState);
        Assert.Equal("invalid Unicode escape", error.Message);
        Assert.Equal(10, error.Position);
        Assert.Equal("Unicode escapes must be \\uXXXX or \\UXXXXXXXX.", error.Hint);
    }

    [Theory]
    [InlineData("SELECT e'\\xff'", "invalid byte sequence for encoding \"UTF8\": 0xff")]
    [InlineData("SELECT e'\\777'", "invalid byte sequence for encoding \"UTF8\": 0xff")]
    [InlineData("SELECT e'\\xc3\\x28'", "invalid byte sequence for encoding \"UTF8\": 0xc3 0x28")]
    [InlineData("SELECT e'\\000'", "invalid byte sequence for encoding \"UTF8\": 0x00")]
    [InlineData("SELECT 'a\0'", "invalid byte sequence for encoding \"UTF8\": 0x00")]
    public void Error_InvalidUtf8_HasNoPosition(string sql, string message)
    {
        ParseError error = Error(sql);
        Assert.Equal(SqlState.CharacterNotInRepertoire, error.SqlState);
        Assert.Equal(message, error.Message);
        Assert.Equal(0, error.Position);
    }

    [Fact]
    public void Error_UnicodeEscapeString_IsNotSupported()
    {
        ParseError error = Error("SELECT U&'d\\0061t'");
        Assert.Equal(SqlState.FeatureNotSupported, error.SqlState);
        Assert.Equal(8, error.Position);
    }

    [Fact]
    public void Error_StopsTheScan_AfterTheGoodTokens()
    {
        TokenizeResult result = Lexer.Tokenize("SELECT 1, 'abc");
        Assert.NotNull(result.Error);
        Assert.Equal([TokenKind.Identifier, TokenKind.Integer, TokenKind.Comma], result.Tokens.Select(t => t.Kind));
    }
}
