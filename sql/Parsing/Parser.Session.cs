using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// Session and utility statements: SHOW, SET, RESET, transactions, EXPLAIN, DISCARD, PREPARE, EXECUTE, DEALLOCATE.
public sealed partial class Parser
{
    private Statement ParseShow()
    {
        ExpectKeyword(Keyword.Show);
        Token token = Current;
        if (token.Kind == TokenKind.Identifier)
        {
            switch (token.Keyword)
            {
                case Keyword.Tables:
                    Advance();
                    return ParseShowObjects(ShowObjectKind.Tables);
                case Keyword.Views:
                    Advance();
                    return ParseShowObjects(ShowObjectKind.Views);
                case Keyword.Materialized when PeekKeyword(1, Keyword.Views):
                    Advance();
                    Advance();
                    return ParseShowObjects(ShowObjectKind.MaterializedViews);
                case Keyword.Indexes:
                    Advance();
                    return ParseShowObjects(ShowObjectKind.Indexes);
                case Keyword.Columns when PeekKeyword(1, Keyword.From) || PeekKeyword(1, Keyword.In):
                    Advance();
                    Advance();
                    return new ShowColumnsStatement(ParseQualifiedName());
                case Keyword.Create:
                {
                    Advance();
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
                    else
                    {
                        ExpectKeyword(Keyword.Index);
                        kind = ObjectKind.Index;
                    }

                    return new ShowCreateStatement(kind, ParseQualifiedName());
                }

                case Keyword.All:
                    Advance();
                    return new ShowVariableStatement("all");
                case Keyword.Time when PeekKeyword(1, Keyword.Zone):
                    Advance();
                    Advance();
                    return new ShowVariableStatement("timezone");
                case Keyword.Transaction when PeekKeyword(1, Keyword.Isolation):
                    Advance();
                    Advance();
                    ExpectKeyword(Keyword.Level);
                    return new ShowVariableStatement("transaction_isolation");
                case Keyword.Session when PeekKeyword(1, Keyword.Authorization):
                    Advance();
                    Advance();
                    return new ShowVariableStatement("session_authorization");
            }
        }

        return new ShowVariableStatement(ParseVariableName());
    }

    private ShowObjectsStatement ParseShowObjects(ShowObjectKind kind)
    {
        ObjectName? from = null;
        ObjectName? on = null;
        if (kind == ShowObjectKind.Indexes && TryKeyword(Keyword.On))
        {
            on = ParseQualifiedName();
        }
        else if (TryKeyword(Keyword.From) || TryKeyword(Keyword.In))
        {
            if (kind == ShowObjectKind.Indexes && AtKeyword(Keyword.Cluster))
            {
                throw NotSupported("SHOW INDEXES IN CLUSTER");
            }

            from = ParseQualifiedName();
        }

        if (AtKeyword(Keyword.Like) || AtKeyword(Keyword.Where))
        {
            throw NotSupported("filters on SHOW");
        }

        return new ShowObjectsStatement(kind, from, on);
    }

    /// <summary>A configuration variable name: <c>ColId ('.' ColId)*</c>, joined with dots.</summary>
    private string ParseVariableName()
    {
        string name = ParseColumnId();
        while (TryToken(TokenKind.Dot))
        {
            name = name + "." + ParseColumnId();
        }

        return name;
    }

