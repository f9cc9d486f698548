using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// Expression operators: precedence climbing, infix and postfix forms.
public sealed partial class Parser
{
    // PostgreSQL's operator precedence, lowest first (gram.y's %left/%right/%nonassoc lines).
    private const int PrecedenceOr = 1;
    private const int PrecedenceAnd = 2;
    private const int PrecedenceNot = 3;
    private const int PrecedenceIs = 4;
    private const int PrecedenceComparison = 5;
    private const int PrecedenceLike = 6;
    private const int PrecedenceOperator = 7;
    private const int PrecedenceAdditive = 8;
    private const int PrecedenceMultiplicative = 9;
    private const int PrecedenceExponent = 10;
    private const int PrecedenceAt = 11;
    private const int PrecedenceCollate = 12;
    private const int PrecedenceUnary = 13;
    private const int PrecedenceCast = 15;

    private static readonly ObjectName s_timezoneFunction = ObjectName.Of("pg_catalog", "timezone");

    private Expression ParseExpression() => ParseExpression(0, restricted: false);

    /// <summary>
    /// An expression whose infix operators all bind at least as tightly as <paramref name="minimumPrecedence"/>.
    /// </summary>
    /// <param name="minimumPrecedence">The loosest operator this call may consume.</param>
    /// <param name="restricted">
    /// PostgreSQL's b_expr: no AND, OR, NOT, IS [NOT] NULL/TRUE/..., LIKE, IN, BETWEEN, AT TIME ZONE or
    /// quantified comparisons. Used for BETWEEN's lower bound and column defaults, where a following AND or
    /// NOT NULL belongs to the enclosing construct.
    /// </param>
    /// <param name="labelFollows">
    /// Whether this is a whole select item, which a bare label may follow: there a keyword operator that is
    /// also a label (<c>SELECT x AND FROM t</c>, <c>SELECT x at</c>) is the label when the next token ends the item.
    /// </param>
    private Expression ParseExpression(int minimumPrecedence, bool restricted, bool labelFollows = false)
    {
        Enter();
        int chain = 0;
        Expression left = ParsePrefix(restricted);

        // The precedence of a non-associative operator whose right operand was just parsed: another
        // operator of the same precedence right after it is a syntax error (a < b < c).
        int openNonAssociative = -1;
        while (true)
        {
            int precedence = InfixPrecedence(restricted);
            if (precedence < minimumPrecedence || precedence == 0 || (labelFollows && IsLabelHere()))
            {
                break;
            }

            if (precedence == openNonAssociative)
            {
                throw SyntaxError();
            }

            if (precedence is PrecedenceAnd or PrecedenceOr)
            {
                left = ParseBooleanChain(left, precedence, labelFollows);
                openNonAssociative = -1;
                continue;
            }

            chain++;
            Enter();
            left = ParseInfix(left, precedence, restricted, out openNonAssociative);
        }

        _depth -= chain + 1;
        return left;
    }

    /// <summary>The precedence of the current token as an infix or postfix operator, or 0 if it is not one.</summary>
    private int InfixPrecedence(bool restricted)
    {
        Token token = Current;
        switch (token.Kind)
        {
            case TokenKind.Less or TokenKind.Greater or TokenKind.Equals
                or TokenKind.LessEquals or TokenKind.GreaterEquals or TokenKind.NotEquals:
                return PrecedenceComparison;
            case TokenKind.Operator:
                return PrecedenceOperator;
            case TokenKind.Plus or TokenKind.Minus:
                return PrecedenceAdditive;
            case TokenKind.Star or TokenKind.Slash or TokenKind.Percent:
                return PrecedenceMultiplicative;
            case TokenKind.Caret:
                return PrecedenceExponent;
            case TokenKind.DoubleColon:
                return PrecedenceCast;
            case TokenKind.Identifier:
                break;
            default:
                return 0;
        }

        switch (token.Keyword)
        {
            case Keyword.Operator when Peek().Kind == TokenKind.LeftParen:
                return PrecedenceOperator;
            case Keyword.Is:
                // b_expr keeps IS [NOT] DISTINCT FROM (and IS DOCUMENT); ParseIsTail refuses the rest there.
                return PrecedenceIs;
        }

        if (restricted)
        {
            return 0;
        }

        return token.Keyword switch
        {
            Keyword.Or => PrecedenceOr,
            Keyword.And => PrecedenceAnd,
            Keyword.Isnull or Keyword.Notnull => PrecedenceIs,
            Keyword.Between or Keyword.In or Keyword.Like or Keyword.Ilike or Keyword.Similar => PrecedenceLike,

            // NOT right before these is their negated form (PostgreSQL's NOT_LA token).
            Keyword.Not when IsNegatableInfix(Peek()) => PrecedenceLike,
            Keyword.At => PrecedenceAt,
            Keyword.Collate => PrecedenceCollate,
            _ => 0,
        };
    }

