using System.Runtime.Intrinsics;

namespace Ruler.Nn;

/// <summary>The small vector loops the layers share (adds, a row softmax), with a <see cref="Vector{T}"/> body and a scalar tail.</summary>
internal static class VectorOps
{
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

    /// <summary>In place: row[i] = exp((row[i] − max)·scale) / Σ_j exp((row[j] − max)·scale), the max taken over the row.</summary>
    public static void Softmax<T>(Span<T> row, T scale) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T max = T.NegativeInfinity;
        foreach (T v in row) max = T.Max(max, v);
        int i = 0;
        T sum = T.Zero;
        if (typeof(T) == typeof(float) && Vector256.IsHardwareAccelerated)
        {
            var r = MemoryMarshal.Cast<T, float>(row);
            float m = float.CreateTruncating(max), s = float.CreateTruncating(scale);
            var vm = Vector256.Create(m);
            var vs = Vector256.Create(s);
            var acc = Vector256<float>.Zero;
            for (; i <= r.Length - 8; i += 8)
            {
                var e = VectorExp.Exp((Vector256.Create(r.Slice(i, 8)) - vm) * vs);
                e.CopyTo(r.Slice(i, 8));
                acc += e;
            }
            sum = T.CreateTruncating(Vector256.Sum(acc));
        }
        for (; i < row.Length; i++)
        {
            row[i] = T.Exp((row[i] - max) * scale);
            sum += row[i];
        }
        T inv = T.One / sum;
        i = 0;
        if (Vector.IsHardwareAccelerated)
            for (var vi = new Vector<T>(inv); i <= row.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(row[i..]) * vi).CopyTo(row[i..]);
        for (; i < row.Length; i++) row[i] *= inv;
    }
}
