using System;
using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// Queries: WITH, set operations, SELECT, VALUES, ORDER BY / LIMIT / OFFSET, and FROM items with joins.
public sealed partial class Parser
{
    /// <summary>Whether the token <paramref name="ahead"/> of the current one starts a query (VALUES only before '(': it is also a column name).</summary>
    private bool IsQueryStartAt(int ahead)
    {
        Token token = Peek(ahead);
        return token.Kind == TokenKind.Identifier
            && (token.Keyword is Keyword.Select or Keyword.With or Keyword.Table
                || (token.Keyword == Keyword.Values && Peek(ahead + 1).Kind == TokenKind.LeftParen));
    }

    /// <summary>Whether the token continues a query after a parenthesized one: a set operator or a trailing clause.</summary>
    private static bool IsQueryContinuation(Token token) =>
        token.Kind == TokenKind.Identifier
        && token.Keyword is Keyword.Union or Keyword.Intersect or Keyword.Except or Keyword.Order
            or Keyword.Limit or Keyword.Offset or Keyword.Fetch or Keyword.For;

    /// <summary>A whole query: [WITH ...] body [ORDER BY ...] [LIMIT ...] [OFFSET ...].</summary>
    private Query ParseQuery()
    {
        Enter();
        Token start = Current;
        NodeList<CommonTableExpression> with = NodeList<CommonTableExpression>.Empty;
        Token withToken = default;
        if (AtKeyword(Keyword.With))
        {
            withToken = Current;
            with = ParseWithClause();
            if (Current.Kind == TokenKind.Identifier && Current.Keyword is Keyword.Insert or Keyword.Update or Keyword.Delete or Keyword.Merge)
            {
                throw NotSupported("WITH on INSERT, UPDATE and DELETE");
            }
        }

        QueryBody body = ParseSetOperand();
        body = ParseSetOperations(body, 0);
        Query query = ParseQueryTail(with, withToken, body, start.Offset);
        Leave();
        return query;
    }

    /// <summary>
    /// Goes on with a query whose first operand, a parenthesized query, was parsed as a subquery expression:
    /// <c>((SELECT 1) UNION SELECT 2 ORDER BY 1)</c>.
    /// </summary>
    private Query ContinueQuery(Query first, int startOffset)
    {
        Enter();
        QueryBody body = ParseSetOperations(AsBody(first), 0);
        Query query = ParseQueryTail(NodeList<CommonTableExpression>.Empty, default, body, Math.Max(startOffset, 0));
        Leave();
        return query;
    }

    /// <summary>A parenthesized query as a set operand: just its body when it has no clauses of its own.</summary>
    private static QueryBody AsBody(Query query) =>
        query.IsBodyOnly ? query.Body : new ParenthesizedQuery(query) { Location = query.Location };

    private QueryBody ParseSetOperand()
    {
        Token token = Current;
        if (token.Kind == TokenKind.LeftParen)
        {
            Advance();
            Query inner = ParseQuery();
            Expect(TokenKind.RightParen);
            return AsBody(inner);
        }

        if (token.Kind == TokenKind.Identifier)
        {
            switch (token.Keyword)
            {
                case Keyword.Select:
                    return ParseSelect();
                case Keyword.Values:
                    return ParseValues();
                case Keyword.Table:
                {
                    // TABLE name is SELECT * FROM name.
                    Advance();
                    ObjectName name = ParseQualifiedName();
                    var location = new SourceLocation(token.Offset);
                    return new Select(
                        null,
                        [new Wildcard(null) { Location = location }],
                        [new TableReference(name, null) { Location = name.Location }],
                        null,
                        NodeList<Expression>.Empty,
                        null) { Location = location };
                }
            }
        }

        throw SyntaxError();
    }

    /// <summary>Set operators after <paramref name="left"/> binding at least as tightly as <paramref name="minimumPrecedence"/>.</summary>
    private QueryBody ParseSetOperations(QueryBody left, int minimumPrecedence)
    {
        int chain = 0;
        while (true)
        {
            Token token = Current;
            if (token.Kind != TokenKind.Identifier)
            {
                break;
            }

            (SetOperator op, int precedence) = token.Keyword switch
            {
                Keyword.Union => (SetOperator.Union, 1),
                Keyword.Except => (SetOperator.Except, 1),
                Keyword.Intersect => (SetOperator.Intersect, 2),
                _ => (SetOperator.Union, 0),
            };
            if (precedence == 0 || precedence < minimumPrecedence)
            {
                break;
            }

            Advance();
            bool all = TryKeyword(Keyword.All);
            if (!all)
            {
                TryKeyword(Keyword.Distinct);
            }

            chain++;
            Enter();
            QueryBody right = ParseSetOperations(ParseSetOperand(), precedence + 1);
            left = new SetOperation(op, all, left, right) { Location = left.Location };
        }

        _depth -= chain;
        return left;
    }

