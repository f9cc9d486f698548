using System;
using System.Collections.Generic;
using System.Text;

namespace Kernel.Sql.Parsing;

/// <summary>
/// Splits SQL text into tokens by PostgreSQL 15's lexical rules (src/backend/parser/scan.l), with the same
/// error messages and positions.
/// </summary>
/// <remarks>
/// Rules that matter and are easy to get wrong: unquoted words fold ASCII letters only; any non-ASCII
/// character is a letter; a multi-character operator may not end in + or - unless it contains one of
/// <c>~ ! @ # % ^ &amp; | ` ?</c>; <c>--</c> and <c>/*</c> end an operator; block comments nest; string
/// constants separated by whitespace containing a newline are one constant; a number followed directly by
/// a letter is an error ("trailing junk"). The lexer allocates only for values it must return
/// (identifiers, strings, numerics' text); keywords and punctuation cost nothing but their token.
/// A lexical error stops the scan; the parser reports it only when it reaches it, as PostgreSQL does.
/// </remarks>
public sealed class Lexer
{
    // PostgreSQL's NAMEDATALEN - 1: an operator this long or longer is an error.
    private const int OperatorLengthMax = 63;

    private readonly string _sql;
    private readonly List<Token> _tokens;
    private int _position;

    private Lexer(string sql, List<Token> tokens)
    {
        _sql = sql;
        _tokens = tokens;
    }

    /// <summary>The tokens of <paramref name="sql"/>, or those before the first lexical error and the error.</summary>
    public static TokenizeResult Tokenize(string sql)
    {
        var tokens = new List<Token>();
        ParseError? error = Tokenize(sql, tokens);
        return new TokenizeResult(tokens, error);
    }

    /// <summary>Appends the tokens of <paramref name="sql"/> to <paramref name="tokens"/>; returns the lexical error, if any.</summary>
    /// <remarks>On success the last token is <see cref="TokenKind.EndOfInput"/>; on error there is no such token.</remarks>
    internal static ParseError? Tokenize(string sql, List<Token> tokens)
    {
        // The wire protocol cannot carry a NUL inside a query string; PostgreSQL reports it as bad UTF-8.
        if (sql.Contains('\0', StringComparison.Ordinal))
        {
            return ParseError.At(sql, SqlState.CharacterNotInRepertoire, "invalid byte sequence for encoding \"UTF8\": 0x00", -1);
        }

        return new Lexer(sql, tokens).Run();
    }

    private ParseError? Run()
    {
        while (true)
        {
            ParseError? error = SkipWhitespaceAndComments();
            if (error is not null)
            {
                return error;
            }

            if (_position >= _sql.Length)
            {
                _tokens.Add(new Token(TokenKind.EndOfInput, _sql.Length, 0, Keyword.None, null));
                return null;
            }

            error = ScanToken();
            if (error is not null)
            {
                return error;
            }
        }
    }

    private ParseError? ScanToken()
    {
        int start = _position;
        char c = _sql[start];
        char next = Peek(start + 1);
        switch (c)
        {
            case '\'':
                return ScanQuotedString(start, start + 1, extended: false);
            case '"':
                return ScanQuotedIdentifier(start);
            case '$':
                return ScanDollar(start);
            case '(':
                return Single(TokenKind.LeftParen);
            case ')':
                return Single(TokenKind.RightParen);
            case '[':
                return Single(TokenKind.LeftBracket);
            case ']':
                return Single(TokenKind.RightBracket);
            case ',':
                return Single(TokenKind.Comma);
            case ';':
                return Single(TokenKind.Semicolon);
            case ':':
                return next switch
                {
                    ':' => Emit(TokenKind.DoubleColon, start, 2),
                    '=' => Emit(TokenKind.ColonEquals, start, 2),
                    _ => Single(TokenKind.Colon),
                };
            case '.':
                if (IsDigit(next))
                {
                    return ScanNumber(start);
                }

                return next == '.' ? Emit(TokenKind.DotDot, start, 2) : Single(TokenKind.Dot);
        }

        if (IsDigit(c))
        {
            return ScanNumber(start);
        }

        if (IsOperatorChar(c))
        {
            return ScanOperator(start);
        }

        if (IsIdentifierStart(c))
        {
            return ScanWordOrPrefixedString(start);
        }

        // Any other (ASCII) character is a token of its own that no rule accepts.
        return Emit(TokenKind.Other, start, 1);
    }

