namespace Ruler.Internal;

/// <summary>
/// Dispatch from validated calls to kernels: a fast path when the layout matches one (rows, columns, planes),
/// otherwise the float64 reference.
/// </summary>
internal static class Kernels
{
    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged =>
        ReferenceKernels.Moments(layout, x, moments);

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments(layout, x, moments);
        RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
        ReferenceKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
    }

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged =>
        ReferenceKernels.Normalize(layout, x, mean, rstd, gamma, beta, y);

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged =>
        ReferenceKernels.Backward(layout, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, statisticsFromInput);

    public static void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        var sum = new T[x.Length];
        for (int i = 0; i < x.Length; i++) sum[i] = Num.FromDouble<T>(Num.ToDouble(x[i]) + Num.ToDouble(u[i]));
        Forward(layout, sum, gamma, beta, y, mean, rstd);
        sum.CopyTo(h);
    }

    public static void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged
    {
        Backward(layout, h, mean, rstd, gamma, dy, dsum, dgamma, dbeta, statisticsFromInput: true);
        if (dh.IsEmpty) return;
        for (int i = 0; i < dsum.Length; i++) dsum[i] = Num.FromDouble<T>(Num.ToDouble(dsum[i]) + Num.ToDouble(dh[i]));
    }
}
