using System;
using System.Collections.Generic;
using System.Globalization;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// SUBSCRIBE, COPY and cursors (DECLARE, FETCH, CLOSE), and the WITH (...) option lists they share.
public sealed partial class Parser
{
    private SubscribeStatement ParseSubscribe()
    {
        if (!AtWord("subscribe"))
        {
            throw SyntaxError();
        }

        Advance();
        TryKeyword(Keyword.To);
        ObjectName? name = null;
        Query? query = null;
        if (At(TokenKind.LeftParen))
        {
            query = ParseParenthesizedQuery();
        }
        else
        {
            name = ParseQualifiedName();
        }

        if (Current.Kind == TokenKind.Identifier && NameOf(Current) is "envelope" or "within")
        {
            throw NotSupported("SUBSCRIBE " + NameOf(Current).ToUpperInvariant());
        }

        NodeList<WithOption> options = NodeList<WithOption>.Empty;
        if (AtKeyword(Keyword.With) && Peek().Kind == TokenKind.LeftParen)
        {
            Advance();
            options = ParseOptionList(multiWordNames: false);
        }

        Expression? asOf = null;
        if (TryKeywords(Keyword.As, Keyword.Of))
        {
            if (AtKeyword(Keyword.At) && PeekKeyword(1, Keyword.Least))
            {
                throw NotSupported("AS OF AT LEAST");
            }

            asOf = ParseExpression();
        }

        if (AtWord("up") && PeekKeyword(1, Keyword.To))
        {
            throw NotSupported("UP TO");
        }

        return new SubscribeStatement(name, query, options, asOf);
    }

    private CopyStatement ParseCopy()
    {
        ExpectKeyword(Keyword.Copy);
        if (AtKeyword(Keyword.Binary))
        {
            throw NotSupported("COPY BINARY");
        }

        ObjectName? table = null;
        NodeList<string> columns = NodeList<string>.Empty;
        Statement? source = null;
        CopyDirection direction;
        if (TryToken(TokenKind.LeftParen))
        {
            Token start = Current;
            if (AtWord("subscribe"))
            {
                source = ParseSubscribe() with { Location = new SourceLocation(start.Offset) };
            }
            else if (Current.Kind == TokenKind.Identifier && Current.Keyword is Keyword.Insert or Keyword.Update or Keyword.Delete or Keyword.Merge)
            {
                throw NotSupported("COPY of INSERT, UPDATE or DELETE");
            }
            else
            {
                source = new SelectStatement(ParseQuery()) { Location = new SourceLocation(start.Offset) };
            }

            Expect(TokenKind.RightParen);
            ExpectKeyword(Keyword.To);
            direction = CopyDirection.ToStdout;
            ExpectCopyEndpoint();
        }
        else
        {
            table = ParseQualifiedName();
            if (At(TokenKind.LeftParen))
            {
                columns = ParseParenthesizedColumnList();
            }

            if (TryKeyword(Keyword.From))
            {
                direction = CopyDirection.FromStdin;
                ExpectCopyEndpoint();
            }
            else
            {
                ExpectKeyword(Keyword.To);
                direction = CopyDirection.ToStdout;
                ExpectCopyEndpoint();
            }
        }

        NodeList<WithOption> options = ParseCopyOptions();
        if (AtKeyword(Keyword.Where))
        {
            throw NotSupported("COPY ... WHERE");
        }

        return new CopyStatement(table, columns, source, direction, options);
    }

    /// <summary>STDIN or STDOUT: both mean the client, whichever the direction, as in PostgreSQL.</summary>
    private void ExpectCopyEndpoint()
    {
        if (At(TokenKind.String) || AtKeyword(Keyword.Program))
        {
            throw NotSupported("COPY to or from a file or program");
        }

        if (!TryKeyword(Keyword.Stdin))
        {
            ExpectKeyword(Keyword.Stdout);
        }
    }

