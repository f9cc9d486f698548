using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Syntax;
using ColumnRef = Kernel.Expr.ColumnRef;
using Distinct = Kernel.Expr.Distinct;
using SyntaxColumnRef = Kernel.Sql.Syntax.ColumnRef;

namespace Kernel.Sql.Planning;

internal sealed partial class Binder
{
    private BoundQuery BindSelect(Select select, NodeList<OrderByItem> orderBy)
    {
        Relation from = BindFrom(select.From, select.Where);
        Scope scope = from.Scope;
        List<OutputItem> items = ExpandItems(select.Items, scope);
        var names = ImmutableArray.CreateBuilder<string>(items.Count);
        foreach (OutputItem item in items)
        {
            names.Add(item.Name);
        }
        ImmutableArray<string> outputNames = names.MoveToImmutable();

        bool grouped = select.GroupBy.Count > 0 || select.Having is not null;
        foreach (OutputItem item in items)
        {
            grouped |= item.Syntax is not null && SyntaxFacts.ContainsAggregate(item.Syntax);
        }
        foreach (OrderByItem item in orderBy)
        {
            grouped |= SyntaxFacts.ContainsAggregate(item.Expression);
        }

        RelationExpr input = from.Expr;
        Grouping? grouping = null;
        if (grouped)
        {
            (input, grouping) = BindGroupBy(select.GroupBy, items, outputNames, from);
        }
        var cx = new ExprContext(scope, "SELECT", grouping);

        var outputs = new List<ScalarExpr>(items.Count);
        foreach (OutputItem item in items)
        {
            outputs.Add(BindOutput(item, cx));
        }
        ScalarExpr? having = select.Having is null ? null : CoerceToBool(BindExpr(select.Having, cx with { Clause = "HAVING" }), "HAVING", select.Having);

        // ORDER BY: output names and ordinals first (PostgreSQL's SQL-92 rule), then expressions over the input.
        var hidden = new List<ScalarExpr>();
        var order = ImmutableArray.CreateBuilder<ColumnOrder>(orderBy.Count);
        foreach (OrderByItem item in orderBy)
        {
            int? column = OrdinalOrName(item.Expression, outputNames, items);
            if (column is null)
            {
                for (int i = 0; i < items.Count && column is null; i++)
                {
                    if (items[i].Syntax is Expression syntax && syntax.Equals(item.Expression))
                    {
                        column = i;
                    }
                }
            }
            if (column is null)
            {
                if (select.Distinct is not null)
                {
                    throw Error("42P10", "for SELECT DISTINCT, ORDER BY expressions must appear in select list", item.Expression);
                }
                column = outputs.Count + hidden.Count;
                hidden.Add(BindExpr(item.Expression, cx with { Clause = "ORDER BY" }));
            }
            order.Add(Order(column.Value, item));
        }

        RelationExpr current = input;
        if (grouping is not null)
        {
            var key = ImmutableArray.CreateBuilder<int>(grouping.Keys.Count);
            foreach (GroupKey groupKey in grouping.Keys)
            {
                key.Add(groupKey.InputColumn);
            }
            current = new Reduce(input, key.MoveToImmutable(), [.. grouping.Aggregates], Global: grouping.Keys.Count == 0);
        }
        if (having is not null)
        {
            current = new Filter(current, SplitAnd(having));
        }

        outputs.AddRange(hidden);
        current = MapAndProject(current, outputs);
        if (select.Distinct is not null)
        {
            if (select.Distinct.On.Count > 0)
            {
                throw NotSupported("SELECT DISTINCT ON is", select.Distinct.On[0]);
            }
            current = new Distinct(current);
        }
        return new BoundQuery(current, outputNames, items.Count, order.MoveToImmutable(), null, 0);
    }

