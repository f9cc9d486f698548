using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Syntax;
using Distinct = Kernel.Expr.Distinct;
using Values = Kernel.Sql.Syntax.Values;
using SyntaxColumnRef = Kernel.Sql.Syntax.ColumnRef;

namespace Kernel.Sql.Planning;

/// <summary>
/// A bound query before finishing: <see cref="Expr"/> has the <see cref="Visible"/> output columns first, then
/// hidden columns that only ORDER BY reads; <see cref="OrderBy"/>, <see cref="Limit"/> and <see cref="Offset"/>
/// apply to it as a whole.
/// </summary>
internal sealed record BoundQuery(RelationExpr Expr, ImmutableArray<string> Names, int Visible, ImmutableArray<ColumnOrder> OrderBy, long? Limit, long Offset);

/// <summary>A relation in a FROM clause and the columns expressions see of it.</summary>
internal sealed record Relation(RelationExpr Expr, Scope Scope);

/// <summary>One output column of a SELECT list: its syntax (null for a column from <c>*</c>) or the input column it copies.</summary>
internal sealed record OutputItem(Expression? Syntax, int? InputColumn, string Name);

internal sealed partial class Binder
{
    private static readonly Constant s_oneEmptyRow = new([(Row.Empty, 1L)], RelationType.Empty);

    /// <summary>Binds a query with its own WITH list, ORDER BY, LIMIT and OFFSET.</summary>
    public BoundQuery BindQuery(Query query)
    {
        PushCtes(query.With);
        try
        {
            BoundQuery bound;
            if (query.Body is Select select)
            {
                bound = BindSelect(select, query.OrderBy);
            }
            else
            {
                (RelationExpr expr, ImmutableArray<string> names) = BindBody(query.Body);
                ImmutableArray<ColumnOrder> order = OutputOrder(query.OrderBy, names, query.Body is SetOperation);
                bound = new BoundQuery(expr, names, names.Length, order, null, 0);
            }
            (long? limit, long offset) = BindLimit(query.Limit, query.Offset);
            return bound with { Limit = limit, Offset = offset };
        }
        finally
        {
            _ctes.RemoveAt(_ctes.Count - 1);
        }
    }

    /// <summary>
    /// A query as a relation of its visible columns (subqueries, views, CTEs): ORDER BY only matters with LIMIT or
    /// OFFSET, where it becomes a <see cref="TopK"/>; unknown-typed columns become text.
    /// </summary>
    public (RelationExpr Expr, ImmutableArray<string> Names) Lower(BoundQuery bound, bool resolveUnknown = true)
    {
        RelationExpr expr = bound.Expr;
        if (bound.Limit is not null || bound.Offset > 0)
        {
            expr = new TopK(expr, ImmutableArray<int>.Empty, bound.OrderBy, bound.Limit, bound.Offset);
        }
        if (bound.Visible < expr.Type.Arity)
        {
            expr = new Project(expr, Identity(bound.Visible));
        }
        return (resolveUnknown ? UnknownToText(expr) : expr, bound.Names);
    }

    public RelationExpr UnknownToText(RelationExpr expr)
    {
        ImmutableArray<ColumnType> columns = expr.Type.Columns;
        var targets = ImmutableArray.CreateBuilder<ColumnType>(columns.Length);
        foreach (ColumnType column in columns)
        {
            targets.Add(column.Type.Kind == SqlTypeKind.Unknown ? column with { Type = SqlType.Text } : column);
        }
        return Retype(expr, targets.MoveToImmutable(), CastContext.Implicit);
    }

    public static ImmutableArray<int> Identity(int arity)
    {
        var columns = ImmutableArray.CreateBuilder<int>(arity);
        for (int i = 0; i < arity; i++)
        {
            columns.Add(i);
        }
        return columns.MoveToImmutable();
    }

    private void PushCtes(NodeList<CommonTableExpression> with)
    {
        var ctes = new Dictionary<string, CteBinding>(StringComparer.Ordinal);
        _ctes.Add(ctes);
        foreach (CommonTableExpression cte in with)
        {
            if (ctes.ContainsKey(cte.Name))
            {
                throw Error("42712", $"WITH query name \"{cte.Name}\" specified more than once", cte);
            }
            (RelationExpr expr, ImmutableArray<string> names) = Lower(BindQuery(cte.Query));
            names = Rename(names, cte.Columns, cte.Name, cte);
            ctes[cte.Name] = new CteBinding(expr, names);
        }
    }

    private static ImmutableArray<string> Rename(ImmutableArray<string> names, NodeList<string> aliases, string relation, SyntaxNode at)
    {
        if (aliases.Count == 0)
        {
            return names;
        }
        if (aliases.Count > names.Length)
        {
            throw Error("42P10", $"table \"{relation}\" has {names.Length} columns available but {aliases.Count} columns specified", at);
        }
        var renamed = names.ToBuilder();
        for (int i = 0; i < aliases.Count; i++)
        {
            renamed[i] = aliases[i];
        }
        return renamed.ToImmutable();
    }