    private SetVariableStatement ParseSet()
    {
        ExpectKeyword(Keyword.Set);

        // LOCAL and SESSION qualify what follows, unless they are the variable's name (SET local = 1).
        bool local = false;
        bool nameFollows = Peek().Kind is TokenKind.Equals or TokenKind.Dot || PeekKeyword(1, Keyword.To);
        if (!nameFollows && TryKeyword(Keyword.Local))
        {
            local = true;
        }
        else if (!nameFollows && AtKeyword(Keyword.Session)
                 && !PeekKeyword(1, Keyword.Characteristics) && !PeekKeyword(1, Keyword.Authorization))
        {
            Advance();
        }

        // Words with SET syntax of their own are still variable names when '=' or TO follows.
        Token token = Current;
        bool assignment = Peek().Kind == TokenKind.Equals || PeekKeyword(1, Keyword.To);
        if (token.Kind == TokenKind.Identifier && !assignment)
        {
            switch (token.Keyword)
            {
                case Keyword.Time when PeekKeyword(1, Keyword.Zone):
                {
                    Advance();
                    Advance();
                    if (TryKeyword(Keyword.Default) || TryKeyword(Keyword.Local))
                    {
                        return new SetVariableStatement("timezone", NodeList<Expression>.Empty, local);
                    }

                    if (AtKeyword(Keyword.Interval))
                    {
                        throw NotSupported("SET TIME ZONE INTERVAL");
                    }

                    // A zone is a string, a number or a plain identifier, not a keyword.
                    if (Current.Kind == TokenKind.Identifier && Current.Keyword != Keyword.None)
                    {
                        throw SyntaxError();
                    }

                    return new SetVariableStatement("timezone", [ParseOptionValue()], local);
                }

                case Keyword.Schema when Peek().Kind == TokenKind.String:
                {
                    Advance();
                    Token schema = Expect(TokenKind.String);
                    return new SetVariableStatement("search_path", [new StringLiteral(schema.Value!) { Location = new SourceLocation(schema.Offset) }], local);
                }

                case Keyword.Names when Peek().Kind is TokenKind.String or TokenKind.Semicolon or TokenKind.EndOfInput || PeekKeyword(1, Keyword.Default):
                {
                    Advance();
                    if (TryKeyword(Keyword.Default) || Current.Kind is TokenKind.EndOfInput or TokenKind.Semicolon)
                    {
                        return new SetVariableStatement("client_encoding", NodeList<Expression>.Empty, local);
                    }

                    Token encoding = Expect(TokenKind.String);
                    return new SetVariableStatement("client_encoding", [new StringLiteral(encoding.Value!) { Location = new SourceLocation(encoding.Offset) }], local);
                }
                case Keyword.Transaction or Keyword.Role or Keyword.Constraints:
                    throw NotSupported("SET " + KeywordTable.Text(token.Keyword).ToUpperInvariant());
                case Keyword.Session:
                    throw NotSupported("SET SESSION " + NameOf(Peek()).ToUpperInvariant());
            }
        }

        string name = ParseVariableName();
        if (AtKeyword(Keyword.From))
        {
            Token from = Advance();
            ExpectKeyword(Keyword.Current);
            throw NotSupported("SET ... FROM CURRENT", from);
        }

        if (!TryKeyword(Keyword.To))
        {
            Expect(TokenKind.Equals);
        }

        if (TryKeyword(Keyword.Default))
        {
            return new SetVariableStatement(name, NodeList<Expression>.Empty, local);
        }

        var values = new List<Expression>();
        do
        {
            values.Add(ParseOptionValue());
        }
        while (TryToken(TokenKind.Comma));

        return new SetVariableStatement(name, NodeList.From(values), local);
    }

    private ResetVariableStatement ParseReset()
    {
        ExpectKeyword(Keyword.Reset);
        if (TryKeyword(Keyword.All))
        {
            return new ResetVariableStatement(null);
        }

        if (TryKeywords(Keyword.Time, Keyword.Zone))
        {
            return new ResetVariableStatement("timezone");
        }

        if (TryKeywords(Keyword.Transaction, Keyword.Isolation))
        {
            ExpectKeyword(Keyword.Level);
            return new ResetVariableStatement("transaction_isolation");
        }

        if (AtKeyword(Keyword.Session) && PeekKeyword(1, Keyword.Authorization))
        {
            throw NotSupported("RESET SESSION AUTHORIZATION");
        }

        return new ResetVariableStatement(ParseVariableName());
    }

    private BeginStatement ParseBegin()
    {
        if (TryKeyword(Keyword.Start))
        {
            ExpectKeyword(Keyword.Transaction);
        }
        else
        {
            ExpectKeyword(Keyword.Begin);
            if (!TryKeyword(Keyword.Work))
            {
                TryKeyword(Keyword.Transaction);
            }
        }

        // Modes are separated by commas or just spaces.
        var modes = new List<TransactionMode>();
        bool afterComma = false;
        while (true)
        {
            TransactionMode? mode = ParseTransactionMode();
            if (mode is null)
            {
                if (afterComma)
                {
                    throw SyntaxError();
                }

                break;
            }

            modes.Add(mode);
            afterComma = TryToken(TokenKind.Comma);
        }

        return new BeginStatement(NodeList.From(modes));
    }