    /// <summary>The relation of <paramref name="scalars"/> over <paramref name="input"/>: a projection where they are plain columns.</summary>
    private static RelationExpr MapAndProject(RelationExpr input, List<ScalarExpr> scalars)
    {
        int arity = input.Type.Arity;
        var mapped = ImmutableArray.CreateBuilder<ScalarExpr>();
        var columns = ImmutableArray.CreateBuilder<int>(scalars.Count);
        foreach (ScalarExpr scalar in scalars)
        {
            if (scalar is ColumnRef column && column.Type == input.Type.Columns[column.Index])
            {
                columns.Add(column.Index);
            }
            else
            {
                columns.Add(arity + mapped.Count);
                mapped.Add(scalar);
            }
        }
        RelationExpr result = mapped.Count > 0 ? new Map(input, mapped.ToImmutable()) : input;
        ImmutableArray<int> outputs = columns.MoveToImmutable();
        bool identity = outputs.Length == result.Type.Arity;
        for (int i = 0; i < outputs.Length && identity; i++)
        {
            identity = outputs[i] == i;
        }
        return identity ? result : new Project(result, outputs);
    }

    private ScalarExpr BindOutput(OutputItem item, ExprContext cx)
    {
        if (item.Syntax is Expression syntax)
        {
            return BindExpr(syntax, cx);
        }
        int input = item.InputColumn ?? throw new InvalidOperationException("an output item has neither syntax nor column");
        if (cx.Grouping is Grouping grouping)
        {
            for (int k = 0; k < grouping.Keys.Count; k++)
            {
                if (grouping.Keys[k].InputColumn == input)
                {
                    return new ColumnRef(k, grouping.Keys[k].Type);
                }
            }
            throw UngroupedColumn(grouping.InputScope, input, null!);
        }
        return new ColumnRef(input, cx.Scope.Columns[input].Type);
    }

    private (RelationExpr Input, Grouping Grouping) BindGroupBy(NodeList<Expression> groupBy, List<OutputItem> items, ImmutableArray<string> names, Relation from)
    {
        Scope scope = from.Scope;
        var keys = new List<GroupKey>();
        var mapped = ImmutableArray.CreateBuilder<ScalarExpr>();
        foreach (Expression expr in groupBy)
        {
            Expression? syntax = expr;
            int? copied = null;
            // An ordinal, or a bare name that is no input column but an output column, means that output item.
            bool inputName = expr is SyntaxColumnRef reference && scope.TryResolve(reference) is not null;
            if (expr is IntegerLiteral || (expr is SyntaxColumnRef && !inputName))
            {
                if (OrdinalOrName(expr, names, items, "GROUP BY") is int output)
                {
                    syntax = items[output].Syntax;
                    copied = items[output].InputColumn;
                }
            }
            ScalarExpr bound = syntax is null
                ? new ColumnRef(copied!.Value, scope.Columns[copied.Value].Type)
                : BindExpr(syntax, new ExprContext(scope, "GROUP BY"));
            if (syntax is not null && SyntaxFacts.ContainsAggregate(syntax))
            {
                throw Error("42803", "aggregate functions are not allowed in GROUP BY", syntax);
            }
            int inputColumn;
            if (bound is ColumnRef column)
            {
                inputColumn = column.Index;
            }
            else
            {
                inputColumn = scope.Arity + mapped.Count;
                mapped.Add(bound);
            }
            bool duplicate = false;
            foreach (GroupKey key in keys)
            {
                duplicate |= key.InputColumn == inputColumn || (syntax is not null && syntax.Equals(key.Syntax));
            }
            if (!duplicate)
            {
                keys.Add(new GroupKey(syntax is SyntaxColumnRef ? null : syntax, inputColumn, bound.Type));
            }
        }
        RelationExpr input = mapped.Count > 0 ? new Map(from.Expr, mapped.ToImmutable()) : from.Expr;
        return (input, new Grouping(scope, keys));
    }

    private static List<OutputItem> ExpandItems(NodeList<SelectItem> selectItems, Scope scope)
    {
        var items = new List<OutputItem>();
        foreach (SelectItem item in selectItems)
        {
            switch (item)
            {
                case ExpressionItem expression:
                    items.Add(new OutputItem(expression.Expression, null, expression.Alias ?? SyntaxFacts.ColumnName(expression.Expression)));
                    break;
                case Wildcard wildcard:
                {
                    string? table = wildcard.Qualifier?.Name;
                    if (scope.Arity == 0 && table is null)
                    {
                        throw Error("42601", "SELECT * with no tables specified is not valid", item);
                    }
                    if (table is not null && !scope.HasTable(table))
                    {
                        throw Error("42P01", $"missing FROM-clause entry for table \"{table}\"", item);
                    }
                    for (int i = 0; i < scope.Arity; i++)
                    {
                        ScopeColumn column = scope.Columns[i];
                        bool included = table is null ? !column.HiddenFromUnqualified : column.Table == table;
                        if (included)
                        {
                            items.Add(new OutputItem(null, i, column.Name ?? "?column?"));
                        }
                    }
                    break;
                }
                default:
                    throw NotSupported($"select item {item.GetType().Name} is", item);
            }
        }
        return items;
    }