    /// <summary>A query body without its own clauses, lowered to its visible columns (unknown types left for the caller).</summary>
    private (RelationExpr Expr, ImmutableArray<string> Names) BindBody(QueryBody body)
    {
        switch (body)
        {
            case Select select:
                return Lower(BindSelect(select, NodeList<OrderByItem>.Empty), resolveUnknown: false);
            case Values values:
                return BindValues(values);
            case ParenthesizedQuery parenthesized:
                return Lower(BindQuery(parenthesized.Query), resolveUnknown: false);
            case SetOperation setOperation:
                return BindSetOperation(setOperation);
            default:
                throw NotSupported($"query body {body.GetType().Name} is", body);
        }
    }

    private (RelationExpr Expr, ImmutableArray<string> Names) BindSetOperation(SetOperation operation)
    {
        (RelationExpr left, ImmutableArray<string> names) = BindBody(operation.Left);
        (RelationExpr right, _) = BindBody(operation.Right);
        string name = operation.Operator.ToString().ToUpperInvariant();
        if (left.Type.Arity != right.Type.Arity)
        {
            throw Error("42601", $"each {name} query must have the same number of columns", operation.Right);
        }
        var targets = ImmutableArray.CreateBuilder<ColumnType>(left.Type.Arity);
        for (int i = 0; i < left.Type.Arity; i++)
        {
            ColumnType l = left.Type.Columns[i];
            ColumnType r = right.Type.Columns[i];
            SqlType common = TypeRules.CommonType([l.Type, r.Type])
                ?? throw Error("42804", $"{name} types {l.Type.Name} and {r.Type.Name} cannot be matched", operation.Right);
            targets.Add(new ColumnType(common, l.Nullable || r.Nullable));
        }
        ImmutableArray<ColumnType> types = targets.MoveToImmutable();
        left = Retype(left, types, CastContext.Implicit);
        right = Retype(right, types, CastContext.Implicit);
        RelationExpr result = (operation.Operator, operation.All) switch
        {
            (SetOperator.Union, true) => new Union([left, right]),
            (SetOperator.Union, false) => new Distinct(new Union([left, right])),
            (SetOperator.Except, true) => new Threshold(new Union([left, new Negate(right)])),
            (SetOperator.Except, false) => new Threshold(new Union([new Distinct(left), new Negate(new Distinct(right))])),
            (SetOperator.Intersect, true) => Intersect(left, right),
            (SetOperator.Intersect, false) => Intersect(new Distinct(left), new Distinct(right)),
            _ => throw new InvalidOperationException($"unknown set operator {operation.Operator}"),
        };
        return (result, names);
    }

    /// <summary>min(m, n) = m - max(0, m - n): the left rows, less the left rows the right does not match.</summary>
    private static Union Intersect(RelationExpr left, RelationExpr right) =>
        new([left, new Negate(new Threshold(new Union([left, new Negate(right)])))]);

    private (RelationExpr Expr, ImmutableArray<string> Names) BindValues(Values values)
    {
        int width = values.Rows[0].Count;
        var rows = new List<List<ScalarExpr>>(values.Rows.Count);
        foreach (NodeList<Expression> row in values.Rows)
        {
            if (row.Count != width)
            {
                throw Error("42601", "VALUES lists must all be the same length", row.Count > 0 ? row[0] : values);
            }
            var bound = new List<ScalarExpr>(width);
            foreach (Expression item in row)
            {
                bound.Add(BindExpr(item, new ExprContext(Scope.Empty, "VALUES")));
            }
            rows.Add(bound);
        }
        var names = ImmutableArray.CreateBuilder<string>(width);
        for (int c = 0; c < width; c++)
        {
            names.Add($"column{c + 1}");
            var column = new List<ScalarExpr>(rows.Count);
            bool allUnknown = true;
            foreach (List<ScalarExpr> row in rows)
            {
                column.Add(row[c]);
                allUnknown &= row[c].Type.Type.Kind == SqlTypeKind.Unknown;
            }
            if (allUnknown)
            {
                // Leave unknown for the context (INSERT target, UNION partner) to decide; text otherwise.
                continue;
            }
            SqlType common = CommonTypeOf(column, "VALUES", values);
            for (int r = 0; r < rows.Count; r++)
            {
                rows[r][c] = Coerce(rows[r][c], common, CastContext.Implicit, values.Rows[r][c]);
            }
        }
        return (RowsOf(rows, width), names.MoveToImmutable());
    }

