using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Dispatch from validated calls to kernels: float and double tensors whose layout is rows/planes
/// (<see cref="RowKernels"/>; groups of planes in <see cref="PlaneKernels"/>) or columns
/// (<see cref="ColumnKernels"/>) take the fast paths; Half and BFloat16 are widened to float and take the float paths
/// (<see cref="NarrowKernels"/>); rulers no plan covers run <see cref="GeneralKernels"/> (index maps built once per
/// layout). <see cref="ReferenceKernels"/> is the tests' oracle only. <see cref="PlanOf{T}"/> says which one a call takes.
/// </summary>
internal static unsafe class Kernels
{
    // Bounds: every public entry checks each span against the layout it was handed (a parameter, immutable) before
    // any of them is pinned; the pointer kernels below loop only over that layout's plan. So no call sequence, and
    // no other thread swapping a caller's fields, can make a kernel read or write outside the spans it was given.

    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        Bounds.Require(x.Length, layout.Count, nameof(x));
        Bounds.Require(moments.Length, layout.GroupCount, nameof(moments));
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Moments(layout, x, moments);
            return;
        }
        var kind = Plan<T>(layout, out var rows, out var columns);
        if (kind == PlanKind.Reference) GeneralKernels.Moments(layout, x, moments);
        else
        {
            fixed (T* px = x)
            fixed (GroupMoments* pm = moments)
            {
                if (kind == PlanKind.Rows) RowKernels.Forward<T>(rows, true, 0, px, null, null, null, null, null, null, null, pm, true);
                else ColumnKernels.Moments(new ColumnKernels.MomentsArgs<T> { Plan = columns, X = px, Moments = pm });
            }
        }
        if (typeof(T) == typeof(double)) Centering.Refine(layout, Centering.AsDouble(x), moments);
    }

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        Bounds.Require(x.Length, layout.Count, nameof(x));
        Bounds.Affine(layout, gamma.Length, beta.Length);
        Bounds.Require(y.Length, layout.Count, nameof(y));
        Bounds.Stats(layout, mean.Length, rstd.Length);
        if (NarrowKernels.Handles<T>()) NarrowKernels.Forward(layout, x, gamma, beta, y, mean, rstd);
        else if (Centering.Applies<T>(layout) && x.Overlaps(y))
        {
            // In place: y would overwrite x before a re-measure could read it, so measure, refine, then write.
            var moments = ArrayPool<GroupMoments>.Shared.Rent(layout.GroupCount);
            var m = moments.AsSpan(0, layout.GroupCount);
            Moments(layout, x, m);
            for (int g = 0; g < m.Length; g++) (mean[g], rstd[g]) = GroupStatistics.Of(m[g], true, layout.Ruler.Eps);
            ArrayPool<GroupMoments>.Shared.Return(moments);
            NormalizeMeasured(layout, x, mean, rstd, gamma, beta, y);
        }
        else
        {
            FastForward(layout, x, default, gamma, beta, default, y, mean, rstd, measure: true);
            if (Centering.Needed<T>(layout, mean, rstd)) Recentre(layout, x, gamma, beta, y, mean, rstd);
        }
    }

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged =>
        Normalize(layout, x, mean, rstd, gamma, beta, y, default);

    /// <summary>
    /// Normalize with statistics just measured from this x (a module's training forward): for float64 with centers far
    /// from zero in units of the spread, the centre's bits below the saved mean's last one are measured from x and used.
    /// </summary>
    public static void NormalizeMeasured<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        if (!Centering.Needed<T>(layout, mean, rstd))
        {
            Normalize(layout, x, mean, rstd, gamma, beta, y, default);
            return;
        }
        var lo = ArrayPool<double>.Shared.Rent(layout.GroupCount);
        Centering.Measure(layout, Centering.AsDouble(x), mean, lo.AsSpan(0, layout.GroupCount), default);
        Normalize(layout, x, mean, rstd, gamma, beta, y, lo.AsSpan(0, layout.GroupCount));
        ArrayPool<double>.Shared.Return(lo);
    }

    private static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, ReadOnlySpan<double> meanLo) where T : unmanaged
    {
        Bounds.Require(x.Length, layout.Count, nameof(x));
        Bounds.Affine(layout, gamma.Length, beta.Length);
        Bounds.Require(y.Length, layout.Count, nameof(y));
        Bounds.Stats(layout, mean.Length, rstd.Length);
        Bounds.Optional(meanLo.Length, layout.GroupCount, nameof(meanLo));
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            GeneralKernels.Normalize(layout, x, mean, rstd, gamma, beta, y, meanLo);
            return;
        }
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
        fixed (double* pl = meanLo)
            FastForward(layout, x, default, gamma, beta, default, y, new Span<double>(pm, mean.Length), new Span<double>(pr, rstd.Length),
                measure: false, pl);
    }

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged
    {
        Bounds.Require(x.Length, layout.Count, nameof(x));
        Bounds.Stats(layout, mean.Length, rstd.Length);
        Bounds.Optional(gamma.Length, layout.AffineSize, nameof(gamma));
        Bounds.Require(dy.Length, layout.Count, nameof(dy));
        Bounds.Require(dx.Length, layout.Count, nameof(dx));
        Bounds.Optional(dgamma.Length, layout.AffineSize, nameof(dgamma));
        Bounds.Optional(dbeta.Length, layout.AffineSize, nameof(dbeta));
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Backward(layout, x, mean, rstd, gamma, dy, default, dx, dgamma, dbeta, statisticsFromInput);
            return;
        }
        double[]? lo = statisticsFromInput ? CentreBelowMean(layout, x, mean, rstd) : null;
        var meanLo = lo is null ? default : lo.AsSpan(0, layout.GroupCount);
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
            GeneralKernels.Backward(layout, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, statisticsFromInput, meanLo);
        else FastBackward(layout, x, mean, rstd, gamma, dy, default, dx, dgamma, dbeta, statisticsFromInput, meanLo);
        if (lo is not null) ArrayPool<double>.Shared.Return(lo);
    }

    public static void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        Bounds.Require(x.Length, layout.Count, nameof(x));
        Bounds.Require(u.Length, layout.Count, nameof(u));
        Bounds.Affine(layout, gamma.Length, beta.Length);
        Bounds.Require(h.Length, layout.Count, nameof(h));
        Bounds.Require(y.Length, layout.Count, nameof(y));
        Bounds.Stats(layout, mean.Length, rstd.Length);
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.AddForward(layout, x, u, gamma, beta, h, y, mean, rstd);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference || (Centering.Applies<T>(layout) && y.Overlaps(h)))
        {
            // h first, then the forward of h (which handles y over h, and refines float64 centres).
            for (int i = 0; i < x.Length; i++) h[i] = Num.FromDouble<T>(Num.ToDouble(x[i]) + Num.ToDouble(u[i]));
            Forward(layout, (ReadOnlySpan<T>)h, gamma, beta, y, mean, rstd);
            return;
        }
        FastForward(layout, x, u, gamma, beta, h, y, mean, rstd, measure: true);
        if (Centering.Needed<T>(layout, mean, rstd)) Recentre(layout, h, gamma, beta, y, mean, rstd);
    }

    public static void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged
    {
        Bounds.Require(h.Length, layout.Count, nameof(h));
        Bounds.Stats(layout, mean.Length, rstd.Length);
        Bounds.Optional(gamma.Length, layout.AffineSize, nameof(gamma));
        Bounds.Require(dy.Length, layout.Count, nameof(dy));
        Bounds.Optional(dh.Length, layout.Count, nameof(dh));
        Bounds.Require(dsum.Length, layout.Count, nameof(dsum));
        Bounds.Optional(dgamma.Length, layout.AffineSize, nameof(dgamma));
        Bounds.Optional(dbeta.Length, layout.AffineSize, nameof(dbeta));
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Backward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta, fromInput: true);
            return;
        }
        double[]? lo = CentreBelowMean(layout, h, mean, rstd);
        var meanLo = lo is null ? default : lo.AsSpan(0, layout.GroupCount);
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            GeneralKernels.Backward(layout, h, mean, rstd, gamma, dy, dsum, dgamma, dbeta, statisticsFromInput: true, meanLo);
            for (int i = 0; i < dh.Length; i++) dsum[i] = Num.FromDouble<T>(Num.ToDouble(dsum[i]) + Num.ToDouble(dh[i]));
        }
        else FastBackward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta, fromInput: true, meanLo);
        if (lo is not null) ArrayPool<double>.Shared.Return(lo);
    }

    /// <summary>
    /// Float64 groups whose saved mean is far from zero in units of the spread (<see cref="Centering.Needed{T}"/>):
    /// re-measured around the saved mean, the mean becomes the exact centre rounded once and M2 (so rstd) exact, and
    /// y is written again with the centre's remaining bits. Reads x, so x must not overlap y here.
    /// </summary>
    private static void Recentre<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y,
        Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        int groups = layout.GroupCount;
        var scratch = ArrayPool<double>.Shared.Rent(2 * groups);
        Span<double> lo = scratch.AsSpan(0, groups), m2 = scratch.AsSpan(groups, groups);
        Centering.Measure(layout, Centering.AsDouble(x), mean, lo, m2);
        for (int g = 0; g < groups; g++)
        {
            double centre = mean[g] + lo[g];                       // the exact centre, rounded once
            lo[g] = mean[g] - centre + lo[g];                      // what rounding left out (exact: Fast2Sum, |lo| ≤ ulp(mean))
            mean[g] = centre;
            rstd[g] = GroupStatistics.Of(new GroupMoments(layout.GroupSize, centre, m2[g]), true, layout.Ruler.Eps).Rstd;
        }
        Normalize(layout, x, mean, rstd, gamma, beta, y, lo);
        ArrayPool<double>.Shared.Return(scratch);
    }

    /// <summary>For a float64 backward whose centres need it, the centre's bits below each saved mean (pooled; null when not needed).</summary>
    private static double[]? CentreBelowMean<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd)
        where T : unmanaged
    {
        if (!Centering.Needed<T>(layout, mean, rstd)) return null;
        var lo = ArrayPool<double>.Shared.Rent(layout.GroupCount);
        Centering.Measure(layout, Centering.AsDouble(x), mean, lo.AsSpan(0, layout.GroupCount), default);
        return lo;
    }

    /// <summary>
    /// Group g's centre as hi + lo, each exact in T: the saved mean split by <see cref="Split{T}"/>, plus the centre's bits
    /// below the saved mean when given (<paramref name="meanLo"/> not null: float64 groups re-measured by <see cref="Centering"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double Hi, double Lo) Centre<T>(double* mean, double* meanLo, int g) where T : unmanaged
    {
        var (hi, lo) = Split<T>(mean[g]);
        return meanLo == null ? (hi, lo) : (hi, lo + meanLo[g]);
    }

    /// <summary>
    /// The mean as mean_hi + mean_lo, mean_hi rounded to T: centering as (x − mean_hi) − mean_lo in T is exact for
    /// the first subtraction near the mean (Sterbenz), so an offset of 1e4 with a spread of 1e-2 keeps float accuracy.
    /// The form x·s + t (with t = −mean·s) would cancel the offset after rounding and lose it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double Hi, double Lo) Split<T>(double mean) where T : unmanaged
    {
        double hi = Num.ToDouble(Num.FromDouble<T>(mean));
        return (hi, mean - hi);
    }

    /// <summary>
    /// The kernels that a forward or backward of <paramref name="layout"/> in element type <typeparamref name="T"/>
    /// runs (Half and BFloat16 run the float kernels on widened chunks): for the tests, which assert that every
    /// preset and layout gets a fast plan.
    /// </summary>
    internal static FastPlan PlanOf<T>(RulerLayout layout) where T : unmanaged
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && !NarrowKernels.Handles<T>()) return FastPlan.General;
        return layout.Kind switch
        {
            PlanKind.Rows => PlaneKernels.Handles(layout.RowPlan) ? FastPlan.Planes : FastPlan.Rows,
            PlanKind.Columns => FastPlan.Columns,
            _ => FastPlan.General,
        };
    }

    private static PlanKind Plan<T>(RulerLayout layout, out RowPlan rows, out ColumnPlan columns) where T : unmanaged
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            rows = default;
            columns = default;
            return PlanKind.Reference;
        }
        rows = layout.RowPlan;
        columns = layout.ColumnPlan;
        return layout.Kind;
    }

    private static void FastForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd, bool measure, double* meanLo = null) where T : unmanaged
    {
        var kind = Plan<T>(layout, out var rows, out var columns);
        if (kind == PlanKind.Reference)
        {
            var rented = ArrayPool<GroupMoments>.Shared.Rent(layout.GroupCount);
            GeneralKernels.Moments(layout, x, rented.AsSpan(0, layout.GroupCount));
            for (int g = 0; g < layout.GroupCount; g++) (mean[g], rstd[g]) = GroupStatistics.Of(rented[g], layout.Ruler.Center, layout.Ruler.Eps);
            ArrayPool<GroupMoments>.Shared.Return(rented);
            GeneralKernels.Normalize(layout, x, mean, rstd, gamma, beta, y, default);
            return;
        }
        bool center = layout.Ruler.Center;
        double eps = layout.Ruler.Eps;
        fixed (T* px = x)
        fixed (T* pu = u)
        fixed (T* ph = h)
        fixed (T* pg = gamma)
        fixed (T* pb = beta)
        fixed (T* py = y)
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
        {
            if (kind == PlanKind.Rows && pu == null && PlaneKernels.Handles(rows))
            {
                var args = new PlaneKernels.ForwardArgs<T>
                {
                    Plan = rows, Center = center, Eps = eps, X = px, Gamma = pg, Beta = pb, Y = py, Mean = pm, Rstd = pr, MeanLo = meanLo,
                };
                if (measure) PlaneKernels.Forward(args);
                else PlaneKernels.Normalize(args);
            }
            else if (kind == PlanKind.Rows) RowKernels.Forward(rows, center, eps, px, pu, ph, pg, pb, py, pm, pr, null, measure, meanLo);
            else
            {
                var args = new ColumnKernels.ForwardArgs<T>
                {
                    Plan = columns, Center = center, Eps = eps, X = px, U = pu, H = ph, Gamma = pg, Beta = pb, Y = py, Mean = pm, Rstd = pr,
                    MeanLo = meanLo,
                };
                if (measure) ColumnKernels.Forward(args);
                else ColumnKernels.Normalize(args);
            }
        }
    }

    private static void FastBackward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput,
        ReadOnlySpan<double> meanLo) where T : unmanaged
    {
        var kind = Plan<T>(layout, out var rows, out var columns);
        bool center = layout.Ruler.Center;
        fixed (double* pl = meanLo)
        fixed (T* px = x)
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
        fixed (T* pg = gamma)
        fixed (T* pdy = dy)
        fixed (T* pdh = dh)
        fixed (T* pdx = dx)
        fixed (T* pdg = dgamma)
        fixed (T* pdb = dbeta)
        {
            if (kind == PlanKind.Rows && PlaneKernels.Handles(rows))
                PlaneKernels.Backward(new PlaneKernels.BackwardArgs<T>
                {
                    Plan = rows, Center = center, FromInput = fromInput, X = px, Gamma = pg, Dy = pdy, Dh = pdh, Dx = pdx, DGamma = pdg, DBeta = pdb,
                    Mean = pm, Rstd = pr, MeanLo = pl, AffineSize = layout.AffineSize,
                });
            else if (kind == PlanKind.Rows) RowKernels.Backward(rows, center, px, pm, pr, pg, pdy, pdh, pdx, pdg, pdb, layout.AffineSize, fromInput, pl);
            else
                ColumnKernels.Backward(new ColumnKernels.BackwardArgs<T>
                {
                    Plan = columns, Center = center, FromInput = fromInput, X = px, Gamma = pg, Dy = pdy, Dh = pdh, Dx = pdx, DGamma = pdg, DBeta = pdb,
                    Mean = pm, Rstd = pr, MeanLo = pl, AffineSize = layout.AffineSize,
                });
        }
    }
}

/// <summary>Which kernels serve a call (see <see cref="Kernels.PlanOf{T}"/>).</summary>
internal enum FastPlan
{
    /// <summary><see cref="GeneralKernels"/>: per-element group and affine maps, built once per layout.</summary>
    General,
    /// <summary><see cref="RowKernels"/>: rows (LayerNorm, RMSNorm), and groups of short runs.</summary>
    Rows,
    /// <summary><see cref="PlaneKernels"/>: groups of planes (BatchNorm, InstanceNorm, GroupNorm NCHW), walked group by group.</summary>
    Planes,
    /// <summary><see cref="ColumnKernels"/>: columns (channels-last layouts, BatchNorm (N, C)).</summary>
    Columns,
}
