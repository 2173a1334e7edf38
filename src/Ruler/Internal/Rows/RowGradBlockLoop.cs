using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Ruler.Internal;

/// <summary>
/// The write pass of <see cref="RowBackwardBlocks"/> over a block of <see cref="Rows"/> rows <see cref="Stride"/>
/// elements apart, column by column: with g = dy·γ and xc = (x − mh) − ml per row,
/// dx = (g − b − xc·k)·s (+ dh) (FromInput false: dx = g·s (+ dh)); and, when <see cref="Dg"/> is not null,
/// Σ dy·xc·s and Σ dy down the block's rows in T, added into Dg and Db in float64. Per-row scalars in T:
/// Scalars[r + m·MaxBlock] for m = 0 … 4: mh, ml, b, k, s.
/// </summary>
internal unsafe struct RowGradBlockLoop<T> : ISimdLoop where T : unmanaged
{
    public T* X, Dy, Dh, Dx, Gamma, Scalars;
    public double* Dg, Db;
    public int Rows, Stride;
    public bool FromInput;

    /// <summary>Whether Dg and Db are written (0 + the block's sums) instead of added to: the task's first block.</summary>
    public bool First;

    /// <summary>
    /// Not 0 (x86 only): x and dy this many elements further on (the next block) are prefetched into L2 element by
    /// element as the block is written, so the next block's sums read from cache while this block's dx goes out.
    /// </summary>
    public long Ahead;

    private const int Mh = 0, Ml = RowBackwardBlocks.MaxBlock, B = 2 * RowBackwardBlocks.MaxBlock, K = 3 * RowBackwardBlocks.MaxBlock,
        S = 4 * RowBackwardBlocks.MaxBlock;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
    {
        TE* x = (TE*)X, dy = (TE*)Dy, dh = (TE*)Dh, dx = (TE*)Dx, gamma = (TE*)Gamma, c = (TE*)Scalars;
        int rows = Rows;
        long stride = Stride;
        bool sums = Dg != null, fromInput = FromInput, first = First;
        long ahead = Sse.IsSupported ? Ahead : 0;
        TV one = SV.Splat(Num.FromDouble<TE>(1));
        for (int j = start; j < end; j += SV.Count)
        {
            TV gam = gamma != null ? SV.Load(gamma + j) : one, dgv = default, dbv = default;
            long o = j;
            for (int r = 0; r < rows; r++, o += stride)
            {
                if (ahead != 0)
                {
                    Sse.Prefetch1(x + o + ahead);
                    Sse.Prefetch1(dy + o + ahead);
                }
                TV d = SV.Load(dy + o), xc = SV.Sub(SV.Sub(SV.Load(x + o), SV.Splat(c[Mh + r])), SV.Splat(c[Ml + r]));
                TV s = SV.Splat(c[S + r]);
                if (sums)
                {
                    dbv = SV.Add(dbv, d);
                    dgv = SV.MulAdd(SV.Mul(d, xc), s, dgv);
                }
                TV g = SV.Mul(d, gam);
                if (fromInput) g = SV.Sub(SV.Sub(g, SV.Splat(c[B + r])), SV.Mul(xc, SV.Splat(c[K + r])));
                g = SV.Mul(g, s);
                if (dh != null) g = SV.Add(g, SV.Load(dh + o));
                SV.Store(dx + o, g);
            }
            if (sums && first)
            {
                TD lo = default, hi = default;
                SV.Accumulate(ref lo, ref hi, dgv);
                SV.StoreWide(Dg + j, lo, hi);
                lo = hi = default;
                SV.Accumulate(ref lo, ref hi, dbv);
                SV.StoreWide(Db + j, lo, hi);
            }
            else if (sums)
            {
                SV.Accumulate(Dg + j, dgv);
                SV.Accumulate(Db + j, dbv);
            }
        }
    }

    public void Scalar(int j)
    {
        double dg = 0, db = 0;
        long o = j;
        for (int r = 0; r < Rows; r++, o += Stride)
        {
            double d = D(Dy[o]), xc = Centered(X[o], D(Scalars[Mh + r]), D(Scalars[Ml + r])), s = D(Scalars[S + r]);
            db = D(F(db + d));
            dg = D(F(dg + d * xc * s));
            double g = D(F(d * (Gamma != null ? D(Gamma[j]) : 1)));
            if (FromInput) g = g - D(Scalars[B + r]) - xc * D(Scalars[K + r]);
            g *= s;
            if (Dh != null) g += D(Dh[o]);
            Dx[o] = F(g);
        }
        if (Dg == null) return;
        Dg[j] = (First ? 0 : Dg[j]) + dg;
        Db[j] = (First ? 0 : Db[j]) + db;
    }

    /// <summary>((x − mh) − ml) with both subtractions rounded to T, as the vector lanes compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Centered(T x, double mh, double ml) => D(F(D(F(D(x) - mh)) - D(F(ml))));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D(T v) => Num.ToDouble(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T F(double v) => Num.FromDouble<T>(v);
}
