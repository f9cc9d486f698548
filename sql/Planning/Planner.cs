using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Globalization;
using System.Runtime.CompilerServices;
using Kernel.Expr;
using Kernel.Persist.Data;
using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;
using ColumnRef = Kernel.Expr.ColumnRef;

namespace Kernel.Sql.Planning;

/// <summary>
/// The SQL planner: binds one parsed statement against the catalog and lowers it to a <see cref="Plan"/> in the plan
/// language of <c>core/Expr</c>. Pure and deterministic: the same statement, catalog and parameter types always give
/// the same plan.
/// </summary>
/// <remarks>
/// Planning never throws for bad input: every user error is a <see cref="PlanError"/> with PostgreSQL's SQLSTATE.
/// Statements outside the supported subset fail with 0A000 feature_not_supported naming what is missing.
/// </remarks>
public static class Planner
{
    /// <summary>
    /// Binds and plans <paramref name="statement"/>. <paramref name="parameterTypes"/> are the types of <c>$1..$n</c>
    /// known so far (<see cref="SqlType.Unknown"/> where not known); the result reports them all, inferred.
    /// </summary>
    public static PlanResult Plan(Statement statement, ICatalogReader catalog, IReadOnlyList<SqlType> parameterTypes)
    {
        ArgumentNullException.ThrowIfNull(statement);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(parameterTypes);
        var binder = new Binder(catalog, parameterTypes);
        try
        {
            Plan plan = new StatementPlanner(binder, catalog).PlanStatement(statement);
            ImmutableArray<SqlType> types = binder.ParameterTypes;
            plan = FixParameterTypes(plan, types);
            return PlanResult.Success(plan, types, [.. binder.Notices]);
        }
        catch (PlanException e)
        {
            return PlanResult.Failure(e.Error);
        }
        catch (InsufficientExecutionStackException)
        {
            return PlanResult.Failure(new PlanError("54001", "statement is too complex to plan"));
        }
    }

    /// <summary>The catalog items <paramref name="expr"/> reads (its <see cref="Get"/>s), sorted and without repeats.</summary>
    public static ImmutableArray<GlobalId> Dependencies(RelationExpr expr)
    {
        ArgumentNullException.ThrowIfNull(expr);
        var ids = new List<GlobalId>();
        ExprRewriter.CollectGets(expr, ids);
        var sorted = new SortedSet<GlobalId>(ids);
        return [.. sorted];
    }

    /// <summary>
    /// Replaces every <see cref="ParameterRef"/> in <paramref name="plan"/> with a <see cref="Literal"/> of the bound
    /// value, so that no parameter reaches compute. A string value for a non-string parameter is parsed with the
    /// type's text input (the text format of the extended protocol); any other mismatch is an error.
    /// </summary>
    public static PlanResult BindParameters(Plan plan, IReadOnlyList<Datum> values)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(values);
        try
        {
            var types = new SortedDictionary<int, SqlType>();
            Plan bound = MapScalars(plan, scalar => ExprRewriter.RewriteLeaves(scalar, leaf =>
            {
                if (leaf is not ParameterRef parameter)
                {
                    return leaf;
                }
                types[parameter.Index] = parameter.Type.Type;
                if (parameter.Index >= values.Count)
                {
                    throw new PlanException(new PlanError("08P01", $"bind message supplies {values.Count} parameters, but the statement needs at least {parameter.Index + 1}"));
                }
                return new Literal(ParameterValue(values[parameter.Index], parameter), parameter.Type with { Nullable = values[parameter.Index].IsNull });
            }));
            var typeList = ImmutableArray.CreateBuilder<SqlType>();
            foreach (SqlType type in types.Values)
            {
                typeList.Add(type);
            }
            return PlanResult.Success(bound, typeList.ToImmutable(), ImmutableArray<string>.Empty);
        }
        catch (PlanException e)
        {
            return PlanResult.Failure(e.Error);
        }
    }

    private static Datum ParameterValue(Datum value, ParameterRef parameter)
    {
        SqlType type = parameter.Type.Type;
        if (value.IsNull)
        {
            return value;
        }
        if (value.Kind == type.DatumKind)
        {
            if (type.IsInteger && !TypeRules.FitsInteger(value.AsInt64, type.Kind))
            {
                throw new PlanException(new PlanError("22003", $"{type.Name} out of range"));
            }
            return value;
        }
        if (value.Kind == DatumKind.String)
        {
            if (!TypeRules.TryParse(value.AsString, type, explicitCast: false, out Datum parsed, out PlanError? error))
            {
                throw new PlanException(error!);
            }
            return parsed;
        }
        throw new PlanException(new PlanError("22023", $"parameter ${parameter.Index + 1} of type {type.Name} cannot take a value of kind {value.Kind}"));
    }

    /// <summary>Gives every parameter reference the final type of its parameter (an early use may predate the inference).</summary>
    private static Plan FixParameterTypes(Plan plan, ImmutableArray<SqlType> types) =>
        MapScalars(plan, scalar => ExprRewriter.RewriteLeaves(scalar, leaf =>
            leaf is ParameterRef parameter && parameter.Type.Type != types[parameter.Index]
                ? new ParameterRef(parameter.Index, new ColumnType(types[parameter.Index], true))
                : leaf));

    /// <summary>Applies <paramref name="scalar"/> to every scalar expression a plan holds.</summary>
    private static Plan MapScalars(Plan plan, Func<ScalarExpr, ScalarExpr> scalar) => plan switch
    {
        SelectPlan select => select with { Expr = ExprRewriter.RewriteScalars(select.Expr, scalar) },
        InsertPlan insert => insert with { Rows = ExprRewriter.RewriteScalars(insert.Rows, scalar) },
        ReadThenWritePlan write => write with
        {
            Selection = ExprRewriter.RewriteScalars(write.Selection, scalar),
            Assignments = write.Assignments?.SelectArray(scalar),
        },
        SubscribePlan subscribe => subscribe with { Expr = ExprRewriter.RewriteScalars(subscribe.Expr, scalar) },
        DeclareCursorPlan cursor => cursor with { Inner = MapScalars(cursor.Inner, scalar) },
        CopyToPlan copy => copy with { Inner = MapScalars(copy.Inner, scalar) },
        ExplainPlan explain => explain with { Explained = MapScalars(explain.Explained, scalar) },
        _ => plan,
    };
}