    private Relation BindFrom(NodeList<FromItem> from, Expression? where)
    {
        if (from.Count == 0)
        {
            var scalarOnly = new Relation(s_oneEmptyRow, Scope.Empty);
            if (where is null)
            {
                return scalarOnly;
            }
            ScalarExpr predicate = BindCondition(where, Scope.Empty, "WHERE");
            return scalarOnly with { Expr = new Filter(s_oneEmptyRow, SplitAnd(predicate)) };
        }
        var relations = new List<Relation>(from.Count);
        Scope scope = Scope.Empty;
        foreach (FromItem item in from)
        {
            Relation relation = BindFromItem(item);
            relations.Add(relation);
            scope = scope.Concat(relation.Scope);
        }
        List<ScalarExpr> conjuncts = where is null ? [] : [.. SplitAnd(BindCondition(where, scope, "WHERE"))];
        RelationExpr expr = ApplyFilters(relations[0].Expr, conjuncts);
        for (int i = 1; i < relations.Count; i++)
        {
            expr = ApplyFilters(JoinWithKeys(expr, relations[i].Expr, conjuncts), conjuncts);
        }
        if (conjuncts.Count != 0)
        {
            throw new InvalidOperationException("a WHERE conjunct reads columns beyond the FROM clause");
        }
        return new Relation(expr, scope);
    }

    private ScalarExpr BindCondition(Expression condition, Scope scope, string clause)
    {
        if (SyntaxFacts.ContainsAggregate(condition))
        {
            // Bind anyway for the position of the first aggregate: the context has no grouping, so it throws 42803.
            BindExpr(condition, new ExprContext(scope, clause));
        }
        return CoerceToBool(BindExpr(condition, new ExprContext(scope, clause)), clause, condition);
    }

    public static ImmutableArray<ScalarExpr> SplitAnd(ScalarExpr predicate)
    {
        var conjuncts = ImmutableArray.CreateBuilder<ScalarExpr>();
        void Walk(ScalarExpr expr)
        {
            if (expr is CallVariadic { Func: VariadicFunc.And } and)
            {
                foreach (ScalarExpr arg in and.Args)
                {
                    Walk(arg);
                }
            }
            else
            {
                conjuncts.Add(expr);
            }
        }
        Walk(predicate);
        return conjuncts.ToImmutable();
    }

    /// <summary>Filters <paramref name="expr"/> by the conjuncts that read only its columns, and removes those from the list.</summary>
    private static RelationExpr ApplyFilters(RelationExpr expr, List<ScalarExpr> conjuncts)
    {
        int arity = expr.Type.Arity;
        var applicable = ImmutableArray.CreateBuilder<ScalarExpr>();
        for (int i = 0; i < conjuncts.Count; i++)
        {
            if (ExprRewriter.ReadsOnly(conjuncts[i], 0, arity))
            {
                applicable.Add(conjuncts[i]);
                conjuncts.RemoveAt(i);
                i--;
            }
        }
        return applicable.Count == 0 ? expr : new Filter(expr, applicable.ToImmutable());
    }

