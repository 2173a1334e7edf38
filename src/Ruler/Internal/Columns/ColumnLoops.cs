using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// The column loops of <see cref="ColumnKernels"/>, written once against <see cref="ISimd{TV, T, TD}"/> and run
/// through <see cref="Simd.Run{T, TLoop}"/> over the columns. Rows are read in memory order, four at a time: for
/// each vector of columns the four rows are summed in registers and added to float64 accumulators per column
/// (in L1), so every row is streamed once from start to end and the hardware prefetcher sees plain sequential reads.
/// </summary>
internal static unsafe class ColumnLoops
{
    /// <summary>
    /// With d = x[r, j] − centre[j] in float64, over <paramref name="rows"/> rows <paramref name="stride"/> elements
    /// apart: sq[j] = Σ d², lin[j] = Σ d (overwritten) for every column j &lt; n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Deviations<T>(T* x, int rows, int stride, int n, double* centre, double* sq, double* lin) where T : unmanaged
    {
        new Span<double>(sq, n).Clear();
        new Span<double>(lin, n).Clear();
        var loop = new DeviationsLoop<T> { X = x, Rows = rows, Stride = stride, Centre = centre, Sq = sq, Lin = lin };
        Simd.Run<T, DeviationsLoop<T>>(ref loop, n);
    }

