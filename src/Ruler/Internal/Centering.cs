using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Ruler.Internal;

/// <summary>
/// Exact centres in float64. A saved mean is one double, so it misses the exact group centre by up to ulp(mean)/2;
/// centering with it moves x̂ by |mean|·2⁻⁵³·rstd, which at an offset of 1e8 and a spread of 1e-4 is 7e-5. When
/// |mean|·rstd exceeds <see cref="Limit"/> for some group (rare in practice, and only for float64: float32 results
/// are rounded to 2⁻²⁴ anyway), the group is measured again around its saved mean: with d = x − mean (exact by
/// Sterbenz when the data is far from zero relative to its spread), lo = Σd/n is the centre's remainder below the
/// mean's last bit and M2 = Σd² − (Σd)²/n is exact to rounding; the kernels then center as (x − mean) − lo.
/// </summary>
internal static class Centering
{
    /// <summary>|mean|·rstd above which the rounding of the mean (|mean|·2⁻⁵³) could cost more than 2⁻⁴³ ≈ 1e-13 of x̂.</summary>
    public const double Limit = 1024;

    /// <summary>Whether centres of this layout and type are refined at all: float64 rulers that center.</summary>
    public static bool Applies<T>(RulerLayout layout) => typeof(T) == typeof(double) && layout.Ruler.Center;

    /// <summary>Whether some group's saved mean is far enough from zero, in units of its spread, to need its remainder.</summary>
    public static bool Needed<T>(RulerLayout layout, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd)
    {
        if (!Applies<T>(layout)) return false;
        for (int g = 0; g < mean.Length; g++)
            if (Math.Abs(mean[g]) * rstd[g] > Limit) return true;   // NaN compares false: nothing to refine
        return false;
    }

    /// <summary>A float64 span as itself (T is double when this is called).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ReadOnlySpan<double> AsDouble<T>(ReadOnlySpan<T> x) where T : unmanaged => MemoryMarshal.Cast<T, double>(x);

    /// <summary>Moments whose mean is far from zero relative to their spread are measured again around it: mean exact to one rounding, M2 exact.</summary>
    public static void Refine(RulerLayout layout, ReadOnlySpan<double> x, Span<GroupMoments> moments)
    {
        bool any = false;
        foreach (var m in moments)
            any |= m.M2 > 0 && m.Mean * m.Mean > Limit * Limit * m.Variance;   // |mean|·(1/std) > Limit
        if (!any) return;
        int groups = moments.Length;
        var mean = new double[groups];
        var lo = new double[groups];
        var m2 = new double[groups];
        for (int g = 0; g < groups; g++) mean[g] = moments[g].Mean;
        Measure(layout, x, mean, lo, m2);
        for (int g = 0; g < groups; g++) moments[g] = new GroupMoments(moments[g].Count, mean[g] + lo[g], m2[g]);
    }

    /// <summary>
    /// Per group g, with d = x − mean[g] over its elements: lo[g] = Σd/n and (when <paramref name="m2"/> is not empty)
    /// m2[g] = Σd² − (Σd)²/n. Reads x in the layout's memory order; rare, so plain loops.
    /// </summary>
    public static void Measure(RulerLayout layout, ReadOnlySpan<double> x, ReadOnlySpan<double> mean, Span<double> lo, Span<double> m2)
    {
        int groups = layout.GroupCount;
        Span<double> sq = m2.IsEmpty ? new double[groups] : m2;
        lo.Clear();
        sq.Clear();
        if (layout.Kind == PlanKind.Rows)
        {
            var plan = layout.RowPlan;
            for (int g = 0; g < groups; g++)
                for (int k = 0; k < plan.Segments; k++)
                    Add(x.Slice((int)plan.Offset(g, k), plan.SegmentLength), mean[g], ref sq[g], ref lo[g]);
        }
        else if (layout.Kind == PlanKind.Columns)
        {
            var plan = layout.ColumnPlan;
            for (int b = 0; b < plan.Batch; b++)
                for (int r = 0; r < plan.Rows; r++)
                {
                    var row = x.Slice(((b * plan.Rows) + r) * plan.Width, plan.Width);
                    for (int w = 0; w < plan.Width; w++)
                    {
                        int g = b * plan.GroupsPerBatch + w / plan.PerGroup;
                        double d = row[w] - mean[g];
                        sq[g] += d * d;
                        lo[g] += d;
                    }
                }
        }
        else
        {
            var (group, _) = layout.IndexMaps();
            for (int i = 0; i < x.Length; i++)
            {
                int g = group[i];
                double d = x[i] - mean[g];
                sq[g] += d * d;
                lo[g] += d;
            }
        }
        double n = layout.GroupSize;
        for (int g = 0; g < groups; g++)
        {
            sq[g] = Math.Max(sq[g] - lo[g] * lo[g] / n, 0);   // M2 = Σd² − (Σd)²/n
            lo[g] /= n;                                        // the centre's remainder: mean(x) − mean
        }
    }

    private static void Add(ReadOnlySpan<double> segment, double mean, ref double squares, ref double linear)
    {
        foreach (double v in segment)
        {
            double d = v - mean;
            squares += d * d;
            linear += d;
        }
    }
}
