using System;
using System.Globalization;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Printing;

// Statements other than queries.
public sealed partial class SqlPrinter
{
    private void Statement(Statement statement)
    {
        switch (statement)
        {
            case SelectStatement select:
                Query(select.Query);
                break;
            case InsertStatement insert:
                Insert(insert);
                break;
            case UpdateStatement update:
                Update(update);
                break;
            case DeleteStatement delete:
                _out.Append("DELETE FROM ");
                ObjectName(delete.Table);
                TableAlias(delete.Alias);
                Where(delete.Where);
                Returning(delete.Returning);
                break;
            case CreateTableStatement createTable:
                CreateTable(createTable);
                break;
            case CreateViewStatement view:
                _out.Append(view.OrReplace ? "CREATE OR REPLACE VIEW " : "CREATE VIEW ");
                ViewTail(view.IfNotExists, view.Name, view.Columns, view.Query);
                break;
            case CreateMaterializedViewStatement view:
                _out.Append(view.OrReplace ? "CREATE OR REPLACE MATERIALIZED VIEW " : "CREATE MATERIALIZED VIEW ");
                ViewTail(view.IfNotExists, view.Name, view.Columns, view.Query);
                break;
            case CreateIndexStatement index:
                CreateIndex(index);
                break;
            case DropStatement drop:
                Drop(drop);
                break;
            case SubscribeStatement subscribe:
                Subscribe(subscribe);
                break;
            case CopyStatement copy:
                Copy(copy);
                break;
            case DeclareCursorStatement declare:
                _out.Append("DECLARE ");
                Name(declare.Name, NameContext.ColumnId);
                _out.Append(declare.WithHold ? " CURSOR WITH HOLD FOR " : " CURSOR FOR ");
                Statement(declare.Source);
                break;
            case FetchStatement fetch:
                _out.Append("FETCH ");
                _out.Append(fetch.Count is long count ? "FORWARD " + count.ToString(CultureInfo.InvariantCulture) : "ALL");
                _out.Append(" FROM ");
                Name(fetch.Cursor, NameContext.ColumnId);
                WithOptions(fetch.Options, equals: true);
                break;
            case CloseStatement close:
                _out.Append("CLOSE ");
                if (close.Cursor is null)
                {
                    _out.Append("ALL");
                }
                else
                {
                    Name(close.Cursor, NameContext.ColumnId);
                }

                break;
            case ShowObjectsStatement show:
                ShowObjects(show);
                break;
            case ShowColumnsStatement show:
                _out.Append("SHOW COLUMNS FROM ");
                ObjectName(show.Table);
                break;
            case ShowCreateStatement show:
                _out.Append("SHOW CREATE ").Append(ObjectKindText(show.Kind)).Append(' ');
                ObjectName(show.Name);
                break;
            case ShowVariableStatement show:
                _out.Append("SHOW ");
                if (show.Name == "all")
                {
                    _out.Append("ALL");
                }
                else
                {
                    VariableName(show.Name, "tables", "views", "materialized", "indexes", "columns", "create", "time", "transaction", "session");
                }

                break;
            case SetVariableStatement set:
                SetVariable(set);
                break;
            case ResetVariableStatement reset:
                _out.Append("RESET ");
                if (reset.Name is null)
                {
                    _out.Append("ALL");
                }
                else
                {
                    VariableName(reset.Name, "all", "time", "transaction", "session");
                }

                break;
            case BeginStatement begin:
                Begin(begin);
                break;
            case CommitStatement:
                _out.Append("COMMIT");
                break;
            case RollbackStatement:
                _out.Append("ROLLBACK");
                break;
            case ExplainStatement explain:
                Explain(explain);
                break;
            case DiscardStatement discard:
                _out.Append("DISCARD ").Append(discard.Target switch
                {
                    DiscardTarget.All => "ALL",
                    DiscardTarget.Plans => "PLANS",
                    DiscardTarget.Sequences => "SEQUENCES",
                    _ => "TEMP",
                });
                break;
            case PrepareStatement prepare:
                Prepare(prepare);
                break;
            case ExecuteStatement execute:
                _out.Append("EXECUTE ");
                Name(execute.Name, NameContext.ColumnId);
                if (execute.Arguments.Count > 0)
                {
                    _out.Append('(');
                    ExpressionList(execute.Arguments);
                    _out.Append(')');
                }

                break;
            case DeallocateStatement deallocate:
                _out.Append("DEALLOCATE ");
                if (deallocate.Name is null)
                {
                    _out.Append("ALL");
                }
                else
                {
                    VariableName(deallocate.Name, "all", "prepare");
                }

                break;
            default:
                throw new ArgumentException($"unknown statement {statement.GetType().Name}", nameof(statement));
        }
    }