    private ParseError? SkipWhitespaceAndComments()
    {
        while (_position < _sql.Length)
        {
            char c = _sql[_position];
            if (IsSpace(c))
            {
                _position++;
            }
            else if (c == '-' && Peek(_position + 1) == '-')
            {
                _position = SkipLineComment(_position);
            }
            else if (c == '/' && Peek(_position + 1) == '*')
            {
                int end = SkipBlockComment(_position);
                if (end < 0)
                {
                    return ErrorNear("unterminated /* comment", _position, _sql.Length);
                }

                _position = end;
            }
            else
            {
                break;
            }
        }

        return null;
    }

    /// <summary>The index just past the end of the line comment starting at <paramref name="start"/> (the newline is not consumed).</summary>
    private int SkipLineComment(int start)
    {
        int i = start + 2;
        while (i < _sql.Length && _sql[i] is not ('\n' or '\r'))
        {
            i++;
        }

        return i;
    }

    /// <summary>The index just past the block comment starting at <paramref name="start"/>, or -1 if it never ends.</summary>
    private int SkipBlockComment(int start)
    {
        int depth = 0;
        int i = start;
        while (i < _sql.Length)
        {
            if (_sql[i] == '/' && Peek(i + 1) == '*')
            {
                depth++;
                i += 2;
            }
            else if (_sql[i] == '*' && Peek(i + 1) == '/')
            {
                depth--;
                i += 2;
                if (depth == 0)
                {
                    return i;
                }
            }
            else
            {
                i++;
            }
        }

        return -1;
    }

    private ParseError? ScanWordOrPrefixedString(int start)
    {
        char c = _sql[start];
        char next = Peek(start + 1);
        if (next == '\'')
        {
            switch (c)
            {
                case 'e' or 'E':
                    return ScanQuotedString(start, start + 2, extended: true);
                case 'b' or 'B':
                    return ScanBitString(start, 'b', "unterminated bit string literal");
                case 'x' or 'X':
                    return ScanBitString(start, 'x', "unterminated hexadecimal string literal");
                case 'n' or 'N':
                    // National character: PostgreSQL returns the keyword NCHAR for the 'n' alone, then the string.
                    return Emit(TokenKind.Identifier, start, 1, Keyword.Nchar, null);
            }
        }

        if (c is 'u' or 'U' && next == '&' && Peek(start + 2) is '\'' or '"')
        {
            return ParseError.At(
                _sql,
                SqlState.FeatureNotSupported,
                "Unicode escape strings and identifiers (U&'...', U&\"...\") are not supported",
                start);
        }

        int end = ScanIdentifierRest(start + 1);
        int length = end - start;
        ReadOnlySpan<char> word = _sql.AsSpan(start, length);
        Keyword keyword = KeywordTable.Lookup(word);
        string? value = keyword == Keyword.None ? FoldIdentifier(start, length) : null;
        return Emit(TokenKind.Identifier, start, length, keyword, value);
    }

    private int ScanIdentifierRest(int i)
    {
        while (i < _sql.Length && IsIdentifierContinue(_sql[i]))
        {
            i++;
        }

        return i;
    }

    /// <summary>The word lower-cased the way PostgreSQL does it: ASCII letters only.</summary>
    private string FoldIdentifier(int start, int length)
    {
        ReadOnlySpan<char> word = _sql.AsSpan(start, length);
        if (!word.ContainsAnyInRange('A', 'Z'))
        {
            return _sql.Substring(start, length);
        }

        return string.Create(length, (_sql, start), static (span, state) =>
        {
            ReadOnlySpan<char> source = state._sql.AsSpan(state.start, span.Length);
            for (int i = 0; i < span.Length; i++)
            {
                char c = source[i];
                span[i] = c is >= 'A' and <= 'Z' ? (char)(c + ('a' - 'A')) : c;
            }
        });
    }

