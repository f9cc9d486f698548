using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// DDL: CREATE TABLE, VIEW, MATERIALIZED VIEW and INDEX; DROP.
public sealed partial class Parser
{
    private Statement ParseCreate()
    {
        ExpectKeyword(Keyword.Create);
        bool orReplace = false;
        if (TryKeyword(Keyword.Or))
        {
            ExpectKeyword(Keyword.Replace);
            orReplace = true;
        }

        Token what = Current;
        if (what.Kind != TokenKind.Identifier)
        {
            throw SyntaxError();
        }

        switch (what.Keyword)
        {
            case Keyword.Table when !orReplace:
                return ParseCreateTable();
            case Keyword.View:
                return ParseCreateView(orReplace);
            case Keyword.Materialized:
                return ParseCreateMaterializedView(orReplace);
            case Keyword.Index or Keyword.Unique or Keyword.Default when !orReplace:
                return ParseCreateIndex();
            case Keyword.Temp or Keyword.Temporary or Keyword.Local or Keyword.Global or Keyword.Unlogged:
                throw NotSupported("temporary and unlogged objects");
            case Keyword.Recursive when PeekKeyword(1, Keyword.View):
                throw NotSupported("CREATE RECURSIVE VIEW");
            default:
                if (IsUnsupportedObjectKind(what))
                {
                    throw NotSupported("CREATE " + NameOf(what).ToUpperInvariant());
                }

                throw SyntaxError();
        }
    }

    /// <summary>Object kinds PostgreSQL or Materialize can create and drop that Kernel does not have.</summary>
    private bool IsUnsupportedObjectKind(Token token)
    {
        if (token.Kind != TokenKind.Identifier)
        {
            return false;
        }

        return token.Keyword switch
        {
            Keyword.Schema or Keyword.Database or Keyword.Type or Keyword.Role or Keyword.User or Keyword.Function
                or Keyword.Procedure or Keyword.Routine or Keyword.Sequence or Keyword.Extension or Keyword.Trigger
                or Keyword.Domain or Keyword.Aggregate or Keyword.Cast or Keyword.Collation or Keyword.Policy
                or Keyword.Publication or Keyword.Subscription or Keyword.Server or Keyword.Rule or Keyword.Tablespace
                or Keyword.Cluster or Keyword.Operator or Keyword.Group or Keyword.Statistics or Keyword.Conversion
                or Keyword.Transform or Keyword.Owned => true,
            Keyword.Foreign => PeekKeyword(1, Keyword.Table) || PeekKeyword(1, Keyword.Data),
            Keyword.Event => PeekKeyword(1, Keyword.Trigger),
            Keyword.Access => PeekKeyword(1, Keyword.Method),
            Keyword.Text => PeekKeyword(1, Keyword.Search),
            Keyword.Language or Keyword.Procedural or Keyword.Trusted => true,
            Keyword.None => token.Value is "source" or "sink" or "connection" or "secret" or "replica",
            _ => false,
        };
    }

    private bool ParseIfNotExists()
    {
        // IF is an unreserved keyword, so it may also be the object's name.
        if (!AtKeyword(Keyword.If) || !PeekKeyword(1, Keyword.Not))
        {
            return false;
        }

        Advance();
        if (!AtPlainNot())
        {
            throw SyntaxError();
        }

        Advance();
        ExpectKeyword(Keyword.Exists);
        return true;
    }

    private bool ParseIfExists()
    {
        if (!AtKeyword(Keyword.If) || !PeekKeyword(1, Keyword.Exists))
        {
            return false;
        }

        Advance();
        ExpectKeyword(Keyword.Exists);
        return true;
    }

    private CreateTableStatement ParseCreateTable()
    {
        ExpectKeyword(Keyword.Table);
        bool ifNotExists = ParseIfNotExists();
        ObjectName name = ParseQualifiedName();
        if (AtKeyword(Keyword.As))
        {
            throw NotSupported("CREATE TABLE ... AS");
        }

        if (AtKeyword(Keyword.Partition) && PeekKeyword(1, Keyword.Of))
        {
            throw NotSupported("partitions");
        }

        Expect(TokenKind.LeftParen);
        var columns = new List<ColumnDefinition>();
        var constraints = new List<TableConstraint>();
        if (!At(TokenKind.RightParen))
        {
            do
            {
                if (IsTableConstraintStart())
                {
                    constraints.Add(ParseTableConstraint());
                }
                else if (AtKeyword(Keyword.Like))
                {
                    throw NotSupported("CREATE TABLE ... (LIKE ...)");
                }
                else
                {
                    columns.Add(ParseColumnDefinition());
                }
            }
            while (TryToken(TokenKind.Comma));
        }

        Expect(TokenKind.RightParen);
        if (Current.Kind == TokenKind.Identifier
            && Current.Keyword is Keyword.Inherits or Keyword.Partition or Keyword.With or Keyword.On
                or Keyword.Tablespace or Keyword.Using or Keyword.Without)
        {
            throw NotSupported("CREATE TABLE options");
        }

        return new CreateTableStatement(name, ifNotExists, NodeList.From(columns), NodeList.From(constraints));
    }