    private void Insert(InsertStatement insert)
    {
        _out.Append("INSERT INTO ");
        ObjectName(insert.Table);
        if (insert.Alias is not null)
        {
            _out.Append(" AS ");
            Name(insert.Alias, NameContext.ColumnId);
        }

        if (insert.Columns.Count > 0)
        {
            _out.Append(' ');
            NameList(insert.Columns);
        }

        if (insert.Source is null)
        {
            _out.Append(" DEFAULT VALUES");
        }
        else
        {
            _out.Append(' ');
            Query(insert.Source);
        }

        Returning(insert.Returning);
    }

    private void Update(UpdateStatement update)
    {
        _out.Append("UPDATE ");
        ObjectName(update.Table);
        TableAlias(update.Alias);
        _out.Append(" SET ");
        for (int i = 0; i < update.Assignments.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            Name(update.Assignments[i].Column, NameContext.ColumnId);
            _out.Append(" = ");
            Expression(update.Assignments[i].Value, 0);
        }

        Where(update.Where);
        Returning(update.Returning);
    }

    private void TableAlias(string? alias)
    {
        if (alias is not null)
        {
            _out.Append(" AS ");
            Name(alias, NameContext.ColumnId);
        }
    }

    private void Where(Expression? where)
    {
        if (where is not null)
        {
            _out.Append(" WHERE ");
            Expression(where, 0);
        }
    }

    private void Returning(NodeList<SelectItem> returning)
    {
        if (returning.Count > 0)
        {
            _out.Append(" RETURNING ");
            SelectItems(returning);
        }
    }

    private void CreateTable(CreateTableStatement table)
    {
        _out.Append(table.IfNotExists ? "CREATE TABLE IF NOT EXISTS " : "CREATE TABLE ");
        ObjectName(table.Name);
        _out.Append(" (");
        bool first = true;
        foreach (ColumnDefinition column in table.Columns)
        {
            if (!first)
            {
                _out.Append(", ");
            }

            first = false;
            Name(column.Name, NameContext.ColumnId);
            _out.Append(' ');
            Type(column.Type);
            foreach (ColumnConstraint constraint in column.Constraints)
            {
                ConstraintName(constraint.Name);
                switch (constraint.Kind)
                {
                    case ColumnConstraintKind.NotNull:
                        _out.Append(" NOT NULL");
                        break;
                    case ColumnConstraintKind.Null:
                        _out.Append(" NULL");
                        break;
                    case ColumnConstraintKind.Default:
                        // DEFAULT takes a restricted expression, which NOT NULL may follow.
                        _out.Append(" DEFAULT ");
                        RestrictedExpression(constraint.Default!);
                        break;
                    case ColumnConstraintKind.PrimaryKey:
                        _out.Append(" PRIMARY KEY");
                        break;
                    default:
                        _out.Append(" UNIQUE");
                        break;
                }
            }
        }

        foreach (TableConstraint constraint in table.Constraints)
        {
            if (!first)
            {
                _out.Append(", ");
            }

            first = false;
            if (constraint.Name is not null)
            {
                _out.Append("CONSTRAINT ");
                Name(constraint.Name, NameContext.ColumnId);
                _out.Append(' ');
            }

            _out.Append(constraint.Kind == TableConstraintKind.PrimaryKey ? "PRIMARY KEY " : "UNIQUE ");
            NameList(constraint.Columns);
        }

        _out.Append(')');
    }

