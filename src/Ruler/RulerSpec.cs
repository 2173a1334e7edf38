using Ruler.Internal;

namespace Ruler;

/// <summary>
/// The one idea of this library: which numbers share a ruler. A ruler says which axes of a tensor are reduced
/// together into one group (one mean, one scale), whether the group mean is subtracted (LayerNorm family) or not
/// (RMSNorm family), the eps added to the variance, and which axes the affine parameters γ, β are indexed by.
/// </summary>
/// <remarks>
/// Axes may be negative (counted from the end, as in PyTorch); they are resolved against the shape of each call.
/// Every element with the same index on the kept (non-reduced) axes belongs to one group; groups are numbered in
/// row-major order of the kept axes, and affine parameters in row-major order of the affine axes.
/// The five familiar normalizers are presets: see <see cref="BatchNorm"/>, <see cref="LayerNorm"/>,
/// <see cref="GroupNorm"/>, <see cref="InstanceNorm"/> and <see cref="RmsNorm"/>.
/// A ruler is immutable and safe to share between threads (its cache of the last resolved layout is swapped atomically).
/// </remarks>
public sealed class RulerSpec
{
    private readonly int[] _reducedAxes;
    private readonly int[] _affineAxes;
    private RulerLayout? _lastLayout;

    /// <summary>Creates a ruler.</summary>
    /// <param name="reducedAxes">The axes whose elements share one mean and one scale (at least one).</param>
    /// <param name="center">Subtract the group mean (true: LayerNorm family) or only divide by the RMS (false: RMSNorm family).</param>
    /// <param name="eps">
    /// Added to the variance (or mean square) before the square root; finite and ≥ 0. With eps = 0 (which PyTorch
    /// accepts too) a group of equal values (for a ruler without centering: all zeros) has variance 0, rstd = +∞ and
    /// normalizes to NaN, as in PyTorch; any eps &gt; 0 keeps it finite (y = β).
    /// </param>
    /// <param name="affineAxes">The axes γ and β are indexed by; empty for a ruler whose parameters are scalars or absent.</param>
    public RulerSpec(ReadOnlySpan<int> reducedAxes, bool center = true, double eps = 1e-5, ReadOnlySpan<int> affineAxes = default)
    {
        if (reducedAxes.IsEmpty) throw Check.Fail(nameof(reducedAxes), "at least one axis", "none");
        Check.Eps(eps);
        _reducedAxes = reducedAxes.ToArray();
        _affineAxes = affineAxes.ToArray();
        if (_reducedAxes.Distinct().Count() != _reducedAxes.Length)
            throw Check.Fail(nameof(reducedAxes), "distinct axes", Check.ShapeText(reducedAxes));
        if (_affineAxes.Distinct().Count() != _affineAxes.Length)
            throw Check.Fail(nameof(affineAxes), "distinct axes", Check.ShapeText(affineAxes));
        Center = center;
        Eps = eps;
    }

    /// <summary>The axes reduced into one group, as given (possibly negative).</summary>
    public IReadOnlyList<int> ReducedAxes => _reducedAxes;

    /// <summary>The axes γ and β are indexed by, as given (possibly negative).</summary>
    public IReadOnlyList<int> AffineAxes => _affineAxes;

    /// <summary>Whether the group mean is subtracted (shift removed) before scaling.</summary>
    public bool Center { get; }

    /// <summary>Added to the variance (or mean square) before the square root.</summary>
    public double Eps { get; }

    /// <summary>The same ruler with another eps.</summary>
    public RulerSpec WithEps(double eps) => new(_reducedAxes, Center, eps, _affineAxes);

    /// <summary>
    /// Resolves the ruler against a shape: group count, group size and affine size. The last layout is kept and
    /// returned again for the same shape, so that a training loop resolves without allocating.
    /// </summary>
    /// <exception cref="ArgumentException">An axis is out of range for the shape, or the shape is invalid.</exception>
    public RulerLayout Resolve(ReadOnlySpan<int> shape)
    {
        var last = Volatile.Read(ref _lastLayout);
        if (last is not null && shape.SequenceEqual(last.Dims)) return last;
        var layout = new RulerLayout(this, shape);
        Volatile.Write(ref _lastLayout, layout);
        return layout;
    }

    /// <summary>BatchNorm: statistics per channel, over the batch and every spatial position; affine per channel.</summary>
    /// <param name="rank">Tensor rank, at least 2: (N, C), (N, C, L), (N, C, H, W), …</param>
    /// <param name="layout">Where the channel axis is.</param>
    /// <param name="eps">Added to the variance.</param>
    public static RulerSpec BatchNorm(int rank, ChannelLayout layout = ChannelLayout.ChannelsFirst, double eps = 1e-5)
    {
        if (rank < 2) throw Check.Fail(nameof(rank), "a rank >= 2 (N, C, spatial…)", rank.ToString());
        int channel = ChannelAxis(rank, layout);
        return new RulerSpec(Enumerable.Range(0, rank).Where(a => a != channel).ToArray(), true, eps, [channel]);
    }

    /// <summary>LayerNorm: statistics per leading index, over the trailing <paramref name="normalizedRank"/> dims; affine per normalized element.</summary>
    public static RulerSpec LayerNorm(int normalizedRank = 1, double eps = 1e-5) => Trailing(normalizedRank, true, eps);