    private bool IsTableConstraintStart() =>
        Current.Kind == TokenKind.Identifier
        && (Current.Keyword is Keyword.Constraint or Keyword.Primary or Keyword.Unique or Keyword.Check or Keyword.Foreign
            || (Current.Keyword == Keyword.Exclude && Peek().Kind == TokenKind.LeftParen));

    private TableConstraint ParseTableConstraint()
    {
        Token start = Current;
        string? name = TryKeyword(Keyword.Constraint) ? ParseColumnId() : null;
        TableConstraintKind kind;
        if (TryKeyword(Keyword.Primary))
        {
            ExpectKeyword(Keyword.Key);
            kind = TableConstraintKind.PrimaryKey;
        }
        else if (TryKeyword(Keyword.Unique))
        {
            if (AtKeyword(Keyword.Nulls))
            {
                throw NotSupported("UNIQUE NULLS [NOT] DISTINCT");
            }

            kind = TableConstraintKind.Unique;
        }
        else if (AtKeyword(Keyword.Check) || AtKeyword(Keyword.Foreign) || AtKeyword(Keyword.Exclude))
        {
            throw NotSupported(KeywordTable.Text(Current.Keyword).ToUpperInvariant() + " constraints");
        }
        else
        {
            throw SyntaxError();
        }

        NodeList<string> columns = ParseParenthesizedColumnList();
        if (AtKeyword(Keyword.Deferrable) || AtKeyword(Keyword.Initially) || AtKeyword(Keyword.Not))
        {
            Token attribute = Current;
            if (TryKeyword(Keyword.Not))
            {
                ExpectKeyword(Keyword.Deferrable);
            }

            throw NotSupported("constraint timing (DEFERRABLE, INITIALLY)", attribute);
        }

        return new TableConstraint(kind, columns, name) { Location = new SourceLocation(start.Offset) };
    }

    private ColumnDefinition ParseColumnDefinition()
    {
        Token start = Current;
        string name = ParseColumnId();
        TypeName type = ParseTypeName();
        var constraints = new List<ColumnConstraint>();
        while (true)
        {
            Token constraintStart = Current;
            string? constraintName = TryKeyword(Keyword.Constraint) ? ParseColumnId() : null;
            ColumnConstraint? constraint = ParseColumnConstraint(constraintName, constraintStart);
            if (constraint is null)
            {
                if (constraintName is not null)
                {
                    throw SyntaxError();
                }

                break;
            }

            constraints.Add(constraint);
        }

        return new ColumnDefinition(name, type, NodeList.From(constraints)) { Location = new SourceLocation(start.Offset) };
    }

    private ColumnConstraint? ParseColumnConstraint(string? name, Token start)
    {
        var location = new SourceLocation(start.Offset);
        Token token = Current;
        if (token.Kind != TokenKind.Identifier)
        {
            return null;
        }

        switch (token.Keyword)
        {
            case Keyword.Not:
                if (!AtPlainNot())
                {
                    throw SyntaxError();
                }

                Advance();
                if (AtKeyword(Keyword.Deferrable))
                {
                    throw NotSupported("NOT DEFERRABLE in a column definition");
                }

                ExpectKeyword(Keyword.Null);
                return new ColumnConstraint(ColumnConstraintKind.NotNull, null, name) { Location = location };
            case Keyword.Null:
                Advance();
                return new ColumnConstraint(ColumnConstraintKind.Null, null, name) { Location = location };
            case Keyword.Default:
                Advance();
                return new ColumnConstraint(ColumnConstraintKind.Default, ParseExpression(0, restricted: true), name)
                {
                    Location = location,
                };
            case Keyword.Primary:
                Advance();
                ExpectKeyword(Keyword.Key);
                return new ColumnConstraint(ColumnConstraintKind.PrimaryKey, null, name) { Location = location };
            case Keyword.Unique:
                Advance();
                if (AtKeyword(Keyword.Nulls))
                {
                    throw NotSupported("UNIQUE NULLS [NOT] DISTINCT");
                }

                return new ColumnConstraint(ColumnConstraintKind.Unique, null, name) { Location = location };
            case Keyword.Check or Keyword.References or Keyword.Generated or Keyword.Collate
                or Keyword.Deferrable or Keyword.Initially:
                throw NotSupported(KeywordTable.Text(token.Keyword).ToUpperInvariant() + " in a column definition");
            default:
                return null;
        }
    }

    private CreateViewStatement ParseCreateView(bool orReplace)
    {
        ExpectKeyword(Keyword.View);
        bool ifNotExists = ParseIfNotExists();
        ObjectName name = ParseQualifiedName();
        NodeList<string> columns = At(TokenKind.LeftParen) ? ParseParenthesizedColumnList() : NodeList<string>.Empty;
        if (AtKeyword(Keyword.With))
        {
            throw NotSupported("view options");
        }

        ExpectKeyword(Keyword.As);
        Query query = ParseQuery();
        if (AtKeyword(Keyword.With))
        {
            throw NotSupported("WITH CHECK OPTION");
        }

        return new CreateViewStatement(name, columns, query, orReplace, ifNotExists);
    }