    private ParseError? ScanQuotedIdentifier(int start)
    {
        StringBuilder? builder = null;
        int segmentStart = start + 1;
        int i = segmentStart;
        while (true)
        {
            int quote = _sql.IndexOf('"', i);
            if (quote < 0)
            {
                return ErrorNear("unterminated quoted identifier", start, _sql.Length);
            }

            if (Peek(quote + 1) == '"')
            {
                builder ??= new StringBuilder();
                builder.Append(_sql, segmentStart, quote + 1 - segmentStart);
                segmentStart = quote + 2;
                i = quote + 2;
                continue;
            }

            string value;
            if (builder is null)
            {
                value = _sql.Substring(start + 1, quote - start - 1);
            }
            else
            {
                builder.Append(_sql, segmentStart, quote - segmentStart);
                value = builder.ToString();
            }

            int end = quote + 1;
            if (value.Length == 0)
            {
                return ErrorNear("zero-length delimited identifier", start, end);
            }

            return Emit(TokenKind.QuotedIdentifier, start, end - start, Keyword.None, value);
        }
    }

    /// <summary>
    /// A standard (<c>'...'</c>) or extended (<c>E'...'</c>) string constant, including continuation segments.
    /// <paramref name="contentStart"/> is just past the opening quote.
    /// </summary>
    private ParseError? ScanQuotedString(int start, int contentStart, bool extended)
    {
        if (extended)
        {
            return ScanExtendedString(start, contentStart);
        }

        StringBuilder? builder = null;
        int segmentStart = contentStart;
        int i = contentStart;
        while (true)
        {
            int quote = _sql.IndexOf('\'', i);
            if (quote < 0)
            {
                return ErrorNear("unterminated quoted string", start, _sql.Length);
            }

            if (Peek(quote + 1) == '\'')
            {
                builder ??= new StringBuilder();
                builder.Append(_sql, segmentStart, quote + 1 - segmentStart);
                segmentStart = quote + 2;
                i = quote + 2;
                continue;
            }

            int continuation = FindQuoteContinuation(quote + 1);
            if (continuation >= 0)
            {
                builder ??= new StringBuilder();
                builder.Append(_sql, segmentStart, quote - segmentStart);
                segmentStart = continuation + 1;
                i = continuation + 1;
                continue;
            }

            string value;
            if (builder is null)
            {
                value = _sql.Substring(contentStart, quote - contentStart);
            }
            else
            {
                builder.Append(_sql, segmentStart, quote - segmentStart);
                value = builder.ToString();
            }

            return Emit(TokenKind.String, start, quote + 1 - start, Keyword.None, value);
        }
    }

    private ParseError? ScanBitString(int start, char prefix, string unterminatedMessage)
    {
        var builder = new StringBuilder();
        builder.Append(prefix);
        int i = start + 2;
        while (true)
        {
            int quote = _sql.IndexOf('\'', i);
            if (quote < 0)
            {
                return ErrorNear(unterminatedMessage, start, _sql.Length);
            }

            builder.Append(_sql, i, quote - i);
            int continuation = FindQuoteContinuation(quote + 1);
            if (continuation >= 0)
            {
                i = continuation + 1;
                continue;
            }

            return Emit(TokenKind.BitString, start, quote + 1 - start, Keyword.None, builder.ToString());
        }
    }

    /// <summary>
    /// After a closing quote at <paramref name="afterQuote"/> - 1: the index of the opening quote of a
    /// continuation segment, or -1. A continuation is whitespace that contains a newline (and may contain
    /// <c>--</c> comments), then a quote.
    /// </summary>
    private int FindQuoteContinuation(int afterQuote)
    {
        int i = afterQuote;
        while (i < _sql.Length)
        {
            char c = _sql[i];
            if (c is ' ' or '\t' or '\f')
            {
                i++;
            }
            else if (c == '-' && Peek(i + 1) == '-')
            {
                i = SkipLineComment(i);
            }
            else
            {
                break;
            }
        }

        if (i >= _sql.Length || _sql[i] is not ('\n' or '\r'))
        {
            return -1;
        }

        i++;
        while (i < _sql.Length)
        {
            char c = _sql[i];
            if (IsSpace(c))
            {
                i++;
            }
            else if (c == '-' && Peek(i + 1) == '-')
            {
                i = SkipLineComment(i);
            }
            else
            {
                break;
            }
        }

        return Peek(i) == '\'' ? i : -1;
    }