    private TransactionMode? ParseTransactionMode()
    {
        var location = new SourceLocation(Current.Offset);
        if (TryKeyword(Keyword.Isolation))
        {
            ExpectKeyword(Keyword.Level);
            IsolationLevel level;
            if (TryKeyword(Keyword.Serializable))
            {
                level = IsolationLevel.Serializable;
            }
            else if (TryKeyword(Keyword.Repeatable))
            {
                ExpectKeyword(Keyword.Read);
                level = IsolationLevel.RepeatableRead;
            }
            else if (TryKeyword(Keyword.Read))
            {
                level = TryKeyword(Keyword.Committed) ? IsolationLevel.ReadCommitted : ExpectUncommitted();
            }
            else if (TryKeyword(Keyword.Strict))
            {
                ExpectKeyword(Keyword.Serializable);
                level = IsolationLevel.StrictSerializable;
            }
            else
            {
                throw SyntaxError();
            }

            return new IsolationLevelMode(level) { Location = location };
        }

        if (TryKeyword(Keyword.Read))
        {
            if (TryKeyword(Keyword.Only))
            {
                return new AccessMode(ReadOnly: true) { Location = location };
            }

            ExpectKeyword(Keyword.Write);
            return new AccessMode(ReadOnly: false) { Location = location };
        }

        if (TryKeyword(Keyword.Deferrable))
        {
            return new DeferrableMode(Deferrable: true) { Location = location };
        }

        if (AtPlainNot())
        {
            Advance();
            ExpectKeyword(Keyword.Deferrable);
            return new DeferrableMode(Deferrable: false) { Location = location };
        }

        return null;
    }

    private IsolationLevel ExpectUncommitted()
    {
        ExpectKeyword(Keyword.Uncommitted);
        return IsolationLevel.ReadUncommitted;
    }

    private CommitStatement ParseCommit()
    {
        Advance();
        if (!TryKeyword(Keyword.Work))
        {
            TryKeyword(Keyword.Transaction);
        }

        ParseChainOption();
        return new CommitStatement();
    }

    private RollbackStatement ParseRollback()
    {
        Advance();
        if (AtKeyword(Keyword.Prepared))
        {
            throw NotSupported("ROLLBACK PREPARED");
        }

        if (!TryKeyword(Keyword.Work))
        {
            TryKeyword(Keyword.Transaction);
        }

        if (AtKeyword(Keyword.To))
        {
            throw NotSupported("savepoints");
        }

        ParseChainOption();
        return new RollbackStatement();
    }

    /// <summary><c>AND NO CHAIN</c> (the default) or <c>AND CHAIN</c>, which is not supported.</summary>
    private void ParseChainOption()
    {
        if (!TryKeyword(Keyword.And))
        {
            return;
        }

        if (AtKeyword(Keyword.Chain))
        {
            throw NotSupported("AND CHAIN");
        }

        ExpectKeyword(Keyword.No);
        ExpectKeyword(Keyword.Chain);
    }