/// <summary>Plans each kind of statement; queries and expressions go through the <see cref="Binder"/>.</summary>
internal sealed class StatementPlanner(Binder binder, ICatalogReader catalog)
{
    public Plan PlanStatement(Statement statement)
    {
        RuntimeHelpers.EnsureSufficientExecutionStack();
        return statement switch
        {
            SelectStatement select => PlanSelect(select.Query),
            InsertStatement insert => PlanInsert(insert),
            UpdateStatement update => PlanUpdate(update),
            DeleteStatement delete => PlanDelete(delete),
            CreateTableStatement create => PlanCreateTable(create),
            CreateViewStatement view => PlanCreateView(view.Name, view.Columns, view.Query, view, out RelationDesc desc, out RelationExpr expr) is string sql
                ? new CreateViewPlan(view.Name.Name, expr, desc, sql, view.IfNotExists, view.OrReplace) : throw new InvalidOperationException(),
            CreateMaterializedViewStatement view => PlanCreateView(view.Name, view.Columns, view.Query, view, out RelationDesc desc, out RelationExpr expr) is string sql
                ? new CreateMaterializedViewPlan(view.Name.Name, expr, desc, sql, view.IfNotExists, view.OrReplace) : throw new InvalidOperationException(),
            CreateIndexStatement index => PlanCreateIndex(index),
            DropStatement drop => PlanDrop(drop),
            SubscribeStatement subscribe => PlanSubscribe(subscribe),
            ShowObjectsStatement show => PlanShowObjects(show),
            ShowVariableStatement show => new ShowVariablePlan(show.Name),
            ShowColumnsStatement show => PlanShowColumns(show),
            ShowCreateStatement show => PlanShowCreate(show),
            SetVariableStatement set => new SetVariablePlan(set.Name, set.IsDefault ? null : ValueText(set.Values), set.Local),
            ResetVariableStatement reset => new ResetVariablePlan(reset.Name),
            DeclareCursorStatement declare => new DeclareCursorPlan(declare.Name, PlanCursorSource(declare.Source), declare.WithHold),
            FetchStatement fetch => PlanFetch(fetch),
            CloseStatement close => new ClosePlan(close.Cursor),
            CopyStatement copy => PlanCopy(copy),
            BeginStatement begin => new TransactionPlan(TransactionKind.Begin, ReadOnly(begin)),
            CommitStatement => new TransactionPlan(TransactionKind.Commit),
            RollbackStatement => new TransactionPlan(TransactionKind.Rollback),
            ExplainStatement explain => PlanExplain(explain),
            _ => throw Binder.NotSupported($"{StatementName(statement)} is", statement),
        };
    }

    private static string StatementName(Statement statement) => statement switch
    {
        PrepareStatement => "PREPARE (as SQL)",
        ExecuteStatement => "EXECUTE (as SQL)",
        DeallocateStatement => "DEALLOCATE (as SQL)",
        DiscardStatement => "DISCARD",
        _ => statement.GetType().Name.Replace("Statement", string.Empty, StringComparison.Ordinal).ToUpperInvariant(),
    };

    private static bool ReadOnly(BeginStatement begin)
    {
        foreach (TransactionMode mode in begin.Modes)
        {
            if (mode is AccessMode { ReadOnly: true })
            {
                return true;
            }
        }
        return false;
    }

    private SelectPlan PlanSelect(Query query)
    {
        BoundQuery bound = binder.BindQuery(query);
        RelationExpr expr = bound.Expr;
        if (HasUnknownColumn(expr.Type))
        {
            expr = binder.UnknownToText(expr);
        }
        var finishing = new RowSetFinishing(bound.OrderBy, bound.Limit, bound.Offset, Binder.Identity(bound.Visible));
        var desc = new RelationDesc(bound.Names, new RelationType(expr.Type.Columns[..bound.Visible]));
        return new SelectPlan(expr, finishing, desc);
    }

    private static bool HasUnknownColumn(RelationType type)
    {
        foreach (ColumnType column in type.Columns)
        {
            if (column.Type.Kind == SqlTypeKind.Unknown)
            {
                return true;
            }
        }
        return false;
    }

    private CatalogItem ResolveTable(ObjectName name, string verb)
    {
        CatalogItem item = binder.ResolveItem(name);
        if (item.Kind != CatalogItemKind.Table)
        {
            throw Binder.Error("42809", $"cannot {verb} {KindName(item.Kind)} \"{item.Name}\"", name);
        }
        return item;
    }

