namespace Ruler.Internal;

/// <summary>
/// The oracle: the general ruler over any axes in plain loops with float64 accumulation. Every kernel is tested
/// against it; no production call runs it (rulers no fast plan covers run <see cref="GeneralKernels"/>), so it
/// stays simple: it builds its index maps and sums on every call. Statistics are exact two-pass moments: the mean is
/// accumulated relative to the group's first element (so a constant group has mean exactly equal to its value and
/// a large offset costs no precision), then M2 = Σd² − (Σd)²/n with d = x − mean (the corrected two-pass formula).
/// </summary>
internal static class ReferenceKernels
{
    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        var (group, _) = layout.IndexMaps();
        int groups = layout.GroupCount;
        var shift = new double[groups];
        var seen = new bool[groups];
        var sum = new double[groups];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i];
            double v = Num.ToDouble(x[i]);
            if (!seen[g]) { seen[g] = true; shift[g] = v; }
            sum[g] += v - shift[g];
        }
        double n = layout.GroupSize;
        var mean = new double[groups];
        for (int g = 0; g < groups; g++) mean[g] = shift[g] + sum[g] / n;
        var sq = new double[groups];
        var lin = new double[groups];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i];
            double d = Num.ToDouble(x[i]) - mean[g];
            sq[g] += d * d;
            lin[g] += d;
        }
        for (int g = 0; g < groups; g++)
            moments[g] = new GroupMoments(layout.GroupSize, mean[g], Math.Max(sq[g] - lin[g] * lin[g] / n, 0));
    }

    /// <summary>x − centre of group g: (x − mean) − lo, lo the part of the centre below the saved mean's last bit (empty: 0).</summary>
    private static double Centred(double x, ReadOnlySpan<double> mean, ReadOnlySpan<double> meanLo, int g) =>
        meanLo.IsEmpty ? x - mean[g] : x - mean[g] - meanLo[g];

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, ReadOnlySpan<double> meanLo = default) where T : unmanaged
    {
        var (group, affine) = layout.IndexMaps();
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i], a = affine[i];
            double v = Centred(Num.ToDouble(x[i]), mean, meanLo, g) * rstd[g];
            if (!gamma.IsEmpty) v *= Num.ToDouble(gamma[a]);
            if (!beta.IsEmpty) v += Num.ToDouble(beta[a]);
            y[i] = Num.FromDouble<T>(v);
        }
    }

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput,
        ReadOnlySpan<double> meanLo = default) where T : unmanaged
    {
        var (group, affine) = layout.IndexMaps();
        int groups = layout.GroupCount;
        double n = layout.GroupSize;
        var sumG = new double[groups];
        var sumGx = new double[groups];
        var dg = new double[layout.AffineSize];
        var db = new double[layout.AffineSize];
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i], a = affine[i];
            double xhat = Centred(Num.ToDouble(x[i]), mean, meanLo, g) * rstd[g];
            double d = Num.ToDouble(dy[i]);
            double gi = gamma.IsEmpty ? d : d * Num.ToDouble(gamma[a]);
            sumG[g] += gi;
            sumGx[g] += gi * xhat;
            dg[a] += d * xhat;
            db[a] += d;
        }
        bool center = layout.Ruler.Center;
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i], a = affine[i];
            double d = Num.ToDouble(dy[i]);
            double gi = gamma.IsEmpty ? d : d * Num.ToDouble(gamma[a]);
            double v;
            if (!statisticsFromInput) v = rstd[g] * gi;
            else
            {
                double xhat = Centred(Num.ToDouble(x[i]), mean, meanLo, g) * rstd[g];
                v = rstd[g] * (gi - (center ? sumG[g] / n : 0) - xhat * sumGx[g] / n);
            }
            dx[i] = Num.FromDouble<T>(v);
        }
        for (int a = 0; a < dgamma.Length; a++) dgamma[a] = Num.FromDouble<T>(dg[a]);
        for (int a = 0; a < dbeta.Length; a++) dbeta[a] = Num.FromDouble<T>(db[a]);
    }
}
