using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// The production path for rulers that no fast plan covers (<see cref="PlanKind.Reference"/>: axes no preset
/// produces), float and double. The group and affine index of every element are built once per layout and kept
/// (<see cref="Maps"/>); per-group sums come from the array pool, so a call allocates nothing after the first.
/// Statistics are two-pass moments in float64 around each group's first element. The oracle the tests compare
/// against stays <see cref="ReferenceKernels"/>, which shares no code with this class.
/// </summary>
internal static class GeneralKernels
{
    private sealed class IndexMaps(int[] group, int[] affine)
    {
        public readonly int[] Group = group, Affine = affine;
    }

    private static readonly ConditionalWeakTable<RulerLayout, IndexMaps> Cache = new();

    /// <summary>The group and affine index of every element of <paramref name="layout"/>, built on first use and kept with the layout.</summary>
    private static (int[] Group, int[] Affine) Maps(RulerLayout layout)
    {
        var maps = Cache.GetValue(layout, static l =>
        {
            var (group, affine) = l.IndexMaps();
            return new IndexMaps(group, affine);
        });
        return (maps.Group, maps.Affine);
    }

    /// <summary>Whether the maps of <paramref name="layout"/> are built (for the tests: built once, then reused).</summary>
    internal static bool HasMaps(RulerLayout layout) => Cache.TryGetValue(layout, out _);

    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        var (group, _) = Maps(layout);
        int groups = layout.GroupCount;
        var rented = ArrayPool<double>.Shared.Rent(4 * groups);
        var seen = ArrayPool<bool>.Shared.Rent(groups);
        Span<double> shift = rented.AsSpan(0, groups), sum = rented.AsSpan(groups, groups);
        Span<double> sq = rented.AsSpan(2 * groups, groups), lin = rented.AsSpan(3 * groups, groups);
        sum.Clear();
        sq.Clear();
        lin.Clear();
        seen.AsSpan(0, groups).Clear();
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i];
            double v = Num.ToDouble(x[i]);
            if (!seen[g])
            {
                seen[g] = true;
                shift[g] = v;
            }
            sum[g] += v - shift[g];
        }
        double n = layout.GroupSize;
        for (int g = 0; g < groups; g++) shift[g] += sum[g] / n;   // now the mean
        for (int i = 0; i < x.Length; i++)
        {
            int g = group[i];
            double d = Num.ToDouble(x[i]) - shift[g];
            sq[g] += d * d;
            lin[g] += d;
        }
        for (int g = 0; g < groups; g++)
            moments[g] = new GroupMoments(layout.GroupSize, shift[g], Math.Max(sq[g] - lin[g] * lin[g] / n, 0));
        ArrayPool<double>.Shared.Return(rented);
        ArrayPool<bool>.Shared.Return(seen);
    }

    /// <summary>x − centre of group g: (x − mean) − lo, lo the part of the centre below the saved mean's last bit (empty: 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Centred(double x, ReadOnlySpan<double> mean, ReadOnlySpan<double> meanLo, int g) =>
        meanLo.IsEmpty ? x - mean[g] : x - mean[g] - meanLo[g];

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, ReadOnlySpan<double> meanLo) where T : unmanaged
    {
        var (group, affine) = Maps(layout);
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
        ReadOnlySpan<double> meanLo) where T : unmanaged
    {
        var (group, affine) = Maps(layout);
        int groups = layout.GroupCount, affineSize = layout.AffineSize;
        double n = layout.GroupSize;
        var rented = ArrayPool<double>.Shared.Rent(2 * groups + 2 * affineSize);
        Span<double> sumG = rented.AsSpan(0, groups), sumGx = rented.AsSpan(groups, groups);
        Span<double> dg = rented.AsSpan(2 * groups, affineSize), db = rented.AsSpan(2 * groups + affineSize, affineSize);
        rented.AsSpan(0, 2 * groups + 2 * affineSize).Clear();
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
            double v = rstd[g] * gi;
            if (statisticsFromInput)
            {
                double xhat = Centred(Num.ToDouble(x[i]), mean, meanLo, g) * rstd[g];
                v = rstd[g] * (gi - (center ? sumG[g] / n : 0) - xhat * sumGx[g] / n);
            }
            dx[i] = Num.FromDouble<T>(v);
        }
        for (int a = 0; a < dgamma.Length; a++) dgamma[a] = Num.FromDouble<T>(dg[a]);
        for (int a = 0; a < dbeta.Length; a++) dbeta[a] = Num.FromDouble<T>(db[a]);
        ArrayPool<double>.Shared.Return(rented);
    }
}