    /// <summary>
    /// With xc = (x[r, j] − mh[j]) − ml[j] in T: sdy[j] += Σ dy, sdyx[j] += Σ dy·xc (float64) over
    /// <paramref name="rows"/> rows <paramref name="stride"/> apart, for every column j &lt; n.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradSums<T>(T* x, T* dy, int rows, int stride, int n, T* mh, T* ml, double* sdy, double* sdyx) where T : unmanaged
    {
        var loop = new GradSumsLoop<T> { X = x, Dy = dy, Rows = rows, Stride = stride, Mh = mh, Ml = ml, Sdy = sdy, Sdyx = sdyx };
        Simd.Run<T, GradSumsLoop<T>>(ref loop, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D<T>(T v) where T : unmanaged => Num.ToDouble(v);

    private struct DeviationsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X;
        public double* Centre, Sq, Lin;
        public int Rows, Stride;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            TE* x = (TE*)X;
            long stride = Stride;
            int r = 0;
            for (; r + 4 <= Rows; r += 4, x += 4 * stride)
            {
                for (int j = start; j < end; j += S.Count)
                {
                    S.LoadWide(Centre + j, out TD cLo, out TD cHi);
                    TD sq0 = default, sq1 = default, lin0 = default, lin1 = default;
                    TD sq2 = default, sq3 = default, lin2 = default, lin3 = default;
                    S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(x + j), cLo, cHi);
                    S.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, S.Load(x + stride + j), cLo, cHi);
                    S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(x + 2 * stride + j), cLo, cHi);
                    S.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, S.Load(x + 3 * stride + j), cLo, cHi);
                    S.LoadWide(Sq + j, out TD aLo, out TD aHi);
                    S.StoreWide(Sq + j, S.AddWide(aLo, S.AddWide(sq0, sq2)), S.AddWide(aHi, S.AddWide(sq1, sq3)));
                    S.LoadWide(Lin + j, out TD bLo, out TD bHi);
                    S.StoreWide(Lin + j, S.AddWide(bLo, S.AddWide(lin0, lin2)), S.AddWide(bHi, S.AddWide(lin1, lin3)));
                }
            }
            for (; r < Rows; r++, x += stride)
            {
                for (int j = start; j < end; j += S.Count)
                {
                    S.LoadWide(Centre + j, out TD cLo, out TD cHi);
                    S.LoadWide(Sq + j, out TD sq0, out TD sq1);
                    S.LoadWide(Lin + j, out TD lin0, out TD lin1);
                    S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(x + j), cLo, cHi);
                    S.StoreWide(Sq + j, sq0, sq1);
                    S.StoreWide(Lin + j, lin0, lin1);
                }
            }
        }

        public void Scalar(int j)
        {
            double sq = 0, lin = 0;
            for (int r = 0; r < Rows; r++)
            {
                double d = D(X[(long)r * Stride + j]) - Centre[j];
                sq += d * d;
                lin += d;
            }
            Sq[j] = sq;
            Lin[j] = lin;
        }
    }

    private struct GradSumsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Mh, Ml;
        public double* Sdy, Sdyx;
        public int Rows, Stride;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            TE* x = (TE*)X, dy = (TE*)Dy, mhp = (TE*)Mh, mlp = (TE*)Ml;
            long stride = Stride;
            int r = 0;
            for (; r + 4 <= Rows; r += 4, x += 4 * stride, dy += 4 * stride)
            {
                for (int j = start; j < end; j += S.Count)
                {
                    TV mh = S.Load(mhp + j), ml = S.Load(mlp + j);
                    TD d0 = default, d1 = default, p0 = default, p1 = default, e0 = default, e1 = default, q0 = default, q1 = default;
                    TV a = S.Load(dy + j), b = S.Load(dy + stride + j), c = S.Load(dy + 2 * stride + j), d = S.Load(dy + 3 * stride + j);
                    S.Accumulate(ref d0, ref d1, a);
                    S.Accumulate(ref p0, ref p1, S.Mul(a, S.Sub(S.Sub(S.Load(x + j), mh), ml)));
                    S.Accumulate(ref e0, ref e1, b);
                    S.Accumulate(ref q0, ref q1, S.Mul(b, S.Sub(S.Sub(S.Load(x + stride + j), mh), ml)));
                    S.Accumulate(ref d0, ref d1, c);
                    S.Accumulate(ref p0, ref p1, S.Mul(c, S.Sub(S.Sub(S.Load(x + 2 * stride + j), mh), ml)));
                    S.Accumulate(ref e0, ref e1, d);
                    S.Accumulate(ref q0, ref q1, S.Mul(d, S.Sub(S.Sub(S.Load(x + 3 * stride + j), mh), ml)));
                    S.LoadWide(Sdy + j, out TD aLo, out TD aHi);
                    S.StoreWide(Sdy + j, S.AddWide(aLo, S.AddWide(d0, e0)), S.AddWide(aHi, S.AddWide(d1, e1)));
                    S.LoadWide(Sdyx + j, out TD bLo, out TD bHi);
                    S.StoreWide(Sdyx + j, S.AddWide(bLo, S.AddWide(p0, q0)), S.AddWide(bHi, S.AddWide(p1, q1)));
                }
            }
            for (; r < Rows; r++, x += stride, dy += stride)
            {
                for (int j = start; j < end; j += S.Count)
                {
                    TV mh = S.Load(mhp + j), ml = S.Load(mlp + j);
                    S.LoadWide(Sdy + j, out TD d0, out TD d1);
                    S.LoadWide(Sdyx + j, out TD p0, out TD p1);
                    TV a = S.Load(dy + j);
                    S.Accumulate(ref d0, ref d1, a);
                    S.Accumulate(ref p0, ref p1, S.Mul(a, S.Sub(S.Sub(S.Load(x + j), mh), ml)));
                    S.StoreWide(Sdy + j, d0, d1);
                    S.StoreWide(Sdyx + j, p0, p1);
                }
            }
        }

        public void Scalar(int j)
        {
            double mh = D(Mh[j]), ml = D(Ml[j]);
            for (int r = 0; r < Rows; r++)
            {
                long o = (long)r * Stride + j;
                double d = D(Dy[o]);
                Sdy[j] += d;
                Sdyx[j] += d * Centered(X[o], mh, ml);
            }
        }
    }

    /// <summary>((x − mh) − ml) with both subtractions rounded to T, as the vector lanes compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Centered<T>(T x, double mh, double ml) where T : unmanaged =>
        D(Num.FromDouble<T>(D(Num.FromDouble<T>(D(x) - mh)) - ml));
}