    /// <summary>
    /// RMSNorm: like LayerNorm without centering (scale only). <paramref name="eps"/> has no default on purpose:
    /// PyTorch's <c>nn.RMSNorm</c> (and <see cref="RmsNorm{T}"/>) default to the machine epsilon of the element type
    /// (<see cref="MachineEpsilon{T}"/>), while many models use 1e-5 or 1e-6, and a ruler has no element type to
    /// take a default from. Pass <c>RulerSpec.MachineEpsilon&lt;T&gt;()</c> for PyTorch's default.
    /// </summary>
    /// <param name="normalizedRank">How many trailing dims form one group (at least 1).</param>
    /// <param name="eps">Added to the mean square; finite and ≥ 0 (0: a group of zeros normalizes to NaN, as in PyTorch).</param>
    /// <returns>The ruler: reduce and affine over the trailing <paramref name="normalizedRank"/> axes, no centering.</returns>
    /// <exception cref="ArgumentException"><paramref name="normalizedRank"/> is not positive, or eps is negative or not finite.</exception>
    public static RulerSpec RmsNorm(int normalizedRank, double eps) => Trailing(normalizedRank, false, eps);

    /// <summary>
    /// The machine epsilon of <typeparamref name="T"/> (PyTorch's <c>torch.finfo(dtype).eps</c>): 2⁻²³ for float,
    /// 2⁻⁵² for double, 2⁻¹⁰ for Half, 2⁻⁷ for <see cref="BFloat16"/>. The default eps of <see cref="RmsNorm{T}"/>.
    /// </summary>
    /// <typeparam name="T">float, double, Half or <see cref="BFloat16"/>.</typeparam>
    /// <returns>The distance from 1 to the next larger value of <typeparamref name="T"/>.</returns>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is another type.</exception>
    public static double MachineEpsilon<T>() where T : unmanaged
    {
        Check.ElementType<T>();
        return typeof(T) == typeof(float) ? 1.1920928955078125e-07
            : typeof(T) == typeof(Half) ? 0.0009765625
            : typeof(T) == typeof(BFloat16) ? 0.0078125
            : 2.220446049250313e-16;
    }

    /// <summary>
    /// Allocates the saved statistics of this ruler for an input of the given shape: <c>mean</c> and <c>rstd</c>,
    /// one float64 per group (<see cref="RulerLayout.GroupCount"/>), as <see cref="RulerOps.Forward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{double}, Span{double})"/>,
    /// <see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/>, <see cref="RulerOps.Normalize{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> and the backwards take them.
    /// </summary>
    /// <param name="shape">The input's shape (the view's shape for GroupNorm, see <see cref="GroupNormView"/>).</param>
    /// <returns>Two zeroed arrays of <see cref="RulerLayout.GroupCount"/> elements.</returns>
    /// <exception cref="ArgumentException">The shape is invalid or an axis of the ruler is out of range for it.</exception>
    public (double[] Mean, double[] Rstd) AllocateStatistics(ReadOnlySpan<int> shape)
    {
        int groups = Resolve(shape).GroupCount;
        return (new double[groups], new double[groups]);
    }

    /// <summary>InstanceNorm: statistics per (sample, channel) over the spatial positions; affine per channel.</summary>
    public static RulerSpec InstanceNorm(int rank, ChannelLayout layout = ChannelLayout.ChannelsFirst, double eps = 1e-5)
    {
        if (rank < 3) throw Check.Fail(nameof(rank), "a rank >= 3 (N, C, spatial…)", rank.ToString());
        int channel = ChannelAxis(rank, layout);
        return new RulerSpec(Enumerable.Range(1, rank - 1).Where(a => a != channel).ToArray(), true, eps, [channel]);
    }

    /// <summary>
    /// GroupNorm as a ruler on a view of the tensor in which the channel axis C is split into (G, C/G):
    /// channels-first (N, G, C/G, S) with S the flattened spatial positions, channels-last (N, S, G, C/G).
    /// Statistics per (sample, group) over C/G channels × S positions; affine per channel = (G, C/G).
    /// Use <see cref="GroupNormView"/> to get that view's shape.
    /// </summary>
    public static RulerSpec GroupNorm(ChannelLayout layout = ChannelLayout.ChannelsFirst, double eps = 1e-5) =>
        layout == ChannelLayout.ChannelsFirst
            ? new RulerSpec([2, 3], true, eps, [1, 2])
            : new RulerSpec([1, 3], true, eps, [2, 3]);

    /// <summary>The 4-d view (see <see cref="GroupNorm"/>) of a (N, C, spatial…) or (N, spatial…, C) shape.</summary>
    public static int[] GroupNormView(ReadOnlySpan<int> shape, int groups, ChannelLayout layout = ChannelLayout.ChannelsFirst)
    {
        Check.Shape(shape);
        if (shape.Length < 2) throw Check.Fail("input", "a shape (N, C, *) of rank >= 2", Check.ShapeText(shape));
        Check.Positive(groups, nameof(groups));
        int c = shape[ChannelAxis(shape.Length, layout)];
        if (c % groups != 0)
            throw Check.Fail(nameof(groups), $"a divisor of the channel count {c}", groups.ToString());
        int spatial = 1;
        for (int a = 1; a < shape.Length; a++) if (a != ChannelAxis(shape.Length, layout)) spatial *= shape[a];
        return layout == ChannelLayout.ChannelsFirst
            ? [shape[0], groups, c / groups, spatial]
            : [shape[0], spatial, groups, c / groups];
    }

    internal static int ChannelAxis(int rank, ChannelLayout layout) => layout == ChannelLayout.ChannelsFirst ? 1 : rank - 1;

    private static RulerSpec Trailing(int normalizedRank, bool center, double eps)
    {
        Check.Positive(normalizedRank, nameof(normalizedRank));
        int[] axes = Enumerable.Range(-normalizedRank, normalizedRank).ToArray();
        return new RulerSpec(axes, center, eps, axes);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"Ruler(reduce {Check.ShapeText(_reducedAxes)}, {(Center ? "center" : "no centering")}, eps {Check.Fmt(Eps)}, affine {Check.ShapeText(_affineAxes)})";
}
