using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Dispatch from validated calls to kernels: float and double tensors whose layout is rows/planes
/// (<see cref="RowKernels"/>) or columns (<see cref="ColumnKernels"/>) take the fast paths; Half and BFloat16 are
/// widened to float and take the float paths (<see cref="NarrowKernels"/>); every other call runs the float64 reference.
/// </summary>
internal static unsafe class Kernels
{
    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Moments(layout, x, moments);
            return;
        }
        var kind = Plan<T>(layout, out var rows, out var columns);
        if (kind == PlanKind.Reference)
        {
            ReferenceKernels.Moments(layout, x, moments);
            return;
        }
        fixed (T* px = x)
        fixed (GroupMoments* pm = moments)
        {
            if (kind == PlanKind.Rows) RowKernels.Forward<T>(rows, true, 0, px, null, null, null, null, null, null, null, pm, true);
            else ColumnKernels.Forward<T>(columns, true, 0, px, null, null, null, null, null, null, null, pm, true);
        }
    }

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>()) NarrowKernels.Forward(layout, x, gamma, beta, y, mean, rstd);
        else FastForward(layout, x, default, gamma, beta, default, y, mean, rstd, measure: true);
    }

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            ReferenceKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
            return;
        }
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
            FastForward(layout, x, default, gamma, beta, default, y, new Span<double>(pm, mean.Length), new Span<double>(pr, rstd.Length), measure: false);
    }

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Backward(layout, x, mean, rstd, gamma, dy, default, dx, dgamma, dbeta, statisticsFromInput);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            ReferenceKernels.Backward(layout, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, statisticsFromInput);
            return;
        }
        FastBackward(layout, x, mean, rstd, gamma, dy, default, dx, dgamma, dbeta, statisticsFromInput);
    }

    public static void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.AddForward(layout, x, u, gamma, beta, h, y, mean, rstd);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            for (int i = 0; i < x.Length; i++) h[i] = Num.FromDouble<T>(Num.ToDouble(x[i]) + Num.ToDouble(u[i]));
            var moments = new GroupMoments[layout.GroupCount];
            ReferenceKernels.Moments(layout, h, moments);
            RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
            ReferenceKernels.Normalize(layout, h, mean, rstd, gamma, beta, y);
            return;
        }
        FastForward(layout, x, u, gamma, beta, h, y, mean, rstd, measure: true);
    }

    public static void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged
    {
        if (NarrowKernels.Handles<T>())
        {
            NarrowKernels.Backward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta, fromInput: true);
            return;
        }
        if (Plan<T>(layout, out _, out _) == PlanKind.Reference)
        {
            ReferenceKernels.Backward(layout, h, mean, rstd, gamma, dy, dsum, dgamma, dbeta, statisticsFromInput: true);
            for (int i = 0; i < dh.Length; i++) dsum[i] = Num.FromDouble<T>(Num.ToDouble(dsum[i]) + Num.ToDouble(dh[i]));
            return;
        }
        FastBackward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta, fromInput: true);
    }

    /// <summary>(mean, rstd) of a group's moments: what <see cref="RulerOps.Statistics"/> computes, for one group.</summary>
    public static (double Mean, double Rstd) Statistics(GroupMoments m, bool center, double eps) =>
        (center ? m.Mean : 0, 1 / Math.Sqrt((center ? m.Variance : m.MeanSquare) + eps));

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
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd, bool measure) where T : unmanaged
    {
        var kind = Plan<T>(layout, out var rows, out var columns);
        if (kind == PlanKind.Reference)
        {
            var moments = new GroupMoments[layout.GroupCount];
            ReferenceKernels.Moments(layout, x, moments);
            RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
            ReferenceKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
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
            if (kind == PlanKind.Rows) RowKernels.Forward(rows, center, eps, px, pu, ph, pg, pb, py, pm, pr, null, measure);
            else ColumnKernels.Forward(columns, center, eps, px, pu, ph, pg, pb, py, pm, pr, null, measure);
        }
    }

    private static void FastBackward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput)
        where T : unmanaged
    {
        var kind = Plan<T>(layout, out var rows, out var columns);
        bool center = layout.Ruler.Center;
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
            if (kind == PlanKind.Rows) RowKernels.Backward(rows, center, px, pm, pr, pg, pdy, pdh, pdx, pdg, pdb, layout.AffineSize, fromInput);
            else ColumnKernels.Backward(columns, center, px, pm, pr, pg, pdy, pdh, pdx, pdg, pdb, layout.AffineSize, fromInput);
        }
    }
}