    /// <summary>
    /// Joins <paramref name="left"/> and <paramref name="right"/>, taking equalities between an expression of the left
    /// and one of the right out of <paramref name="conjuncts"/> (which read the joined layout) as join keys. Keys that
    /// are not plain columns are mapped onto their side first and projected away after the join, so the output has
    /// exactly the left columns then the right columns.
    /// </summary>
    private static RelationExpr JoinWithKeys(RelationExpr left, RelationExpr right, List<ScalarExpr> conjuncts)
    {
        int leftArity = left.Type.Arity;
        int rightArity = right.Type.Arity;
        var leftKey = ImmutableArray.CreateBuilder<int>();
        var rightKey = ImmutableArray.CreateBuilder<int>();
        var leftMaps = ImmutableArray.CreateBuilder<ScalarExpr>();
        var rightMaps = ImmutableArray.CreateBuilder<ScalarExpr>();
        for (int i = 0; i < conjuncts.Count; i++)
        {
            if (conjuncts[i] is not CallBinary { Func: BinaryFunc.Eq } equality)
            {
                continue;
            }
            ScalarExpr l = equality.Left;
            ScalarExpr r = equality.Right;
            if (!(Reads(l, 0, leftArity) && Reads(r, leftArity, leftArity + rightArity)))
            {
                (l, r) = (r, l);
                if (!(Reads(l, 0, leftArity) && Reads(r, leftArity, leftArity + rightArity)))
                {
                    continue;
                }
            }
            r = ExprRewriter.Shift(r, -leftArity);
            if (l is ColumnRef leftColumn)
            {
                leftKey.Add(leftColumn.Index);
            }
            else
            {
                leftKey.Add(leftArity + leftMaps.Count);
                leftMaps.Add(l);
            }
            if (r is ColumnRef rightColumn)
            {
                rightKey.Add(rightColumn.Index);
            }
            else
            {
                rightKey.Add(rightArity + rightMaps.Count);
                rightMaps.Add(r);
            }
            conjuncts.RemoveAt(i);
            i--;
        }
        if (leftMaps.Count == 0 && rightMaps.Count == 0)
        {
            return new Join(left, right, leftKey.ToImmutable(), rightKey.ToImmutable());
        }
        RelationExpr mappedLeft = leftMaps.Count > 0 ? new Map(left, leftMaps.ToImmutable()) : left;
        RelationExpr mappedRight = rightMaps.Count > 0 ? new Map(right, rightMaps.ToImmutable()) : right;
        var join = new Join(mappedLeft, mappedRight, leftKey.ToImmutable(), rightKey.ToImmutable());
        var columns = ImmutableArray.CreateBuilder<int>(leftArity + rightArity);
        for (int c = 0; c < leftArity; c++)
        {
            columns.Add(c);
        }
        for (int c = 0; c < rightArity; c++)
        {
            columns.Add(leftArity + leftMaps.Count + c);
        }
        return new Project(join, columns.MoveToImmutable());
    }

    /// <summary>Whether <paramref name="expr"/> reads at least one column and only columns in [start, end).</summary>
    private static bool Reads(ScalarExpr expr, int start, int end)
    {
        var support = new SortedSet<int>();
        ExprRewriter.Support(expr, support);
        return support.Count > 0 && support.Min >= start && support.Max < end;
    }

    private Relation BindFromItem(FromItem item)
    {
        switch (item)
        {
            case TableReference table:
            {
                (RelationExpr expr, ImmutableArray<string> names) = ResolveRelation(table.Name);
                string qualifier = table.Alias?.Name ?? table.Name.Name;
                if (table.Alias is not null)
                {
                    names = Rename(names, table.Alias.Columns, table.Alias.Name, table.Alias);
                }
                return new Relation(expr, Scope.Of(qualifier, names, expr.Type));
            }
            case SubqueryReference subquery:
            {
                if (subquery.Lateral)
                {
                    throw NotSupported("LATERAL subqueries are", item);
                }
                (RelationExpr expr, ImmutableArray<string> names) = Lower(BindQuery(subquery.Query));
                if (subquery.Alias is not null)
                {
                    names = Rename(names, subquery.Alias.Columns, subquery.Alias.Name, subquery.Alias);
                }
                return new Relation(expr, Scope.Of(subquery.Alias?.Name, names, expr.Type));
            }
            case JoinReference join:
                return BindJoin(join);
            case FunctionReference function:
                throw NotSupported($"table function {function.Function.Name.Name} is", item);
            default:
                throw NotSupported($"FROM item {item.GetType().Name} is", item);
        }
    }

