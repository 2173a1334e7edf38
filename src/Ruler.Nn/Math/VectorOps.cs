using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Ruler.Internal;

namespace Ruler.Nn;

/// <summary>
/// The small vector loops the layers share (adds, a row softmax): <see cref="TensorPrimitives"/> where it does the
/// job, and the softmax's exp pass as one loop over the widest accelerated float lanes (<see cref="IFloatSimd{TV, TD}"/>).
/// </summary>
internal static class VectorOps
{
    private const float FloatCutoff = -80f;

    /// <summary>x[i] += a.</summary>
    public static void AddScalar<T>(Span<T> x, T a) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Add(x, a, x);

    /// <summary>z[i] = x[i] + y[i].</summary>
    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T> =>
        TensorPrimitives.Add(x, y, z);

    /// <summary>
    /// In place: row[i] = exp((row[i] − max)·scale) / Σ_j exp((row[j] − max)·scale), the max taken over the row.
    /// For float, terms with exponent below −80 (weight &lt; 2e-35 of the largest) are set to exactly 0: their
    /// quotients would be subnormal floats, which cost the FPU a slow path in every later product.
    /// </summary>
    public static void Softmax<T>(Span<T> row, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (row.IsEmpty) return;
        T max = TensorPrimitives.Max<T>(row);
        int i = 0;
        T sum = T.Zero;
        bool isFloat = typeof(T) == typeof(float);
        T cutoff = T.CreateTruncating(FloatCutoff);
        if (isFloat)
        {
            var r = MemoryMarshal.Cast<T, float>(row);
            float m = float.CreateTruncating(max), s = float.CreateTruncating(scale), total = 0;
            if (Vector512.IsHardwareAccelerated) total += ExpShifted<Vector512<float>, Vector512<double>, F512>(r, m, s, ref i);
            if (Vector256.IsHardwareAccelerated) total += ExpShifted<Vector256<float>, Vector256<double>, F256>(r, m, s, ref i);
            if (Vector128.IsHardwareAccelerated) total += ExpShifted<Vector128<float>, Vector128<double>, F128>(r, m, s, ref i);
            sum = T.CreateTruncating(total);
        }
        for (; i < row.Length; i++)
        {
            T z = (row[i] - max) * scale;
            row[i] = isFloat && z < cutoff ? T.Zero : T.Exp(z);
            sum += row[i];
        }
        TensorPrimitives.Multiply(row, T.One / sum, row);
    }

    /// <summary>
    /// r[j] = exp((r[j] − max)·scale) (0 below the cutoff) over the whole vectors of width S left from i; returns
    /// their sum and moves i past them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe float ExpShifted<TV, TD, S>(Span<float> r, float max, float scale, ref int i)
        where TV : struct where TD : struct where S : IFloatSimd<TV, TD>
    {
        if (r.Length - i < S.Count) return 0;
        var vm = S.Splat(max);
        var vs = S.Splat(scale);
        var vc = S.Splat(FloatCutoff);
        var acc = S.Splat(0f);
        fixed (float* p = r)
        {
            for (; i <= r.Length - S.Count; i += S.Count)
            {
                var z = S.Mul(S.Sub(S.Load(p + i), vm), vs);
                var e = S.ZeroWhereBelow(VectorExp.Exp<TV, TD, S>(z), z, vc);
                S.Store(p + i, e);
                acc = S.Add(acc, e);
            }
        }
        return S.Sum(acc);
    }

    /// <summary>In place, for a softmax row p and its output gradient d: d[i] = p[i]·(d[i] − Σ_j p[j]·d[j])·scale.</summary>
    public static void SoftmaxBackward<T>(ReadOnlySpan<T> p, Span<T> d, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        d = d[..p.Length];
        T weighted = TensorPrimitives.Dot(p, d);
        TensorPrimitives.AddMultiply(d, -weighted, p, d);
        TensorPrimitives.Multiply(d, scale, d);
    }
}
