using System;
using System.Globalization;

namespace Kernel.Expr;

/// <summary>The namespace of a <see cref="GlobalId"/>.</summary>
public enum GlobalIdKind : byte
{
    /// <summary>Built into the system (catalog relations).</summary>
    System = (byte)'s',

    /// <summary>Created by a user statement and stored in the catalog.</summary>
    User = (byte)'u',

    /// <summary>Lives only as long as one query (a peek's dataflow, a subscribe).</summary>
    Transient = (byte)'t',
}

/// <summary>
/// The durable name of a catalog item or dataflow object: <c>u17</c>, <c>s3</c>, <c>t42</c>. Names can be renamed;
/// ids never change and are never reused.
/// </summary>
public readonly record struct GlobalId(GlobalIdKind Kind, ulong Value) : IComparable<GlobalId>
{
    public static GlobalId UserId(ulong value) => new(GlobalIdKind.User, value);

    public static GlobalId TransientId(ulong value) => new(GlobalIdKind.Transient, value);

    public int CompareTo(GlobalId other)
    {
        int byKind = Kind.CompareTo(other.Kind);
        return byKind != 0 ? byKind : Value.CompareTo(other.Value);
    }

    public static bool operator <(GlobalId left, GlobalId right) => left.CompareTo(right) < 0;

    public static bool operator <=(GlobalId left, GlobalId right) => left.CompareTo(right) <= 0;

    public static bool operator >(GlobalId left, GlobalId right) => left.CompareTo(right) > 0;

    public static bool operator >=(GlobalId left, GlobalId right) => left.CompareTo(right) >= 0;

    public override string ToString() => ((char)Kind).ToString() + Value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Parses the form <see cref="ToString"/> writes; false for anything else.</summary>
    public static bool TryParse(string text, out GlobalId id)
    {
        id = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2 || (text[0] != 's' && text[0] != 'u' && text[0] != 't'))
        {
            return false;
        }
        if (!ulong.TryParse(text.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
        {
            return false;
        }
        id = new GlobalId((GlobalIdKind)text[0], value);
        return true;
    }
}
