using System;
using System.Globalization;
using System.Runtime.CompilerServices;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Printing;

// Expressions, with the fewest parentheses that keep the tree (or all of them, for tests).
public sealed partial class SqlPrinter
{
    // The parser's precedence levels (Parser.Expressions.cs); Atom binds tighter than any operator.
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
    private const int PrecedenceUnary = 13;
    private const int PrecedenceCast = 15;
    private const int PrecedenceAtom = 100;

    /// <summary>How tightly the node's outermost operator binds; a child looser than its slot needs parentheses.</summary>
    private static int Precedence(Expression expression) => expression switch
    {
        OrExpression => PrecedenceOr,
        AndExpression => PrecedenceAnd,
        NotExpression => PrecedenceNot,
        IsNullExpression or IsBooleanExpression or IsDistinctFromExpression => PrecedenceIs,
        BinaryOperation binary => BinaryPrecedence(binary.Operator),
        QuantifiedSubqueryExpression quantified => QuantifiedPrecedence(quantified.Operator),
        QuantifiedArrayExpression quantified => QuantifiedPrecedence(quantified.Operator),
        BetweenExpression or InListExpression or InSubqueryExpression or LikeExpression => PrecedenceLike,
        UnaryOperation unary => unary.Operator is "-" or "+" ? PrecedenceUnary : PrecedenceOperator,
        CastExpression => PrecedenceCast,
        IntegerLiteral { Value: < 0 } => PrecedenceUnary,
        NumericLiteral numeric when numeric.Text.StartsWith('-') => PrecedenceUnary,
        _ => PrecedenceAtom,
    };

    private static int BinaryPrecedence(string op) => op switch
    {
        "=" or "<" or ">" or "<=" or ">=" or "<>" => PrecedenceComparison,
        "+" or "-" => PrecedenceAdditive,
        "*" or "/" or "%" => PrecedenceMultiplicative,
        "^" => PrecedenceExponent,
        _ => PrecedenceOperator,
    };

    // The operator token of a quantified comparison decides how far its left operand reaches.
    private static int QuantifiedPrecedence(string op) => op switch
    {
        "~~" or "!~~" or "~~*" or "!~~*" => PrecedenceOperator,
        _ => BinaryPrecedence(op),
    };

    /// <summary>Prints <paramref name="expression"/>, parenthesized if it binds looser than <paramref name="required"/>.</summary>
    private void Expression(Expression expression, int required)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        int precedence = Precedence(expression);
        bool parenthesize = precedence < required
            || (_fullyParenthesized && precedence != PrecedenceAtom)
            || (_restricted && !IsRestrictedExpression(expression));
        if (!parenthesize)
        {
            ExpressionBody(expression);
            return;
        }

