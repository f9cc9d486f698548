using System;
using System.Collections.Generic;
using System.Globalization;

namespace Kernel.Tests.Bench.EndToEnd;

/// <summary>Percentiles of a set of latency samples, in seconds (nearest-rank).</summary>
public sealed record LatencyStats(int Count, double P50, double P90, double P99, double Max, double Mean)
{
    public static readonly LatencyStats Empty = new(0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);

    public static LatencyStats Of(IReadOnlyCollection<double> samples)
    {
        if (samples.Count == 0)
        {
            return Empty;
        }
        double[] sorted = [.. samples];
        Array.Sort(sorted);
        double sum = 0;
        foreach (double sample in sorted)
        {
            sum += sample;
        }
        return new LatencyStats(sorted.Length, Rank(sorted, 0.50), Rank(sorted, 0.90), Rank(sorted, 0.99), sorted[^1], sum / sorted.Length);
    }

    private static double Rank(double[] sorted, double quantile)
    {
        int index = (int)Math.Ceiling(quantile * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    /// <summary>A latency in seconds as milliseconds, with precision that suits its size ("-" when there is none).</summary>
    public static string Millis(double seconds) => double.IsNaN(seconds)
        ? "-"
        : seconds < 0.01
            ? (seconds * 1000).ToString("0.000", CultureInfo.InvariantCulture)
            : seconds < 1
                ? (seconds * 1000).ToString("0.0", CultureInfo.InvariantCulture)
                : (seconds * 1000).ToString("N0", CultureInfo.InvariantCulture);
}