    /// <summary>
    /// COPY's options: <c>[WITH] (name [value], ...)</c>, or the old keyword list (<c>CSV HEADER DELIMITER ','</c>)
    /// translated to the generic names as PostgreSQL does.
    /// </summary>
    private NodeList<WithOption> ParseCopyOptions()
    {
        TryKeyword(Keyword.With);
        if (At(TokenKind.LeftParen))
        {
            return ParseOptionList(multiWordNames: false);
        }

        var options = new List<WithOption>();
        while (Current.Kind == TokenKind.Identifier)
        {
            Token token = Current;
            var location = new SourceLocation(token.Offset);
            switch (token.Keyword)
            {
                case Keyword.Binary:
                    Advance();
                    options.Add(new WithOption("format", new StringLiteral("binary")) { Location = location });
                    continue;
                case Keyword.Csv:
                    Advance();
                    options.Add(new WithOption("format", new StringLiteral("csv")) { Location = location });
                    continue;
                case Keyword.Header:
                    Advance();
                    options.Add(new WithOption("header", new StringLiteral("true")) { Location = location });
                    continue;
                case Keyword.Freeze:
                    Advance();
                    options.Add(new WithOption("freeze", new StringLiteral("true")) { Location = location });
                    continue;
                case Keyword.Delimiter or Keyword.Null or Keyword.Quote or Keyword.Escape or Keyword.Encoding:
                {
                    Advance();
                    TryKeyword(Keyword.As);
                    Token value = Expect(TokenKind.String);
                    options.Add(new WithOption(KeywordTable.Text(token.Keyword), new StringLiteral(value.Value!)) { Location = location });
                    continue;
                }

                case Keyword.Force:
                    throw NotSupported("COPY ... FORCE");
            }

            break;
        }

        return NodeList.From(options);
    }

    /// <summary>
    /// <c>(name [=] [value], ...)</c>. With <paramref name="multiWordNames"/> (Materialize's EXPLAIN), a name
    /// is several words (<c>humanized expressions</c>) and a value needs '='.
    /// </summary>
    private NodeList<WithOption> ParseOptionList(bool multiWordNames, bool reservedNames = true)
    {
        Expect(TokenKind.LeftParen);
        var options = new List<WithOption>();
        do
        {
            // PostgreSQL's EXPLAIN takes no reserved word but ANALYZE as an option name; COPY takes any word.
            Token start = Current;
            if (!reservedNames && !IsNonReservedWord(start) && !AtKeyword(Keyword.Analyze) && !AtKeyword(Keyword.Analyse))
            {
                throw SyntaxError();
            }

            string name = ParseColumnLabel();
            if (multiWordNames)
            {
                while (IsColumnLabel(Current))
                {
                    name = name + " " + NameOf(Advance());
                }
            }

            Expression? value = null;
            if (TryToken(TokenKind.Equals))
            {
                value = ParseOptionValue();
            }
            else if (!multiWordNames && IsOptionValueStart(Current))
            {
                value = ParseOptionValue();
            }

            options.Add(new WithOption(name, value) { Location = new SourceLocation(start.Offset) });
        }
        while (TryToken(TokenKind.Comma));

        Expect(TokenKind.RightParen);
        return NodeList.From(options);
    }

    private static bool IsOptionValueStart(Token token) =>
        token.Kind is TokenKind.String or TokenKind.Integer or TokenKind.Numeric or TokenKind.Plus or TokenKind.Minus
        || IsNonReservedWord(token)
        || (token.Kind == TokenKind.Identifier && token.Keyword is Keyword.True or Keyword.False or Keyword.On);

