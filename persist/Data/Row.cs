using System;
using System.Collections.Generic;
using System.Text;

namespace Kernel.Persist.Data;

/// <summary>
/// An immutable row of typed column values: the unit of data in a shard. Rows order lexicographically by
/// column (a shorter row first when one is a prefix of the other); equality and hashing match that order and
/// are the same in every process.
/// </summary>
public sealed class Row : IEquatable<Row>, IComparable<Row>
{
    private readonly Datum[] _datums;
    private int _hash; // 0 until computed; a row is immutable so the cache never goes stale

    public Row(params ReadOnlySpan<Datum> datums)
    {
        _datums = datums.ToArray();
    }

    private Row(Datum[] datums, bool _)
    {
        _datums = datums;
    }

    public static Row Empty { get; } = new([], false);

    /// <summary>Takes ownership of <paramref name="datums"/>: the caller must not change the array afterwards.</summary>
    internal static Row Own(Datum[] datums) => new(datums, false);

    public int Count => _datums.Length;

    public Datum this[int column] => _datums[column];

    public ReadOnlySpan<Datum> Datums => _datums;

    /// <summary>A row of int64 columns; a convenience for tests and tools.</summary>
    public static Row OfInt64(params ReadOnlySpan<long> values)
    {
        var datums = new Datum[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            datums[i] = Datum.FromInt64(values[i]);
        }
        return new Row(datums, false);
    }

    public int CompareTo(Row? other)
    {
        if (other is null)
        {
            return 1;
        }
        if (ReferenceEquals(this, other))
        {
            return 0;
        }
        ReadOnlySpan<Datum> mine = _datums, theirs = other._datums;
        int shared = Math.Min(mine.Length, theirs.Length);
        for (int i = 0; i < shared; i++)
        {
            int byColumn = Datum.Compare(in mine[i], in theirs[i]);
            if (byColumn != 0)
            {
                return byColumn;
            }
        }
        return mine.Length.CompareTo(theirs.Length);
    }

    public bool Equals(Row? other) =>
        other is not null && (ReferenceEquals(this, other) || (_datums.Length == other._datums.Length && GetHashCode() == other.GetHashCode() && CompareTo(other) == 0));

    public override bool Equals(object? obj) => obj is Row other && Equals(other);

    public override int GetHashCode()
    {
        if (_hash == 0)
        {
            int hash = 17;
            foreach (Datum datum in _datums)
            {
                hash = unchecked((hash * 31) + datum.GetHashCode());
            }
            _hash = hash == 0 ? 1 : hash;
        }
        return _hash;
    }

    public override string ToString()
    {
        var builder = new StringBuilder("(");
        for (int i = 0; i < _datums.Length; i++)
        {
            if (i > 0)
            {
                builder.Append(", ");
            }
            builder.Append(_datums[i].ToString());
        }
        return builder.Append(')').ToString();
    }

    public static bool operator ==(Row? left, Row? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Row? left, Row? right) => !(left == right);

    public static bool operator <(Row left, Row right) => left.CompareTo(right) < 0;

    public static bool operator <=(Row left, Row right) => left.CompareTo(right) <= 0;

    public static bool operator >(Row left, Row right) => left.CompareTo(right) > 0;

    public static bool operator >=(Row left, Row right) => left.CompareTo(right) >= 0;
}

/// <summary>One change to a collection: <see cref="Row"/> gains <see cref="Diff"/> copies at <see cref="Time"/>.</summary>
public readonly record struct Update(Row Row, ulong Time, long Diff)
{
    public override string ToString() => $"{Row} @{Time} {Diff:+0;-0;0}";
}

/// <summary>Orders updates by row, then time: the order consolidation and columnar parts use.</summary>
public sealed class UpdateComparer : IComparer<Update>
{
    public static UpdateComparer Instance { get; } = new();

    public int Compare(Update x, Update y)
    {
        int byRow = x.Row.CompareTo(y.Row);
        return byRow != 0 ? byRow : x.Time.CompareTo(y.Time);
    }
}