    private InsertPlan PlanInsert(InsertStatement insert)
    {
        CatalogItem table = ResolveTable(insert.Table, "insert into");
        if (insert.Returning.Count > 0)
        {
            throw Binder.NotSupported("INSERT ... RETURNING is", insert.Returning[0]);
        }
        RelationDesc desc = table.Desc;
        // The target columns, in the order the source supplies them.
        var targets = new List<int>();
        if (insert.Columns.Count == 0)
        {
            for (int i = 0; i < desc.Arity; i++)
            {
                targets.Add(i);
            }
        }
        else
        {
            foreach (string column in insert.Columns)
            {
                int index = desc.Names.IndexOf(column);
                if (index < 0)
                {
                    throw Binder.Error("42703", $"column \"{column}\" of relation \"{table.Name}\" does not exist", insert);
                }
                if (targets.Contains(index))
                {
                    throw Binder.Error("42701", $"column \"{column}\" specified more than once", insert);
                }
                targets.Add(index);
            }
        }

        RelationExpr rows;
        if (insert.Source is null)
        {
            rows = new Constant([(Row.Empty, 1L)], RelationType.Empty);
            targets.Clear();
        }
        else if (insert.Source is { IsBodyOnly: true, Body: Syntax.Values values })
        {
            rows = InsertValues(values, targets, table);
        }
        else
        {
            (RelationExpr source, _) = binder.Lower(binder.BindQuery(insert.Source), resolveUnknown: false);
            if (source.Type.Arity > targets.Count)
            {
                throw Binder.Error("42601", "INSERT has more expressions than target columns", insert.Source);
            }
            if (source.Type.Arity < targets.Count)
            {
                throw Binder.Error("42601", "INSERT has more target columns than expressions", insert.Source);
            }
            var types = ImmutableArray.CreateBuilder<ColumnType>(targets.Count);
            foreach (int target in targets)
            {
                types.Add(desc.Type.Columns[target] with { Nullable = true });
            }
            rows = RetypeForAssignment(source, types.MoveToImmutable(), targets, table, insert.Source);
        }
        return new InsertPlan(table.Id, FullRows(rows, targets, table));
    }

    private RelationExpr RetypeForAssignment(RelationExpr source, ImmutableArray<ColumnType> types, List<int> targets, CatalogItem table, SyntaxNode at)
    {
        for (int i = 0; i < types.Length; i++)
        {
            SqlType from = source.Type.Columns[i].Type;
            if (!TypeRules.CanCast(from, types[i].Type, CastContext.Assignment))
            {
                throw AssignmentError(table, targets[i], from, at);
            }
        }
        // Keep each column's own nullability: NOT NULL is checked on the rows at execution.
        var withNullability = ImmutableArray.CreateBuilder<ColumnType>(types.Length);
        for (int i = 0; i < types.Length; i++)
        {
            withNullability.Add(types[i] with { Nullable = source.Type.Columns[i].Nullable });
        }
        return binder.Retype(source, withNullability.MoveToImmutable(), CastContext.Assignment, _ => at);
    }

    private static PlanException AssignmentError(CatalogItem table, int column, SqlType from, SyntaxNode? at) =>
        Binder.Error("42804", $"column \"{table.Desc.Names[column]}\" is of type {table.Desc.Type.Columns[column].Type.Name} but expression is of type {from.Name}", at,
            "You will need to rewrite or cast the expression.");

    /// <summary>INSERT ... VALUES: each value is cast straight to its column's type, and DEFAULT takes the column's default.</summary>
    private RelationExpr InsertValues(Syntax.Values values, List<int> targets, CatalogItem table)
    {
        var rows = new List<List<ScalarExpr>>(values.Rows.Count);
        foreach (NodeList<Expression> row in values.Rows)
        {
            if (row.Count > targets.Count)
            {
                throw Binder.Error("42601", "INSERT has more expressions than target columns", row[targets.Count]);
            }
            if (row.Count < targets.Count)
            {
                throw Binder.Error("42601", "INSERT has more target columns than expressions", row.Count > 0 ? row[^1] : values);
            }
            var bound = new List<ScalarExpr>(row.Count);
            for (int i = 0; i < row.Count; i++)
            {
                bound.Add(row[i] is DefaultValue ? DefaultOf(table, targets[i]) : AssignmentCast(binder.BindExpr(row[i], new ExprContext(Scope.Empty, "VALUES")), table, targets[i], row[i]));
            }
            rows.Add(bound);
        }
        return RowsRelation(rows, targets, table);
    }