    private void ConstraintName(string? name)
    {
        if (name is not null)
        {
            _out.Append(" CONSTRAINT ");
            Name(name, NameContext.ColumnId);
        }
    }

    private void ViewTail(bool ifNotExists, ObjectName name, NodeList<string> columns, Query query)
    {
        if (ifNotExists)
        {
            _out.Append("IF NOT EXISTS ");
        }

        ObjectName(name);
        if (columns.Count > 0)
        {
            _out.Append(' ');
            NameList(columns);
        }

        _out.Append(" AS ");
        Query(query);
    }

    private void CreateIndex(CreateIndexStatement index)
    {
        _out.Append("CREATE ");
        if (index.Unique)
        {
            _out.Append("UNIQUE ");
        }

        if (index.IsDefault)
        {
            _out.Append("DEFAULT ");
        }

        _out.Append("INDEX ");
        if (index.IfNotExists)
        {
            _out.Append("IF NOT EXISTS ");
        }

        if (index.Name is not null)
        {
            Name(index.Name, NameContext.ColumnId);
            _out.Append(' ');
        }

        _out.Append("ON ");
        ObjectName(index.On);
        if (index.Keys.Count > 0)
        {
            _out.Append(" (");
            OrderByList(index.Keys);
            _out.Append(')');
        }
    }

    private static string ObjectKindText(ObjectKind kind) => kind switch
    {
        ObjectKind.Table => "TABLE",
        ObjectKind.View => "VIEW",
        ObjectKind.MaterializedView => "MATERIALIZED VIEW",
        _ => "INDEX",
    };

    private void Drop(DropStatement drop)
    {
        _out.Append("DROP ").Append(ObjectKindText(drop.Kind)).Append(drop.IfExists ? " IF EXISTS " : " ");
        for (int i = 0; i < drop.Names.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            ObjectName(drop.Names[i]);
        }

        _out.Append(drop.Behavior switch
        {
            DropBehavior.Cascade => " CASCADE",
            DropBehavior.Restrict => " RESTRICT",
            _ => string.Empty,
        });
    }

    private void Subscribe(SubscribeStatement subscribe)
    {
        _out.Append("SUBSCRIBE ");
        if (subscribe.Query is not null)
        {
            _out.Append('(');
            Query(subscribe.Query);
            _out.Append(')');
        }
        else if (subscribe.Name is not null)
        {
            ObjectName(subscribe.Name);
        }

        WithOptions(subscribe.Options, equals: true);
        if (subscribe.AsOf is not null)
        {
            _out.Append(" AS OF ");
            Expression(subscribe.AsOf, 0);
        }
    }

    private void Copy(CopyStatement copy)
    {
        _out.Append("COPY ");
        if (copy.Source is not null)
        {
            _out.Append('(');
            Statement(copy.Source);
            _out.Append(')');
        }
        else if (copy.Table is not null)
        {
            ObjectName(copy.Table);
            if (copy.Columns.Count > 0)
            {
                _out.Append(' ');
                NameList(copy.Columns);
            }
        }

        _out.Append(copy.Direction == CopyDirection.FromStdin ? " FROM STDIN" : " TO STDOUT");
        WithOptions(copy.Options, equals: false);
    }

    /// <summary><c> WITH (name [=] value, ...)</c>, or nothing for an empty list.</summary>
    private void WithOptions(NodeList<WithOption> options, bool equals)
    {
        if (options.Count == 0)
        {
            return;
        }

        _out.Append(" WITH ");
        OptionList(options, equals);
    }

    private void OptionList(NodeList<WithOption> options, bool equals)
    {
        _out.Append('(');
        for (int i = 0; i < options.Count; i++)
        {
            if (i > 0)
            {
                _out.Append(", ");
            }

            WithOption option = options[i];
            string[] words = option.Name.Split(' ');
            for (int w = 0; w < words.Length; w++)
            {
                if (w > 0)
                {
                    _out.Append(' ');
                }

                Name(words[w], NameContext.ColumnLabel);
            }

            if (option.Value is not null)
            {
                _out.Append(equals || words.Length > 1 ? " = " : " ");
                Expression(option.Value, 0);
            }
        }

        _out.Append(')');
    }