    /// <summary>
    /// ORDER BY, LIMIT/FETCH, OFFSET and locking clauses after a body. A body that is a lone parenthesized
    /// query takes the clauses into that query, as PostgreSQL does, refusing a clause it already has.
    /// </summary>
    private Query ParseQueryTail(NodeList<CommonTableExpression> with, Token withToken, QueryBody body, int startOffset)
    {
        NodeList<OrderByItem> orderBy = AtKeyword(Keyword.Order) ? ParseOrderByClause() : NodeList<OrderByItem>.Empty;

        bool hasLimit = false;
        bool hasOffset = false;
        Token limitToken = default;
        Expression? limit = null;
        Expression? offset = null;
        while (true)
        {
            if (!hasLimit && (AtKeyword(Keyword.Limit) || AtKeyword(Keyword.Fetch)))
            {
                hasLimit = true;
                limitToken = Current;
                limit = AtKeyword(Keyword.Limit) ? ParseLimit() : ParseFetchFirst();
            }
            else if (!hasOffset && AtKeyword(Keyword.Offset))
            {
                hasOffset = true;
                Advance();
                offset = ParseExpression();
                if (!TryKeyword(Keyword.Row))
                {
                    TryKeyword(Keyword.Rows);
                }
            }
            else
            {
                break;
            }
        }

        if (AtKeyword(Keyword.For))
        {
            throw NotSupported("SELECT ... FOR UPDATE/SHARE");
        }

        var location = new SourceLocation(startOffset);
        if (body is not ParenthesizedQuery parenthesized)
        {
            return new Query(with, body, orderBy, limit, offset) { Location = location };
        }

        // PostgreSQL points these errors at the second clause's first expression (or its WITH keyword).
        Query inner = parenthesized.Query;
        if (orderBy.Count > 0 && inner.OrderBy.Count > 0)
        {
            throw ErrorAt(SqlState.SyntaxError, "multiple ORDER BY clauses not allowed", orderBy[0].Expression.Location.Offset);
        }

        if (hasOffset && inner.Offset is not null)
        {
            throw ErrorAt(SqlState.SyntaxError, "multiple OFFSET clauses not allowed", offset!.Location.Offset);
        }

        if (hasLimit && inner.Limit is not null)
        {
            throw ErrorAt(SqlState.SyntaxError, "multiple LIMIT clauses not allowed", limit?.Location.Offset ?? limitToken.Offset);
        }

        if (with.Count > 0 && inner.With.Count > 0)
        {
            throw ErrorAt(SqlState.SyntaxError, "multiple WITH clauses not allowed", withToken.Offset);
        }

        return new Query(
            with.Count > 0 ? with : inner.With,
            inner.Body,
            orderBy.Count > 0 ? orderBy : inner.OrderBy,
            limit ?? inner.Limit,
            offset ?? inner.Offset) { Location = location };
    }

    /// <summary><c>LIMIT count | ALL</c>; ALL means no limit (null).</summary>
    private Expression? ParseLimit()
    {
        Token limitToken = Advance();
        Expression? limit = TryKeyword(Keyword.All) ? null : ParseExpression();
        if (At(TokenKind.Comma))
        {
            throw Error(
                SqlState.SyntaxError,
                "LIMIT #,# syntax is not supported",
                limitToken,
                "Use separate LIMIT and OFFSET clauses.");
        }

        return limit;
    }

