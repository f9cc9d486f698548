using System;
using System.Diagnostics.CodeAnalysis;
using Kernel.Persist.Data;

namespace Kernel.Expr.Eval;

/// <summary>
/// LIKE and ILIKE: <c>%</c> matches any run of characters, <c>_</c> one character, and a backslash makes the next
/// pattern character literal. Matching is greedy with one backtrack point (the last <c>%</c>), which is complete
/// for these patterns and linear in practice, quadratic at worst; it never allocates.
/// </summary>
public static partial class Evaluator
{
    private static readonly EvalError s_likeEndsWithEscape = new("22025", "LIKE pattern must not end with escape character");

    private static bool TryLike(string text, string pattern, bool ignoreCase, out Datum value, [NotNullWhen(false)] out EvalError? error)
    {
        if (EndsWithEscape(pattern))
        {
            return Fail(s_likeEndsWithEscape, out value, out error);
        }
        return Ok(Datum.FromBool(LikeMatches(text, pattern, ignoreCase)), out value, out error);
    }

    private static bool EndsWithEscape(ReadOnlySpan<char> pattern)
    {
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] == '\\')
            {
                if (i + 1 == pattern.Length)
                {
                    return true;
                }
                i++;
            }
        }
        return false;
    }

    /// <summary>Whether <paramref name="text"/> matches <paramref name="pattern"/>, which must not end with a lone backslash.</summary>
    internal static bool LikeMatches(ReadOnlySpan<char> text, ReadOnlySpan<char> pattern, bool ignoreCase)
    {
        int t = 0;
        int p = 0;
        int starPattern = -1;
        int starText = -1;
        while (t < text.Length)
        {
            if (p < pattern.Length)
            {
                char pc = pattern[p];
                if (pc == '%')
                {
                    p++;
                    starPattern = p;
                    starText = t;
                    continue;
                }
                if (pc == '_')
                {
                    t += CharacterWidth(text, t);
                    p++;
                    continue;
                }
                int literalAt = pc == '\\' ? p + 1 : p;
                if (SameChar(text[t], pattern[literalAt], ignoreCase))
                {
                    t++;
                    p = literalAt + 1;
                    continue;
                }
            }
            if (starPattern < 0)
            {
                return false;
            }
            // Let the last % absorb one more character and retry the rest of the pattern from there.
            starText += CharacterWidth(text, starText);
            t = starText;
            p = starPattern;
        }
        while (p < pattern.Length && pattern[p] == '%')
        {
            p++;
        }
        return p == pattern.Length;
    }

    private static int CharacterWidth(ReadOnlySpan<char> text, int at) =>
        char.IsHighSurrogate(text[at]) && at + 1 < text.Length && char.IsLowSurrogate(text[at + 1]) ? 2 : 1;

    private static bool SameChar(char left, char right, bool ignoreCase) =>
        left == right || (ignoreCase && char.ToLowerInvariant(left) == char.ToLowerInvariant(right));
}