    private static RelationExpr RowsRelation(List<List<ScalarExpr>> rows, List<int> targets, CatalogItem table)
    {
        int width = targets.Count;
        var columns = ImmutableArray.CreateBuilder<ColumnType>(width);
        bool allLiterals = true;
        for (int c = 0; c < width; c++)
        {
            bool nullable = false;
            foreach (List<ScalarExpr> row in rows)
            {
                nullable |= row[c].Type.Nullable;
                allLiterals &= row[c] is Literal;
            }
            columns.Add(table.Desc.Type.Columns[targets[c]] with { Nullable = nullable });
        }
        var type = new RelationType(columns.MoveToImmutable());
        if (allLiterals)
        {
            var constant = ImmutableArray.CreateBuilder<(Row, long)>(rows.Count);
            foreach (List<ScalarExpr> row in rows)
            {
                var datums = new Datum[width];
                for (int c = 0; c < width; c++)
                {
                    datums[c] = ((Literal)row[c]).Value;
                }
                constant.Add((new Row(datums), 1));
            }
            return new Constant(constant.MoveToImmutable(), type);
        }
        var inputs = ImmutableArray.CreateBuilder<RelationExpr>(rows.Count);
        var one = new Constant([(Row.Empty, 1L)], RelationType.Empty);
        foreach (List<ScalarExpr> row in rows)
        {
            var scalars = ImmutableArray.CreateBuilder<ScalarExpr>(width);
            for (int c = 0; c < width; c++)
            {
                ScalarExpr scalar = row[c];
                if (scalar.Type != type.Columns[c])
                {
                    scalar = new IfThenElse(new Literal(Datum.FromBool(true), new ColumnType(SqlType.Bool, false)), scalar, Literal.Null(type.Columns[c].Type), type.Columns[c]);
                }
                scalars.Add(scalar);
            }
            inputs.Add(new Map(one, scalars.MoveToImmutable()));
        }
        return inputs.Count == 1 ? inputs[0] : new Union(inputs.MoveToImmutable());
    }

    private ScalarExpr AssignmentCast(ScalarExpr value, CatalogItem table, int column, SyntaxNode at)
    {
        SqlType target = table.Desc.Type.Columns[column].Type;
        return binder.TryCoerce(value, target, CastContext.Assignment, at) ?? throw AssignmentError(table, column, value.Type.Type, at);
    }

    private static ScalarExpr DefaultOf(CatalogItem table, int column)
    {
        ScalarExpr? value = column < table.Defaults.Length ? table.Defaults[column] : null;
        return value ?? Literal.Null(table.Desc.Type.Columns[column].Type);
    }

    /// <summary>Rows of the whole table from rows of the <paramref name="targets"/> columns: the others take their defaults.</summary>
    private static RelationExpr FullRows(RelationExpr rows, List<int> targets, CatalogItem table)
    {
        int arity = table.Desc.Arity;
        bool identity = targets.Count == arity;
        for (int i = 0; i < targets.Count && identity; i++)
        {
            identity = targets[i] == i;
        }
        if (identity)
        {
            return rows;
        }
        int sourceArity = rows.Type.Arity;
        var defaults = ImmutableArray.CreateBuilder<ScalarExpr>();
        var outputs = ImmutableArray.CreateBuilder<int>(arity);
        for (int c = 0; c < arity; c++)
        {
            int position = targets.IndexOf(c);
            if (position >= 0)
            {
                outputs.Add(position);
            }
            else
            {
                outputs.Add(sourceArity + defaults.Count);
                defaults.Add(DefaultOf(table, c));
            }
        }
        RelationExpr mapped = defaults.Count > 0 ? new Map(rows, defaults.ToImmutable()) : rows;
        return new Project(mapped, outputs.MoveToImmutable());
    }

    private ReadThenWritePlan PlanDelete(DeleteStatement delete)
    {
        CatalogItem table = ResolveTable(delete.Table, "delete from");
        if (delete.Returning.Count > 0)
        {
            throw Binder.NotSupported("DELETE ... RETURNING is", delete.Returning[0]);
        }
        return new ReadThenWritePlan(table.Id, Selection(table, delete.Alias, delete.Where, out _), WriteKind.Delete, null);
    }

    private RelationExpr Selection(CatalogItem table, string? alias, Expression? where, out Scope scope)
    {
        scope = Scope.Of(alias ?? table.Name, table.Desc.Names, table.Desc.Type);
        RelationExpr expr = new Get(table.Id, table.Desc.Type);
        if (where is null)
        {
            return expr;
        }
        if (SyntaxFacts.ContainsAggregate(where))
        {
            binder.BindExpr(where, new ExprContext(scope, "WHERE"));
        }
        ScalarExpr predicate = binder.CoerceToBool(binder.BindExpr(where, new ExprContext(scope, "WHERE")), "WHERE", where);
        return new Filter(expr, Binder.SplitAnd(predicate));
    }

    private ReadThenWritePlan PlanUpdate(UpdateStatement update)
    {
        CatalogItem table = ResolveTable(update.Table, "update");
        if (update.Returning.Count > 0)
        {
            throw Binder.NotSupported("UPDATE ... RETURNING is", update.Returning[0]);
        }
        RelationExpr selection = Selection(table, update.Alias, update.Where, out Scope scope);
        var assignments = new ScalarExpr[table.Desc.Arity];
        for (int c = 0; c < assignments.Length; c++)
        {
            assignments[c] = new ColumnRef(c, table.Desc.Type.Columns[c]);
        }
        var assigned = new HashSet<int>();
        foreach (Assignment assignment in update.Assignments)
        {
            int column = table.Desc.Names.IndexOf(assignment.Column);
            if (column < 0)
            {
                throw Binder.Error("42703", $"column \"{assignment.Column}\" of relation \"{table.Name}\" does not exist", assignment);
            }
            if (!assigned.Add(column))
            {
                throw Binder.Error("42601", $"multiple assignments to same column \"{assignment.Column}\"", assignment);
            }
            if (SyntaxFacts.ContainsAggregate(assignment.Value))
            {
                binder.BindExpr(assignment.Value, new ExprContext(scope, "UPDATE"));
            }
            assignments[column] = assignment.Value is DefaultValue
                ? DefaultOf(table, column)
                : AssignmentCast(binder.BindExpr(assignment.Value, new ExprContext(scope, "UPDATE")), table, column, assignment.Value);
        }
        return new ReadThenWritePlan(table.Id, selection, WriteKind.Update, [.. assignments]);
    }

