using System;

namespace Kernel.Sql.Parsing;

/// <summary>Spelling and category of one keyword.</summary>
/// <param name="Text">The keyword in lower case, as PostgreSQL lists it.</param>
/// <param name="Category">Where the keyword may also serve as a name.</param>
/// <param name="IsBareLabel">Whether it may follow a select item as a column label without AS.</param>
public readonly record struct KeywordInfo(string Text, KeywordCategory Category, bool IsBareLabel);

public static partial class KeywordTable
{
    /// <summary>Length of the longest keyword; longer words are never keywords.</summary>
    public const int LengthMax = 17;

    /// <summary>The keyword spelled by <paramref name="word"/> (ASCII case-insensitive), or <see cref="Keyword.None"/>.</summary>
    /// <remarks>
    /// Only ASCII letters fold: PostgreSQL down-cases A-Z alone, so a word with other characters is never a keyword.
    /// </remarks>
    public static Keyword Lookup(ReadOnlySpan<char> word)
    {
        if (word.Length == 0 || word.Length > LengthMax)
        {
            return Keyword.None;
        }

        Span<char> lower = stackalloc char[LengthMax];
        for (int i = 0; i < word.Length; i++)
        {
            char c = word[i];
            if (c is >= 'A' and <= 'Z')
            {
                c = (char)(c + ('a' - 'A'));
            }
            else if (c is not ((>= 'a' and <= 'z') or '_'))
            {
                return Keyword.None;
            }

            lower[i] = c;
        }

        ReadOnlySpan<char> key = lower[..word.Length];
        int low = 0;
        int high = s_entries.Length - 1;
        while (low <= high)
        {
            int middle = low + ((high - low) >> 1);
            int order = key.SequenceCompareTo(s_entries[middle].Text);
            if (order == 0)
            {
                return (Keyword)(middle + 1);
            }

            if (order < 0)
            {
                high = middle - 1;
            }
            else
            {
                low = middle + 1;
            }
        }

        return Keyword.None;
    }

    /// <summary>Spelling and category of <paramref name="keyword"/>, which must not be <see cref="Keyword.None"/>.</summary>
    public static KeywordInfo Info(Keyword keyword)
    {
        int index = (int)keyword - 1;
        if ((uint)index >= (uint)s_entries.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(keyword), keyword, "not a keyword");
        }

        return s_entries[index];
    }

    /// <summary>The keyword's lower-case spelling, which is also its value when it is used as a name.</summary>
    public static string Text(Keyword keyword) => Info(keyword).Text;

    /// <summary>The category of <paramref name="keyword"/>.</summary>
    public static KeywordCategory Category(Keyword keyword) => Info(keyword).Category;
}