    private ParseError? ScanDollar(int start)
    {
        char next = Peek(start + 1);
        if (IsDigit(next))
        {
            return ScanParameter(start);
        }

        int tagEnd = start + 1;
        if (next != '$')
        {
            if (!IsDollarTagStart(next))
            {
                return Emit(TokenKind.Other, start, 1);
            }

            tagEnd++;
            while (tagEnd < _sql.Length && IsDollarTagContinue(_sql[tagEnd]))
            {
                tagEnd++;
            }

            if (Peek(tagEnd) != '$')
            {
                // Not a delimiter: PostgreSQL returns the '$' alone (which no rule accepts) and rescans the rest.
                return Emit(TokenKind.Other, start, 1);
            }
        }

        int delimiterLength = tagEnd + 1 - start;
        ReadOnlySpan<char> delimiter = _sql.AsSpan(start, delimiterLength);
        int bodyStart = start + delimiterLength;
        int close = _sql.AsSpan(bodyStart).IndexOf(delimiter, StringComparison.Ordinal);
        if (close < 0)
        {
            return ErrorNear("unterminated dollar-quoted string", start, _sql.Length);
        }

        string value = _sql.Substring(bodyStart, close);
        int end = bodyStart + close + delimiterLength;
        return Emit(TokenKind.String, start, end - start, Keyword.None, value);
    }

    private ParseError? ScanParameter(int start)
    {
        int i = start + 1;
        while (i < _sql.Length && IsDigit(_sql[i]))
        {
            i++;
        }

        if (i < _sql.Length && IsIdentifierStart(_sql[i]))
        {
            return ErrorNear("trailing junk after parameter", start, ScanIdentifierRest(i));
        }

        // A number too large for a parameter is the parser's error, reported when it reads the parameter.
        return Emit(TokenKind.Parameter, start, i - start);
    }

    private ParseError? ScanNumber(int start)
    {
        int i = start;
        while (i < _sql.Length && IsDigit(_sql[i]))
        {
            i++;
        }

        bool hasDigitsBeforePoint = i > start;
        bool isNumeric = false;
        if (Peek(i) == '.')
        {
            if (hasDigitsBeforePoint && Peek(i + 1) == '.')
            {
                // "1..": the integer alone; ".." is the next token.
                return Emit(TokenKind.Integer, start, i - start);
            }

            isNumeric = true;
            i++;
            while (i < _sql.Length && IsDigit(_sql[i]))
            {
                i++;
            }
        }

        if (Peek(i) is 'e' or 'E')
        {
            int exponent = i + 1;
            bool signed = Peek(exponent) is '+' or '-';
            if (signed)
            {
                exponent++;
            }

            if (IsDigit(Peek(exponent)))
            {
                isNumeric = true;
                i = exponent;
                while (i < _sql.Length && IsDigit(_sql[i]))
                {
                    i++;
                }
            }
            else if (signed)
            {
                return ErrorNear("trailing junk after numeric literal", start, exponent);
            }
        }

        if (i < _sql.Length && IsIdentifierStart(_sql[i]))
        {
            return ErrorNear("trailing junk after numeric literal", start, ScanIdentifierRest(i));
        }

        return isNumeric
            ? Emit(TokenKind.Numeric, start, i - start, Keyword.None, _sql.Substring(start, i - start))
            : Emit(TokenKind.Integer, start, i - start);
    }