    /// <summary><c>FETCH {FIRST | NEXT} [count] {ROW | ROWS} ONLY</c>, which is a LIMIT.</summary>
    private Expression ParseFetchFirst()
    {
        Token fetch = Advance();
        if (!TryKeyword(Keyword.First))
        {
            ExpectKeyword(Keyword.Next);
        }

        Expression count;
        if (AtKeyword(Keyword.Row) || AtKeyword(Keyword.Rows))
        {
            count = new IntegerLiteral(1) { Location = new SourceLocation(fetch.Offset) };
        }
        else if (At(TokenKind.Plus) || At(TokenKind.Minus))
        {
            // select_fetch_first_value: a signed number, or a primary expression (constant, parameter, parentheses).
            Token sign = Advance();
            if (Current.Kind is not (TokenKind.Integer or TokenKind.Numeric))
            {
                throw SyntaxError();
            }

            Expression number = ParsePrefix(restricted: true);
            count = new UnaryOperation(sign.Kind == TokenKind.Minus ? "-" : "+", number) { Location = new SourceLocation(sign.Offset) };
        }
        else
        {
            count = ParsePrefix(restricted: true);
        }

        if (!TryKeyword(Keyword.Row))
        {
            ExpectKeyword(Keyword.Rows);
        }

        if (AtKeyword(Keyword.With) && PeekKeyword(1, Keyword.Ties))
        {
            throw NotSupported("FETCH ... WITH TIES");
        }

        ExpectKeyword(Keyword.Only);
        return count;
    }

    private NodeList<CommonTableExpression> ParseWithClause()
    {
        ExpectKeyword(Keyword.With);
        if (AtKeyword(Keyword.Recursive))
        {
            throw NotSupported("WITH RECURSIVE");
        }

        if (AtWord("mutually") && PeekKeyword(1, Keyword.Recursive))
        {
            throw NotSupported("WITH MUTUALLY RECURSIVE");
        }

        var tables = new List<CommonTableExpression>();
        do
        {
            Token nameToken = Current;
            string name = ParseColumnId();
            NodeList<string> columns = At(TokenKind.LeftParen) ? ParseParenthesizedColumnList() : NodeList<string>.Empty;
            ExpectKeyword(Keyword.As);
            if (AtKeyword(Keyword.Materialized) || (AtKeyword(Keyword.Not) && PeekKeyword(1, Keyword.Materialized)))
            {
                throw NotSupported("[NOT] MATERIALIZED on a WITH query");
            }

            Expect(TokenKind.LeftParen);
            if (Current.Kind == TokenKind.Identifier && Current.Keyword is Keyword.Insert or Keyword.Update or Keyword.Delete or Keyword.Merge)
            {
                throw NotSupported("data-modifying statements in WITH");
            }

            Query query = ParseQuery();
            Expect(TokenKind.RightParen);
            tables.Add(new CommonTableExpression(name, columns, query) { Location = new SourceLocation(nameToken.Offset) });
        }
        while (TryToken(TokenKind.Comma));

        return NodeList.From(tables);
    }

    private Values ParseValues()
    {
        Token values = ExpectKeyword(Keyword.Values);
        var rows = new List<NodeList<Expression>>();
        do
        {
            rows.Add(ParseParenthesizedExpressionList());
        }
        while (TryToken(TokenKind.Comma));

        return new Values(NodeList.From(rows)) { Location = new SourceLocation(values.Offset) };
    }

    private Select ParseSelect()
    {
        Token select = ExpectKeyword(Keyword.Select);
        // With DISTINCT the select list is required; otherwise it may be empty (SELECT FROM t).
        SelectDistinct? distinct = null;
        if (AtKeyword(Keyword.Distinct))
        {
            Token distinctToken = Advance();
            NodeList<Expression> on = NodeList<Expression>.Empty;
            if (TryKeyword(Keyword.On))
            {
                on = ParseParenthesizedExpressionList();
            }

            distinct = new SelectDistinct(on) { Location = new SourceLocation(distinctToken.Offset) };
        }
        else
        {
            TryKeyword(Keyword.All);
        }

        NodeList<SelectItem> items = distinct is null && IsSelectListEnd(Current) ? NodeList<SelectItem>.Empty : ParseSelectItems();
        if (AtKeyword(Keyword.Into))
        {
            throw NotSupported("SELECT INTO");
        }

        NodeList<FromItem> from = NodeList<FromItem>.Empty;
        if (TryKeyword(Keyword.From))
        {
            var fromItems = new List<FromItem>();
            do
            {
                fromItems.Add(ParseTableReference());
            }
            while (TryToken(TokenKind.Comma));

            from = NodeList.From(fromItems);
        }

        Expression? where = TryKeyword(Keyword.Where) ? ParseExpression() : null;
        NodeList<Expression> groupBy = NodeList<Expression>.Empty;
        if (TryKeyword(Keyword.Group))
        {
            ExpectKeyword(Keyword.By);
            groupBy = ParseGroupBy();
        }

        Expression? having = TryKeyword(Keyword.Having) ? ParseExpression() : null;
        if (AtKeyword(Keyword.Window))
        {
            throw NotSupported("WINDOW clauses");
        }

        return new Select(distinct, items, from, where, groupBy, having) { Location = new SourceLocation(select.Offset) };
    }

