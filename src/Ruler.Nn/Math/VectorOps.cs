namespace Ruler.Nn;

/// <summary>The small vector loops the layers share (dot, axpy), with a <see cref="Vector{T}"/> body and a scalar tail.</summary>
internal static class VectorOps
{
    /// <summary>Σ x[i]·y[i].</summary>
    public static T Dot<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        T sum = T.Zero;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var acc = Vector<T>.Zero;
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                acc += new Vector<T>(x[i..]) * new Vector<T>(y[i..]);
            sum = Vector.Sum(acc);
        }
        for (; i < x.Length; i++) sum += x[i] * y[i];
        return sum;
    }

    /// <summary>y[i] += a·x[i].</summary>
    public static void Axpy<T>(T a, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var va = new Vector<T>(a);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
                (new Vector<T>(y[i..]) + va * new Vector<T>(x[i..])).CopyTo(y[i..]);
        }
        for (; i < x.Length; i++) y[i] += a * x[i];
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
}