    private CreateMaterializedViewStatement ParseCreateMaterializedView(bool orReplace)
    {
        ExpectKeyword(Keyword.Materialized);
        ExpectKeyword(Keyword.View);
        bool ifNotExists = ParseIfNotExists();
        ObjectName name = ParseQualifiedName();
        NodeList<string> columns = At(TokenKind.LeftParen) ? ParseParenthesizedColumnList() : NodeList<string>.Empty;
        if (AtKeyword(Keyword.In) && PeekKeyword(1, Keyword.Cluster))
        {
            throw NotSupported("IN CLUSTER");
        }

        if (AtKeyword(Keyword.With) || AtKeyword(Keyword.Using) || AtKeyword(Keyword.Tablespace))
        {
            throw NotSupported("materialized view options");
        }

        ExpectKeyword(Keyword.As);
        Query query = ParseQuery();
        if (AtKeyword(Keyword.With))
        {
            throw NotSupported("WITH [NO] DATA");
        }

        return new CreateMaterializedViewStatement(name, columns, query, orReplace, ifNotExists);
    }

    private CreateIndexStatement ParseCreateIndex()
    {
        bool unique = TryKeyword(Keyword.Unique);
        bool isDefault = !unique && TryKeyword(Keyword.Default);
        ExpectKeyword(Keyword.Index);
        if (AtKeyword(Keyword.Concurrently))
        {
            throw NotSupported("CREATE INDEX CONCURRENTLY");
        }

        bool ifNotExists = false;
        string? name = null;
        if (AtKeyword(Keyword.If) && PeekKeyword(1, Keyword.Not))
        {
            ifNotExists = ParseIfNotExists();
            name = ParseColumnId();
        }
        else if (!AtKeyword(Keyword.On) && !(AtKeyword(Keyword.In) && PeekKeyword(1, Keyword.Cluster)))
        {
            name = ParseColumnId();
        }

        if (AtKeyword(Keyword.In) && PeekKeyword(1, Keyword.Cluster))
        {
            throw NotSupported("IN CLUSTER");
        }

        ExpectKeyword(Keyword.On);
        if (AtKeyword(Keyword.Only))
        {
            throw NotSupported("ONLY");
        }

        ObjectName on = ParseQualifiedName();
        TryToken(TokenKind.Star);
        if (AtKeyword(Keyword.Using))
        {
            throw NotSupported("index access methods");
        }

        var keys = new List<OrderByItem>();
        if (!isDefault)
        {
            Expect(TokenKind.LeftParen);
            do
            {
                keys.Add(ParseOrderByItem());
                if (IsColumnId(Current) && !AtKeyword(Keyword.Nulls))
                {
                    throw NotSupported("operator classes in index keys");
                }
            }
            while (TryToken(TokenKind.Comma));

            Expect(TokenKind.RightParen);
        }

        if (Current.Kind == TokenKind.Identifier
            && Current.Keyword is Keyword.Include or Keyword.With or Keyword.Where or Keyword.Tablespace or Keyword.Nulls)
        {
            throw NotSupported("index options");
        }

        return new CreateIndexStatement(name, on, NodeList.From(keys), isDefault, unique, ifNotExists);
    }

    private DropStatement ParseDrop()
    {
        ExpectKeyword(Keyword.Drop);
        Token what = Current;
        ObjectKind kind;
        if (TryKeyword(Keyword.Table))
        {
            kind = ObjectKind.Table;
        }
        else if (TryKeyword(Keyword.View))
        {
            kind = ObjectKind.View;
        }
        else if (TryKeywords(Keyword.Materialized, Keyword.View))
        {
            kind = ObjectKind.MaterializedView;
        }
        else if (TryKeyword(Keyword.Index))
        {
            kind = ObjectKind.Index;
            if (AtKeyword(Keyword.Concurrently))
            {
                throw NotSupported("DROP INDEX CONCURRENTLY");
            }
        }
        else if (IsUnsupportedObjectKind(what))
        {
            throw NotSupported("DROP " + NameOf(what).ToUpperInvariant());
        }
        else
        {
            throw SyntaxError();
        }

        bool ifExists = ParseIfExists();
        var names = new List<ObjectName>();
        do
        {
            names.Add(ParseQualifiedName());
        }
        while (TryToken(TokenKind.Comma));

        DropBehavior behavior = DropBehavior.Default;
        if (TryKeyword(Keyword.Cascade))
        {
            behavior = DropBehavior.Cascade;
        }
        else if (TryKeyword(Keyword.Restrict))
        {
            behavior = DropBehavior.Restrict;
        }

        return new DropStatement(kind, ifExists, NodeList.From(names), behavior);
    }
}
