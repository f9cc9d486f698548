using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// The statement dispatch, and DML: INSERT, UPDATE, DELETE.
public sealed partial class Parser
{
    private Statement ParseStatement()
    {
        Enter();
        Token token = Current;
        var location = new SourceLocation(token.Offset);
        Statement statement;
        if (token.Kind == TokenKind.LeftParen || IsQueryStartAt(0) || AtKeyword(Keyword.Values))
        {
            statement = new SelectStatement(ParseQuery()) { Location = location };
        }
        else if (token.Kind != TokenKind.Identifier)
        {
            throw SyntaxError();
        }
        else if (AtWord("subscribe"))
        {
            statement = ParseSubscribe() with { Location = location };
        }
        else
        {
            statement = token.Keyword switch
            {
                Keyword.Insert => ParseInsert(),
                Keyword.Update => ParseUpdate(),
                Keyword.Delete => ParseDelete(),
                Keyword.Create => ParseCreate(),
                Keyword.Drop => ParseDrop(),
                Keyword.Copy => ParseCopy(),
                Keyword.Declare => ParseDeclareCursor(),
                Keyword.Fetch => ParseFetch(),
                Keyword.Close => ParseClose(),
                Keyword.Show => ParseShow(),
                Keyword.Set => ParseSet(),
                Keyword.Reset => ParseReset(),
                Keyword.Begin or Keyword.Start => ParseBegin(),
                Keyword.Commit or Keyword.End => ParseCommit(),
                Keyword.Rollback or Keyword.Abort => ParseRollback(),
                Keyword.Explain => ParseExplain(),
                Keyword.Discard => ParseDiscard(),
                Keyword.Prepare => ParsePrepare(),
                Keyword.Execute => ParseExecute(),
                Keyword.Deallocate => ParseDeallocate(),
                Keyword.Alter or Keyword.Analyze or Keyword.Analyse or Keyword.Call or Keyword.Checkpoint
                    or Keyword.Cluster or Keyword.Comment or Keyword.Do or Keyword.Grant or Keyword.Import
                    or Keyword.Listen or Keyword.Load or Keyword.Lock or Keyword.Merge or Keyword.Move
                    or Keyword.Notify or Keyword.Reassign or Keyword.Refresh or Keyword.Reindex or Keyword.Release
                    or Keyword.Revoke or Keyword.Savepoint or Keyword.Security or Keyword.Truncate
                    or Keyword.Unlisten or Keyword.Vacuum
                    => throw NotSupported(KeywordTable.Text(token.Keyword).ToUpperInvariant()),
                _ => throw SyntaxError(),
            };
            statement = statement with { Location = location };
        }

        Leave();
        return statement;
    }

    private InsertStatement ParseInsert()
    {
        ExpectKeyword(Keyword.Insert);
        ExpectKeyword(Keyword.Into);
        ObjectName table = ParseQualifiedName();
        string? alias = TryKeyword(Keyword.As) ? ParseColumnId() : null;
        NodeList<string> columns = NodeList<string>.Empty;
        if (At(TokenKind.LeftParen) && !IsQueryStartAt(1) && Peek().Kind != TokenKind.LeftParen)
        {
            columns = ParseInsertColumns();
        }

        if (AtKeyword(Keyword.Overriding))
        {
            throw NotSupported("OVERRIDING");
        }

        // DEFAULT VALUES takes no column list.
        Query? source = null;
        if (columns.Count == 0 && TryKeyword(Keyword.Default))
        {
            ExpectKeyword(Keyword.Values);
        }
        else
        {
            source = ParseQuery();
        }

        if (AtKeyword(Keyword.On) && PeekKeyword(1, Keyword.Conflict))
        {
            throw NotSupported("ON CONFLICT");
        }

        return new InsertStatement(table, alias, columns, source, ParseOptionalReturning());
    }

    private NodeList<string> ParseInsertColumns()
    {
        Expect(TokenKind.LeftParen);
        var columns = new List<string>();
        do
        {
            columns.Add(ParseColumnId());
            if (At(TokenKind.Dot) || At(TokenKind.LeftBracket))
            {
                throw NotSupported("assigning to a field or element of a column");
            }
        }
        while (TryToken(TokenKind.Comma));

        Expect(TokenKind.RightParen);
        return NodeList.From(columns);
    }

    private NodeList<SelectItem> ParseOptionalReturning() =>
        TryKeyword(Keyword.Returning) ? ParseSelectItems() : NodeList<SelectItem>.Empty;

    private UpdateStatement ParseUpdate()
    {
        ExpectKeyword(Keyword.Update);
        if (AtKeyword(Keyword.Only))
        {
            throw NotSupported("ONLY");
        }

        ObjectName table = ParseQualifiedName();
        TryToken(TokenKind.Star);

        // SET is an unreserved keyword: without AS it is never taken for an alias.
        string? alias = null;
        if (TryKeyword(Keyword.As))
        {
            alias = ParseColumnId();
        }
        else if (IsColumnId(Current) && !AtKeyword(Keyword.Set))
        {
            alias = NameOf(Advance());
        }

        ExpectKeyword(Keyword.Set);
        var assignments = new List<Assignment>();
        do
        {
            Token column = Current;
            if (At(TokenKind.LeftParen))
            {
                throw NotSupported("multiple-column assignment");
            }

            string name = ParseColumnId();
            if (At(TokenKind.Dot) || At(TokenKind.LeftBracket))
            {
                throw NotSupported("assigning to a field or element of a column");
            }

            Expect(TokenKind.Equals);
            Expression value = ParseExpression();
            assignments.Add(new Assignment(name, value) { Location = new SourceLocation(column.Offset) });
        }
        while (TryToken(TokenKind.Comma));

        if (AtKeyword(Keyword.From))
        {
            throw NotSupported("UPDATE ... FROM");
        }

        Expression? where = ParseOptionalWhere();
        return new UpdateStatement(table, alias, NodeList.From(assignments), where, ParseOptionalReturning());
    }

    private DeleteStatement ParseDelete()
    {
        ExpectKeyword(Keyword.Delete);
        ExpectKeyword(Keyword.From);
        if (AtKeyword(Keyword.Only))
        {
            throw NotSupported("ONLY");
        }

        ObjectName table = ParseQualifiedName();
        TryToken(TokenKind.Star);
        string? alias = null;
        if (TryKeyword(Keyword.As))
        {
            alias = ParseColumnId();
        }
        else if (IsColumnId(Current))
        {
            alias = NameOf(Advance());
        }

        if (AtKeyword(Keyword.Using))
        {
            throw NotSupported("DELETE ... USING");
        }

        Expression? where = ParseOptionalWhere();
        return new DeleteStatement(table, alias, where, ParseOptionalReturning());
    }

    private Expression? ParseOptionalWhere()
    {
        if (!TryKeyword(Keyword.Where))
        {
            return null;
        }

        if (AtKeyword(Keyword.Current) && PeekKeyword(1, Keyword.Of))
        {
            throw NotSupported("WHERE CURRENT OF");
        }

        return ParseExpression();
    }
}
