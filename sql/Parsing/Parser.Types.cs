using System.Collections.Generic;
using Kernel.Sql.Syntax;

namespace Kernel.Sql.Parsing;

// Type names, with the SQL-standard spellings mapped to PostgreSQL's internal names.
public sealed partial class Parser
{
    /// <summary>
    /// A type name. SQL-standard spellings map to PostgreSQL's internal names (<see cref="TypeName"/>).
    /// </summary>
    /// <param name="constant">
    /// Whether the type prefixes a literal (<c>CHAR 'x'</c>): there, CHAR and BIT without a length are
    /// unbounded, while elsewhere they mean length 1, as in PostgreSQL.
    /// </param>
    private TypeName ParseTypeName(bool constant = false)
    {
        Token start = Current;
        var location = new SourceLocation(start.Offset);
        if (AtKeyword(Keyword.Setof))
        {
            throw NotSupported("SETOF");
        }

        TypeName type = ParseSimpleTypeName(constant) with { Location = location };
        if (At(TokenKind.LeftBracket) || AtKeyword(Keyword.Array))
        {
            throw NotSupported("array types");
        }

        return type;
    }

    private TypeName ParseSimpleTypeName(bool constant)
    {
        Token token = Current;
        if (token.Kind == TokenKind.Identifier)
        {
            switch (token.Keyword)
            {
                case Keyword.Int or Keyword.Integer:
                    Advance();
                    return Builtin("int4");
                case Keyword.Smallint:
                    Advance();
                    return Builtin("int2");
                case Keyword.Bigint:
                    Advance();
                    return Builtin("int8");
                case Keyword.Real:
                    Advance();
                    return Builtin("float4");
                case Keyword.Boolean:
                    Advance();
                    return Builtin("bool");
                case Keyword.Float:
                    return ParseFloatType();
                case Keyword.Double when PeekKeyword(1, Keyword.Precision):
                    Advance();
                    Advance();
                    return Builtin("float8");
                case Keyword.Decimal or Keyword.Dec or Keyword.Numeric:
                    Advance();
                    return Builtin("numeric", ParseOptionalModifiers());
                case Keyword.Bit:
                    return ParseBitType(constant);
                case Keyword.Character or Keyword.Char or Keyword.Varchar or Keyword.National or Keyword.Nchar:
                    return ParseCharacterType(constant);
                case Keyword.Timestamp or Keyword.Time:
                    return ParseDateTimeType();
                case Keyword.Interval:
                {
                    Advance();
                    if (TryToken(TokenKind.LeftParen))
                    {
                        int precision = ParseSmallInteger();
                        Expect(TokenKind.RightParen);
                        return Builtin("interval", [precision]);
                    }

                    (IntervalFields fields, int fieldPrecision) = ParseIntervalFields();
                    return new TypeName(new ObjectName(["interval"]), fieldPrecision >= 0 ? [fieldPrecision] : NodeList<int>.Empty, fields);
                }
            }
        }

        // A generic type name: type_function_name, optionally qualified, with optional modifiers.
        if (!IsTypeFunctionName(token))
        {
            throw SyntaxError();
        }

        var location = new SourceLocation(token.Offset);
        Advance();
        string first = NameOf(token);
        List<string>? parts = null;
        while (TryToken(TokenKind.Dot))
        {
            parts ??= [first];
            parts.Add(ParseColumnLabel());
        }

        var name = new ObjectName(parts is null ? [first] : NodeList.From(parts)) { Location = location };
        return new TypeName(name, ParseOptionalModifiers(), IntervalFields.None);
    }

    private static TypeName Builtin(string name, NodeList<int>? modifiers = null) =>
        new(new ObjectName([name]), modifiers ?? NodeList<int>.Empty, IntervalFields.None);

    /// <summary><c>(n [, n ...])</c> after a type name, or nothing.</summary>
    private NodeList<int> ParseOptionalModifiers()
    {
        if (!TryToken(TokenKind.LeftParen))
        {
            return NodeList<int>.Empty;
        }

        // PostgreSQL's grammar takes any expressions here and checks them later; Kernel keeps integer constants.
        var modifiers = new List<int>();
        do
        {
            Token start = Current;
            Expression expression = ParseExpression();
            modifiers.Add(IntegerModifier(expression) ?? throw NotSupported("type modifiers other than integer constants", start));
        }
        while (TryToken(TokenKind.Comma));

        Expect(TokenKind.RightParen);
        return NodeList.From(modifiers);
    }

    /// <summary>The value of an integer constant, possibly signed, that fits a type modifier; otherwise null.</summary>
    private static int? IntegerModifier(Expression expression)
    {
        long sign = 1;
        if (expression is UnaryOperation { Operator: "-" or "+" } unary)
        {
            sign = unary.Operator == "-" ? -1 : 1;
            expression = unary.Operand;
        }

        return expression is IntegerLiteral { Value: <= int.MaxValue } literal ? (int)(sign * literal.Value) : null;
    }

