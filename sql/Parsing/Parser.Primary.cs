using System;
using System.Collections.Generic;
using System.Globalization;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// Primary expressions: literals, names, calls, keyword forms (CASE, CAST, EXTRACT...) and parentheses.
public sealed partial class Parser
{
    private Expression ParsePrefix(bool restricted)
    {
        Token token = Current;
        var location = new SourceLocation(token.Offset);
        switch (token.Kind)
        {
            case TokenKind.Integer:
                Advance();
                return IntegerOrNumeric(token);
            case TokenKind.Numeric:
                Advance();
                return new NumericLiteral(token.Value!) { Location = location };
            case TokenKind.String:
                Advance();
                return new StringLiteral(token.Value!) { Location = location };
            case TokenKind.BitString:
                Advance();
                return new BitStringLiteral(token.Value!) { Location = location };
            case TokenKind.Parameter:
            {
                if (!int.TryParse(_sql.AsSpan(token.Offset + 1, token.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out int number))
                {
                    throw Error(SqlState.SyntaxError, $"parameter number too large at or near \"{token.Text(_sql)}\"", token);
                }

                Advance();
                var parameter = new Parameter(number) { Location = location };
                RejectIndirection();
                return parameter;
            }

            case TokenKind.LeftParen:
                return ParseParenthesizedExpression();
            case TokenKind.Minus or TokenKind.Plus:
            {
                Advance();
                Expression operand = ParseExpression(PrecedenceUnary, restricted);
                return new UnaryOperation(token.Kind == TokenKind.Minus ? "-" : "+", operand) { Location = location };
            }

            case TokenKind.Operator:
            {
                Advance();
                Expression operand = ParseExpression(PrecedenceOperator + 1, restricted);
                return new UnaryOperation(token.Value!, operand) { Location = location };
            }

            case TokenKind.Identifier or TokenKind.QuotedIdentifier:
                return ParseWordExpression(restricted);
            default:
                throw SyntaxError();
        }
    }

    private Expression IntegerOrNumeric(Token token)
    {
        var location = new SourceLocation(token.Offset);
        ReadOnlySpan<char> digits = _sql.AsSpan(token.Offset, token.Length);
        return long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long value)
            ? new IntegerLiteral(value) { Location = location }
            : new NumericLiteral(digits.ToString()) { Location = location };
    }

    /// <summary>
    /// After a column reference, parameter or parenthesized expression: field selection <c>(x).f</c> and
    /// subscripts <c>x[1]</c> are not supported. A subscript is parsed first, so that a malformed one is a
    /// syntax error as in PostgreSQL.
    /// </summary>
    private void RejectIndirection()
    {
        if (At(TokenKind.Dot))
        {
            throw NotSupported("field selection");
        }

        if (At(TokenKind.LeftBracket))
        {
            Token bracket = Current;
            while (TryToken(TokenKind.LeftBracket))
            {
                if (!At(TokenKind.Colon))
                {
                    ParseExpression();
                }

                if (TryToken(TokenKind.Colon) && !At(TokenKind.RightBracket))
                {
                    ParseExpression();
                }

                Expect(TokenKind.RightBracket);
            }

            throw NotSupported("array subscripts", bracket);
        }
    }

    /// <summary><c>ARRAY[...]</c> or <c>ARRAY(subquery)</c>, parsed only to be refused with the right error.</summary>
    private void ParseArrayConstructor()
    {
        Advance();
        if (At(TokenKind.LeftParen))
        {
            ParseParenthesizedQuery();
            return;
        }

        ParseArrayElements();
    }

    private void ParseArrayElements()
    {
        Enter();
        Expect(TokenKind.LeftBracket);
        if (TryToken(TokenKind.RightBracket))
        {
            Leave();
            return;
        }

        do
        {
            if (At(TokenKind.LeftBracket))
            {
                ParseArrayElements();
            }
            else
            {
                ParseExpression();
            }
        }
        while (TryToken(TokenKind.Comma));

        Expect(TokenKind.RightBracket);
        Leave();
    }