    /// <summary>A relation of the given rows of scalars (no column references): a constant when all are literals.</summary>
    private static RelationExpr RowsOf(List<List<ScalarExpr>> rows, int width)
    {
        var columns = ImmutableArray.CreateBuilder<ColumnType>(width);
        bool allLiterals = true;
        for (int c = 0; c < width; c++)
        {
            ColumnType type = rows[0][c].Type;
            bool nullable = false;
            foreach (List<ScalarExpr> row in rows)
            {
                nullable |= row[c].Type.Nullable;
                allLiterals &= row[c] is Literal;
            }
            columns.Add(type with { Nullable = nullable });
        }
        var relationType = new RelationType(columns.MoveToImmutable());
        if (allLiterals)
        {
            var constantRows = ImmutableArray.CreateBuilder<(Row, long)>(rows.Count);
            foreach (List<ScalarExpr> row in rows)
            {
                var datums = new Datum[width];
                for (int c = 0; c < width; c++)
                {
                    datums[c] = ((Literal)row[c]).Value;
                }
                constantRows.Add((new Row(datums), 1));
            }
            return new Constant(constantRows.MoveToImmutable(), relationType);
        }
        var inputs = ImmutableArray.CreateBuilder<RelationExpr>(rows.Count);
        foreach (List<ScalarExpr> row in rows)
        {
            var scalars = ImmutableArray.CreateBuilder<ScalarExpr>(width);
            for (int c = 0; c < width; c++)
            {
                // Every row claims the column's nullability so that the union's type (its first input's) is right.
                ScalarExpr scalar = row[c];
                if (scalar.Type.Nullable != relationType.Columns[c].Nullable)
                {
                    scalar = new IfThenElse(new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), scalar, Literal.Null(scalar.Type.Type), relationType.Columns[c]);
                }
                scalars.Add(scalar);
            }
            inputs.Add(new Map(s_oneEmptyRow, scalars.MoveToImmutable()));
        }
        return inputs.Count == 1 ? inputs[0] : new Union(inputs.MoveToImmutable());
    }

    private (long? Limit, long Offset) BindLimit(Expression? limit, Expression? offset)
    {
        long? limitValue = limit is null ? null : ConstantBigint(limit, "LIMIT");
        long? offsetValue = offset is null ? null : ConstantBigint(offset, "OFFSET");
        if (limitValue < 0)
        {
            throw Error("2201W", "LIMIT must not be negative", limit);
        }
        if (offsetValue < 0)
        {
            throw Error("2201X", "OFFSET must not be negative", offset);
        }
        return (limitValue, offsetValue ?? 0);
    }

    private long? ConstantBigint(Expression expr, string clause)
    {
        ScalarExpr bound = BindExpr(expr, new ExprContext(Scope.Empty, clause));
        ScalarExpr coerced = TryCoerce(bound, SqlType.Int64, CastContext.Implicit, expr)
            ?? throw Error("42804", $"argument of {clause} must be type bigint, not type {bound.Type.Type.Name}", expr);
        return coerced switch
        {
            Literal { Value.IsNull: true } => null,
            Literal literal => literal.Value.AsInt64,
            _ => throw NotSupported($"{clause} other than a constant is", expr),
        };
    }

    /// <summary>ORDER BY of a query whose body is not a plain SELECT: output column names and ordinals only.</summary>
    private static ImmutableArray<ColumnOrder> OutputOrder(NodeList<OrderByItem> orderBy, ImmutableArray<string> names, bool setOperation)
    {
        var order = ImmutableArray.CreateBuilder<ColumnOrder>(orderBy.Count);
        foreach (OrderByItem item in orderBy)
        {
            int? column = OrdinalOrName(item.Expression, names, null);
            if (column is null)
            {
                throw setOperation
                    ? NotSupported("ORDER BY on a UNION/INTERSECT/EXCEPT result other than output column names and positions is", item.Expression)
                    : Error("42703", $"column \"{SyntaxFacts.ColumnName(item.Expression)}\" does not exist", item.Expression);
            }
            order.Add(Order(column.Value, item));
        }
        return order.MoveToImmutable();
    }

    private static ColumnOrder Order(int column, OrderByItem item)
    {
        bool descending = item.Direction == SortDirection.Descending;
        bool nullsLast = item.Nulls switch
        {
            NullsOrder.First => false,
            NullsOrder.Last => true,
            _ => !descending,
        };
        return new ColumnOrder(column, descending, nullsLast);
    }

    /// <summary>An ORDER BY or GROUP BY item that is an output ordinal or a bare output column name; null otherwise.</summary>
    private static int? OrdinalOrName(Expression expr, ImmutableArray<string> names, List<OutputItem>? items, string clause = "ORDER BY")
    {
        if (expr is IntegerLiteral ordinal)
        {
            if (ordinal.Value < 1 || ordinal.Value > names.Length)
            {
                throw Error("42P10", $"{clause} position {ordinal.Value} is not in select list", expr);
            }
            return (int)ordinal.Value - 1;
        }
        if (expr is SyntaxColumnRef { Parts.Count: 1 } reference)
        {
            int? found = null;
            for (int i = 0; i < names.Length; i++)
            {
                if (names[i] != reference.Parts[0])
                {
                    continue;
                }
                if (found is int previous && (items is null || !Equals(items[previous].Syntax, items[i].Syntax) || items[previous].InputColumn != items[i].InputColumn))
                {
                    throw Error("42702", $"{clause} \"{reference.Parts[0]}\" is ambiguous", expr);
                }
                found ??= i;
            }
            return found;
        }
        return null;
    }
}