    private void ShowObjects(ShowObjectsStatement show)
    {
        _out.Append("SHOW ").Append(show.Kind switch
        {
            ShowObjectKind.Tables => "TABLES",
            ShowObjectKind.Views => "VIEWS",
            ShowObjectKind.MaterializedViews => "MATERIALIZED VIEWS",
            _ => "INDEXES",
        });
        if (show.On is not null)
        {
            _out.Append(" ON ");
            ObjectName(show.On);
        }
        else if (show.From is not null)
        {
            _out.Append(" FROM ");
            ObjectName(show.From);
        }
    }

    /// <summary>A dotted variable or object name; a first part that is one of <paramref name="special"/> is quoted.</summary>
    private void VariableName(string name, params ReadOnlySpan<string> special)
    {
        string[] parts = name.Split('.');
        for (int i = 0; i < parts.Length; i++)
        {
            if (i > 0)
            {
                _out.Append('.');
            }

            if (i == 0 && special.Contains(parts[0]))
            {
                _out.Append('"').Append(parts[0]).Append('"');
            }
            else
            {
                Name(parts[i], NameContext.ColumnId);
            }
        }
    }

    private void SetVariable(SetVariableStatement set)
    {
        _out.Append(set.Local ? "SET LOCAL " : "SET ");
        VariableName(set.Name, "time", "schema", "names", "transaction", "role", "constraints", "session", "local");
        if (set.IsDefault)
        {
            _out.Append(" = DEFAULT");
            return;
        }

        _out.Append(" = ");
        ExpressionList(set.Values);
    }

    private void Begin(BeginStatement begin)
    {
        _out.Append("BEGIN");
        for (int i = 0; i < begin.Modes.Count; i++)
        {
            _out.Append(i == 0 ? " " : ", ").Append(begin.Modes[i] switch
            {
                IsolationLevelMode isolation => "ISOLATION LEVEL " + isolation.Level switch
                {
                    IsolationLevel.ReadUncommitted => "READ UNCOMMITTED",
                    IsolationLevel.ReadCommitted => "READ COMMITTED",
                    IsolationLevel.RepeatableRead => "REPEATABLE READ",
                    IsolationLevel.Serializable => "SERIALIZABLE",
                    _ => "STRICT SERIALIZABLE",
                },
                AccessMode access => access.ReadOnly ? "READ ONLY" : "READ WRITE",
                DeferrableMode deferrable => deferrable.Deferrable ? "DEFERRABLE" : "NOT DEFERRABLE",
                _ => throw new ArgumentException("unknown transaction mode", nameof(begin)),
            });
        }
    }

    private void Explain(ExplainStatement explain)
    {
        _out.Append("EXPLAIN ");
        if (explain.Stage is null)
        {
            if (explain.Options.Count > 0)
            {
                OptionList(explain.Options, equals: false);
                _out.Append(' ');
            }
        }
        else
        {
            _out.Append(explain.Stage.ToUpperInvariant());
            WithOptions(explain.Options, equals: true);
            if (explain.Format is not null)
            {
                _out.Append(" AS ").Append(explain.Format.ToUpperInvariant());
            }

            _out.Append(" FOR ");
        }

        Statement(explain.Statement);
    }

    private void Prepare(PrepareStatement prepare)
    {
        _out.Append("PREPARE ");
        Name(prepare.Name, NameContext.ColumnId);
        if (prepare.ParameterTypes.Count > 0)
        {
            _out.Append(" (");
            for (int i = 0; i < prepare.ParameterTypes.Count; i++)
            {
                if (i > 0)
                {
                    _out.Append(", ");
                }

                Type(prepare.ParameterTypes[i]);
            }

            _out.Append(')');
        }

        _out.Append(" AS ");
        Statement(prepare.Statement);
    }
}