    private TypeName ParseFloatType()
    {
        Advance();
        if (!At(TokenKind.LeftParen))
        {
            return Builtin("float8");
        }

        Advance();
        Token precisionToken = Current;
        int precision = ParseSmallInteger();
        Expect(TokenKind.RightParen);

        // FLOAT(p) counts binary digits: up to 24 fit a float4, up to 53 a float8.
        if (precision < 1)
        {
            throw Error(SqlState.InvalidParameterValue, "precision for type float must be at least 1 bit", precisionToken);
        }

        if (precision > 53)
        {
            throw Error(SqlState.InvalidParameterValue, "precision for type float must be less than 54 bits", precisionToken);
        }

        return Builtin(precision <= 24 ? "float4" : "float8");
    }

    private TypeName ParseBitType(bool constant)
    {
        Advance();
        bool varying = TryKeyword(Keyword.Varying);
        string name = varying ? "varbit" : "bit";
        if (At(TokenKind.LeftParen))
        {
            return Builtin(name, ParseOptionalModifiers());
        }

        return varying || constant ? Builtin(name) : Builtin(name, [1]);
    }

    private TypeName ParseCharacterType(bool constant)
    {
        Token token = Advance();
        bool varying;
        switch (token.Keyword)
        {
            case Keyword.Varchar:
                varying = true;
                break;
            case Keyword.National:
                if (!TryKeyword(Keyword.Character) && !TryKeyword(Keyword.Char))
                {
                    throw SyntaxError();
                }

                varying = TryKeyword(Keyword.Varying);
                break;
            default:
                varying = TryKeyword(Keyword.Varying);
                break;
        }

        string name = varying ? "varchar" : "bpchar";
        if (At(TokenKind.LeftParen))
        {
            Advance();
            int length = ParseSmallInteger();
            Expect(TokenKind.RightParen);
            return Builtin(name, [length]);
        }

        // CHAR without a length is CHAR(1), except before a literal, where it is unbounded.
        return varying || constant ? Builtin(name) : Builtin(name, [1]);
    }

    private TypeName ParseDateTimeType()
    {
        bool timestamp = Advance().Keyword == Keyword.Timestamp;
        NodeList<int> modifiers = NodeList<int>.Empty;
        if (At(TokenKind.LeftParen))
        {
            Advance();
            modifiers = [ParseSmallInteger()];
            Expect(TokenKind.RightParen);
        }

        // WITH or WITHOUT before TIME can only be the time zone clause (PostgreSQL's WITH_LA token).
        bool withTimeZone = false;
        if ((AtKeyword(Keyword.With) || AtKeyword(Keyword.Without)) && PeekKeyword(1, Keyword.Time))
        {
            withTimeZone = Advance().Keyword == Keyword.With;
            Advance();
            ExpectKeyword(Keyword.Zone);
        }

        string name = (timestamp, withTimeZone) switch
        {
            (true, true) => "timestamptz",
            (true, false) => "timestamp",
            (false, true) => "timetz",
            (false, false) => "time",
        };
        return Builtin(name, modifiers);
    }

    /// <summary>
    /// An interval's optional field list: <c>YEAR</c>, <c>DAY TO SECOND(3)</c>... Returns the fields and the
    /// seconds precision, or -1 when none was given.
    /// </summary>
    private (IntervalFields Fields, int Precision) ParseIntervalFields()
    {
        Token token = Current;
        if (token.Kind != TokenKind.Identifier)
        {
            return (IntervalFields.None, -1);
        }

        switch (token.Keyword)
        {
            case Keyword.Year:
                Advance();
                if (TryKeyword(Keyword.To))
                {
                    ExpectKeyword(Keyword.Month);
                    return (IntervalFields.YearToMonth, -1);
                }

                return (IntervalFields.Year, -1);
            case Keyword.Month:
                Advance();
                return (IntervalFields.Month, -1);
            case Keyword.Day:
                Advance();
                if (!TryKeyword(Keyword.To))
                {
                    return (IntervalFields.Day, -1);
                }

                if (TryKeyword(Keyword.Hour))
                {
                    return (IntervalFields.DayToHour, -1);
                }

                if (TryKeyword(Keyword.Minute))
                {
                    return (IntervalFields.DayToMinute, -1);
                }

                return (IntervalFields.DayToSecond, ParseSecondField());
            case Keyword.Hour:
                Advance();
                if (!TryKeyword(Keyword.To))
                {
                    return (IntervalFields.Hour, -1);
                }

                if (TryKeyword(Keyword.Minute))
                {
                    return (IntervalFields.HourToMinute, -1);
                }

                return (IntervalFields.HourToSecond, ParseSecondField());
            case Keyword.Minute:
                Advance();
                if (!TryKeyword(Keyword.To))
                {
                    return (IntervalFields.Minute, -1);
                }

                return (IntervalFields.MinuteToSecond, ParseSecondField());
            case Keyword.Second:
                return (IntervalFields.Second, ParseSecondField());
            default:
                return (IntervalFields.None, -1);
        }
    }

    /// <summary><c>SECOND [(precision)]</c>; returns the precision or -1.</summary>
    private int ParseSecondField()
    {
        ExpectKeyword(Keyword.Second);
        if (!TryToken(TokenKind.LeftParen))
        {
            return -1;
        }

        int precision = ParseSmallInteger();
        Expect(TokenKind.RightParen);
        return precision;
    }
}