    private ExplainStatement ParseExplain()
    {
        ExpectKeyword(Keyword.Explain);
        var options = new List<WithOption>();
        string? stage = null;
        string? format = null;
        if (At(TokenKind.LeftParen))
        {
            options.AddRange(ParseOptionList(multiWordNames: false, reservedNames: false));
        }
        else if (AtKeyword(Keyword.Analyze) || AtKeyword(Keyword.Analyse) || AtKeyword(Keyword.Verbose))
        {
            if (TryKeyword(Keyword.Analyze) || TryKeyword(Keyword.Analyse))
            {
                options.Add(new WithOption("analyze", null));
            }

            if (TryKeyword(Keyword.Verbose))
            {
                options.Add(new WithOption("verbose", null));
            }
        }
        else
        {
            stage = ParseExplainStage();
            if (stage is not null)
            {
                if (AtKeyword(Keyword.With) && Peek().Kind == TokenKind.LeftParen)
                {
                    Advance();
                    options.AddRange(ParseOptionList(multiWordNames: true));
                }

                if (TryKeyword(Keyword.As))
                {
                    format = ParseColumnLabel();
                    while (IsColumnLabel(Current) && !AtKeyword(Keyword.For))
                    {
                        format = format + " " + NameOf(Advance());
                    }
                }

                ExpectKeyword(Keyword.For);
            }
        }

        Token start = Current;
        Statement statement = ParseStatement();
        if (statement is not (SelectStatement or InsertStatement or UpdateStatement or DeleteStatement
            or CreateViewStatement or CreateMaterializedViewStatement or CreateIndexStatement
            or ExecuteStatement or DeclareCursorStatement or SubscribeStatement))
        {
            throw SyntaxErrorAt(start);
        }

        return new ExplainStatement(stage, NodeList.From(options), format, statement);
    }

    /// <summary>Materialize's explain stage (<c>OPTIMIZED PLAN</c>, <c>TIMESTAMP</c>...), lower-cased; null if none.</summary>
    private string? ParseExplainStage()
    {
        if (AtKeyword(Keyword.Timestamp) && (PeekKeyword(1, Keyword.For) || PeekKeyword(1, Keyword.As)))
        {
            Advance();
            return "timestamp";
        }

        if (AtWord("plan"))
        {
            Advance();
            return "plan";
        }

        if (Current.Kind == TokenKind.Identifier && Current.Keyword == Keyword.None
            && Current.Value is "raw" or "decorrelated" or "optimized" or "physical" && PeekWord(1, "plan"))
        {
            string stage = Advance().Value + " plan";
            Advance();
            return stage;
        }

        return null;
    }

    private DiscardStatement ParseDiscard()
    {
        ExpectKeyword(Keyword.Discard);
        Token token = Current;
        DiscardTarget target = token.Kind != TokenKind.Identifier ? throw SyntaxError() : token.Keyword switch
        {
            Keyword.All => DiscardTarget.All,
            Keyword.Plans => DiscardTarget.Plans,
            Keyword.Sequences => DiscardTarget.Sequences,
            Keyword.Temp or Keyword.Temporary => DiscardTarget.Temporary,
            _ => throw SyntaxError(),
        };
        Advance();
        return new DiscardStatement(target);
    }

    private PrepareStatement ParsePrepare()
    {
        ExpectKeyword(Keyword.Prepare);
        if (AtKeyword(Keyword.Transaction))
        {
            throw NotSupported("PREPARE TRANSACTION");
        }

        string name = ParseColumnId();
        var types = new List<TypeName>();
        if (TryToken(TokenKind.LeftParen))
        {
            do
            {
                types.Add(ParseTypeName());
            }
            while (TryToken(TokenKind.Comma));

            Expect(TokenKind.RightParen);
        }

        ExpectKeyword(Keyword.As);
        Token start = Current;
        Statement statement = ParseStatement();
        if (statement is not (SelectStatement or InsertStatement or UpdateStatement or DeleteStatement))
        {
            throw SyntaxErrorAt(start);
        }

        return new PrepareStatement(name, NodeList.From(types), statement);
    }

    private ExecuteStatement ParseExecute()
    {
        ExpectKeyword(Keyword.Execute);
        string name = ParseColumnId();
        NodeList<Expression> arguments = At(TokenKind.LeftParen) ? ParseParenthesizedExpressionList() : NodeList<Expression>.Empty;
        return new ExecuteStatement(name, arguments);
    }

    private DeallocateStatement ParseDeallocate()
    {
        ExpectKeyword(Keyword.Deallocate);

        // PREPARE is optional, and may itself be the statement's name.
        if (AtKeyword(Keyword.Prepare) && !IsStatementEnd(Peek()))
        {
            Advance();
        }

        return TryKeyword(Keyword.All) ? new DeallocateStatement(null) : new DeallocateStatement(ParseColumnId());
    }
}
