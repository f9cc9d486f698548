using System;
using System.Globalization;
using System.Text;

namespace Kernel.Persist.Data;

/// <summary>The kind of a <see cref="Datum"/>. The numeric values are durable (columnar parts store them).</summary>
public enum DatumKind : byte
{
    Null = 0,
    Bool = 1,
    Int64 = 2,
    Float64 = 3,
    Decimal = 4,
    String = 5,
    Bytes = 6,

    /// <summary>Days since 1970-01-01.</summary>
    Date = 7,

    /// <summary>Microseconds since 1970-01-01 00:00:00 UTC.</summary>
    Timestamp = 8,
}

/// <summary>
/// One typed column value of a <see cref="Row"/>: null, bool, 64-bit integer, double, decimal, string, bytes,
/// date or timestamp. Immutable; equality and ordering are total and exact (see remarks).
/// </summary>
/// <remarks>
/// Order: by kind first (null lowest), then by value (for doubles as PostgreSQL orders them: NaN above +Infinity). Values that compare equal numerically but differ in bits
/// (<c>-0.0</c> and <c>0.0</c>; <c>1.0m</c> and <c>1.00m</c>) are ordered by their bits, so that equal datums
/// always have equal encodings: consolidation may then merge equal rows without choosing between encodings.
/// Strings compare ordinally (UTF-16 code units), the same in every process.
/// </remarks>
public readonly struct Datum : IEquatable<Datum>, IComparable<Datum>
{
    private readonly long _bits;
    private readonly decimal _decimal;
    private readonly object? _reference;

    private Datum(DatumKind kind, long bits, decimal value, object? reference)
    {
        Kind = kind;
        _bits = bits;
        _decimal = value;
        _reference = reference;
    }

    public DatumKind Kind { get; }

    public static Datum Null => default;

    public bool IsNull => Kind == DatumKind.Null;

    public static Datum FromBool(bool value) => new(DatumKind.Bool, value ? 1 : 0, 0, null);

    public static Datum FromInt64(long value) => new(DatumKind.Int64, value, 0, null);

    public static Datum FromFloat64(double value) => new(DatumKind.Float64, BitConverter.DoubleToInt64Bits(value), 0, null);

    public static Datum FromDecimal(decimal value) => new(DatumKind.Decimal, 0, value, null);

    public static Datum FromString(string value) => new(DatumKind.String, 0, 0, value ?? throw new ArgumentNullException(nameof(value)));

    /// <summary>The datum keeps its own copy of <paramref name="value"/>.</summary>
    public static Datum FromBytes(ReadOnlySpan<byte> value) => new(DatumKind.Bytes, 0, 0, value.ToArray());

    public static Datum FromDate(long daysSinceEpoch) => new(DatumKind.Date, daysSinceEpoch, 0, null);

    public static Datum FromTimestamp(long microsSinceEpoch) => new(DatumKind.Timestamp, microsSinceEpoch, 0, null);

    public bool AsBool => Kind == DatumKind.Bool ? _bits != 0 : throw WrongKind(DatumKind.Bool);

    public long AsInt64 => Kind == DatumKind.Int64 ? _bits : throw WrongKind(DatumKind.Int64);

    public double AsFloat64 => Kind == DatumKind.Float64 ? BitConverter.Int64BitsToDouble(_bits) : throw WrongKind(DatumKind.Float64);

    public decimal AsDecimal => Kind == DatumKind.Decimal ? _decimal : throw WrongKind(DatumKind.Decimal);

    public string AsString => Kind == DatumKind.String ? (string)_reference! : throw WrongKind(DatumKind.String);

    public ReadOnlySpan<byte> AsBytes => Kind == DatumKind.Bytes ? (byte[])_reference! : throw WrongKind(DatumKind.Bytes);

    public long AsDate => Kind == DatumKind.Date ? _bits : throw WrongKind(DatumKind.Date);

    public long AsTimestamp => Kind == DatumKind.Timestamp ? _bits : throw WrongKind(DatumKind.Timestamp);

    /// <summary>The 64-bit payload of the fixed-width kinds (bool, int64, float64 bits, date, timestamp).</summary>
    internal long RawBits => _bits;

    internal static Datum FromRaw(DatumKind kind, long bits) => new(kind, bits, 0, null);

    internal byte[] BytesUnsafe => (byte[])_reference!;

    public int CompareTo(Datum other) => Compare(in this, in other);

    /// <summary>
    /// <see cref="CompareTo"/> without copying either datum (a datum is 40 bytes): what row comparisons use, which
    /// sorting and merging updates spend most of their time in. The fixed-width kinds compare first, inline.
    /// </summary>
    internal static int Compare(in Datum mine, in Datum other)
    {
        if (mine.Kind == other.Kind && mine.Kind is (DatumKind.Int64 or DatumKind.Bool or DatumKind.Date or DatumKind.Timestamp))
        {
            return mine._bits.CompareTo(other._bits);
        }
        return mine.CompareSlow(in other);
    }

    private int CompareSlow(in Datum other)
    {
        if (Kind != other.Kind)
        {
            return Kind.CompareTo(other.Kind);
        }
        switch (Kind)
        {
            case DatumKind.Null:
                return 0;
            case DatumKind.Bool:
            case DatumKind.Int64:
            case DatumKind.Date:
            case DatumKind.Timestamp:
                return _bits.CompareTo(other._bits);
            case DatumKind.Float64:
            {
                // PostgreSQL's order: NaN equals NaN and sorts above every other value, +Infinity included.
                double mine = BitConverter.Int64BitsToDouble(_bits);
                double theirs = BitConverter.Int64BitsToDouble(other._bits);
                int byValue = double.IsNaN(mine) || double.IsNaN(theirs)
                    ? double.IsNaN(mine).CompareTo(double.IsNaN(theirs))
                    : mine.CompareTo(theirs);
                return byValue != 0 ? byValue : _bits.CompareTo(other._bits);
            }
            case DatumKind.Decimal:
            {
                int byValue = _decimal.CompareTo(other._decimal);
                if (byValue != 0)
                {
                    return byValue;
                }
                Span<int> mine = stackalloc int[4];
                Span<int> theirs = stackalloc int[4];
                decimal.GetBits(_decimal, mine);
                decimal.GetBits(other._decimal, theirs);
                return mine.SequenceCompareTo(theirs);
            }
            case DatumKind.String:
                return string.CompareOrdinal((string)_reference!, (string)other._reference!);
            case DatumKind.Bytes:
                return ((byte[])_reference!).AsSpan().SequenceCompareTo((byte[])other._reference!);
            default:
                throw new InvalidOperationException($"unknown datum kind {Kind}");
        }
    }

    public bool Equals(Datum other) => CompareTo(other) == 0;

    public override bool Equals(object? obj) => obj is Datum other && Equals(other);

    /// <summary>A hash that is the same in every process (no <c>string.GetHashCode</c>).</summary>
    public override int GetHashCode()
    {
        ulong hash = Kernel.Runtime.StableHash.Add(Kernel.Runtime.StableHash.Offset, (ulong)Kind);
        switch (Kind)
        {
            case DatumKind.Decimal:
                Span<int> parts = stackalloc int[4];
                decimal.GetBits(_decimal, parts);
                foreach (int part in parts)
                {
                    hash = Kernel.Runtime.StableHash.Add(hash, (ulong)(uint)part);
                }
                break;
            case DatumKind.String:
                hash = Kernel.Runtime.StableHash.Add(hash, (string)_reference!);
                break;
            case DatumKind.Bytes:
                hash = Kernel.Runtime.StableHash.Add(hash, (byte[])_reference!);
                break;
            default:
                hash = Kernel.Runtime.StableHash.Add(hash, (ulong)_bits);
                break;
        }
        return (int)(hash ^ (hash >> 32));
    }

    public override string ToString() => Kind switch
    {
        DatumKind.Null => "null",
        DatumKind.Bool => _bits != 0 ? "true" : "false",
        DatumKind.Int64 => _bits.ToString(CultureInfo.InvariantCulture),
        DatumKind.Float64 => BitConverter.Int64BitsToDouble(_bits).ToString("R", CultureInfo.InvariantCulture),
        DatumKind.Decimal => _decimal.ToString(CultureInfo.InvariantCulture),
        DatumKind.String => Quote((string)_reference!),
        DatumKind.Bytes => "\\x" + Convert.ToHexStringLower((byte[])_reference!),
        DatumKind.Date => "date:" + _bits.ToString(CultureInfo.InvariantCulture),
        DatumKind.Timestamp => "ts:" + _bits.ToString(CultureInfo.InvariantCulture),
        _ => "?",
    };

    public static bool operator ==(Datum left, Datum right) => left.Equals(right);

    public static bool operator !=(Datum left, Datum right) => !left.Equals(right);

    public static bool operator <(Datum left, Datum right) => left.CompareTo(right) < 0;

    public static bool operator <=(Datum left, Datum right) => left.CompareTo(right) <= 0;

    public static bool operator >(Datum left, Datum right) => left.CompareTo(right) > 0;

    public static bool operator >=(Datum left, Datum right) => left.CompareTo(right) >= 0;

    private static string Quote(string value)
    {
        var builder = new StringBuilder(value.Length + 2);
        builder.Append('\'').Append(value.Replace("'", "''", StringComparison.Ordinal)).Append('\'');
        return builder.ToString();
    }

    private InvalidOperationException WrongKind(DatumKind wanted) => new($"datum is {Kind}, not {wanted}");
}