    private CreateTablePlan PlanCreateTable(CreateTableStatement create)
    {
        string name = create.Name.Name;
        CheckNameFree(create.Name, create.IfNotExists, orReplace: false);
        var names = ImmutableArray.CreateBuilder<string>(create.Columns.Count);
        var types = ImmutableArray.CreateBuilder<ColumnType>(create.Columns.Count);
        var defaults = ImmutableArray.CreateBuilder<ScalarExpr?>(create.Columns.Count);
        var primaryKey = new HashSet<string>(StringComparer.Ordinal);
        foreach (TableConstraint constraint in create.Constraints)
        {
            foreach (string column in constraint.Columns)
            {
                bool exists = false;
                foreach (ColumnDefinition definition in create.Columns)
                {
                    exists |= definition.Name == column;
                }
                if (!exists)
                {
                    throw Binder.Error("42703", $"column \"{column}\" named in key does not exist", constraint);
                }
                if (constraint.Kind == TableConstraintKind.PrimaryKey)
                {
                    primaryKey.Add(column);
                }
            }
        }
        foreach (ColumnDefinition column in create.Columns)
        {
            if (names.Contains(column.Name))
            {
                throw Binder.Error("42701", $"column \"{column.Name}\" specified more than once", column);
            }
            SqlType type = Binder.ResolveType(column.Type);
            bool nullable = !primaryKey.Contains(column.Name);
            ScalarExpr? defaultValue = null;
            foreach (ColumnConstraint constraint in column.Constraints)
            {
                switch (constraint.Kind)
                {
                    case ColumnConstraintKind.NotNull or ColumnConstraintKind.PrimaryKey:
                        nullable = false;
                        break;
                    case ColumnConstraintKind.Default when constraint.Default is not null:
                    {
                        if (SyntaxFacts.ContainsAggregate(constraint.Default))
                        {
                            throw Binder.Error("42803", "aggregate functions are not allowed in DEFAULT expressions", constraint.Default);
                        }
                        ScalarExpr bound;
                        try
                        {
                            bound = binder.BindExpr(constraint.Default, new ExprContext(Scope.Empty, "DEFAULT expressions"));
                        }
                        catch (PlanException e) when (e.Error.SqlState == "42703")
                        {
                            throw Binder.Error("0A000", "cannot use column reference in DEFAULT expression", constraint.Default);
                        }
                        defaultValue = binder.TryCoerce(bound, type, CastContext.Assignment, constraint.Default)
                            ?? throw Binder.Error("42804", $"column \"{column.Name}\" is of type {type.Name} but default expression is of type {bound.Type.Type.Name}", constraint.Default,
                                "You will need to rewrite or cast the expression.");
                        if (ContainsParameter(defaultValue))
                        {
                            throw Binder.Error("42P02", "there is no parameter $1 in DEFAULT expressions", constraint.Default);
                        }
                        break;
                    }
                    default:
                        break;
                }
            }
            names.Add(column.Name);
            types.Add(new ColumnType(type, nullable));
            defaults.Add(defaultValue);
        }
        var desc = new RelationDesc(names.MoveToImmutable(), new RelationType(types.MoveToImmutable()));
        return new CreateTablePlan(name, desc, defaults.MoveToImmutable(), create.IfNotExists);
    }

    private static bool ContainsParameter(RelationExpr expr)
    {
        bool found = false;
        ExprRewriter.RewriteScalars(expr, scalar =>
        {
            found |= ContainsParameter(scalar);
            return scalar;
        });
        return found;
    }

    private static bool ContainsParameter(ScalarExpr expr)
    {
        bool found = false;
        ExprRewriter.RewriteLeaves(expr, leaf =>
        {
            found |= leaf is ParameterRef;
            return leaf;
        });
        return found;
    }

    /// <summary>42P07 when the name is taken and neither IF NOT EXISTS nor OR REPLACE was given.</summary>
    private void CheckNameFree(ObjectName name, bool ifNotExists, bool orReplace)
    {
        if (catalog.Resolve(name.Name) is CatalogItem existing && !ifNotExists && !orReplace)
        {
            throw Binder.Error("42P07", $"{(existing.Kind == CatalogItemKind.Index ? "relation" : "relation")} \"{name.Name}\" already exists", name);
        }
    }

