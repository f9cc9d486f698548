using System;
using System.Runtime.CompilerServices;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Printing;

// Queries and FROM items.
public sealed partial class SqlPrinter
{
    private void Query(Query query)
    {
        // A query is always delimited (parentheses, AS, a statement of its own): no restriction reaches into it.
        bool restricted = _restricted;
        _restricted = false;
        QueryClauses(query);
        _restricted = restricted;
    }

    private void QueryClauses(Query query)
    {
        if (query.With.Count > 0)
        {
            _out.Append("WITH ");
            for (int i = 0; i < query.With.Count; i++)
            {
                if (i > 0)
                {
                    _out.Append(", ");
                }

                CommonTableExpression table = query.With[i];
                Name(table.Name, NameContext.ColumnId);
                if (table.Columns.Count > 0)
                {
                    _out.Append(' ');
                    NameList(table.Columns);
                }

                _out.Append(" AS (");
                Query(table.Query);
                _out.Append(')');
            }

            _out.Append(' ');
        }

        QueryBody(query.Body, 0);
        if (query.OrderBy.Count > 0)
        {
            _out.Append(" ORDER BY ");
            OrderByList(query.OrderBy);
        }

        if (query.Limit is not null)
        {
            _out.Append(" LIMIT ");
            Expression(query.Limit, 0);
        }

        if (query.Offset is not null)
        {
            _out.Append(" OFFSET ");
            Expression(query.Offset, 0);
        }
    }

    private static int SetPrecedence(QueryBody body) => body switch
    {
        SetOperation { Operator: SetOperator.Intersect } => 2,
        SetOperation => 1,
        _ => 3,
    };

    /// <summary>Prints a body, parenthesized when it is a set operation looser than <paramref name="required"/>.</summary>
    private void QueryBody(QueryBody body, int required)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        bool parenthesize = SetPrecedence(body) < required;
        if (parenthesize)
        {
            _out.Append('(');
        }

        switch (body)
        {
            case Select select:
                Select(select);
                break;
            case Values values:
                _out.Append("VALUES ");
                for (int i = 0; i < values.Rows.Count; i++)
                {
                    if (i > 0)
                    {
                        _out.Append(", ");
                    }

                    _out.Append('(');
                    ExpressionList(values.Rows[i]);
                    _out.Append(')');
                }

                break;
            case SetOperation operation:
            {
                int precedence = SetPrecedence(operation);
                QueryBody(operation.Left, precedence);
                _out.Append(operation.Operator switch
                {
                    SetOperator.Union => " UNION ",
                    SetOperator.Intersect => " INTERSECT ",
                    _ => " EXCEPT ",
                });
                if (operation.All)
                {
                    _out.Append("ALL ");
                }

                QueryBody(operation.Right, precedence + 1);
                break;
            }

            case ParenthesizedQuery parenthesized:
                _out.Append('(');
                Query(parenthesized.Query);
                _out.Append(')');
                break;
            default:
                throw new ArgumentException($"unknown query body {body.GetType().Name}", nameof(body));
        }

        if (parenthesize)
        {
            _out.Append(')');
        }
    }

    private void Select(Select select)
    {
        _out.Append("SELECT");
        if (select.Distinct is not null)
        {
            _out.Append(" DISTINCT");
            if (select.Distinct.On.Count > 0)
            {
                _out.Append(" ON (");
                ExpressionList(select.Distinct.On);
                _out.Append(')');
            }
        }

        if (select.Items.Count > 0)
        {
            _out.Append(' ');
            SelectItems(select.Items);
        }

        if (select.From.Count > 0)
        {
            _out.Append(" FROM ");
            for (int i = 0; i < select.From.Count; i++)
            {
                if (i > 0)
                {
                    _out.Append(", ");
                }

                FromItem(select.From[i]);
            }
        }

        if (select.Where is not null)
        {
            _out.Append(" WHERE ");
            Expression(select.Where, 0);
        }

        if (select.GroupBy.Count > 0)
        {
            _out.Append(" GROUP BY ");
            ExpressionList(select.GroupBy);
        }

        if (select.Having is not null)
        {
            _out.Append(" HAVING ");
            Expression(select.Having, 0);
        }
    }

    private void SelectItems(NodeList<SelectItem> items)
    {
        for (int i = 0; i < items.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            switch (items[i])
            {
                case Wildcard wildcard:
                    if (wildcard.Qualifier is not null)
                    {
                        ObjectName(wildcard.Qualifier);
                        _out.Append('.');
                    }

                    _out.Append('*');
                    break;
                case ExpressionItem item:
                    Expression(item.Expression, 0);
                    if (item.Alias is not null)
                    {
                        _out.Append(" AS ");
                        Name(item.Alias, NameContext.ColumnLabel);
                    }

                    break;
            }
        }
    }

    private void FromItem(FromItem item)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        switch (item)
        {
            case TableReference table:
                ObjectName(table.Name);
                Alias(table.Alias);
                break;
            case SubqueryReference subquery:
                _out.Append(subquery.Lateral ? "LATERAL (" : "(");
                Query(subquery.Query);
                _out.Append(')');
                Alias(subquery.Alias);
                break;
            case FunctionReference function:
                if (function.Lateral)
                {
                    _out.Append("LATERAL ");
                }

                FunctionCall(function.Function);
                Alias(function.Alias);
                break;
            case JoinReference join when join.Alias is not null:
                _out.Append('(');
                Join(join);
                _out.Append(')');
                Alias(join.Alias);
                break;
            case JoinReference join:
                Join(join);
                break;
            default:
                throw new ArgumentException($"unknown FROM item {item.GetType().Name}", nameof(item));
        }
    }

    private void Join(JoinReference join)
    {
        FromItem(join.Left);
        bool natural = join.Condition is NaturalCondition;
        _out.Append(natural ? " NATURAL " : " ").Append(join.Kind switch
        {
            JoinKind.Inner => "JOIN ",
            JoinKind.Left => "LEFT JOIN ",
            JoinKind.Right => "RIGHT JOIN ",
            JoinKind.Full => "FULL JOIN ",
            _ => "CROSS JOIN ",
        });

        // Joins associate to the left: a join on the right keeps its parentheses.
        if (join.Right is JoinReference { Alias: null })
        {
            _out.Append('(');
            FromItem(join.Right);
            _out.Append(')');
        }
        else
        {
            FromItem(join.Right);
        }

        switch (join.Condition)
        {
            case OnCondition on:
                _out.Append(" ON ");
                Expression(on.Expression, 0);
                break;
            case UsingCondition usingCondition:
                _out.Append(" USING ");
                NameList(usingCondition.Columns);
                if (usingCondition.Alias is not null)
                {
                    _out.Append(" AS ");
                    Name(usingCondition.Alias, NameContext.ColumnId);
                }

                break;
        }
    }

    private void Alias(Alias? alias)
    {
        if (alias is null)
        {
            return;
        }

        _out.Append(" AS ");
        Name(alias.Name, NameContext.ColumnId);
        if (alias.Columns.Count > 0)
        {
            NameList(alias.Columns);
        }
    }
}
