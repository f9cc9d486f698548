using Kernel.Sql.Printing;
using Kernel.Sql.Syntax;
using Xunit;
using static Kernel.Tests.Sql.Sql;

namespace Kernel.Tests.Sql;

/// <summary>Type names: SQL-standard spellings map to PostgreSQL's internal names, as its grammar does.</summary>
public sealed class TypeNameTests
{
    private static TypeName Type(string type) => Assert.IsType<CastExpression>(ParseExpression("x::" + type)).Type;

    [Theory]
    [InlineData("boolean", "bool")]
    [InlineData("bool", "bool")]
    [InlineData("smallint", "int2")]
    [InlineData("int2", "int2")]
    [InlineData("integer", "int4")]
    [InlineData("int", "int4")]
    [InlineData("INT4", "int4")]
    [InlineData("bigint", "int8")]
    [InlineData("int8", "int8")]
    [InlineData("real", "float4")]
    [InlineData("float4", "float4")]
    [InlineData("double precision", "float8")]
    [InlineData("float8", "float8")]
    [InlineData("float", "float8")]
    [InlineData("float(24)", "float4")]
    [InlineData("float(25)", "float8")]
    [InlineData("text", "text")]
    [InlineData("varchar", "varchar")]
    [InlineData("date", "date")]
    [InlineData("time", "time")]
    [InlineData("time without time zone", "time")]
    [InlineData("time with time zone", "timetz")]
    [InlineData("timestamp", "timestamp")]
    [InlineData("timestamp without time zone", "timestamp")]
    [InlineData("timestamp with time zone", "timestamptz")]
    [InlineData("timestamptz", "timestamptz")]
    [InlineData("interval", "interval")]
    [InlineData("bytea", "bytea")]
    [InlineData("jsonb", "jsonb")]
    [InlineData("\"char\"", "char")]
    public void Spellings_MapToInternalNames(string type, string name) => Assert.Equal(TypeName.Of(name), Type(type) with { Modifiers = [] });

    [Theory]
    [InlineData("numeric(10, 2)", "numeric", new[] { 10, 2 })]
    [InlineData("decimal(5)", "numeric", new[] { 5 })]
    [InlineData("dec", "numeric", new int[0])]
    [InlineData("varchar(20)", "varchar", new[] { 20 })]
    [InlineData("character varying(20)", "varchar", new[] { 20 })]
    [InlineData("char(3)", "bpchar", new[] { 3 })]
    [InlineData("character", "bpchar", new[] { 1 })]
    [InlineData("national character varying(4)", "varchar", new[] { 4 })]
    [InlineData("bit", "bit", new[] { 1 })]
    [InlineData("bit varying(5)", "varbit", new[] { 5 })]
    [InlineData("timestamp(3) with time zone", "timestamptz", new[] { 3 })]
    [InlineData("time(0)", "time", new[] { 0 })]
    [InlineData("interval(2)", "interval", new[] { 2 })]
    [InlineData("s.custom(1, -2)", null, new[] { 1, -2 })]
    public void Modifiers_AreKept(string type, string? name, int[] modifiers)
    {
        TypeName parsed = Type(type);
        if (name is not null)
        {
            Assert.Equal(ObjectName.Of(name), parsed.Name);
        }

        Assert.Equal(modifiers, parsed.Modifiers);
    }

    [Fact]
    public void CharacterWithoutLength_IsUnboundedBeforeALiteral()
    {
        // CHAR means CHAR(1) in a cast or column, but CHAR 'abc' keeps the whole string.
        Assert.Equal(TypeName.Of("bpchar", 1), Type("char"));
        Assert.Equal(TypeName.Of("bpchar"), Assert.IsType<CastExpression>(ParseExpression("char 'abc'")).Type);
    }

    [Fact]
    public void IntervalFields_AreKept()
    {
        Assert.Equal(new TypeName(ObjectName.Of("interval"), [], IntervalFields.YearToMonth), Type("interval year to month"));
        Assert.Equal(new TypeName(ObjectName.Of("interval"), [6], IntervalFields.Second), Type("interval second(6)"));
    }

    [Theory]
    [InlineData("int4", "integer")]
    [InlineData("int8", "bigint")]
    [InlineData("float8", "double precision")]
    [InlineData("bool", "boolean")]
    [InlineData("numeric(10, 2)", "numeric(10, 2)")]
    [InlineData("char(3)", "character(3)")]
    [InlineData("bpchar", "bpchar")]
    [InlineData("varchar(5)", "varchar(5)")]
    [InlineData("bit(3)", "bit(3)")]
    [InlineData("\"bit\"", "\"bit\"")]
    [InlineData("varbit", "varbit")]
    [InlineData("timestamptz(3)", "timestamp(3) with time zone")]
    [InlineData("interval day to second(3)", "interval day to second(3)")]
    [InlineData("\"char\"", "\"char\"")]
    [InlineData("\"My Type\"", "\"My Type\"")]
    [InlineData("pg_catalog.int4", "pg_catalog.int4")]
    public void Printing_ReadsBackAsTheSameType(string type, string printed)
    {
        TypeName parsed = Type(type);
        Assert.Equal(printed, SqlPrinter.Print(parsed));
        Assert.Equal(parsed, Type(printed));
    }
}