    private string PlanCreateView(ObjectName name, NodeList<string> columns, Query query, Statement statement, out RelationDesc desc, out RelationExpr expr)
    {
        bool orReplace = statement is CreateViewStatement { OrReplace: true } or CreateMaterializedViewStatement { OrReplace: true };
        bool ifNotExists = statement is CreateViewStatement { IfNotExists: true } or CreateMaterializedViewStatement { IfNotExists: true };
        CheckNameFree(name, ifNotExists, orReplace);
        (expr, ImmutableArray<string> names) = binder.Lower(binder.BindQuery(query));
        if (columns.Count > names.Length)
        {
            throw Binder.Error("42601", "CREATE VIEW specifies more column names than columns", statement);
        }
        ImmutableArray<string>.Builder renamed = names.ToBuilder();
        for (int i = 0; i < columns.Count; i++)
        {
            renamed[i] = columns[i];
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string column in renamed)
        {
            if (!seen.Add(column))
            {
                throw Binder.Error("42701", $"column \"{column}\" specified more than once", statement);
            }
        }
        if (ContainsParameter(expr))
        {
            throw Binder.Error("42P02", "there is no parameter $1", statement);
        }
        desc = new RelationDesc(renamed.ToImmutable(), expr.Type);
        return SqlPrinter.Print(statement);
    }

    private CreateIndexPlan PlanCreateIndex(CreateIndexStatement index)
    {
        CatalogItem on = binder.ResolveItem(index.On);
        if (on.Kind == CatalogItemKind.Index)
        {
            throw Binder.Error("42809", $"cannot create index on index \"{on.Name}\"", index.On);
        }
        if (index.Unique)
        {
            throw Binder.NotSupported("CREATE UNIQUE INDEX is", index);
        }
        var key = ImmutableArray.CreateBuilder<int>();
        var keyNames = new List<string>();
        if (index.IsDefault || index.Keys.Count == 0)
        {
            for (int c = 0; c < on.Desc.Arity; c++)
            {
                key.Add(c);
            }
        }
        foreach (OrderByItem item in index.Keys)
        {
            if (item.Expression is not Syntax.ColumnRef reference)
            {
                throw Binder.NotSupported("index keys other than columns are", item.Expression);
            }
            int column = Scope.Of(on.Name, on.Desc.Names, on.Desc.Type).Resolve(reference);
            key.Add(column);
            keyNames.Add(on.Desc.Names[column]);
        }
        string name;
        if (index.Name is not null)
        {
            name = index.Name;
            if (catalog.Resolve(name) is not null && !index.IfNotExists)
            {
                throw Binder.Error("42P07", $"relation \"{name}\" already exists", index);
            }
        }
        else
        {
            string stem = index.IsDefault || keyNames.Count == 0 ? $"{on.Name}_primary_idx" : $"{on.Name}_{string.Join('_', keyNames)}_idx";
            name = stem;
            for (int suffix = 1; catalog.Resolve(name) is not null; suffix++)
            {
                name = stem + suffix.ToString(CultureInfo.InvariantCulture);
            }
        }
        return new CreateIndexPlan(name, on.Id, key.ToImmutable(), index.IfNotExists);
    }

    private static CatalogItemKind KindOf(ObjectKind kind) => kind switch
    {
        ObjectKind.Table => CatalogItemKind.Table,
        ObjectKind.View => CatalogItemKind.View,
        ObjectKind.MaterializedView => CatalogItemKind.MaterializedView,
        _ => CatalogItemKind.Index,
    };

    private static string KindName(CatalogItemKind kind) => kind switch
    {
        CatalogItemKind.Table => "table",
        CatalogItemKind.View => "view",
        CatalogItemKind.MaterializedView => "materialized view",
        _ => "index",
    };

    private DropPlan PlanDrop(DropStatement drop)
    {
        CatalogItemKind kind = KindOf(drop.Kind);
        bool cascade = drop.Behavior == DropBehavior.Cascade;
        var named = new List<CatalogItem>();
        foreach (ObjectName name in drop.Names)
        {
            CatalogItem? item = catalog.Resolve(name.Name);
            if (item is null)
            {
                string message = $"{KindName(kind)} \"{name.Name}\" does not exist";
                if (drop.IfExists)
                {
                    binder.Notice(message + ", skipping");
                    continue;
                }
                throw Binder.Error(kind == CatalogItemKind.Index ? "42704" : "42P01", message, name);
            }
            if (item.Kind != kind)
            {
                throw Binder.Error("42809", $"\"{item.Name}\" is not a {KindName(kind)}", name, $"Use DROP {KindName(item.Kind).ToUpperInvariant()} to remove a {KindName(item.Kind)}.");
            }
            if (!named.Contains(item))
            {
                named.Add(item);
            }
        }

        // Everything that depends on the dropped items: indexes always go with their object; views and
        // materialized views only with CASCADE.
        var all = new List<CatalogItem>(catalog.Items);
        var dropping = new List<CatalogItem>(named);
        for (int i = 0; i < dropping.Count; i++)
        {
            CatalogItem target = dropping[i];
            foreach (CatalogItem other in all)
            {
                bool depends = other.IndexOn == target.Id || other.DependsOn.Contains(target.Id);
                if (!depends || dropping.Contains(other))
                {
                    continue;
                }
                if (other.Kind != CatalogItemKind.Index && !cascade)
                {
                    throw Binder.Error("2BP01", $"cannot drop {KindName(target.Kind)} {target.Name}: other objects depend on it", null,
                        $"{KindName(other.Kind)} {other.Name} depends on {KindName(target.Kind)} {target.Name}. Use DROP ... CASCADE to drop the dependent objects too.");
                }
                if (other.Kind != CatalogItemKind.Index)
                {
                    binder.Notice($"drop cascades to {KindName(other.Kind)} {other.Name}");
                }
                dropping.Add(other);
            }
        }

        // Dependents first: an item goes after every item that depends on it (found by depth-first order).
        var ordered = new List<GlobalId>();
        var visited = new HashSet<GlobalId>();
        void Visit(CatalogItem item, int depth)
        {
            if (depth > all.Count + 1)
            {
                throw new InvalidOperationException("the catalog's dependencies form a cycle");
            }
            if (!visited.Add(item.Id))
            {
                return;
            }
            foreach (CatalogItem other in dropping)
            {
                if (other.IndexOn == item.Id || other.DependsOn.Contains(item.Id))
                {
                    Visit(other, depth + 1);
                }
            }
            ordered.Add(item.Id);
        }
        foreach (CatalogItem item in dropping)
        {
            Visit(item, 0);
        }
        return new DropPlan(kind, [.. ordered], cascade);
    }