    private static bool IsSelectListEnd(Token token) =>
        token.Kind is TokenKind.EndOfInput or TokenKind.Semicolon or TokenKind.RightParen
        || (token.Kind == TokenKind.Identifier
            && token.Keyword is Keyword.From or Keyword.Where or Keyword.Group or Keyword.Having or Keyword.Window
                or Keyword.Union or Keyword.Intersect or Keyword.Except or Keyword.Order or Keyword.Limit
                or Keyword.Offset or Keyword.Fetch or Keyword.For or Keyword.Into);

    private NodeList<Expression> ParseGroupBy()
    {
        if (AtKeyword(Keyword.Distinct))
        {
            throw NotSupported("GROUP BY DISTINCT");
        }

        TryKeyword(Keyword.All);
        var items = new List<Expression>();
        do
        {
            if (At(TokenKind.LeftParen) && Peek().Kind == TokenKind.RightParen)
            {
                throw NotSupported("empty grouping sets");
            }

            if ((AtKeyword(Keyword.Rollup) || AtKeyword(Keyword.Cube)) && Peek().Kind == TokenKind.LeftParen)
            {
                throw NotSupported("ROLLUP and CUBE");
            }

            if (AtKeyword(Keyword.Grouping) && PeekKeyword(1, Keyword.Sets))
            {
                throw NotSupported("GROUPING SETS");
            }

            items.Add(ParseExpression());
        }
        while (TryToken(TokenKind.Comma));

        return NodeList.From(items);
    }

    /// <summary>A SELECT or RETURNING list.</summary>
    private NodeList<SelectItem> ParseSelectItems()
    {
        var items = new List<SelectItem>();
        do
        {
            items.Add(ParseSelectItem());
        }
        while (TryToken(TokenKind.Comma));

        return NodeList.From(items);
    }

    private SelectItem ParseSelectItem()
    {
        Token start = Current;
        var location = new SourceLocation(start.Offset);
        if (TryToken(TokenKind.Star))
        {
            return new Wildcard(null) { Location = location };
        }

        if (IsQualifiedWildcard())
        {
            var parts = new List<string> { NameOf(Advance()) };
            while (Peek().Kind != TokenKind.Star)
            {
                Advance();
                parts.Add(NameOf(Advance()));
            }

            Advance();
            Advance();

            // PostgreSQL's grammar lets a label follow t.* as any expression; Kernel has nowhere to keep it.
            if (AtKeyword(Keyword.As) || IsBareColumnLabel(Current))
            {
                throw NotSupported("an alias on a qualified *");
            }

            return new Wildcard(new ObjectName(NodeList.From(parts)) { Location = location }) { Location = location };
        }

        Expression expression = ParseExpression(0, restricted: false, labelFollows: true);
        string? alias = null;
        if (TryKeyword(Keyword.As))
        {
            alias = ParseColumnLabel();
        }
        else if (IsBareColumnLabel(Current) && !IsNullsOrdering())
        {
            alias = NameOf(Advance());
        }

        return new ExpressionItem(expression, alias) { Location = location };
    }

    // NULLS before FIRST or LAST is PostgreSQL's NULLS_LA token, which is never a label.
    private bool IsNullsOrdering() => AtKeyword(Keyword.Nulls) && (PeekKeyword(1, Keyword.First) || PeekKeyword(1, Keyword.Last));

    /// <summary>Whether the tokens ahead are <c>name [. name ...] . *</c>.</summary>
    private bool IsQualifiedWildcard()
    {
        if (!IsColumnId(Current))
        {
            return false;
        }

        int ahead = 1;
        while (Peek(ahead).Kind == TokenKind.Dot)
        {
            Token next = Peek(ahead + 1);
            if (next.Kind == TokenKind.Star)
            {
                return true;
            }

            if (!IsColumnLabel(next))
            {
                return false;
            }

            ahead += 2;
        }

        return false;
    }

    // ---- FROM -------------------------------------------------------------------------------------

    /// <summary>One FROM list entry: a table primary followed by any joins.</summary>
    private FromItem ParseTableReference() => ParseJoins(ParseTablePrimary());

    private static bool IsJoinStart(Token token) =>
        token.Kind == TokenKind.Identifier
        && token.Keyword is Keyword.Join or Keyword.Inner or Keyword.Left or Keyword.Right or Keyword.Full
            or Keyword.Cross or Keyword.Natural;

