using System.Runtime.Intrinsics;

namespace Ruler.Nn;

/// <summary>The small vector loops the layers share (adds, a row softmax), with a <see cref="Vector{T}"/> body and a scalar tail.</summary>
internal static class VectorOps
{
    private const float FloatCutoff = -80f;

    /// <summary>x[i] += a.</summary>
    public static void AddScalar<T>(Span<T> x, T a) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (var va = new Vector<T>(a); i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(x[i..]) + va).CopyTo(x[i..]);
        for (; i < x.Length; i++) x[i] += a;
    }

    /// <summary>z[i] = x[i] + y[i].</summary>
    public static void Add<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y, Span<T> z) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(x[i..]) + new Vector<T>(y[i..])).CopyTo(z[i..]);
        for (; i < x.Length; i++) z[i] = x[i] + y[i];
    }

    /// <summary>
    /// In place: row[i] = exp((row[i] − max)·scale) / Σ_j exp((row[j] − max)·scale), the max taken over the row.
    /// For float, terms with exponent below −80 (weight &lt; 2e-35 of the largest) are set to exactly 0: their
    /// quotients would be subnormal floats, which cost the FPU a slow path in every later product.
    /// </summary>
    public static void Softmax<T>(Span<T> row, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        foreach (T v in row) max = T.Max(max, v);
        int i = 0;
        T sum = T.Zero;
        bool isFloat = typeof(T) == typeof(float);
        T cutoff = T.CreateTruncating(FloatCutoff);
        if (isFloat && Vector256.IsHardwareAccelerated)
        {
            var r = MemoryMarshal.Cast<T, float>(row);
            float m = float.CreateTruncating(max), s = float.CreateTruncating(scale);
            var vm = Vector256.Create(m);
            var vs = Vector256.Create(s);
            var vc = Vector256.Create(FloatCutoff);
            var acc = Vector256<float>.Zero;
            for (; i <= r.Length - 8; i += 8)
            {
                var z = (Vector256.Create(r.Slice(i, 8)) - vm) * vs;
                var e = Vector256.ConditionalSelect(Vector256.LessThan(z, vc), Vector256<float>.Zero, VectorExp.Exp(z));
                e.CopyTo(r.Slice(i, 8));
                acc += e;
            }
            sum = T.CreateTruncating(Vector256.Sum(acc));
        }
        for (; i < row.Length; i++)
        {
            T z = (row[i] - max) * scale;
            row[i] = isFloat && z < cutoff ? T.Zero : T.Exp(z);
            sum += row[i];
        }
        T inv = T.One / sum;
        i = 0;
        if (Vector.IsHardwareAccelerated)
            for (var vi = new Vector<T>(inv); i <= row.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(row[i..]) * vi).CopyTo(row[i..]);
        for (; i < row.Length; i++) row[i] *= inv;
    }

    /// <summary>In place, for a softmax row p and its output gradient d: d[i] = p[i]·(d[i] − Σ_j p[j]·d[j])·scale.</summary>
    public static void SoftmaxBackward<T>(ReadOnlySpan<T> p, Span<T> d, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T weighted = T.Zero;
        if (Vector.IsHardwareAccelerated && p.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count) acc += new Vector<T>(p[i..]) * new Vector<T>(d[i..]);
            weighted = Vector.Sum(acc);
        }
        for (; i < p.Length; i++) weighted += p[i] * d[i];
        i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vw = new Vector<T>(weighted);
            var vs = new Vector<T>(scale);
            for (; i <= p.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(p[i..]) * (new Vector<T>(d[i..]) - vw) * vs).CopyTo(d[i..]);
        }
        for (; i < p.Length; i++) d[i] = p[i] * (d[i] - weighted) * scale;
    }
}
