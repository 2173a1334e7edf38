using System.Buffers;

namespace Ruler.Internal;

/// <summary>
/// Half and <see cref="BFloat16"/> storage: inputs are widened (exactly) into pooled float buffers, the float
/// kernels run (float element math, float64 statistics), and outputs are rounded once to the storage type. So a
/// Half tensor whose variance exceeds Half's range (|x| ≈ 500, x² ≈ 250000 &gt; 65504) is normalized without
/// overflow, and results are within one storage ulp of the float64 reference.
/// </summary>
internal static class NarrowKernels
{
    public static bool Handles<T>() => typeof(T) == typeof(Half) || typeof(T) == typeof(BFloat16);

    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        using var fx = Widen(x);
        Kernels.Moments<float>(layout, fx.Span, moments);
    }

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        using Buffer fx = Widen(x), fg = Widen(gamma), fb = Widen(beta), fy = new(y.Length);
        Kernels.Forward<float>(layout, fx.Span, fg.Span, fb.Span, fy.Span, mean, rstd);
        Narrow(fy.Span, y);
    }

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        using Buffer fx = Widen(x), fg = Widen(gamma), fb = Widen(beta), fy = new(y.Length);
        Kernels.Normalize<float>(layout, fx.Span, mean, rstd, fg.Span, fb.Span, fy.Span);
        Narrow(fy.Span, y);
    }

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput)
        where T : unmanaged
    {
        using Buffer fx = Widen(x), fg = Widen(gamma), fdy = Widen(dy), fdh = Widen(dh);
        using Buffer fdx = new(dx.Length), fdg = new(dgamma.Length), fdb = new(dbeta.Length);
        if (dh.IsEmpty && !fromInput) Kernels.Backward<float>(layout, fx.Span, mean, rstd, fg.Span, fdy.Span, fdx.Span, fdg.Span, fdb.Span, false);
        else Kernels.AddBackward<float>(layout, fx.Span, mean, rstd, fg.Span, fdy.Span, fdh.Span, fdx.Span, fdg.Span, fdb.Span);
        Narrow(fdx.Span, dx);
        Narrow(fdg.Span, dgamma);
        Narrow(fdb.Span, dbeta);
    }

    /// <summary>h = x + u rounded to the storage type (as the reference does), then the forward of h.</summary>
    public static void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        for (int i = 0; i < h.Length; i++) h[i] = Num.FromDouble<T>(Num.ToDouble(x[i]) + Num.ToDouble(u[i]));
        Forward(layout, h, gamma, beta, y, mean, rstd);
    }

    private static Buffer Widen<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = new Buffer(values.Length);
        var f = buffer.Span;
        for (int i = 0; i < values.Length; i++) f[i] = (float)Num.ToDouble(values[i]);
        return buffer;
    }

    private static void Narrow<T>(ReadOnlySpan<float> values, Span<T> into) where T : unmanaged
    {
        for (int i = 0; i < into.Length; i++) into[i] = Num.FromDouble<T>(values[i]);
    }

    /// <summary>A pooled float buffer of an exact length (empty for an absent optional tensor).</summary>
    private readonly struct Buffer(int length) : IDisposable
    {
        private readonly float[]? _array = length == 0 ? null : ArrayPool<float>.Shared.Rent(length);

        public Span<float> Span => _array is null ? default : _array.AsSpan(0, length);

        public void Dispose()
        {
            if (_array is not null) ArrayPool<float>.Shared.Return(_array);
        }
    }
}