    /// <summary>Whether the current keyword is a select item's bare label: a label word before the item's end.</summary>
    private bool IsLabelHere() =>
        Current.Kind == TokenKind.Identifier && IsBareColumnLabel(Current) && CanFollowSelectItem(Peek());

    private static bool CanFollowSelectItem(Token token) =>
        token.Kind is TokenKind.Comma or TokenKind.RightParen or TokenKind.Semicolon or TokenKind.EndOfInput
        || (token.Kind == TokenKind.Identifier
            && token.Keyword is Keyword.From or Keyword.Into or Keyword.Where or Keyword.Group or Keyword.Having
                or Keyword.Window or Keyword.Order or Keyword.Limit or Keyword.Offset or Keyword.Fetch or Keyword.For
                or Keyword.Union or Keyword.Intersect or Keyword.Except);

    private static bool IsNegatableInfix(Token token) =>
        token.Kind == TokenKind.Identifier
        && token.Keyword is Keyword.Between or Keyword.In or Keyword.Like or Keyword.Ilike or Keyword.Similar;

    /// <summary><c>a AND b AND c</c> (or OR): one flattened node, continuing a node of the same kind on the left.</summary>
    private Expression ParseBooleanChain(Expression left, int precedence, bool labelFollows)
    {
        Keyword keyword = precedence == PrecedenceAnd ? Keyword.And : Keyword.Or;
        var location = new SourceLocation(Current.Offset);
        var operands = new List<Expression>();
        if (precedence == PrecedenceAnd && left is AndExpression and)
        {
            operands.AddRange(and.Operands);
            location = and.Location;
        }
        else if (precedence == PrecedenceOr && left is OrExpression or)
        {
            operands.AddRange(or.Operands);
            location = or.Location;
        }
        else
        {
            operands.Add(left);
        }

        while (AtKeyword(keyword) && !(labelFollows && IsLabelHere()))
        {
            Advance();
            operands.Add(ParseExpression(precedence + 1, restricted: false));
        }

        NodeList<Expression> list = NodeList.From(operands);
        return precedence == PrecedenceAnd
            ? new AndExpression(list) { Location = location }
            : new OrExpression(list) { Location = location };
    }

    private Expression ParseInfix(Expression left, int precedence, bool restricted, out int openNonAssociative)
    {
        openNonAssociative = -1;
        Token token = Current;

        // Like PostgreSQL, an operator node is located at its operator, which is where errors about it point.
        var location = new SourceLocation(token.Offset);
        switch (token.Kind)
        {
            case TokenKind.DoubleColon:
                Advance();
                return new CastExpression(left, ParseTypeName()) { Location = location };

            case TokenKind.Identifier when token.Keyword == Keyword.Operator:
                throw NotSupported("OPERATOR()");

            case TokenKind.Identifier:
                return ParseKeywordInfix(left, restricted, out openNonAssociative);
        }

        // An operator token: comparison, arithmetic or any other operator.
        Advance();
        string op = OperatorName(token);
        if (!restricted && IsQuantifier(Current))
        {
            return ParseQuantified(left, op, location);
        }

        Expression right = ParseExpression(precedence + 1, restricted);
        if (precedence == PrecedenceComparison)
        {
            openNonAssociative = PrecedenceComparison;
        }

        return new BinaryOperation(left, op, right) { Location = location };
    }

    private static string OperatorName(Token token) => token.Kind switch
    {
        TokenKind.Plus => "+",
        TokenKind.Minus => "-",
        TokenKind.Star => "*",
        TokenKind.Slash => "/",
        TokenKind.Percent => "%",
        TokenKind.Caret => "^",
        TokenKind.Less => "<",
        TokenKind.Greater => ">",
        TokenKind.Equals => "=",
        TokenKind.LessEquals => "<=",
        TokenKind.GreaterEquals => ">=",
        TokenKind.NotEquals => "<>",
        _ => token.Value!,
    };

    private static bool IsQuantifier(Token token) =>
        token.Kind == TokenKind.Identifier && token.Keyword is Keyword.Any or Keyword.Some or Keyword.All;

    /// <summary><c>op ANY | SOME | ALL (subquery | array)</c>, the operator already consumed.</summary>
    private Expression ParseQuantified(Expression left, string op, SourceLocation location)
    {
        Quantifier quantifier = Advance().Keyword == Keyword.All ? Quantifier.All : Quantifier.Any;
        ParenthesizedContent content = ParseQueryOrExpressionList();
        if (content.Query is not null)
        {
            return new QuantifiedSubqueryExpression(left, op, quantifier, content.Query) { Location = location };
        }

        if (content.Items!.Count != 1)
        {
            throw SyntaxErrorAt(content.SecondItemToken);
        }

        return new QuantifiedArrayExpression(left, op, quantifier, content.Items[0]) { Location = location };
    }

