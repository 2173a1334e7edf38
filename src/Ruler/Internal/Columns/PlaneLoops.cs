using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>The plane loops of <see cref="PlaneKernels"/>, written once against <see cref="ISimd{TV, T, TD}"/>.</summary>
internal static unsafe class PlaneLoops
{
    /// <summary>
    /// y = ((x − mh) − ml)·a + b with scalars (the same operations as <see cref="Simd.Apply{T}"/>), and over the same
    /// n elements of <paramref name="next"/> (the plane measured next): with d = next − shift in float64, returns
    /// (Σ d², Σ d). One loop, so the writes of this plane and the reads of the next stream together.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Squares, double Linear) ApplyMeasure<T>(T* x, T* y, int n, double mh, double ml, double a, double b, T* next,
        double shift) where T : unmanaged
    {
        var loop = new ApplyMeasureLoop<T> { X = x, Y = y, Mh = mh, Ml = ml, A = a, B = b, Next = next, Shift = shift };
        Simd.Run<T, ApplyMeasureLoop<T>>(ref loop, n);
        return (loop.Squares, loop.Linear);
    }

    /// <summary>
    /// dx = (dy·ga − b − xc·k)·s (+ dh) with xc = (x − mh) − ml, or dx = dy·ga·s (+ dh) with x null (the operations of
    /// <see cref="Simd.GradApply{T}"/> with scalar γ), and over the same n elements of the plane measured next:
    /// (Σ ndy, Σ ndy·nxc) in float64 with nxc = (nx − nmh) − nml (the operations of <see cref="Simd.GradSums{T}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (double Dy, double DyXc) GradApplySums<T>(T* x, T* dy, T* dh, T* dx, int n, double mh, double ml, double ga, double b, double k,
        double s, T* nx, T* ndy, double nmh, double nml) where T : unmanaged
    {
        var loop = new GradApplySumsLoop<T>
        {
            X = x, Dy = dy, Dh = dh, Dx = dx, Mh = mh, Ml = ml, Ga = ga, B = b, K = k, S = s, Nx = nx, Ndy = ndy, Nmh = nmh, Nml = nml,
        };
        Simd.Run<T, GradApplySumsLoop<T>>(ref loop, n);
        return (loop.SumDy, loop.SumDyXc);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D<T>(T v) where T : unmanaged => Num.ToDouble(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T F<T>(double v) where T : unmanaged => Num.FromDouble<T>(v);

    private struct ApplyMeasureLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Y, Next;
        public double Mh, Ml, A, B, Shift, Squares, Linear;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, y = (TE*)Y, next = (TE*)Next;
            TV mh = S.Splat(F<TE>(Mh)), ml = S.Splat(F<TE>(Ml)), a = S.Splat(F<TE>(A)), b = S.Splat(F<TE>(B));
            TD shift = S.Wide(Shift);
            TD sq0 = default, sq1 = default, lin0 = default, lin1 = default;
            TD sq2 = default, sq3 = default, lin2 = default, lin3 = default;
            for (; i <= last - S.Count; i += 2 * S.Count)
            {
                S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(next + i), shift);
                S.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, S.Load(next + i + S.Count), shift);
                S.Store(y + i, S.MulAdd(S.Sub(S.Sub(S.Load(x + i), mh), ml), a, b));
                S.Store(y + i + S.Count, S.MulAdd(S.Sub(S.Sub(S.Load(x + i + S.Count), mh), ml), a, b));
            }
            if (i <= last)
            {
                S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(next + i), shift);
                S.Store(y + i, S.MulAdd(S.Sub(S.Sub(S.Load(x + i), mh), ml), a, b));
            }
            Squares += S.Sum(sq0, sq1) + S.Sum(sq2, sq3);
            Linear += S.Sum(lin0, lin1) + S.Sum(lin2, lin3);
        }

        public void Scalar(int i)
        {
            double d = D(Next[i]) - Shift;
            Squares += d * d;
            Linear += d;
            double xc = D(F<T>(D(F<T>(D(X[i]) - D(F<T>(Mh)))) - D(F<T>(Ml))));
            Y[i] = F<T>(xc * D(F<T>(A)) + D(F<T>(B)));
        }
    }

    private struct GradApplySumsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Dh, Dx, Nx, Ndy;
        public double Mh, Ml, Ga, B, K, S, Nmh, Nml, SumDy, SumDyXc;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            int i = start, last = end - SV.Count;
            TE* x = (TE*)X, dy = (TE*)Dy, dh = (TE*)Dh, dx = (TE*)Dx, nx = (TE*)Nx, ndy = (TE*)Ndy;
            TV mh = SV.Splat(F<TE>(Mh)), ml = SV.Splat(F<TE>(Ml)), ga = SV.Splat(F<TE>(Ga)), b = SV.Splat(F<TE>(B)), k = SV.Splat(F<TE>(K));
            TV s = SV.Splat(F<TE>(S)), nmh = SV.Splat(F<TE>(Nmh)), nml = SV.Splat(F<TE>(Nml));
            TD d0 = default, d1 = default, p0 = default, p1 = default;
            for (; i <= last; i += SV.Count)
            {
                TV nd = SV.Load(ndy + i);
                SV.Accumulate(ref d0, ref d1, nd);
                SV.Accumulate(ref p0, ref p1, SV.Mul(nd, SV.Sub(SV.Sub(SV.Load(nx + i), nmh), nml)));
                TV g = SV.Mul(SV.Load(dy + i), ga);
                if (x != null) g = SV.Sub(SV.Sub(g, b), SV.Mul(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), k));
                g = SV.Mul(g, s);
                if (dh != null) g = SV.Add(g, SV.Load(dh + i));
                SV.Store(dx + i, g);
            }
            SumDy += SV.Sum(d0, d1);
            SumDyXc += SV.Sum(p0, p1);
        }

        public void Scalar(int i)
        {
            double nd = D(Ndy[i]);
            SumDy += nd;
            SumDyXc += nd * Centered(Nx[i], Nmh, Nml);
            double g = D(F<T>(D(Dy[i]) * D(F<T>(Ga))));
            if (X != null) g = g - D(F<T>(B)) - Centered(X[i], Mh, Ml) * D(F<T>(K));
            g *= D(F<T>(S));
            if (Dh != null) g += D(Dh[i]);
            Dx[i] = F<T>(g);
        }
    }

    /// <summary>((x − mh) − ml) with both subtractions rounded to T, as the vector lanes compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Centered<T>(T x, double mh, double ml) where T : unmanaged => D(F<T>(D(F<T>(D(x) - mh)) - D(F<T>(ml))));
}