    private ParseError? ScanOperator(int start)
    {
        int end = start;
        while (end < _sql.Length && IsOperatorChar(_sql[end]))
        {
            end++;
        }

        // A comment start ends the operator.
        int length = end - start;
        for (int i = start; i + 1 < end; i++)
        {
            if ((_sql[i] == '-' && _sql[i + 1] == '-') || (_sql[i] == '/' && _sql[i + 1] == '*'))
            {
                length = i - start;
                break;
            }
        }

        // For SQL compatibility, a multi-character operator cannot end in + or - unless it contains a
        // character that no SQL-standard operator uses (so "*-" in "a*-1" is "*" then "-").
        if (length > 1 && _sql[start + length - 1] is '+' or '-')
        {
            bool hasNonStandard = false;
            for (int i = start; i < start + length - 1; i++)
            {
                if (_sql[i] is '~' or '!' or '@' or '#' or '^' or '&' or '|' or '`' or '?' or '%')
                {
                    hasNonStandard = true;
                    break;
                }
            }

            if (!hasNonStandard)
            {
                do
                {
                    length--;
                }
                while (length > 1 && _sql[start + length - 1] is '+' or '-');
            }
        }

        ReadOnlySpan<char> text = _sql.AsSpan(start, length);
        if (length == 1)
        {
            TokenKind single = text[0] switch
            {
                '+' => TokenKind.Plus,
                '-' => TokenKind.Minus,
                '*' => TokenKind.Star,
                '/' => TokenKind.Slash,
                '%' => TokenKind.Percent,
                '^' => TokenKind.Caret,
                '<' => TokenKind.Less,
                '>' => TokenKind.Greater,
                '=' => TokenKind.Equals,
                _ => TokenKind.Operator,
            };
            if (single != TokenKind.Operator)
            {
                return Emit(single, start, 1);
            }
        }
        else if (length == 2)
        {
            TokenKind pair = text switch
            {
                "=>" => TokenKind.EqualsGreater,
                ">=" => TokenKind.GreaterEquals,
                "<=" => TokenKind.LessEquals,
                "<>" or "!=" => TokenKind.NotEquals,
                _ => TokenKind.Operator,
            };
            if (pair != TokenKind.Operator)
            {
                return Emit(pair, start, 2);
            }
        }

        if (length >= OperatorLengthMax)
        {
            return ErrorNear("operator too long", start, start + length);
        }

        return Emit(TokenKind.Operator, start, length, Keyword.None, OperatorText(text));
    }

    /// <summary>The operator's text, without allocating for the common ones.</summary>
    private static string OperatorText(ReadOnlySpan<char> text) => text switch
    {
        "||" => "||",
        "~" => "~",
        "!" => "!",
        "@" => "@",
        "#" => "#",
        "&" => "&",
        "|" => "|",
        "~~" => "~~",
        "!~~" => "!~~",
        "~*" => "~*",
        "!~" => "!~",
        "->" => "->",
        "->>" => "->>",
        "#>" => "#>",
        "#>>" => "#>>",
        "@>" => "@>",
        "<@" => "<@",
        "&&" => "&&",
        "<<" => "<<",
        ">>" => ">>",
        _ => text.ToString(),
    };

    // ---- extended strings -------------------------------------------------------------------------

    /// <summary>
    /// <c>E'...'</c>: backslash escapes produce bytes, which must form valid UTF-8 when the constant ends.
    /// </summary>
    private ParseError? ScanExtendedString(int start, int contentStart)
    {
        var bytes = new ByteBuffer();
        int i = contentStart;
        while (true)
        {
            if (i >= _sql.Length)
            {
                return ErrorNear("unterminated quoted string", start, _sql.Length);
            }

            char c = _sql[i];
            if (c == '\'')
            {
                if (Peek(i + 1) == '\'')
                {
                    bytes.Add((byte)'\'');
                    i += 2;
                    continue;
                }

                int continuation = FindQuoteContinuation(i + 1);
                if (continuation >= 0)
                {
                    i = continuation + 1;
                    continue;
                }

                break;
            }

            if (c != '\\')
            {
                int runEnd = i + 1;
                while (runEnd < _sql.Length && _sql[runEnd] is not ('\\' or '\''))
                {
                    runEnd++;
                }

                bytes.AddUtf8(_sql.AsSpan(i, runEnd - i));
                i = runEnd;
                continue;
            }

            ParseError? error = ScanEscape(start, ref i, ref bytes);
            if (error is not null)
            {
                return error;
            }
        }

        int end = i + 1;
        string? value = bytes.ToUtf8String(out string? invalidBytes);
        if (value is null)
        {
            // PostgreSQL checks the bytes when the constant ends, and reports no position.
            return ParseError.At(
                _sql,
                SqlState.CharacterNotInRepertoire,
                $"invalid byte sequence for encoding \"UTF8\": {invalidBytes}",
                -1);
        }

        return Emit(TokenKind.String, start, end - start, Keyword.None, value);
    }