    private Expression ParseKeywordInfix(Expression left, bool restricted, out int openNonAssociative)
    {
        openNonAssociative = -1;
        Token token = Advance();
        var location = new SourceLocation(token.Offset);
        switch (token.Keyword)
        {
            case Keyword.Isnull:
                return new IsNullExpression(left, Negated: false) { Location = location };
            case Keyword.Notnull:
                return new IsNullExpression(left, Negated: true) { Location = location };
            case Keyword.Is:
                return ParseIsTail(left, location, restricted, out openNonAssociative);
            case Keyword.Collate:
                ParseQualifiedName();
                throw NotSupported("COLLATE", token);
            case Keyword.At:
            {
                ExpectKeyword(Keyword.Time);
                ExpectKeyword(Keyword.Zone);
                Expression zone = ParseExpression(PrecedenceAt + 1, restricted);
                return new FunctionCall(s_timezoneFunction, [zone, left], false, false, NodeList<OrderByItem>.Empty, null, null)
                {
                    Location = location,
                };
            }
        }

        bool negated = token.Keyword == Keyword.Not;
        Token operation = negated ? Advance() : token;
        openNonAssociative = PrecedenceLike;
        switch (operation.Keyword)
        {
            case Keyword.Between:
            {
                bool symmetric = TryKeyword(Keyword.Symmetric);
                if (!symmetric)
                {
                    TryKeyword(Keyword.Asymmetric);
                }

                Expression low = ParseExpression(0, restricted: true);
                ExpectKeyword(Keyword.And);
                Expression high = ParseExpression(PrecedenceLike + 1, restricted: false);
                return new BetweenExpression(left, low, high, negated, symmetric) { Location = location };
            }

            case Keyword.In:
            {
                // IN's operand is closed by its parenthesis, so nothing stops another IN or LIKE after it.
                openNonAssociative = -1;
                ParenthesizedContent content = ParseQueryOrExpressionList();
                return content.Query is not null
                    ? new InSubqueryExpression(left, content.Query, negated) { Location = location }
                    : new InListExpression(left, content.Items!, negated) { Location = location };
            }

            case Keyword.Like or Keyword.Ilike:
            {
                bool caseInsensitive = operation.Keyword == Keyword.Ilike;
                if (IsQuantifier(Current))
                {
                    openNonAssociative = -1;
                    string op = (negated ? "!" : string.Empty) + (caseInsensitive ? "~~*" : "~~");
                    return ParseQuantified(left, op, location);
                }

                Expression pattern = ParseExpression(PrecedenceLike + 1, restricted: false);
                Expression? escape = null;
                if (TryKeyword(Keyword.Escape))
                {
                    escape = ParseExpression(PrecedenceLike + 1, restricted: false);
                }

                return new LikeExpression(left, pattern, escape, caseInsensitive, negated) { Location = location };
            }

            default:
                throw NotSupported("SIMILAR TO", operation);
        }
    }

    /// <summary>What follows IS: [NOT] NULL | TRUE | FALSE | UNKNOWN | DISTINCT FROM expression.</summary>
    private Expression ParseIsTail(Expression left, SourceLocation location, bool restricted, out int openNonAssociative)
    {
        openNonAssociative = -1;

        // NOT before BETWEEN, IN, LIKE... is PostgreSQL's NOT_LA token, which cannot follow IS.
        if (AtKeyword(Keyword.Not) && IsNegatableInfix(Peek()))
        {
            throw SyntaxError();
        }

        bool negated = TryKeyword(Keyword.Not);
        Token token = Current;
        if (token.Kind != TokenKind.Identifier)
        {
            throw SyntaxError();
        }

        switch (token.Keyword)
        {
            case Keyword.Null when !restricted:
                Advance();
                return new IsNullExpression(left, negated) { Location = location };
            case Keyword.True when !restricted:
                Advance();
                return new IsBooleanExpression(left, BooleanTestKind.True, negated) { Location = location };
            case Keyword.False when !restricted:
                Advance();
                return new IsBooleanExpression(left, BooleanTestKind.False, negated) { Location = location };
            case Keyword.Unknown when !restricted:
                Advance();
                return new IsBooleanExpression(left, BooleanTestKind.Unknown, negated) { Location = location };
            case Keyword.Distinct:
            {
                Advance();
                ExpectKeyword(Keyword.From);
                Expression right = ParseExpression(PrecedenceIs + 1, restricted);
                openNonAssociative = PrecedenceIs;
                return new IsDistinctFromExpression(left, right, negated) { Location = location };
            }

            case Keyword.Document:
                throw NotSupported("IS DOCUMENT");
            case Keyword.Normalized or Keyword.Nfc or Keyword.Nfd or Keyword.Nfkc or Keyword.Nfkd when !restricted:
                throw NotSupported("IS NORMALIZED");
            case Keyword.Of when !restricted:
                throw NotSupported("IS OF");
            default:
                throw SyntaxError();
        }
    }
}