    private FromItem ParseJoins(FromItem left)
    {
        int chain = 0;
        while (IsJoinStart(Current))
        {
            chain++;
            Enter();
            left = ParseJoin(left);
        }

        _depth -= chain;
        return left;
    }

    private JoinReference ParseJoin(FromItem left)
    {
        SourceLocation location = left.Location;
        if (TryKeyword(Keyword.Cross))
        {
            ExpectKeyword(Keyword.Join);
            FromItem crossed = ParseTablePrimary();
            return new JoinReference(JoinKind.Cross, left, crossed, null, null) { Location = location };
        }

        bool natural = TryKeyword(Keyword.Natural);
        JoinKind kind = JoinKind.Inner;
        if (TryKeyword(Keyword.Left))
        {
            kind = JoinKind.Left;
            TryKeyword(Keyword.Outer);
        }
        else if (TryKeyword(Keyword.Right))
        {
            kind = JoinKind.Right;
            TryKeyword(Keyword.Outer);
        }
        else if (TryKeyword(Keyword.Full))
        {
            kind = JoinKind.Full;
            TryKeyword(Keyword.Outer);
        }
        else
        {
            TryKeyword(Keyword.Inner);
        }

        ExpectKeyword(Keyword.Join);
        if (natural)
        {
            FromItem naturalRight = ParseTablePrimary();
            return new JoinReference(kind, left, naturalRight, new NaturalCondition(), null) { Location = location };
        }

        // A qualified join takes the joins that follow into its right side until its ON or USING:
        // a JOIN b JOIN c ON x ON y is a JOIN (b JOIN c ON x) ON y.
        FromItem right = ParseTablePrimary();
        int chain = 0;
        while (IsJoinStart(Current))
        {
            chain++;
            Enter();
            right = ParseJoin(right);
        }

        _depth -= chain;
        JoinCondition condition;
        Token conditionToken = Current;
        if (TryKeyword(Keyword.On))
        {
            condition = new OnCondition(ParseExpression()) { Location = new SourceLocation(conditionToken.Offset) };
        }
        else if (TryKeyword(Keyword.Using))
        {
            NodeList<string> columns = ParseParenthesizedColumnList();
            string? alias = TryKeyword(Keyword.As) ? ParseColumnId() : null;
            condition = new UsingCondition(columns, alias) { Location = new SourceLocation(conditionToken.Offset) };
        }
        else
        {
            throw SyntaxError();
        }

        return new JoinReference(kind, left, right, condition, null) { Location = location };
    }

    private FromItem ParseTablePrimary()
    {
        Token start = Current;
        var location = new SourceLocation(start.Offset);
        bool lateral = TryKeyword(Keyword.Lateral);
        if (At(TokenKind.LeftParen))
        {
            ParenthesizedFrom content = ParseParenthesizedFromItem();
            if (content.Query is not null)
            {
                return new SubqueryReference(content.Query, ParseOptionalAlias(), lateral) { Location = location };
            }

            if (lateral)
            {
                throw SyntaxError();
            }

            Alias? joinAlias = ParseOptionalAlias();
            return joinAlias is null ? content.Join! : content.Join! with { Alias = joinAlias };
        }

        if (AtKeyword(Keyword.Only))
        {
            throw NotSupported("ONLY");
        }

        if (Current.Kind == TokenKind.Identifier
            && (Current.Keyword is Keyword.Cast or Keyword.CurrentDate or Keyword.CurrentTime or Keyword.CurrentTimestamp
                    or Keyword.Localtime or Keyword.Localtimestamp or Keyword.CurrentRole or Keyword.CurrentUser
                    or Keyword.SessionUser or Keyword.User or Keyword.CurrentCatalog
                || (Current.Keyword is Keyword.Coalesce or Keyword.Greatest or Keyword.Least or Keyword.Nullif
                        or Keyword.Extract or Keyword.Position or Keyword.Substring or Keyword.Trim or Keyword.Overlay
                    && Peek().Kind == TokenKind.LeftParen)))
        {
            // Words that start PostgreSQL's special function syntax (CAST, CURRENT_DATE, SUBSTRING(... FROM ...))
            // make a table function too.
            Expression special = ParsePrefix(restricted: false);
            if (special is not FunctionCall specialCall)
            {
                throw NotSupported("this expression in FROM", start);
            }

            return new FunctionReference(specialCall, ParseOptionalAlias(), lateral) { Location = location };
        }

        ObjectName name;
        if (!IsColumnId(Current) && IsTypeFunctionName(Current))
        {
            // A function-or-type keyword (LEFT, RIGHT...) can only start a table function here.
            Token keyword = Advance();
            if (!At(TokenKind.LeftParen))
            {
                throw SyntaxError();
            }

            name = new ObjectName([NameOf(keyword)]) { Location = location };
        }
        else
        {
            name = ParseQualifiedName();
        }

        if (At(TokenKind.LeftParen))
        {
            if (ParseFunctionCall(name) is not FunctionCall function)
            {
                throw SyntaxError();
            }

            if (AtKeyword(Keyword.With) && PeekKeyword(1, Keyword.Ordinality))
            {
                throw NotSupported("WITH ORDINALITY");
            }

            return new FunctionReference(function, ParseOptionalAlias(), lateral) { Location = location };
        }

        if (lateral)
        {
            throw SyntaxError();
        }

        if (AtKeyword(Keyword.Tablesample))
        {
            throw NotSupported("TABLESAMPLE");
        }

        // "name *" asks for inheritance children too, which Kernel's tables do not have.
        TryToken(TokenKind.Star);
        RejectIndirection();

        return new TableReference(name, ParseOptionalAlias()) { Location = location };
    }