    /// <summary>One backslash escape at <paramref name="i"/>; advances past it.</summary>
    private ParseError? ScanEscape(int start, ref int i, ref ByteBuffer bytes)
    {
        int escapeStart = i;
        if (i + 1 >= _sql.Length)
        {
            return ErrorNear("unterminated quoted string", start, _sql.Length);
        }

        char kind = _sql[i + 1];
        switch (kind)
        {
            case 'u' or 'U':
            {
                ParseError? error = ScanUnicodeEscape(escapeStart, out int codePoint, out int escapeEnd);
                if (error is not null)
                {
                    return error;
                }

                if (codePoint is >= 0xD800 and <= 0xDBFF)
                {
                    // The first half of a surrogate pair must be followed at once by the second half.
                    if (Peek(escapeEnd) != '\\' || Peek(escapeEnd + 1) is not ('u' or 'U'))
                    {
                        int nearEnd = escapeEnd < _sql.Length ? escapeEnd + CharLength(escapeEnd) : escapeEnd;
                        return ErrorNear("invalid Unicode surrogate pair", escapeEnd, nearEnd);
                    }

                    error = ScanUnicodeEscape(escapeEnd, out int low, out int lowEnd);
                    if (error is not null)
                    {
                        return error;
                    }

                    if (low is < 0xDC00 or > 0xDFFF)
                    {
                        return ErrorNear("invalid Unicode surrogate pair", escapeEnd, lowEnd);
                    }

                    codePoint = 0x10000 + ((codePoint - 0xD800) << 10) + (low - 0xDC00);
                    escapeEnd = lowEnd;
                }
                else if (codePoint is >= 0xDC00 and <= 0xDFFF)
                {
                    return ErrorNear("invalid Unicode surrogate pair", escapeStart, escapeEnd);
                }

                if (codePoint is 0 or > 0x10FFFF)
                {
                    return ErrorNear("invalid Unicode escape value", escapeStart, escapeEnd);
                }

                bytes.AddCodePoint(codePoint);
                i = escapeEnd;
                return null;
            }

            case >= '0' and <= '7':
            {
                int value = 0;
                int j = i + 1;
                while (j < i + 4 && j < _sql.Length && _sql[j] is >= '0' and <= '7')
                {
                    value = (value * 8) + (_sql[j] - '0');
                    j++;
                }

                bytes.Add((byte)value);
                i = j;
                return null;
            }

            case 'x' when IsHexDigit(Peek(i + 2)):
            {
                int value = HexValue(_sql[i + 2]);
                int j = i + 3;
                if (IsHexDigit(Peek(j)))
                {
                    value = (value * 16) + HexValue(_sql[j]);
                    j++;
                }

                bytes.Add((byte)value);
                i = j;
                return null;
            }

            default:
            {
                byte simple = kind switch
                {
                    'b' => (byte)'\b',
                    'f' => (byte)'\f',
                    'n' => (byte)'\n',
                    'r' => (byte)'\r',
                    't' => (byte)'\t',
                    'v' => (byte)'\v',
                    _ => 0,
                };
                if (simple != 0)
                {
                    bytes.Add(simple);
                    i += 2;
                    return null;
                }

                // Any other escaped character stands for itself.
                int length = CharLength(i + 1);
                bytes.AddUtf8(_sql.AsSpan(i + 1, length));
                i += 1 + length;
                return null;
            }
        }
    }

    /// <summary><c>\uXXXX</c> or <c>\UXXXXXXXX</c> at <paramref name="escapeStart"/>.</summary>
    private ParseError? ScanUnicodeEscape(int escapeStart, out int codePoint, out int escapeEnd)
    {
        int digits = _sql[escapeStart + 1] == 'u' ? 4 : 8;
        codePoint = 0;
        int j = escapeStart + 2;
        for (int k = 0; k < digits; k++, j++)
        {
            if (!IsHexDigit(Peek(j)))
            {
                escapeEnd = j;
                return ParseError.At(
                    _sql,
                    SqlState.InvalidEscapeSequence,
                    "invalid Unicode escape",
                    escapeStart,
                    "Unicode escapes must be \\uXXXX or \\UXXXXXXXX.");
            }

            // Eight hex digits can exceed int: saturate, which still fails the range check.
            codePoint = codePoint > 0x10FFFF ? codePoint : (codePoint * 16) + HexValue(_sql[j]);
        }

        escapeEnd = j;
        return null;
    }