    private SubscribePlan PlanSubscribe(SubscribeStatement subscribe)
    {
        RelationExpr expr;
        ImmutableArray<string> names;
        if (subscribe.Query is not null)
        {
            (expr, names) = binder.Lower(binder.BindQuery(subscribe.Query));
        }
        else
        {
            ObjectName name = subscribe.Name ?? throw new InvalidOperationException("SUBSCRIBE without a name or query");
            CatalogItem item = binder.ResolveItem(name);
            if (item.Kind == CatalogItemKind.Index)
            {
                throw Binder.Error("42809", $"cannot subscribe to index \"{item.Name}\"", name);
            }
            expr = item.Kind == CatalogItemKind.View ? item.Definition! : new Get(item.Id, item.Desc.Type);
            names = item.Desc.Names;
        }
        bool snapshot = true;
        bool progress = false;
        foreach (WithOption option in subscribe.Options)
        {
            switch (option.Name)
            {
                case "snapshot":
                    snapshot = BoolOption(option);
                    break;
                case "progress":
                    progress = BoolOption(option);
                    break;
                default:
                    throw Binder.Error("42601", $"unrecognized SUBSCRIBE option \"{option.Name}\"", option);
            }
        }
        ulong? asOf = null;
        if (subscribe.AsOf is not null)
        {
            ScalarExpr bound = binder.BindExpr(subscribe.AsOf, new ExprContext(Scope.Empty, "AS OF"));
            ScalarExpr coerced = binder.TryCoerce(bound, SqlType.Numeric, CastContext.Implicit, subscribe.AsOf) ?? bound;
            asOf = coerced is Literal { Value.Kind: DatumKind.Decimal } literal && literal.Value.AsDecimal >= 0 && literal.Value.AsDecimal <= ulong.MaxValue
                && decimal.Truncate(literal.Value.AsDecimal) == literal.Value.AsDecimal
                ? (ulong)literal.Value.AsDecimal
                : throw Binder.Error("22023", "AS OF must be a non-negative integer constant", subscribe.AsOf);
        }
        return new SubscribePlan(expr, new RelationDesc(names, expr.Type), asOf, snapshot, progress);
    }

    private static bool BoolOption(WithOption option)
    {
        if (option.Value is null)
        {
            return true;
        }
        string text = OptionText(option.Value) ?? string.Empty;
        return text.ToLowerInvariant() switch
        {
            "true" or "on" or "1" or "t" or "yes" => true,
            "false" or "off" or "0" or "f" or "no" => false,
            _ => throw Binder.Error("22023", $"option \"{option.Name}\" requires a boolean value", option),
        };
    }

    private static string? OptionText(Expression value) => value switch
    {
        StringLiteral s => s.Value,
        IntegerLiteral i => i.Value.ToString(CultureInfo.InvariantCulture),
        NumericLiteral n => n.Text,
        BooleanLiteral b => b.Value ? "true" : "false",
        Syntax.ColumnRef c => string.Join('.', (IEnumerable<string>)c.Parts),
        UnaryOperation { Operator: "-" } u when OptionText(u.Operand) is string inner => "-" + inner,
        _ => null,
    };

    private static string ValueText(NodeList<Expression> values)
    {
        var parts = new List<string>(values.Count);
        foreach (Expression value in values)
        {
            parts.Add(OptionText(value) ?? throw Binder.Error("42601", "SET value must be a constant", value));
        }
        return string.Join(", ", parts);
    }

    private ShowObjectsPlan PlanShowObjects(ShowObjectsStatement show)
    {
        CatalogItemKind kind = show.Kind switch
        {
            ShowObjectKind.Tables => CatalogItemKind.Table,
            ShowObjectKind.Views => CatalogItemKind.View,
            ShowObjectKind.MaterializedViews => CatalogItemKind.MaterializedView,
            _ => CatalogItemKind.Index,
        };
        GlobalId? on = show.On is null ? null : binder.ResolveItem(show.On).Id;
        return new ShowObjectsPlan(kind, on);
    }

    private ShowColumnsPlan PlanShowColumns(ShowColumnsStatement show)
    {
        CatalogItem item = binder.ResolveItem(show.Table);
        return new ShowColumnsPlan(item.Id, item.Desc);
    }

    private ShowCreatePlan PlanShowCreate(ShowCreateStatement show)
    {
        CatalogItemKind kind = KindOf(show.Kind);
        CatalogItem item = binder.ResolveItem(show.Name);
        if (item.Kind != kind)
        {
            throw Binder.Error("42809", $"\"{item.Name}\" is not a {KindName(kind)}", show.Name);
        }
        return new ShowCreatePlan(kind, item.Id);
    }