    /// <summary>
    /// An option or SET value as PostgreSQL keeps it: TRUE, FALSE, ON and words become strings; numbers stay
    /// numbers (signed).
    /// </summary>
    private Expression ParseOptionValue()
    {
        Token token = Current;
        var location = new SourceLocation(token.Offset);
        switch (token.Kind)
        {
            case TokenKind.String:
                Advance();
                return new StringLiteral(token.Value!) { Location = location };
            case TokenKind.Integer or TokenKind.Numeric:
                Advance();
                return token.Kind == TokenKind.Integer ? IntegerOrNumeric(token) : new NumericLiteral(token.Value!) { Location = location };
            case TokenKind.Plus or TokenKind.Minus:
            {
                Advance();
                Token number = Current;
                if (number.Kind is not (TokenKind.Integer or TokenKind.Numeric))
                {
                    throw SyntaxError();
                }

                Advance();
                string digits = number.Text(_sql);
                string text = token.Kind == TokenKind.Minus ? "-" + digits : digits;
                if (number.Kind == TokenKind.Integer && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
                {
                    return new IntegerLiteral(value) { Location = location };
                }

                return new NumericLiteral(text) { Location = location };
            }

            case TokenKind.Identifier when token.Keyword is Keyword.True or Keyword.False or Keyword.On:
                Advance();
                return new StringLiteral(KeywordTable.Text(token.Keyword)) { Location = location };
            default:
                if (!IsNonReservedWord(token))
                {
                    throw SyntaxError();
                }

                Advance();
                return new StringLiteral(NameOf(token)) { Location = location };
        }
    }

    private DeclareCursorStatement ParseDeclareCursor()
    {
        ExpectKeyword(Keyword.Declare);
        string name = ParseColumnId();
        if (Current.Kind == TokenKind.Identifier
            && Current.Keyword is Keyword.Binary or Keyword.Insensitive or Keyword.Asensitive or Keyword.Scroll or Keyword.No)
        {
            throw NotSupported("cursor options");
        }

        ExpectKeyword(Keyword.Cursor);
        bool withHold = false;
        if (TryKeyword(Keyword.With))
        {
            ExpectKeyword(Keyword.Hold);
            withHold = true;
        }
        else if (TryKeyword(Keyword.Without))
        {
            ExpectKeyword(Keyword.Hold);
        }

        ExpectKeyword(Keyword.For);
        Token start = Current;
        Statement source = AtWord("subscribe") ? ParseSubscribe() : new SelectStatement(ParseQuery());
        return new DeclareCursorStatement(name, source with { Location = new SourceLocation(start.Offset) }, withHold);
    }

    private FetchStatement ParseFetch()
    {
        ExpectKeyword(Keyword.Fetch);
        Token token = Current;
        if (token.Kind == TokenKind.Identifier
            && token.Keyword is Keyword.Backward or Keyword.Prior or Keyword.First or Keyword.Last or Keyword.Absolute or Keyword.Relative)
        {
            throw NotSupported("FETCH " + KeywordTable.Text(token.Keyword).ToUpperInvariant());
        }

        // FETCH [FORWARD] [count | ALL]; a negative count would fetch backward.
        // A direction word right before the end is the cursor's name (FETCH next).
        long? count = 1;
        bool forward = !IsStatementEnd(Peek()) && TryKeyword(Keyword.Forward);
        if (!forward && !IsStatementEnd(Peek()) && TryKeyword(Keyword.Next))
        {
            count = 1;
        }
        else if (TryKeyword(Keyword.All))
        {
            count = null;
        }
        else if (At(TokenKind.Integer) || At(TokenKind.Minus) || At(TokenKind.Plus))
        {
            Token sign = Current;
            bool negative = TryToken(TokenKind.Minus);
            if (!negative)
            {
                TryToken(TokenKind.Plus);
            }

            Token number = Expect(TokenKind.Integer);
            if (!long.TryParse(_sql.AsSpan(number.Offset, number.Length), NumberStyles.None, CultureInfo.InvariantCulture, out long value))
            {
                throw SyntaxErrorAt(number);
            }

            if (negative && value != 0)
            {
                throw NotSupported("FETCH with a negative count", sign);
            }

            count = value;
        }

        if (!TryKeyword(Keyword.From))
        {
            TryKeyword(Keyword.In);
        }

        string cursor = ParseColumnId();
        NodeList<WithOption> options = NodeList<WithOption>.Empty;
        if (AtKeyword(Keyword.With) && Peek().Kind == TokenKind.LeftParen)
        {
            Advance();
            options = ParseOptionList(multiWordNames: false);
        }

        return new FetchStatement(cursor, count, options);
    }

    private CloseStatement ParseClose()
    {
        ExpectKeyword(Keyword.Close);
        return TryKeyword(Keyword.All) ? new CloseStatement(null) : new CloseStatement(ParseColumnId());
    }
}