    /// <summary>What a parenthesis in FROM holds: a subquery, or a parenthesized join.</summary>
    private readonly record struct ParenthesizedFrom(Query? Query, JoinReference? Join);

    /// <summary>
    /// A parenthesized FROM item: a subquery or a parenthesized join. Nested parentheses are ambiguous until
    /// their content is seen: <c>((SELECT 1) UNION (SELECT 2))</c> is a query, <c>((SELECT 1) x JOIN y ON true)</c>
    /// a join.
    /// </summary>
    private ParenthesizedFrom ParseParenthesizedFromItem()
    {
        Enter();
        Expect(TokenKind.LeftParen);
        ParenthesizedFrom result;
        if (IsQueryStartAt(0))
        {
            result = new ParenthesizedFrom(ParseQuery(), null);
            Expect(TokenKind.RightParen);
        }
        else if (At(TokenKind.LeftParen))
        {
            Token innerStart = Current;
            ParenthesizedFrom inner = ParseParenthesizedFromItem();
            if (inner.Query is not null)
            {
                if (IsQueryContinuation(Current))
                {
                    result = new ParenthesizedFrom(ContinueQuery(inner.Query, innerStart.Offset), null);
                    Expect(TokenKind.RightParen);
                }
                else if (TryToken(TokenKind.RightParen))
                {
                    result = inner;
                }
                else
                {
                    var subquery = new SubqueryReference(inner.Query, ParseOptionalAlias(), false) { Location = new SourceLocation(innerStart.Offset) };
                    result = new ParenthesizedFrom(null, ParseRequiredJoins(subquery));
                    Expect(TokenKind.RightParen);
                }
            }
            else
            {
                // ((a JOIN b)) is a join; ((a JOIN b) AS x) needs a join after the alias.
                JoinReference join = inner.Join!;
                Alias? alias = ParseOptionalAlias();
                result = new ParenthesizedFrom(null, alias is null ? (JoinReference)ParseJoins(join) : ParseRequiredJoins(join with { Alias = alias }));
                Expect(TokenKind.RightParen);
            }
        }
        else
        {
            result = new ParenthesizedFrom(null, ParseRequiredJoins(ParseTablePrimary()));
            Expect(TokenKind.RightParen);
        }

        Leave();
        return result;
    }

    /// <summary>Joins after <paramref name="left"/> inside parentheses, where PostgreSQL requires at least one.</summary>
    private JoinReference ParseRequiredJoins(FromItem left)
    {
        if (!IsJoinStart(Current))
        {
            throw SyntaxError();
        }

        return (JoinReference)ParseJoins(left);
    }

    /// <summary><c>[AS] name [(columns)]</c> after a FROM item, or null.</summary>
    private Alias? ParseOptionalAlias()
    {
        Token start = Current;
        string name;
        if (TryKeyword(Keyword.As))
        {
            name = ParseColumnId();
        }
        else if (IsColumnId(Current))
        {
            name = NameOf(Advance());
        }
        else
        {
            return null;
        }

        NodeList<string> columns = At(TokenKind.LeftParen) ? ParseParenthesizedColumnList() : NodeList<string>.Empty;
        return new Alias(name, columns) { Location = new SourceLocation(start.Offset) };
    }
}