        // Inside parentheses anything goes again.
        bool restricted = _restricted;
        _restricted = false;
        _out.Append('(');
        ExpressionBody(expression);
        _out.Append(')');
        _restricted = restricted;
    }

    /// <summary>Prints <paramref name="expression"/> where PostgreSQL takes a restricted b_expr.</summary>
    private void RestrictedExpression(Expression expression)
    {
        bool restricted = _restricted;
        _restricted = true;
        Expression(expression, 0);
        _restricted = restricted;
    }

    /// <summary>Prints <paramref name="expression"/> between delimiters (a call's parentheses, CASE ... END), where restrictions end.</summary>
    private void DelimitedExpression(Expression expression)
    {
        bool restricted = _restricted;
        _restricted = false;
        Expression(expression, 0);
        _restricted = restricted;
    }

    // What PostgreSQL's b_expr (BETWEEN's lower bound, a column DEFAULT) allows without parentheses.
    private static bool IsRestrictedExpression(Expression expression) => expression is not (
        AndExpression or OrExpression or NotExpression or IsNullExpression or IsBooleanExpression
        or BetweenExpression or InListExpression or InSubqueryExpression or LikeExpression
        or QuantifiedSubqueryExpression or QuantifiedArrayExpression or DefaultValue);

    private void ExpressionBody(Expression expression)
    {
        switch (expression)
        {
            case ColumnRef column:
                QualifiedName(column.Parts, NameContext.ColumnId);
                break;
            case Parameter parameter:
                _out.Append('$').Append(parameter.Number.ToString(CultureInfo.InvariantCulture));
                break;
            case IntegerLiteral integer:
                _out.Append(integer.Value.ToString(CultureInfo.InvariantCulture));
                break;
            case NumericLiteral numeric:
                _out.Append(numeric.Text);
                break;
            case StringLiteral text:
                _out.Append(StringConstant(text.Value));
                break;
            case BitStringLiteral bits:
                _out.Append(bits.Value.StartsWith('x') ? 'X' : 'B').Append(StringConstant(bits.Value[1..]));
                break;
            case BooleanLiteral boolean:
                _out.Append(boolean.Value ? "TRUE" : "FALSE");
                break;
            case NullLiteral:
                _out.Append("NULL");
                break;
            case DefaultValue:
                _out.Append("DEFAULT");
                break;
            case UnaryOperation unary:
                Unary(unary);
                break;
            case BinaryOperation binary:
                Binary(binary);
                break;
            case AndExpression and:
                Chain(and.Operands, " AND ", PrecedenceAnd + 1);
                break;
            case OrExpression or:
                Chain(or.Operands, " OR ", PrecedenceOr + 1);
                break;
            case NotExpression not:
                _out.Append("NOT ");
                Expression(not.Operand, PrecedenceNot);
                break;
            case IsNullExpression isNull:
                PostfixOperand(isNull.Operand);
                _out.Append(isNull.Negated ? " IS NOT NULL" : " IS NULL");
                break;
            case IsBooleanExpression isBoolean:
                PostfixOperand(isBoolean.Operand);
                _out.Append(isBoolean.Negated ? " IS NOT " : " IS ").Append(isBoolean.Kind switch
                {
                    BooleanTestKind.True => "TRUE",
                    BooleanTestKind.False => "FALSE",
                    _ => "UNKNOWN",
                });
                break;
            case IsDistinctFromExpression distinct:
                Expression(distinct.Left, PrecedenceIs + 1);
                _out.Append(distinct.Negated ? " IS NOT DISTINCT FROM " : " IS DISTINCT FROM ");
                Expression(distinct.Right, PrecedenceIs + 1);
                break;
            case BetweenExpression between:
                Expression(between.Operand, PrecedenceLike + 1);
                _out.Append(between.Negated ? " NOT BETWEEN " : " BETWEEN ");
                if (between.Symmetric)
                {
                    _out.Append("SYMMETRIC ");
                }

                RestrictedExpression(between.Low);
                _out.Append(" AND ");
                Expression(between.High, PrecedenceLike + 1);
                break;
            case InListExpression inList:
                Expression(inList.Operand, PrecedenceLike + 1);
                _out.Append(inList.Negated ? " NOT IN (" : " IN (");
                ExpressionList(inList.Items);
                _out.Append(')');
                break;
            case InSubqueryExpression inSubquery:
                Expression(inSubquery.Operand, PrecedenceLike + 1);
                _out.Append(inSubquery.Negated ? " NOT IN (" : " IN (");
                Query(inSubquery.Query);
                _out.Append(')');
                break;
            case LikeExpression like:
                Expression(like.Operand, PrecedenceLike + 1);
                _out.Append(like.Negated ? " NOT" : string.Empty).Append(like.CaseInsensitive ? " ILIKE " : " LIKE ");
                Expression(like.Pattern, PrecedenceLike + 1);
                if (like.Escape is not null)
                {
                    _out.Append(" ESCAPE ");
                    Expression(like.Escape, PrecedenceLike + 1);
                }

                break;
            case QuantifiedSubqueryExpression quantified:
                Expression(quantified.Left, LeftOperandPrecedence(QuantifiedPrecedence(quantified.Operator)));
                _out.Append(' ').Append(quantified.Operator).Append(quantified.Quantifier == Quantifier.All ? " ALL (" : " ANY (");
                Query(quantified.Query);
                _out.Append(')');
                break;
            case QuantifiedArrayExpression quantified:
                Expression(quantified.Left, LeftOperandPrecedence(QuantifiedPrecedence(quantified.Operator)));
                _out.Append(' ').Append(quantified.Operator).Append(quantified.Quantifier == Quantifier.All ? " ALL (" : " ANY (");
                DelimitedExpression(quantified.Array);
                _out.Append(')');
                break;
            case CastExpression cast:
                Expression(cast.Operand, PrecedenceCast);
                _out.Append("::");
                Type(cast.Type);
                break;
            case FunctionCall call:
                FunctionCall(call);
                break;
            case CaseExpression caseExpression:
                Case(caseExpression);
                break;
            case ExistsExpression exists:
                _out.Append("EXISTS (");
                Query(exists.Query);
                _out.Append(')');
                break;
            case SubqueryExpression subquery:
                _out.Append('(');
                Query(subquery.Query);
                _out.Append(')');
                break;
            case RowConstructor row:
                _out.Append("ROW(");
                ExpressionList(row.Items);
                _out.Append(')');
                break;
            case SqlValueFunction value:
                SqlValueFunction(value);
                break;
            default:
                throw new ArgumentException($"unknown expression {expression.GetType().Name}", nameof(expression));
        }
    }

    /// <summary>
    /// The operand of IS [NOT] NULL/TRUE/...: IS chains (a IS NULL IS NULL), but an IS DISTINCT FROM before
    /// it does not associate with it, so that one needs parentheses.
    /// </summary>
    private void PostfixOperand(Expression operand) =>
        Expression(operand, operand is IsDistinctFromExpression ? PrecedenceIs + 1 : PrecedenceIs);

    private void Unary(UnaryOperation unary)
    {
        _out.Append(unary.Operator);
        int operandStart = _out.Length;
        Expression(unary.Operand, unary.Operator is "-" or "+" ? PrecedenceUnary : PrecedenceOperator + 1);

        // "- -x" must not become the comment "--x", nor "~-x" the operator "~-".
        if (_out.Length > operandStart && IsOperatorChar(_out[operandStart]))
        {
            _out.Insert(operandStart, ' ');
        }
    }

    private static bool IsOperatorChar(char c) =>
        c is '~' or '!' or '@' or '#' or '^' or '&' or '|' or '`' or '?' or '+' or '-' or '*' or '/' or '%' or '<' or '>' or '=';

    private void Binary(BinaryOperation binary)
    {
        int precedence = BinaryPrecedence(binary.Operator);

        Expression(binary.Left, LeftOperandPrecedence(precedence));
        _out.Append(' ').Append(binary.Operator).Append(' ');
        Expression(binary.Right, precedence + 1);
    }

    // Comparisons do not associate; every other binary operator associates to the left.
    private static int LeftOperandPrecedence(int precedence) =>
        precedence == PrecedenceComparison ? precedence + 1 : precedence;

    private void Chain(NodeList<Expression> operands, string separator, int required)
    {
        for (int i = 0; i < operands.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(separator);
            }

            Expression(operands[i], required);
        }
    }

    private void ExpressionList(NodeList<Expression> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            DelimitedExpression(items[i]);
        }
    }

    private void FunctionCall(FunctionCall call)
    {
        NodeList<string> parts = call.Name.Parts;
        if (parts.Count == 1)
        {
            // COALESCE and friends are keywords with call syntax of their own, which reads back as the same call
            // when the arguments are a plain list; otherwise the name must be quoted.
            bool plain = !call.Distinct && !call.Star && call.OrderBy.Count == 0 && call.Filter is null && call.Over is null;
            bool specialSyntaxReadsBack = plain && parts[0] switch
            {
                "coalesce" or "greatest" or "least" => call.Arguments.Count > 0,
                "nullif" => call.Arguments.Count == 2,
                "substring" or "overlay" => true,
                _ => false,
            };
            _out.Append(specialSyntaxReadsBack ? parts[0] : Quote(parts[0], NameContext.TypeFunctionName));
        }
        else
        {
            QualifiedName(parts, NameContext.ColumnId);
        }

        _out.Append('(');
        if (call.Star)
        {
            _out.Append('*');
        }
        else
        {
            if (call.Distinct)
            {
                _out.Append("DISTINCT ");
            }

            ExpressionList(call.Arguments);
            if (call.OrderBy.Count > 0)
            {
                _out.Append(" ORDER BY ");
                OrderByList(call.OrderBy);
            }
        }

        _out.Append(')');
        if (call.Filter is not null)
        {
            _out.Append(" FILTER (WHERE ");
            DelimitedExpression(call.Filter);
            _out.Append(')');
        }

        if (call.Over is not null)
        {
            _out.Append(" OVER (");
            bool any = false;
            if (call.Over.PartitionBy.Count > 0)
            {
                _out.Append("PARTITION BY ");
                ExpressionList(call.Over.PartitionBy);
                any = true;
            }

            if (call.Over.OrderBy.Count > 0)
            {
                _out.Append(any ? " ORDER BY " : "ORDER BY ");
                OrderByList(call.Over.OrderBy);
            }

            _out.Append(')');
        }
    }

    private void Case(CaseExpression expression)
    {
        _out.Append("CASE");
        if (expression.Operand is not null)
        {
            _out.Append(' ');
            DelimitedExpression(expression.Operand);
        }

        foreach (WhenClause when in expression.Whens)
        {
            _out.Append(" WHEN ");
            DelimitedExpression(when.Condition);
            _out.Append(" THEN ");
            DelimitedExpression(when.Result);
        }

        if (expression.Else is not null)
        {
            _out.Append(" ELSE ");
            DelimitedExpression(expression.Else);
        }

        _out.Append(" END");
    }

    private void SqlValueFunction(SqlValueFunction value)
    {
        _out.Append(value.Kind switch
        {
            SqlValueFunctionKind.CurrentDate => "CURRENT_DATE",
            SqlValueFunctionKind.CurrentTime => "CURRENT_TIME",
            SqlValueFunctionKind.CurrentTimestamp => "CURRENT_TIMESTAMP",
            SqlValueFunctionKind.LocalTime => "LOCALTIME",
            SqlValueFunctionKind.LocalTimestamp => "LOCALTIMESTAMP",
            SqlValueFunctionKind.CurrentRole => "CURRENT_ROLE",
            SqlValueFunctionKind.CurrentUser => "CURRENT_USER",
            SqlValueFunctionKind.SessionUser => "SESSION_USER",
            SqlValueFunctionKind.User => "USER",
            SqlValueFunctionKind.CurrentCatalog => "CURRENT_CATALOG",
            _ => "CURRENT_SCHEMA",
        });
        if (value.Precision is int precision)
        {
            _out.Append('(').Append(precision.ToString(CultureInfo.InvariantCulture)).Append(')');
        }
    }

    private void OrderByList(NodeList<OrderByItem> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            OrderByItem item = items[i];
            DelimitedExpression(item.Expression);
            _out.Append(item.Direction switch
            {
                SortDirection.Ascending => " ASC",
                SortDirection.Descending => " DESC",
                _ => string.Empty,
            });
            _out.Append(item.Nulls switch
            {
                NullsOrder.First => " NULLS FIRST",
                NullsOrder.Last => " NULLS LAST",
                _ => string.Empty,
            });
        }
    }
}