    /// <summary>An expression that starts with a word: keyword forms, literals, column references and calls.</summary>
    private Expression ParseWordExpression(bool restricted)
    {
        Token token = Current;
        var location = new SourceLocation(token.Offset);
        if (token.Kind == TokenKind.Identifier && token.Keyword != Keyword.None)
        {
            Expression? special = ParseKeywordExpression(token, restricted);
            if (special is not null)
            {
                return special;
            }
        }

        // A name: column reference, function call, or a typed literal such as date '2024-01-01'.
        // (NULLS before FIRST or LAST is PostgreSQL's NULLS_LA token, which is no name.)
        if (IsNullsOrdering())
        {
            throw SyntaxError();
        }

        bool canBeColumn = IsColumnId(token);
        bool canBeFunction = IsTypeFunctionName(token);
        if (!canBeColumn && !canBeFunction)
        {
            throw SyntaxError();
        }

        Advance();
        if (!canBeColumn && Current.Kind is not (TokenKind.LeftParen or TokenKind.String))
        {
            // A function-or-type keyword (LEFT, RIGHT...) must be a call or a typed literal.
            throw SyntaxError();
        }

        string first = NameOf(token);
        List<string>? parts = null;
        while (At(TokenKind.Dot))
        {
            if (!canBeColumn)
            {
                throw SyntaxError();
            }

            if (Peek().Kind == TokenKind.Star)
            {
                throw NotSupported("a qualified * outside a SELECT list", Peek());
            }

            Advance();
            parts ??= [first];
            parts.Add(ParseColumnLabel());
        }

        NodeList<string> names = parts is null ? NodeList.Create([first]) : NodeList.From(parts);
        if (At(TokenKind.LeftParen))
        {
            if (parts is null && !canBeFunction)
            {
                throw SyntaxError();
            }

            var name = new ObjectName(names) { Location = location };
            return ParseFunctionCall(name);
        }

        if (At(TokenKind.String) && (parts is not null || canBeFunction))
        {
            Token literal = Advance();
            var type = new TypeName(new ObjectName(names) { Location = location }, NodeList<int>.Empty, IntervalFields.None)
            {
                Location = location,
            };
            return new CastExpression(new StringLiteral(literal.Value!) { Location = new SourceLocation(literal.Offset) }, type)
            {
                Location = location,
            };
        }

        if (!canBeColumn)
        {
            throw SyntaxError();
        }

        var column = new ColumnRef(names) { Location = location };
        RejectIndirection();
        return column;
    }

