using Ruler.Internal;

namespace Ruler;

/// <summary>
/// The kernels on this machine's CPU: SIMD fast plans for float and double rows, planes and columns; Half and
/// <see cref="BFloat16"/> widened to float inside the loops; the float64 reference for what has no fast plan.
/// Threads come from one pool shared with the engine, bounded by <see cref="RulerParallelism.MaxThreads"/>.
/// Stateless: <see cref="Instance"/> is the only instance, safe to share between threads.
/// </summary>
public sealed class CpuBackend : IRulerBackend
{
    private CpuBackend() { }

    /// <summary>The CPU backend, the default of <see cref="RulerOps"/> and every module.</summary>
    public static CpuBackend Instance { get; } = new();

    /// <inheritdoc />
    public string Name => "cpu";

    /// <inheritdoc />
    public void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged =>
        Kernels.Moments(layout, x, moments);

    /// <inheritdoc />
    public void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged =>
        Kernels.Forward(layout, x, gamma, beta, y, mean, rstd);

    /// <inheritdoc />
    public void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y, bool measuredFromInput) where T : unmanaged
    {
        if (measuredFromInput) Kernels.NormalizeMeasured(layout, x, mean, rstd, gamma, beta, y);
        else Kernels.Normalize(layout, x, mean, rstd, gamma, beta, y);
    }

    /// <inheritdoc />
    public void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool statisticsFromInput) where T : unmanaged =>
        Kernels.Backward(layout, x, mean, rstd, gamma, dy, dx, dgamma, dbeta, statisticsFromInput);

    /// <inheritdoc />
    public void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged =>
        Kernels.AddForward(layout, x, u, gamma, beta, h, y, mean, rstd);

    /// <inheritdoc />
    public void AddBackward<T>(RulerLayout layout, ReadOnlySpan<T> h, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgamma, Span<T> dbeta) where T : unmanaged =>
        Kernels.AddBackward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgamma, dbeta);

    /// <inheritdoc />
    public override string ToString() => Name;
}
