using System.Globalization;

namespace Kernel.Tools.Cli;

/// <summary>An inclusive range of seeds written <c>A..B</c>, or a single seed <c>A</c>.</summary>
public readonly record struct SeedRange(ulong First, ulong Last)
{
    public const ulong CountMax = 100_000_000;

    public ulong Count => Last - First + 1;

    public static bool TryParse(string text, out SeedRange range, out string error)
    {
        range = default;
        int dots = text.IndexOf("..", System.StringComparison.Ordinal);
        string first = dots < 0 ? text : text[..dots];
        string last = dots < 0 ? text : text[(dots + 2)..];
        if (!ulong.TryParse(first, NumberStyles.None, CultureInfo.InvariantCulture, out ulong a) ||
            !ulong.TryParse(last, NumberStyles.None, CultureInfo.InvariantCulture, out ulong b))
        {
            error = $"'{text}' is not a seed range: write A..B with whole numbers, for example 1..500";
            return false;
        }
        if (b < a)
        {
            error = $"'{text}' is empty: the last seed is below the first";
            return false;
        }
        if (b - a >= CountMax)
        {
            error = $"'{text}' has more than {CountMax} seeds";
            return false;
        }
        range = new SeedRange(a, b);
        error = "";
        return true;
    }

    public override string ToString() => First == Last
        ? First.ToString(CultureInfo.InvariantCulture)
        : string.Create(CultureInfo.InvariantCulture, $"{First}..{Last}");
}