    /// <summary>The keyword forms of expressions; null when the keyword is just a name here.</summary>
    private Expression? ParseKeywordExpression(Token token, bool restricted)
    {
        var location = new SourceLocation(token.Offset);
        bool call = Peek().Kind == TokenKind.LeftParen;
        switch (token.Keyword)
        {
            case Keyword.True:
                Advance();
                return new BooleanLiteral(true) { Location = location };
            case Keyword.False:
                Advance();
                return new BooleanLiteral(false) { Location = location };
            case Keyword.Null:
                Advance();
                return new NullLiteral { Location = location };
            case Keyword.Default when !restricted:
                Advance();
                return new DefaultValue { Location = location };
            case Keyword.Not:
            {
                if (restricted)
                {
                    throw SyntaxError();
                }

                Advance();
                Expression operand = ParseExpression(PrecedenceNot, restricted: false);
                return new NotExpression(operand) { Location = location };
            }

            case Keyword.Case:
                return ParseCase();
            case Keyword.Cast:
                return ParseCast();
            case Keyword.Exists when call:
            {
                Advance();
                Query query = ParseParenthesizedQuery();
                return new ExistsExpression(query) { Location = location };
            }

            case Keyword.Array:
                ParseArrayConstructor();
                throw NotSupported("ARRAY", token);
            case Keyword.Unique:
                // PostgreSQL's grammar has the UNIQUE (subquery) predicate, though it does not implement it either.
                Advance();
                ParseParenthesizedQuery();
                throw NotSupported("the UNIQUE predicate", token);
            case Keyword.Row when call:
            {
                Advance();
                Advance();
                var items = new List<Expression>();
                if (!At(TokenKind.RightParen))
                {
                    do
                    {
                        items.Add(ParseExpression());
                    }
                    while (TryToken(TokenKind.Comma));
                }

                Expect(TokenKind.RightParen);
                return new RowConstructor(NodeList.From(items)) { Location = location };
            }

            case Keyword.Coalesce or Keyword.Greatest or Keyword.Least when call:
            {
                Advance();
                var name = new ObjectName([KeywordTable.Text(token.Keyword)]) { Location = location };
                NodeList<Expression> arguments = ParseParenthesizedExpressionList();
                return new FunctionCall(name, arguments, false, false, NodeList<OrderByItem>.Empty, null, null) { Location = location };
            }

            case Keyword.Nullif when call:
            {
                Advance();
                Advance();
                Expression first = ParseExpression();
                Expect(TokenKind.Comma);
                Expression second = ParseExpression();
                Expect(TokenKind.RightParen);
                var name = new ObjectName(["nullif"]) { Location = location };
                return new FunctionCall(name, [first, second], false, false, NodeList<OrderByItem>.Empty, null, null) { Location = location };
            }

            case Keyword.Extract or Keyword.Position or Keyword.Substring or Keyword.Trim or Keyword.Overlay when call:
                return ParseSpecialCall(token);

            case Keyword.CurrentDate:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.CurrentDate) { Location = location };
            case Keyword.CurrentTime:
                return ParseTimeValueFunction(SqlValueFunctionKind.CurrentTime);
            case Keyword.CurrentTimestamp:
                return ParseTimeValueFunction(SqlValueFunctionKind.CurrentTimestamp);
            case Keyword.Localtime:
                return ParseTimeValueFunction(SqlValueFunctionKind.LocalTime);
            case Keyword.Localtimestamp:
                return ParseTimeValueFunction(SqlValueFunctionKind.LocalTimestamp);
            case Keyword.CurrentRole:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.CurrentRole) { Location = location };
            case Keyword.CurrentUser:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.CurrentUser) { Location = location };
            case Keyword.SessionUser:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.SessionUser) { Location = location };
            case Keyword.User:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.User) { Location = location };
            case Keyword.CurrentCatalog:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.CurrentCatalog) { Location = location };
            case Keyword.CurrentSchema when !call:
                Advance();
                return new SqlValueFunction(SqlValueFunctionKind.CurrentSchema) { Location = location };

            case Keyword.Grouping when call:
                throw NotSupported("GROUPING");
            case Keyword.Collation when PeekKeyword(1, Keyword.For):
                throw NotSupported("COLLATION FOR");
            case Keyword.Treat when call:
                throw NotSupported("TREAT");
            case Keyword.Normalize when call:
                throw NotSupported("NORMALIZE");
            case Keyword.Xmlattributes or Keyword.Xmlconcat or Keyword.Xmlelement or Keyword.Xmlexists
                or Keyword.Xmlforest or Keyword.Xmlnamespaces or Keyword.Xmlparse or Keyword.Xmlpi
                or Keyword.Xmlroot or Keyword.Xmlserialize or Keyword.Xmltable when call:
                throw NotSupported("XML functions");

            case Keyword.Interval:
                return TryParseIntervalLiteral();
            case Keyword.Int or Keyword.Integer or Keyword.Smallint or Keyword.Bigint or Keyword.Real or Keyword.Float
                or Keyword.Double or Keyword.Decimal or Keyword.Dec or Keyword.Numeric or Keyword.Boolean or Keyword.Bit
                or Keyword.Character or Keyword.Char or Keyword.Varchar or Keyword.National or Keyword.Nchar
                or Keyword.Time or Keyword.Timestamp:
                return TryParseTypedLiteral();
            default:
                return null;
        }
    }

    private SqlValueFunction ParseTimeValueFunction(SqlValueFunctionKind kind)
    {
        var location = new SourceLocation(Advance().Offset);
        int? precision = null;
        if (TryToken(TokenKind.LeftParen))
        {
            precision = ParseSmallInteger();
            Expect(TokenKind.RightParen);
        }

        return new SqlValueFunction(kind, precision) { Location = location };
    }

    /// <summary>
    /// A type keyword followed by a string: a typed literal such as <c>TIMESTAMP '...'</c>. When no string
    /// follows the type, the keyword is a name (PostgreSQL allows <c>SELECT timestamp FROM t</c>); null then.
    /// </summary>
    private CastExpression? TryParseTypedLiteral()
    {
        // Followed by '(' or by more words of a type (DOUBLE PRECISION, TIME WITH TIME ZONE), the keyword can
        // only start a type here, so errors in it stand; otherwise it may also be a column name.
        int saved = _index;
        int savedDepth = _depth;
        Token start = Current;
        bool committed = IsTypeContinuation(start, Peek(), Peek(2));
        TypeName? type;
        try
        {
            type = ParseTypeName(constant: true);
        }
        catch (ParseException) when (!committed)
        {
            type = null;
        }

        if (type is null || !At(TokenKind.String))
        {
            if (committed)
            {
                throw SyntaxError();
            }

            _index = saved;
            _depth = savedDepth;
            return null;
        }

        Token literal = Advance();
        return new CastExpression(new StringLiteral(literal.Value!) { Location = new SourceLocation(literal.Offset) }, type)
        {
            Location = new SourceLocation(start.Offset),
        };
    }

    /// <summary>Whether <paramref name="next"/> (and <paramref name="after"/>) go on with the type that <paramref name="keyword"/> starts.</summary>
    private static bool IsTypeContinuation(Token keyword, Token next, Token after)
    {
        if (KeywordTable.Category(keyword.Keyword) == KeywordCategory.ColumnName && next.Kind == TokenKind.LeftParen)
        {
            return true;
        }

        return keyword.Keyword switch
        {
            Keyword.Double => IsKeyword(next, Keyword.Precision),
            Keyword.Character or Keyword.Char or Keyword.Nchar or Keyword.Bit => IsKeyword(next, Keyword.Varying),
            Keyword.National => true,

            // WITH or WITHOUT before TIME is PostgreSQL's WITH_LA token: the time zone clause.
            Keyword.Time or Keyword.Timestamp => (IsKeyword(next, Keyword.With) || IsKeyword(next, Keyword.Without))
                && IsKeyword(after, Keyword.Time),
            _ => false,
        };
    }

    /// <summary><c>INTERVAL 'text' [fields]</c> or <c>INTERVAL (p) 'text'</c>; null when INTERVAL is a column name here.</summary>
    private CastExpression? TryParseIntervalLiteral()
    {
        Token start = Current;
        var location = new SourceLocation(start.Offset);
        int modifierPrecision = -1;
        if (Peek().Kind == TokenKind.LeftParen)
        {
            Advance();
            Advance();
            modifierPrecision = ParseSmallInteger();
            Expect(TokenKind.RightParen);
            if (!At(TokenKind.String))
            {
                throw SyntaxError();
            }
        }
        else if (Peek().Kind != TokenKind.String)
        {
            return null;
        }
        else
        {
            Advance();
        }

        Token literal = Advance();
        TypeName type;
        if (modifierPrecision >= 0)
        {
            type = new TypeName(new ObjectName(["interval"]), [modifierPrecision], IntervalFields.None) { Location = location };
        }
        else
        {
            (IntervalFields fields, int precision) = ParseIntervalFields();
            NodeList<int> modifiers = precision >= 0 ? [precision] : NodeList<int>.Empty;
            type = new TypeName(new ObjectName(["interval"]), modifiers, fields) { Location = location };
        }

        return new CastExpression(new StringLiteral(literal.Value!) { Location = new SourceLocation(literal.Offset) }, type)
        {
            Location = location,
        };
    }

    private CaseExpression ParseCase()
    {
        var location = new SourceLocation(Advance().Offset);
        Expression? operand = AtKeyword(Keyword.When) ? null : ParseExpression();
        var whens = new List<WhenClause>();
        do
        {
            Token when = ExpectKeyword(Keyword.When);
            Expression condition = ParseExpression();
            ExpectKeyword(Keyword.Then);
            Expression result = ParseExpression();
            whens.Add(new WhenClause(condition, result) { Location = new SourceLocation(when.Offset) });
        }
        while (AtKeyword(Keyword.When));

        Expression? otherwise = TryKeyword(Keyword.Else) ? ParseExpression() : null;
        ExpectKeyword(Keyword.End);
        return new CaseExpression(operand, NodeList.From(whens), otherwise) { Location = location };
    }

    private CastExpression ParseCast()
    {
        var location = new SourceLocation(Advance().Offset);
        Expect(TokenKind.LeftParen);
        Expression operand = ParseExpression();
        ExpectKeyword(Keyword.As);
        TypeName type = ParseTypeName();
        Expect(TokenKind.RightParen);
        return new CastExpression(operand, type) { Location = location };
    }

    /// <summary>
    /// EXTRACT, POSITION, SUBSTRING, TRIM and OVERLAY with their SQL-standard argument syntax, turned into
    /// calls of PostgreSQL's functions; with a plain argument list they are ordinary calls.
    /// </summary>
    private FunctionCall ParseSpecialCall(Token keyword)
    {
        var location = new SourceLocation(keyword.Offset);
        Advance();
        Expect(TokenKind.LeftParen);
        string name = KeywordTable.Text(keyword.Keyword);
        List<Expression> arguments;
        string? systemName;
        switch (keyword.Keyword)
        {
            case Keyword.Extract:
                arguments = ParseExtractArguments(out systemName);
                break;
            case Keyword.Position:
                arguments = ParsePositionArguments(out systemName);
                break;
            case Keyword.Substring:
                arguments = ParseSubstringArguments(out systemName);
                break;
            case Keyword.Trim:
                arguments = ParseTrimArguments(out systemName);
                break;
            default:
                arguments = ParseOverlayArguments(out systemName);
                break;
        }

        Expect(TokenKind.RightParen);
        ObjectName function = systemName is null
            ? new ObjectName([name]) { Location = location }
            : new ObjectName(["pg_catalog", systemName]) { Location = location };
        return new FunctionCall(function, NodeList.From(arguments), false, false, NodeList<OrderByItem>.Empty, null, null)
        {
            Location = location,
        };
    }

    private List<Expression> ParseExtractArguments(out string? systemName)
    {
        // extract_arg: an identifier, YEAR .. SECOND, or a string; always followed by FROM.
        systemName = "extract";
        Token field = Current;
        string text;
        if (field.Kind == TokenKind.String)
        {
            text = field.Value!;
        }
        else if (field.Kind == TokenKind.Identifier
                 && (field.Keyword == Keyword.None
                     || field.Keyword is Keyword.Year or Keyword.Month or Keyword.Day or Keyword.Hour or Keyword.Minute or Keyword.Second))
        {
            text = NameOf(field);
        }
        else
        {
            throw SyntaxError();
        }

        Advance();
        ExpectKeyword(Keyword.From);
        Expression source = ParseExpression();
        return [new StringLiteral(text) { Location = new SourceLocation(field.Offset) }, source];
    }

    private List<Expression> ParsePositionArguments(out string? systemName)
    {
        // POSITION(b_expr IN b_expr) is position(string, substring) with the operands swapped.
        systemName = "position";
        Expression substring = ParseExpression(0, restricted: true);
        ExpectKeyword(Keyword.In);
        Expression text = ParseExpression(0, restricted: true);
        return [text, substring];
    }

    private List<Expression> ParseSubstringArguments(out string? systemName)
    {
        systemName = null;
        if (At(TokenKind.RightParen))
        {
            return [];
        }

        Expression text = ParseExpression();
        if (AtKeyword(Keyword.From) || AtKeyword(Keyword.For))
        {
            systemName = "substring";
            Expression? from = null;
            Expression? count = null;
            if (TryKeyword(Keyword.From))
            {
                from = ParseExpression();
                if (TryKeyword(Keyword.For))
                {
                    count = ParseExpression();
                }
            }
            else
            {
                Advance();
                count = ParseExpression();
                if (TryKeyword(Keyword.From))
                {
                    from = ParseExpression();
                }
            }

            // SUBSTRING(x FOR n) starts at 1.
            from ??= new IntegerLiteral(1);
            return count is null ? [text, from] : [text, from, count];
        }

        if (AtKeyword(Keyword.Similar))
        {
            throw NotSupported("SUBSTRING ... SIMILAR");
        }

        var arguments = new List<Expression> { text };
        while (TryToken(TokenKind.Comma))
        {
            arguments.Add(ParseExpression());
        }

        return arguments;
    }

    private List<Expression> ParseTrimArguments(out string? systemName)
    {
        // TRIM([BOTH | LEADING | TRAILING] [characters] FROM text) is btrim/ltrim/rtrim(text, characters).
        systemName = "btrim";
        if (TryKeyword(Keyword.Leading))
        {
            systemName = "ltrim";
        }
        else if (TryKeyword(Keyword.Trailing))
        {
            systemName = "rtrim";
        }
        else
        {
            TryKeyword(Keyword.Both);
        }

        if (TryKeyword(Keyword.From))
        {
            return ParseExpressionListItems();
        }

        Expression first = ParseExpression();
        if (TryKeyword(Keyword.From))
        {
            List<Expression> texts = ParseExpressionListItems();
            texts.Add(first);
            return texts;
        }

        var arguments = new List<Expression> { first };
        while (TryToken(TokenKind.Comma))
        {
            arguments.Add(ParseExpression());
        }

        return arguments;
    }

    private List<Expression> ParseOverlayArguments(out string? systemName)
    {
        systemName = null;
        if (At(TokenKind.RightParen))
        {
            return [];
        }

        Expression text = ParseExpression();
        if (TryKeyword(Keyword.Placing))
        {
            systemName = "overlay";
            Expression replacement = ParseExpression();
            ExpectKeyword(Keyword.From);
            Expression from = ParseExpression();
            return TryKeyword(Keyword.For) ? [text, replacement, from, ParseExpression()] : [text, replacement, from];
        }

        var arguments = new List<Expression> { text };
        while (TryToken(TokenKind.Comma))
        {
            arguments.Add(ParseExpression());
        }

        return arguments;
    }

    private List<Expression> ParseExpressionListItems()
    {
        var items = new List<Expression>();
        do
        {
            items.Add(ParseExpression());
        }
        while (TryToken(TokenKind.Comma));

        return items;
    }

    /// <summary><c>(expression, ...)</c>: at least one expression.</summary>
    private NodeList<Expression> ParseParenthesizedExpressionList()
    {
        Expect(TokenKind.LeftParen);
        List<Expression> items = ParseExpressionListItems();
        Expect(TokenKind.RightParen);
        return NodeList.From(items);
    }

    /// <summary>A call after its name: arguments, aggregate ORDER BY, FILTER and OVER.</summary>
    private Expression ParseFunctionCall(ObjectName name)
    {
        Expect(TokenKind.LeftParen);
        bool star = false;
        bool distinct = false;
        var arguments = new List<Expression>();
        NodeList<OrderByItem> orderBy = NodeList<OrderByItem>.Empty;
        if (TryToken(TokenKind.Star))
        {
            star = true;
        }
        else if (!At(TokenKind.RightParen))
        {
            if (TryKeyword(Keyword.Distinct))
            {
                distinct = true;
            }
            else
            {
                TryKeyword(Keyword.All);
            }

            do
            {
                if (AtKeyword(Keyword.Variadic))
                {
                    throw NotSupported("VARIADIC");
                }

                if (Peek().Kind is TokenKind.EqualsGreater or TokenKind.ColonEquals && IsTypeFunctionName(Current))
                {
                    throw NotSupported("named function arguments", Peek());
                }

                arguments.Add(ParseExpression());
            }
            while (TryToken(TokenKind.Comma));

            if (AtKeyword(Keyword.Order))
            {
                orderBy = ParseOrderByClause();
            }
        }

        Expect(TokenKind.RightParen);

        // WITHIN, FILTER and OVER cannot be labels here: after a call they always start their clause.
        if (AtKeyword(Keyword.Within))
        {
            Token within = Advance();
            ExpectKeyword(Keyword.Group);
            throw NotSupported("WITHIN GROUP", within);
        }

        Expression? filter = null;
        if (TryKeyword(Keyword.Filter))
        {
            Expect(TokenKind.LeftParen);
            ExpectKeyword(Keyword.Where);
            filter = ParseExpression();
            Expect(TokenKind.RightParen);
        }

        WindowSpecification? over = null;
        if (AtKeyword(Keyword.Over))
        {
            over = ParseWindowSpecification();
        }

        NodeList<Expression> argumentList = NodeList.From(arguments);

        // name(modifiers) 'text' is a typed literal, such as varchar(3) 'abc' written with a generic type name.
        if (At(TokenKind.String) && arguments.Count > 0 && !distinct && orderBy.Count == 0 && filter is null && over is null)
        {
            return TypedLiteralWithModifiers(name, argumentList);
        }

        return new FunctionCall(name, argumentList, distinct, star, orderBy, filter, over) { Location = name.Location };
    }

    private CastExpression TypedLiteralWithModifiers(ObjectName name, NodeList<Expression> arguments)
    {
        var modifiers = new int[arguments.Count];
        for (int i = 0; i < arguments.Count; i++)
        {
            modifiers[i] = IntegerModifier(arguments[i]) ?? throw NotSupported("type modifiers other than integer constants");
        }

        Token text = Advance();
        var type = new TypeName(name, NodeList.Create<int>(modifiers), IntervalFields.None) { Location = name.Location };
        return new CastExpression(new StringLiteral(text.Value!) { Location = new SourceLocation(text.Offset) }, type)
        {
            Location = name.Location,
        };
    }

    private WindowSpecification ParseWindowSpecification()
    {
        Token over = ExpectKeyword(Keyword.Over);
        if (!At(TokenKind.LeftParen))
        {
            throw IsColumnId(Current) ? NotSupported("named windows") : SyntaxError();
        }

        Advance();
        if (IsColumnId(Current) && !AtKeyword(Keyword.Partition) && !AtKeyword(Keyword.Range)
            && !AtKeyword(Keyword.Rows) && !AtKeyword(Keyword.Groups))
        {
            throw NotSupported("named windows");
        }

        NodeList<Expression> partitionBy = NodeList<Expression>.Empty;
        if (TryKeyword(Keyword.Partition))
        {
            ExpectKeyword(Keyword.By);
            partitionBy = NodeList.From(ParseExpressionListItems());
        }

        NodeList<OrderByItem> orderBy = AtKeyword(Keyword.Order) ? ParseOrderByClause() : NodeList<OrderByItem>.Empty;
        if (AtKeyword(Keyword.Range) || AtKeyword(Keyword.Rows) || AtKeyword(Keyword.Groups))
        {
            throw NotSupported("window frame clauses");
        }

        Expect(TokenKind.RightParen);
        return new WindowSpecification(partitionBy, orderBy) { Location = new SourceLocation(over.Offset) };
    }

    /// <summary><c>ORDER BY item, ...</c>.</summary>
    private NodeList<OrderByItem> ParseOrderByClause()
    {
        ExpectKeyword(Keyword.Order);
        ExpectKeyword(Keyword.By);
        var items = new List<OrderByItem>();
        do
        {
            items.Add(ParseOrderByItem());
        }
        while (TryToken(TokenKind.Comma));

        return NodeList.From(items);
    }

    private OrderByItem ParseOrderByItem()
    {
        Expression expression = ParseExpression();
        SortDirection direction = SortDirection.Default;
        if (TryKeyword(Keyword.Asc))
        {
            direction = SortDirection.Ascending;
        }
        else if (TryKeyword(Keyword.Desc))
        {
            direction = SortDirection.Descending;
        }
        else if (AtKeyword(Keyword.Using))
        {
            throw NotSupported("ORDER BY ... USING");
        }

        NullsOrder nulls = NullsOrder.Default;
        if (AtKeyword(Keyword.Nulls) && (PeekKeyword(1, Keyword.First) || PeekKeyword(1, Keyword.Last)))
        {
            Advance();
            nulls = Advance().Keyword == Keyword.First ? NullsOrder.First : NullsOrder.Last;
        }

        return new OrderByItem(expression, direction, nulls) { Location = expression.Location };
    }

    /// <summary>
    /// <c>( ... )</c> in an expression: a scalar subquery, a grouped expression, or an implicit row
    /// <c>(a, b)</c>. A parenthesized subquery may go on as a query: <c>((SELECT 1) UNION (SELECT 2))</c>.
    /// </summary>
    private Expression ParseParenthesizedExpression()
    {
        Token open = Current;
        var location = new SourceLocation(open.Offset);
        Advance();
        Expression result;
        if (IsQueryStartAt(0))
        {
            Query query = ParseQuery();
            Expect(TokenKind.RightParen);
            result = new SubqueryExpression(query) { Location = location };
        }
        else
        {
            Expression inner = ParseExpression();
            if (inner is SubqueryExpression subquery && IsQueryContinuation(Current))
            {
                Query query = ContinueQuery(subquery.Query, subquery.Location.Offset);
                Expect(TokenKind.RightParen);
                result = new SubqueryExpression(query) { Location = location };
            }
            else if (At(TokenKind.Comma))
            {
                var items = new List<Expression> { inner };
                while (TryToken(TokenKind.Comma))
                {
                    items.Add(ParseExpression());
                }

                Expect(TokenKind.RightParen);
                result = new RowConstructor(NodeList.From(items)) { Location = location };
            }
            else
            {
                Expect(TokenKind.RightParen);
                result = inner;
            }
        }

        RejectIndirection();
        return result;
    }

    /// <summary>What <see cref="ParseQueryOrExpressionList"/> found.</summary>
    private readonly record struct ParenthesizedContent(Query? Query, NodeList<Expression>? Items, Token SecondItemToken);

    /// <summary>
    /// The parenthesized operand of IN, ANY and ALL: a subquery (also when doubly parenthesized, as PostgreSQL
    /// reads <c>x IN ((SELECT ...))</c>), or a list of expressions.
    /// </summary>
    private ParenthesizedContent ParseQueryOrExpressionList()
    {
        Expect(TokenKind.LeftParen);
        ParenthesizedContent content;
        if (IsQueryStartAt(0))
        {
            Query query = ParseQuery();
            Expect(TokenKind.RightParen);
            content = new ParenthesizedContent(query, null, default);
        }
        else
        {
            Expression first = ParseExpression();
            if (first is SubqueryExpression subquery && At(TokenKind.RightParen))
            {
                Advance();
                content = new ParenthesizedContent(subquery.Query, null, default);
            }
            else if (first is SubqueryExpression continued && IsQueryContinuation(Current))
            {
                Query query = ContinueQuery(continued.Query, continued.Location.Offset);
                Expect(TokenKind.RightParen);
                content = new ParenthesizedContent(query, null, default);
            }
            else
            {
                var items = new List<Expression> { first };
                Token second = Current;
                while (TryToken(TokenKind.Comma))
                {
                    if (items.Count == 1)
                    {
                        second = Current;
                    }

                    items.Add(ParseExpression());
                }

                Expect(TokenKind.RightParen);
                content = new ParenthesizedContent(null, NodeList.From(items), second);
            }
        }

        return content;
    }

    /// <summary><c>( query )</c>, the parentheses included (EXISTS, SUBSCRIBE, COPY).</summary>
    private Query ParseParenthesizedQuery()
    {
        Expect(TokenKind.LeftParen);
        Query query = ParseQuery();
        Expect(TokenKind.RightParen);
        return query;
    }

    /// <summary>A small non-negative integer constant: a precision, a length, a count of digits.</summary>
    private int ParseSmallInteger()
    {
        Token token = Current;
        if (token.Kind != TokenKind.Integer
            || !int.TryParse(_sql.AsSpan(token.Offset, token.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            throw SyntaxError();
        }

        Advance();
        return value;
    }
}
