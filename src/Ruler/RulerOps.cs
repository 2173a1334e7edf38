using Ruler.Internal;

namespace Ruler;

/// <summary>
/// The functional API of a general ruler: statistics, forward, backward and the fused residual add + norm for any
/// axis set. Tensors are contiguous row-major spans with an explicit shape. γ (<c>gamma</c>) and β (<c>beta</c>)
/// have <see cref="RulerLayout.AffineSize"/> elements, or are empty to omit them. Saved statistics (<c>mean</c>,
/// <c>rstd</c>) are float64, one per group (<see cref="RulerLayout.GroupCount"/>); a ruler without centering saves
/// mean 0 (<see cref="RulerSpec.AllocateStatistics"/> allocates them for a shape). Backward functions
/// <b>overwrite</b> their gradient outputs (named <c>…Out</c>); modules accumulate into <see cref="Parameter{T}.Grad"/>.
/// Every argument is validated before anything is written. Thread-safe: it keeps no state of its own, so
/// any number of threads may call it at once (on buffers they do not share for writing).
/// </summary>
/// <remarks>
/// Each operation runs on <see cref="CpuBackend.Instance"/>, or on the <see cref="IRulerBackend"/> given as the first
/// argument of its overload: the arguments are validated here, once, and the backend only computes (docs/backends.md).
/// </remarks>
public static class RulerOps
{
    /// <summary>The exact moments (count, mean, M2) of every group.</summary>
    public static void Moments<T>(RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<GroupMoments> moments)
        where T : unmanaged
        => Moments(CpuBackend.Instance, ruler, x, shape, moments);

