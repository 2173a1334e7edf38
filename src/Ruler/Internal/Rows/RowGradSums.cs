using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// The two sums of a row's backward, in one pass: with g = dy·γ (γ per element, null for 1) and xc = (x − mh) − ml
/// in T, (Σ g, Σ g·xc) in float64.
/// </summary>
internal unsafe struct RowGradSums<T> : ISimdLoop where T : unmanaged
{
    public T* X, Dy, Gamma;
    public double Mh, Ml, SumG, SumGXc;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
    {
        int i = start, last = end - S.Count;
        TE* x = (TE*)X, dy = (TE*)Dy, gamma = (TE*)Gamma;
        TV mh = S.Splat(Num.FromDouble<TE>(Mh)), ml = S.Splat(Num.FromDouble<TE>(Ml));
        TD g0 = default, g1 = default, p0 = default, p1 = default, g2 = default, g3 = default, p2 = default, p3 = default;
        for (; i <= last - S.Count; i += 2 * S.Count)
        {
            TV a = S.Load(dy + i), b = S.Load(dy + i + S.Count);
            if (gamma != null)
            {
                a = S.Mul(a, S.Load(gamma + i));
                b = S.Mul(b, S.Load(gamma + i + S.Count));
            }
            S.Accumulate(ref g0, ref g1, a);
            S.Accumulate(ref g2, ref g3, b);
            S.Accumulate(ref p0, ref p1, S.Mul(a, S.Sub(S.Sub(S.Load(x + i), mh), ml)));
            S.Accumulate(ref p2, ref p3, S.Mul(b, S.Sub(S.Sub(S.Load(x + i + S.Count), mh), ml)));
        }
        if (i <= last)
        {
            TV a = S.Load(dy + i);
            if (gamma != null) a = S.Mul(a, S.Load(gamma + i));
            S.Accumulate(ref g0, ref g1, a);
            S.Accumulate(ref p0, ref p1, S.Mul(a, S.Sub(S.Sub(S.Load(x + i), mh), ml)));
        }
        SumG += S.Sum(S.AddWide(g0, g2), S.AddWide(g1, g3));
        SumGXc += S.Sum(S.AddWide(p0, p2), S.AddWide(p1, p3));
    }

    public void Scalar(int i)
    {
        double g = Num.ToDouble(Dy[i]);
        if (Gamma != null) g *= Num.ToDouble(Gamma[i]);
        SumG += g;
        SumGXc += g * RowGradBlockLoop<T>.Centered(X[i], Mh, Ml);
    }
}

/// <summary>Entry to <see cref="RowGradSums{T}"/>.</summary>
internal static unsafe class RowGradSums
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double G, double GXc) Of<T>(T* x, T* dy, T* gamma, int n, double mh, double ml) where T : unmanaged
    {
        var loop = new RowGradSums<T> { X = x, Dy = dy, Gamma = gamma, Mh = mh, Ml = ml };
        Simd.Run<T, RowGradSums<T>>(ref loop, n);
        return (loop.SumG, loop.SumGXc);
    }
}
