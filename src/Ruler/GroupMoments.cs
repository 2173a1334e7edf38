namespace Ruler;

/// <summary>
/// The statistics of one group of numbers that share a ruler: count, mean and M2 = Σ(x − mean)².
/// Two groups' moments combine exactly into the moments of their union (Chan, Golub &amp; LeVeque 1979),
/// so a batch split into shards (devices, threads, chunks) gives the same statistics as the whole batch.
/// </summary>
/// <param name="Count">How many numbers the group holds.</param>
/// <param name="Mean">Their mean.</param>
/// <param name="M2">The sum of squared deviations from the mean.</param>
public readonly record struct GroupMoments(long Count, double Mean, double M2)
{
    /// <summary>Population (biased) variance M2 / n: what normalization divides by.</summary>
    public double Variance => Count > 0 ? M2 / Count : double.NaN;

    /// <summary>Sample (unbiased) variance M2 / (n − 1): what running statistics track.</summary>
    public double UnbiasedVariance => Count > 1 ? M2 / (Count - 1) : double.NaN;

    /// <summary>Mean of squares: variance + mean², what RMSNorm divides by.</summary>
    public double MeanSquare => Count > 0 ? M2 / Count + Mean * Mean : double.NaN;

    /// <summary>The moments of the union of two disjoint groups (Chan's parallel update).</summary>
    /// <param name="a">One group's moments (may be empty: count 0).</param>
    /// <param name="b">The other group's moments (may be empty).</param>
    /// <returns>The moments of all the numbers of both groups.</returns>
    public static GroupMoments Combine(GroupMoments a, GroupMoments b)
    {
        if (a.Count == 0) return b;
        if (b.Count == 0) return a;
        long n = a.Count + b.Count;
        double delta = b.Mean - a.Mean;
        double mean = a.Mean + delta * ((double)b.Count / n);
        double m2 = a.M2 + b.M2 + delta * delta * ((double)a.Count * b.Count / n);
        return new GroupMoments(n, mean, m2);
    }

    /// <summary>The moments of a list of numbers, computed exactly in two passes with float64 accumulation.</summary>
    /// <param name="values">The numbers; may be empty.</param>
    /// <returns>Their count, mean and M2; <c>default</c> (count 0) for no numbers.</returns>
    public static GroupMoments Of(ReadOnlySpan<double> values)
    {
        if (values.IsEmpty) return default;
        double shift = values[0], s = 0;
        foreach (double v in values) s += v - shift;
        double mean = shift + s / values.Length;
        double m2 = 0, c = 0;
        foreach (double v in values) { double d = v - mean; m2 += d * d; c += d; }
        m2 -= c * c / values.Length;
        return new GroupMoments(values.Length, mean, Math.Max(m2, 0));
    }
}