    /// <inheritdoc cref="Moments{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, Span{GroupMoments})"/>
    public static void Moments<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<GroupMoments> moments)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, x.Length, shape);
        Check.Length(moments.Length, layout.GroupCount, nameof(moments));
        backend.Moments(layout, x, moments);
    }

    /// <summary>Turns group moments into the mean and rstd = 1/√(var + eps) (or 1/√(mean square + eps) without centering) that normalization uses.</summary>
    public static void Statistics(RulerSpec ruler, ReadOnlySpan<GroupMoments> moments, Span<double> mean, Span<double> rstd)
    {
        ArgumentNullException.ThrowIfNull(ruler);
        Check.Length(mean.Length, moments.Length, nameof(mean));
        Check.Length(rstd.Length, moments.Length, nameof(rstd));
        for (int g = 0; g < moments.Length; g++)
            if (moments[g].Count <= 0)
                throw Check.Fail(nameof(moments), "every group to hold at least one value", $"group {g} with count {moments[g].Count}");
        for (int g = 0; g < moments.Length; g++) (mean[g], rstd[g]) = GroupStatistics.Of(moments[g], ruler.Center, ruler.Eps);
    }

    /// <summary>Normalizes <paramref name="x"/> with statistics computed from it: y = (x − mean)·rstd·γ + β. Saves mean and rstd for the backward.</summary>
    public static void Forward<T>(RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
        => Forward(CpuBackend.Instance, ruler, x, shape, gamma, beta, y, mean, rstd);

    /// <inheritdoc cref="Forward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{double}, Span{double})"/>
    public static void Forward<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, x.Length, shape);
        CheckAffine(layout, gamma.Length, beta.Length);
        Check.Length(y.Length, layout.Count, nameof(y));
        CheckStats(layout, mean.Length, rstd.Length);
        backend.Forward(layout, x, gamma, beta, y, mean, rstd);
    }

    /// <summary>Normalizes <paramref name="x"/> with given statistics (eval mode, running statistics, or statistics merged across shards).</summary>
    public static void Normalize<T>(RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
        => Normalize(CpuBackend.Instance, ruler, x, shape, mean, rstd, gamma, beta, y);

    /// <inheritdoc cref="Normalize{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/>
    public static void Normalize<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, x.Length, shape);
        CheckAffine(layout, gamma.Length, beta.Length);
        Check.Length(y.Length, layout.Count, nameof(y));
        CheckStats(layout, mean.Length, rstd.Length);
        backend.Normalize(layout, x, mean, rstd, gamma, beta, y, measuredFromInput: false);
    }

    /// <summary>
    /// Gradients of a normalization: with x̂ = (x − mean)·rstd and g = dy·γ, dx = rstd·(g − mean(g) − x̂·mean(g·x̂))
    /// (without centering, the mean(g) term is absent); dγ = Σ dy·x̂ and dβ = Σ dy over every axis but the affine ones.
    /// When <paramref name="statisticsFromInput"/> is false (eval mode: the statistics were constants), dx = rstd·g.
    /// </summary>
    /// <remarks>
    /// <b>Overwrites, never accumulates</b>: <paramref name="dx"/>, <paramref name="dgammaOut"/> and <paramref name="dbetaOut"/>
    /// receive this call's gradients and their previous contents are discarded. The modules (<see cref="LayerNorm{T}"/>,
    /// <see cref="AddLayerNorm{T}"/>, …) instead <i>accumulate</i> into <see cref="Parameter{T}.Grad"/>, as PyTorch does;
    /// to accumulate with this function, compute into scratch and add.
    /// </remarks>
    /// <param name="ruler">The ruler of the forward.</param>
    /// <param name="x">The forward's input.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="mean">The forward's saved means, one per group.</param>
    /// <param name="rstd">The forward's saved 1/√(var + eps), one per group.</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="dx">Gradient of x (overwritten).</param>
    /// <param name="dgammaOut">dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbetaOut">dβ (overwritten), or empty to skip it.</param>
    /// <param name="statisticsFromInput">Whether mean and rstd were measured from x (training) or constants (eval).</param>
    /// <exception cref="ArgumentException">A length or the shape is invalid (nothing is written).</exception>
    public static void Backward<T>(RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgammaOut, Span<T> dbetaOut, bool statisticsFromInput = true)
        where T : unmanaged
        => Backward(CpuBackend.Instance, ruler, x, shape, mean, rstd, gamma, dy, dx, dgammaOut, dbetaOut, statisticsFromInput);

    /// <inheritdoc cref="Backward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T}, bool)"/>
    public static void Backward<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, Span<T> dx, Span<T> dgammaOut, Span<T> dbetaOut, bool statisticsFromInput = true)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, x.Length, shape);
        CheckStats(layout, mean.Length, rstd.Length);
        Check.OptionalLength(gamma.Length, layout.AffineSize, nameof(gamma));
        Check.Length(dy.Length, layout.Count, nameof(dy));
        Check.Length(dx.Length, layout.Count, nameof(dx));
        Check.OptionalLength(dgammaOut.Length, layout.AffineSize, nameof(dgammaOut));
        Check.OptionalLength(dbetaOut.Length, layout.AffineSize, nameof(dbetaOut));
        backend.Backward(layout, x, mean, rstd, gamma, dy, dx, dgammaOut, dbetaOut, statisticsFromInput);
    }

    /// <summary>Fused residual add + norm, the step of every Pre-norm block: h = x + u; y = norm(h). Returns both.</summary>
    public static void AddForward<T>(RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<int> shape, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
        => AddForward(CpuBackend.Instance, ruler, x, u, shape, gamma, beta, h, y, mean, rstd);

    /// <inheritdoc cref="AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>
    public static void AddForward<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<int> shape, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, x.Length, shape);
        Check.Length(u.Length, layout.Count, nameof(u));
        CheckAffine(layout, gamma.Length, beta.Length);
        Check.Length(h.Length, layout.Count, nameof(h));
        Check.Length(y.Length, layout.Count, nameof(y));
        CheckStats(layout, mean.Length, rstd.Length);
        backend.AddForward(layout, x, u, gamma, beta, h, y, mean, rstd);
    }

    /// <summary>
    /// Backward of <see cref="AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>: the gradient of h = x + u is dh + norm_backward(dy), and it is the
    /// gradient of both x and u, written to <paramref name="dsum"/>. <paramref name="dh"/> (a gradient arriving at h
    /// directly, e.g. from the residual stream) may be empty.
    /// </summary>
    /// <remarks>
    /// <b>Overwrites, never accumulates</b>: <paramref name="dsum"/>, <paramref name="dgammaOut"/> and <paramref name="dbetaOut"/>
    /// receive this call's gradients. The modules <see cref="AddLayerNorm{T}"/> and <see cref="AddRmsNorm{T}"/>
    /// accumulate into <see cref="Parameter{T}.Grad"/> instead.
    /// </remarks>
    /// <param name="ruler">The ruler of the forward.</param>
    /// <param name="h">The sum x + u the forward returned (the normalized tensor).</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="mean">The forward's saved means, one per group.</param>
    /// <param name="rstd">The forward's saved 1/√(var + eps), one per group.</param>
    /// <param name="gamma">γ, or empty for none.</param>
    /// <param name="dy">Gradient of y = norm(h).</param>
    /// <param name="dh">Gradient reaching h directly, or empty for none.</param>
    /// <param name="dsum">Gradient of h, x and u (overwritten).</param>
    /// <param name="dgammaOut">dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbetaOut">dβ (overwritten), or empty to skip it.</param>
    /// <exception cref="ArgumentException">A length or the shape is invalid (nothing is written).</exception>
    public static void AddBackward<T>(RulerSpec ruler, ReadOnlySpan<T> h, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgammaOut, Span<T> dbetaOut) where T : unmanaged
        => AddBackward(CpuBackend.Instance, ruler, h, shape, mean, rstd, gamma, dy, dh, dsum, dgammaOut, dbetaOut);

    /// <inheritdoc cref="AddBackward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{T})"/>
    public static void AddBackward<T>(IRulerBackend backend, RulerSpec ruler, ReadOnlySpan<T> h, ReadOnlySpan<int> shape, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dsum, Span<T> dgammaOut, Span<T> dbetaOut) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(backend);
        var layout = Resolve(ruler, h.Length, shape);
        CheckStats(layout, mean.Length, rstd.Length);
        Check.OptionalLength(gamma.Length, layout.AffineSize, nameof(gamma));
        Check.Length(dy.Length, layout.Count, nameof(dy));
        Check.OptionalLength(dh.Length, layout.Count, nameof(dh));
        Check.Length(dsum.Length, layout.Count, nameof(dsum));
        Check.OptionalLength(dgammaOut.Length, layout.AffineSize, nameof(dgammaOut));
        Check.OptionalLength(dbetaOut.Length, layout.AffineSize, nameof(dbetaOut));
        backend.AddBackward(layout, h, mean, rstd, gamma, dy, dh, dsum, dgammaOut, dbetaOut);
    }

    internal static RulerLayout Resolve(RulerSpec ruler, int length, ReadOnlySpan<int> shape, string tensor = "x")
    {
        ArgumentNullException.ThrowIfNull(ruler);
        var layout = ruler.Resolve(shape);
        if (length != layout.Count)
            throw Check.Fail(tensor, $"{layout.Count} elements for shape {Check.ShapeText(shape)}", $"{length}");
        return layout;
    }

    private static void CheckAffine(RulerLayout layout, int gamma, int beta)
    {
        Check.OptionalLength(gamma, layout.AffineSize, nameof(gamma));
        Check.OptionalLength(beta, layout.AffineSize, nameof(beta));
    }

    private static void CheckStats(RulerLayout layout, int mean, int rstd)
    {
        Check.Length(mean, layout.GroupCount, nameof(mean));
        Check.Length(rstd, layout.GroupCount, nameof(rstd));
    }
}
