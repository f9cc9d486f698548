using System;
using System.Collections.Immutable;
using Kernel.Persist.Data;

namespace Kernel.Expr;

/// <summary>The SQL types the kernel supports. Values are durable (catalog and protocol store them).</summary>
public enum SqlTypeKind : byte
{
    /// <summary>The type of a bare NULL or an untyped string literal before the planner resolves it.</summary>
    Unknown = 0,
    Bool = 1,
    Int16 = 2,
    Int32 = 3,
    Int64 = 4,
    Float64 = 5,
    Numeric = 6,
    Text = 7,
    Varchar = 8,
    Date = 9,
    Timestamp = 10,
}

/// <summary>
/// A SQL type with its modifiers: <c>varchar(n)</c> carries its length, <c>numeric(p, s)</c> its precision and
/// scale (-1 when absent). Each type maps to one <see cref="DatumKind"/> and one PostgreSQL type oid.
/// </summary>
/// <remarks>
/// Representation: bool → Bool; smallint, integer, bigint → Int64 (range checked by the type); double precision
/// → Float64; numeric → Decimal (28–29 significant digits); text and varchar → String; date → Date (days since
/// 1970-01-01); timestamp → Timestamp (microseconds since 1970-01-01, no time zone). NULL is
/// <see cref="Datum.Null"/> in every type.
/// </remarks>
public readonly record struct SqlType(SqlTypeKind Kind, int Length = -1, int Precision = -1, int Scale = -1)
{
    public static SqlType Unknown => new(SqlTypeKind.Unknown);
    public static SqlType Bool => new(SqlTypeKind.Bool);
    public static SqlType Int16 => new(SqlTypeKind.Int16);
    public static SqlType Int32 => new(SqlTypeKind.Int32);
    public static SqlType Int64 => new(SqlTypeKind.Int64);
    public static SqlType Float64 => new(SqlTypeKind.Float64);
    public static SqlType Numeric => new(SqlTypeKind.Numeric);
    public static SqlType Text => new(SqlTypeKind.Text);
    public static SqlType Varchar => new(SqlTypeKind.Varchar);
    public static SqlType Date => new(SqlTypeKind.Date);
    public static SqlType Timestamp => new(SqlTypeKind.Timestamp);

    public static SqlType VarcharOf(int length) => new(SqlTypeKind.Varchar, Length: length);

    public static SqlType NumericOf(int precision, int scale) => new(SqlTypeKind.Numeric, Precision: precision, Scale: scale);

    /// <summary>The datum kind every non-null value of this type has.</summary>
    public DatumKind DatumKind => Kind switch
    {
        SqlTypeKind.Bool => DatumKind.Bool,
        SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64 => DatumKind.Int64,
        SqlTypeKind.Float64 => DatumKind.Float64,
        SqlTypeKind.Numeric => DatumKind.Decimal,
        SqlTypeKind.Text or SqlTypeKind.Varchar or SqlTypeKind.Unknown => DatumKind.String,
        SqlTypeKind.Date => DatumKind.Date,
        SqlTypeKind.Timestamp => DatumKind.Timestamp,
        _ => throw new InvalidOperationException($"unknown SQL type kind {Kind}"),
    };

    public bool IsInteger => Kind is SqlTypeKind.Int16 or SqlTypeKind.Int32 or SqlTypeKind.Int64;

    public bool IsNumber => IsInteger || Kind is SqlTypeKind.Float64 or SqlTypeKind.Numeric;

    public bool IsString => Kind is SqlTypeKind.Text or SqlTypeKind.Varchar;

    /// <summary>The PostgreSQL type oid (pg_type.oid) clients see.</summary>
    public int Oid => Kind switch
    {
        SqlTypeKind.Bool => 16,
        SqlTypeKind.Int16 => 21,
        SqlTypeKind.Int32 => 23,
        SqlTypeKind.Int64 => 20,
        SqlTypeKind.Float64 => 701,
        SqlTypeKind.Numeric => 1700,
        SqlTypeKind.Text => 25,
        SqlTypeKind.Varchar => 1043,
        SqlTypeKind.Date => 1082,
        SqlTypeKind.Timestamp => 1114,
        SqlTypeKind.Unknown => 705,
        _ => throw new InvalidOperationException($"unknown SQL type kind {Kind}"),
    };

    /// <summary>pg_type.typlen: the fixed width in bytes, or -1 for variable-length types (-2 for unknown).</summary>
    public short PgSize => Kind switch
    {
        SqlTypeKind.Bool => 1,
        SqlTypeKind.Int16 => 2,
        SqlTypeKind.Int32 => 4,
        SqlTypeKind.Int64 or SqlTypeKind.Float64 or SqlTypeKind.Timestamp => 8,
        SqlTypeKind.Date => 4,
        SqlTypeKind.Unknown => -2,
        _ => -1,
    };

    /// <summary>The type modifier PostgreSQL reports (atttypmod): -1 when the type has none.</summary>
    public int PgModifier => Kind switch
    {
        SqlTypeKind.Varchar when Length >= 0 => Length + 4,
        SqlTypeKind.Numeric when Precision >= 0 => ((Precision << 16) | Math.Max(Scale, 0)) + 4,
        _ => -1,
    };

    /// <summary>The type for a PostgreSQL oid, or null when the kernel does not support it.</summary>
    public static SqlType? FromOid(int oid) => oid switch
    {
        16 => Bool,
        21 => Int16,
        23 => Int32,
        20 => Int64,
        701 => Float64,
        1700 => Numeric,
        25 => Text,
        1043 => Varchar,
        1082 => Date,
        1114 => Timestamp,
        705 or 0 => Unknown,
        _ => null,
    };

    /// <summary>The name PostgreSQL prints for the type, e.g. in error messages and <c>format_type</c>.</summary>
    public string Name => Kind switch
    {
        SqlTypeKind.Bool => "boolean",
        SqlTypeKind.Int16 => "smallint",
        SqlTypeKind.Int32 => "integer",
        SqlTypeKind.Int64 => "bigint",
        SqlTypeKind.Float64 => "double precision",
        SqlTypeKind.Numeric => Precision >= 0 ? $"numeric({Precision},{Math.Max(Scale, 0)})" : "numeric",
        SqlTypeKind.Text => "text",
        SqlTypeKind.Varchar => Length >= 0 ? $"character varying({Length})" : "character varying",
        SqlTypeKind.Date => "date",
        SqlTypeKind.Timestamp => "timestamp without time zone",
        SqlTypeKind.Unknown => "unknown",
        _ => throw new InvalidOperationException($"unknown SQL type kind {Kind}"),
    };

    public override string ToString() => Name;
}

/// <summary>A column's type and whether it may hold NULL.</summary>
public readonly record struct ColumnType(SqlType Type, bool Nullable = true)
{
    public override string ToString() => Nullable ? Type.Name : Type.Name + " not null";
}

/// <summary>The column types of a relation, in order.</summary>
public sealed record RelationType(ImmutableArray<ColumnType> Columns)
{
    public static RelationType Empty { get; } = new(ImmutableArray<ColumnType>.Empty);

    public int Arity => Columns.Length;

    public RelationType Concat(RelationType other) => new(Columns.AddRange(other.Columns));

    public bool Equals(RelationType? other) => other is not null && Columns.AsSpan().SequenceEqual(other.Columns.AsSpan());

    public override int GetHashCode() => Columns.Length;
}

/// <summary>A relation's column names and types, as the catalog and clients see them.</summary>
public sealed record RelationDesc(ImmutableArray<string> Names, RelationType Type)
{
    public int Arity => Names.Length;

    public bool Equals(RelationDesc? other) =>
        other is not null && Names.AsSpan().SequenceEqual(other.Names.AsSpan()) && Type.Equals(other.Type);

    public override int GetHashCode() => Names.Length;
}