    // ---- helpers ----------------------------------------------------------------------------------

    private ParseError? Single(TokenKind kind) => Emit(kind, _position, 1);

    private ParseError? Emit(TokenKind kind, int start, int length, Keyword keyword = Keyword.None, string? value = null)
    {
        _tokens.Add(new Token(kind, start, length, keyword, value));
        _position = start + length;
        return null;
    }

    /// <summary>A syntax error worded <c>message at or near "text"</c>, the text being <c>[start, end)</c>.</summary>
    private ParseError ErrorNear(string message, int start, int end) =>
        start >= _sql.Length
            ? ParseError.At(_sql, SqlState.SyntaxError, $"{message} at end of input", start)
            : ParseError.At(_sql, SqlState.SyntaxError, $"{message} at or near \"{_sql[start..end]}\"", start);

    private char Peek(int index) => index < _sql.Length ? _sql[index] : '\0';

    private int CharLength(int index) =>
        char.IsHighSurrogate(_sql[index]) && char.IsLowSurrogate(Peek(index + 1)) ? 2 : 1;

    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\f';

    private static bool IsDigit(char c) => c is >= '0' and <= '9';

    private static bool IsHexDigit(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F');

    private static int HexValue(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => c - 'A' + 10,
    };

    // Every non-ASCII character counts as a letter, as every byte of a multi-byte UTF-8 character does in PostgreSQL.
    private static bool IsIdentifierStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or >= '\u0080';

    private static bool IsIdentifierContinue(char c) => IsIdentifierStart(c) || IsDigit(c) || c == '$';

    private static bool IsDollarTagStart(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or >= '\u0080';

    private static bool IsDollarTagContinue(char c) => IsDollarTagStart(c) || IsDigit(c);

    private static bool IsOperatorChar(char c) =>
        c is '~' or '!' or '@' or '#' or '^' or '&' or '|' or '`' or '?' or '+' or '-' or '*' or '/' or '%' or '<' or '>' or '=';

    /// <summary>A growable byte buffer for decoding extended strings.</summary>
    private struct ByteBuffer
    {
        private byte[]? _bytes;
        private int _count;

        public void Add(byte value)
        {
            Reserve(1);
            _bytes![_count++] = value;
        }

        public void AddUtf8(ReadOnlySpan<char> text)
        {
            Reserve(Encoding.UTF8.GetMaxByteCount(text.Length));
            _count += Encoding.UTF8.GetBytes(text, _bytes.AsSpan(_count));
        }

        public void AddCodePoint(int codePoint)
        {
            Reserve(4);
            _count += new Rune(codePoint).EncodeToUtf8(_bytes.AsSpan(_count));
        }

        /// <summary>The bytes as a string, or null and the offending bytes as PostgreSQL prints them.</summary>
        public readonly string? ToUtf8String(out string? invalidBytes)
        {
            ReadOnlySpan<byte> bytes = _bytes.AsSpan(0, _count);
            int index = 0;
            while (index < bytes.Length)
            {
                if (bytes[index] == 0 || Rune.DecodeFromUtf8(bytes[index..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
                {
                    invalidBytes = DescribeInvalid(bytes[index..]);
                    return null;
                }

                index += consumed;
            }

            invalidBytes = null;
            return Encoding.UTF8.GetString(bytes);
        }

        private static string DescribeInvalid(ReadOnlySpan<byte> bytes)
        {
            // PostgreSQL prints as many bytes as the first byte announces.
            byte lead = bytes[0];
            int announced = (lead & 0x80) == 0 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
            int count = Math.Min(announced, bytes.Length);
            var builder = new StringBuilder();
            for (int i = 0; i < count; i++)
            {
                if (i > 0)
                {
                    builder.Append(' ');
                }

                builder.Append("0x").Append(bytes[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            }

            return builder.ToString();
        }

        private void Reserve(int extra)
        {
            _bytes ??= new byte[Math.Max(16, extra)];
            if (_count + extra > _bytes.Length)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _count + extra));
            }
        }
    }
}