    private Plan PlanCursorSource(Statement source) => source switch
    {
        SelectStatement select => PlanSelect(select.Query),
        SubscribeStatement subscribe => PlanSubscribe(subscribe),
        _ => throw Binder.NotSupported($"a cursor for {StatementName(source)} is", source),
    };

    private static FetchPlan PlanFetch(FetchStatement fetch)
    {
        long? timeoutMs = null;
        foreach (WithOption option in fetch.Options)
        {
            if (option.Name != "timeout")
            {
                throw Binder.Error("42601", $"unrecognized FETCH option \"{option.Name}\"", option);
            }
            string text = option.Value is null ? string.Empty : OptionText(option.Value) ?? string.Empty;
            timeoutMs = ParseDurationMs(text) ?? throw Binder.Error("22023", $"invalid FETCH timeout \"{text}\"", option);
        }
        return new FetchPlan(fetch.Cursor, fetch.Count, timeoutMs);
    }

    /// <summary>A duration such as <c>5s</c>, <c>100ms</c>, <c>1m</c> or a bare number of seconds, in milliseconds.</summary>
    private static long? ParseDurationMs(string text)
    {
        text = text.Trim().ToLowerInvariant();
        (string number, decimal scale) = text.EndsWith("ms", StringComparison.Ordinal) ? (text[..^2], 1m)
            : text.EndsWith('s') ? (text[..^1], 1000m)
            : text.EndsWith("min", StringComparison.Ordinal) ? (text[..^3], 60_000m)
            : text.EndsWith('m') ? (text[..^1], 60_000m)
            : (text, 1000m);
        if (!decimal.TryParse(number.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out decimal value) || value < 0 || value > 1_000_000_000m)
        {
            return null;
        }
        return (long)(value * scale);
    }

    private Plan PlanCopy(CopyStatement copy)
    {
        var options = ImmutableArray.CreateBuilder<CopyOption>(copy.Options.Count);
        foreach (WithOption option in copy.Options)
        {
            options.Add(new CopyOption(option.Name, option.Value is null ? null : OptionText(option.Value)));
        }
        if (copy.Direction == CopyDirection.FromStdin)
        {
            ObjectName name = copy.Table ?? throw Binder.Error("42601", "COPY FROM needs a table", copy);
            CatalogItem table = ResolveTable(name, "copy to");
            var columns = ImmutableArray.CreateBuilder<int>();
            if (copy.Columns.Count == 0)
            {
                columns.AddRange(Binder.Identity(table.Desc.Arity));
            }
            foreach (string column in copy.Columns)
            {
                int index = table.Desc.Names.IndexOf(column);
                if (index < 0)
                {
                    throw Binder.Error("42703", $"column \"{column}\" of relation \"{table.Name}\" does not exist", copy);
                }
                if (columns.Contains(index))
                {
                    throw Binder.Error("42701", $"column \"{column}\" specified more than once", copy);
                }
                columns.Add(index);
            }
            ImmutableArray<ScalarExpr?> defaults = table.Defaults.IsDefault ? [] : table.Defaults;
            return new CopyFromPlan(table.Id, table.Desc, columns.ToImmutable(), defaults, options.MoveToImmutable());
        }
        Plan inner;
        if (copy.Source is not null)
        {
            inner = PlanCursorSource(copy.Source);
        }
        else
        {
            ObjectName name = copy.Table ?? throw Binder.Error("42601", "COPY TO needs a table or a query", copy);
            CatalogItem item = binder.ResolveItem(name);
            RelationExpr expr = item.Kind == CatalogItemKind.View ? item.Definition! : new Get(item.Id, item.Desc.Type);
            var outputs = ImmutableArray.CreateBuilder<int>();
            var names = ImmutableArray.CreateBuilder<string>();
            if (copy.Columns.Count == 0)
            {
                outputs.AddRange(Binder.Identity(item.Desc.Arity));
                names.AddRange(item.Desc.Names);
            }
            foreach (string column in copy.Columns)
            {
                int index = item.Desc.Names.IndexOf(column);
                if (index < 0)
                {
                    throw Binder.Error("42703", $"column \"{column}\" of relation \"{item.Name}\" does not exist", copy);
                }
                outputs.Add(index);
                names.Add(column);
            }
            var projected = new Project(expr, outputs.ToImmutable());
            inner = new SelectPlan(projected, RowSetFinishing.Trivial(outputs.Count), new RelationDesc(names.ToImmutable(), projected.Type));
        }
        return new CopyToPlan(inner, options.MoveToImmutable());
    }

    private ExplainPlan PlanExplain(ExplainStatement explain)
    {
        Plan inner = PlanStatement(explain.Statement);
        RelationExpr? expr = inner switch
        {
            SelectPlan select => select.Expr,
            CreateViewPlan view => view.Expr,
            CreateMaterializedViewPlan view => view.Expr,
            SubscribePlan subscribe => subscribe.Expr,
            InsertPlan insert => insert.Rows,
            ReadThenWritePlan write => write.Selection,
            _ => null,
        };
        if (expr is null)
        {
            throw Binder.NotSupported($"EXPLAIN of {StatementName(explain.Statement)} is", explain);
        }
        return new ExplainPlan(inner, PlanText.Format(expr));
    }
}