    /// <summary>A relation by name: a CTE in scope, or a catalog table, view (its definition inlined) or materialized view.</summary>
    private (RelationExpr Expr, ImmutableArray<string> Names) ResolveRelation(ObjectName name)
    {
        if (name.Parts.Count == 1)
        {
            for (int i = _ctes.Count - 1; i >= 0; i--)
            {
                if (_ctes[i].TryGetValue(name.Name, out CteBinding? cte))
                {
                    return (cte.Expr, cte.Names);
                }
            }
        }
        CatalogItem item = ResolveItem(name);
        switch (item.Kind)
        {
            case CatalogItemKind.Index:
                throw Error("42809", $"cannot open relation \"{item.Name}\": it is an index", name);
            case CatalogItemKind.View:
                RelationExpr definition = item.Definition ?? throw new InvalidOperationException($"view {item.Id} has no definition");
                return (definition, item.Desc.Names);
            default:
                return (new Get(item.Id, item.Desc.Type), item.Desc.Names);
        }
    }

    /// <summary>The catalog item named <paramref name="name"/>, or 42P01.</summary>
    public CatalogItem ResolveItem(ObjectName name) =>
        _catalog.Resolve(name.Name) ?? throw Error("42P01", $"relation \"{string.Join('.', (IEnumerable<string>)name.Parts)}\" does not exist", name);

    private Relation BindJoin(JoinReference join)
    {
        if (join.Kind is JoinKind.Left or JoinKind.Right or JoinKind.Full)
        {
            throw NotSupported($"{join.Kind.ToString().ToUpperInvariant()} JOIN is", join);
        }
        Relation left = BindFromItem(join.Left);
        Relation right = BindFromItem(join.Right);
        int leftArity = left.Scope.Arity;
        Scope scope = left.Scope.Concat(right.Scope);
        var conjuncts = new List<ScalarExpr>();
        switch (join.Condition)
        {
            case null:
                break;
            case OnCondition on:
                conjuncts.AddRange(SplitAnd(BindCondition(on.Expression, scope, "JOIN/ON")));
                break;
            case UsingCondition or NaturalCondition:
            {
                List<string> columns = join.Condition is UsingCondition usingCondition ? [.. usingCondition.Columns] : SharedNames(left.Scope, right.Scope);
                ImmutableArray<ScopeColumn>.Builder merged = scope.Columns.ToBuilder();
                foreach (string name in columns)
                {
                    int l = FindUsingColumn(left.Scope, name, "left", join);
                    int r = FindUsingColumn(right.Scope, name, "right", join);
                    ScalarExpr leftColumn = new ColumnRef(l, left.Scope.Columns[l].Type);
                    ScalarExpr rightColumn = new ColumnRef(leftArity + r, right.Scope.Columns[r].Type);
                    conjuncts.Add(Comparison(BinaryFunc.Eq, join, leftColumn, rightColumn, "="));
                    merged[leftArity + r] = merged[leftArity + r] with { HiddenFromUnqualified = true };
                }
                scope = new Scope(merged.ToImmutable());
                break;
            }
            default:
                throw NotSupported($"join condition {join.Condition.GetType().Name} is", join);
        }
        RelationExpr expr = ApplyFilters(JoinWithKeys(left.Expr, right.Expr, conjuncts), conjuncts);
        if (join.Alias is not null)
        {
            ImmutableArray<ScopeColumn>.Builder renamed = scope.Columns.ToBuilder();
            for (int i = 0; i < renamed.Count; i++)
            {
                string? name = i < join.Alias.Columns.Count ? join.Alias.Columns[i] : renamed[i].Name;
                renamed[i] = renamed[i] with { Table = join.Alias.Name, Name = name };
            }
            scope = new Scope(renamed.ToImmutable());
        }
        return new Relation(expr, scope);
    }

    private static List<string> SharedNames(Scope left, Scope right)
    {
        var names = new List<string>();
        foreach (ScopeColumn column in left.Columns)
        {
            if (column.Name is null || column.HiddenFromUnqualified || names.Contains(column.Name))
            {
                continue;
            }
            foreach (ScopeColumn other in right.Columns)
            {
                if (other.Name == column.Name && !other.HiddenFromUnqualified)
                {
                    names.Add(column.Name);
                    break;
                }
            }
        }
        return names;
    }

