using System;

namespace Kernel.Sql.Syntax;

/// <summary>
/// Where a syntax node started in the SQL text: a 0-based UTF-16 offset, or unknown for nodes built by code.
/// </summary>
/// <remarks>
/// A location is an annotation, not part of a tree's value: every two locations compare equal, so
/// records that carry one compare by content alone, and a tree printed and parsed again equals the original.
/// </remarks>
public readonly struct SourceLocation : IEquatable<SourceLocation>
{
    // Stored plus one so that default(SourceLocation) means "unknown".
    private readonly int _offsetPlusOne;

    public SourceLocation(int offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        _offsetPlusOne = offset + 1;
    }

    public static SourceLocation Unknown => default;

    public bool IsKnown => _offsetPlusOne > 0;

    /// <summary>The 0-based UTF-16 offset into the SQL text, or -1 when unknown.</summary>
    public int Offset => _offsetPlusOne - 1;

    public static bool operator ==(SourceLocation left, SourceLocation right) => left.Equals(right);

    public static bool operator !=(SourceLocation left, SourceLocation right) => !left.Equals(right);

    /// <summary>
    /// The position PostgreSQL reports for this location in an error (the ErrorResponse 'P' field):
    /// 1-based and counted in characters (code points), not UTF-16 units; 0 when unknown.
    /// </summary>
    public int ToPosition(string sql) => IsKnown ? CharacterPosition(sql, Offset) : 0;

    /// <summary>The 1-based code-point position of the UTF-16 <paramref name="offset"/> in <paramref name="sql"/>.</summary>
    public static int CharacterPosition(string sql, int offset)
    {
        int end = Math.Clamp(offset, 0, sql.Length);
        int position = 1;
        for (int i = 0; i < end; i++)
        {
            // The second half of a surrogate pair belongs to the character the first half started.
            if (!(char.IsLowSurrogate(sql[i]) && i > 0 && char.IsHighSurrogate(sql[i - 1])))
            {
                position++;
            }
        }

        return position;
    }

    public bool Equals(SourceLocation other) => true;

    public override bool Equals(object? obj) => obj is SourceLocation;

    public override int GetHashCode() => 0;

    public override string ToString() => IsKnown ? $"@{Offset}" : "@?";
}