    private static int FindUsingColumn(Scope scope, string name, string side, SyntaxNode at)
    {
        int found = -1;
        for (int i = 0; i < scope.Arity; i++)
        {
            if (scope.Columns[i].Name == name && !scope.Columns[i].HiddenFromUnqualified)
            {
                if (found >= 0)
                {
                    throw Error("42702", $"common column name \"{name}\" appears more than once in {side} table", at);
                }
                found = i;
            }
        }
        return found >= 0 ? found : throw Error("42703", $"column \"{name}\" specified in USING clause does not exist in {side} table", at);
    }

    /// <summary>
    /// <paramref name="expr"/> with its columns converted to <paramref name="targets"/> (types and nullability): constants
    /// and literal map entries are converted in place, anything else through a map and projection.
    /// </summary>
    public RelationExpr Retype(RelationExpr expr, ImmutableArray<ColumnType> targets, CastContext context, Func<int, SyntaxNode?>? at = null)
    {
        for (int c = 0; c < targets.Length; c++)
        {
            expr = RetypeColumn(expr, c, targets[c], context, at?.Invoke(c));
        }
        return expr;
    }

    private RelationExpr RetypeColumn(RelationExpr expr, int column, ColumnType target, CastContext context, SyntaxNode? at)
    {
        ColumnType current = expr.Type.Columns[column];
        if (current == target)
        {
            return expr;
        }
        bool typeChanges = current.Type != target.Type;
        switch (expr)
        {
            case Constant constant when typeChanges:
            {
                var rows = ImmutableArray.CreateBuilder<(Row, long)>(constant.Rows.Length);
                foreach ((Row row, long diff) in constant.Rows)
                {
                    ScalarExpr converted = Coerce(new Literal(row[column], current), target.Type, context, at);
                    if (converted is not Literal literal)
                    {
                        return Wrap(expr, column, target, context, at);
                    }
                    Datum[] datums = row.Datums.ToArray();
                    datums[column] = literal.Value;
                    rows.Add((new Row(datums), diff));
                }
                ImmutableArray<ColumnType> types = constant.RowType.Columns.SetItem(column, target);
                return new Constant(rows.MoveToImmutable(), new RelationType(types));
            }
            case Map map when column >= map.Input.Type.Arity && typeChanges:
            {
                int index = column - map.Input.Type.Arity;
                ScalarExpr scalar = Coerce(map.Scalars[index], target.Type, context, at);
                if (scalar.Type.Nullable != target.Nullable)
                {
                    return Wrap(new Map(map.Input, map.Scalars.SetItem(index, scalar)), column, target, context, at);
                }
                return new Map(map.Input, map.Scalars.SetItem(index, scalar));
            }
            case Project project when typeChanges && project.Outputs.IndexOf(project.Outputs[column]) == project.Outputs.LastIndexOf(project.Outputs[column]):
                return new Project(RetypeColumn(project.Input, project.Outputs[column], target, context, at), project.Outputs);
            case Union union when typeChanges:
                return new Union(union.Inputs.SelectArray(input => RetypeColumn(input, column, target, context, at)));
            case Distinct distinct when typeChanges:
                return new Distinct(RetypeColumn(distinct.Input, column, target, context, at));
            case Threshold threshold when typeChanges:
                return new Threshold(RetypeColumn(threshold.Input, column, target, context, at));
            case Negate negate when typeChanges:
                return new Negate(RetypeColumn(negate.Input, column, target, context, at));
            default:
                return Wrap(expr, column, target, context, at);
        }
    }

    private Project Wrap(RelationExpr expr, int column, ColumnType target, CastContext context, SyntaxNode? at)
    {
        ColumnType current = expr.Type.Columns[column];
        ScalarExpr converted = Coerce(new ColumnRef(column, current), target.Type, context, at);
        converted = converted switch
        {
            ColumnRef reference => reference with { ColumnType = target },
            Cast cast => cast with { ResultType = target },
            _ => new IfThenElse(new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), converted, Literal.Null(target.Type), target),
        };
        int arity = expr.Type.Arity;
        ImmutableArray<int> outputs = Identity(arity).SetItem(column, arity);
        return new Project(new Map(expr, [converted]), outputs);
    }
}
