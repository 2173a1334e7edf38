using Ruler.Internal;

namespace Ruler;

/// <summary>
/// A normalizer defined by a ruler: it resolves its <see cref="RulerSpec"/> against each input and runs the
/// ruler's kernels. Keeps the statistics of the last forward (<see cref="SavedMean"/>, <see cref="SavedRstd"/>).
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class RulerNormalizer<T> : Normalizer<T> where T : unmanaged
{
    private readonly List<Parameter<T>> _parameters = [];
    private double[] _mean = [];
    private double[] _rstd = [];
    private T[] _dgamma = [];
    private T[] _dbeta = [];
    private bool _lastUsedInputStatistics = true;
    private GroupMoments[] _check = [];
    private (int[] Shape, RulerLayout Layout)? _lastLayout;
    private IRulerBackend _backend = CpuBackend.Instance;

    private protected RulerNormalizer(double eps)
    {
        Check.Eps(eps);
        Eps = eps;
    }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>
    /// Where this layer's kernels run: <see cref="CpuBackend.Instance"/> unless set. Each call reads it once, so
    /// setting it between calls moves the layer; saved statistics and parameters stay in host memory either way.
    /// </summary>
    /// <exception cref="ArgumentNullException">Set to null.</exception>
    public IRulerBackend Backend
    {
        get => Volatile.Read(ref _backend);
        set => Volatile.Write(ref _backend, value ?? throw new ArgumentNullException(nameof(value), "Backend: expected a backend, e.g. CpuBackend.Instance; got null."));
    }

    private Parameter<T>? _weight;
    private Parameter<T>? _bias;

    /// <summary>Whether the layer has a learnable scale γ (<see cref="Weight"/>).</summary>
    public bool HasWeight => _weight is not null;

    /// <summary>Whether the layer has a learnable shift β (<see cref="Bias"/>).</summary>
    public bool HasBias => _bias is not null;

    /// <summary>γ (PyTorch's <c>weight</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer has no γ (created with affine off); see <see cref="HasWeight"/>.</exception>
    public Parameter<T> Weight => _weight ?? throw AffineState.Missing(GetType(), "Weight", "γ", nameof(HasWeight));

    /// <summary>β (PyTorch's <c>bias</c>).</summary>
    /// <exception cref="InvalidOperationException">The layer has no β (created with affine or bias off; RMSNorm never has one); see <see cref="HasBias"/>.</exception>
    public Parameter<T> Bias => _bias ?? throw AffineState.Missing(GetType(), "Bias", "β", nameof(HasBias));

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Per-group mean of the last forward (0 for rulers without centering).</summary>
    public ReadOnlySpan<double> SavedMean => _mean;

    /// <summary>Per-group 1/√(var + eps) of the last forward.</summary>
    public ReadOnlySpan<double> SavedRstd => _rstd;

    /// <summary>
    /// Which numbers share a ruler for an input of this shape: the ruler, and the view of the input it applies to
    /// (the shape itself, except GroupNorm, which splits the channel axis into groups).
    /// </summary>
    public abstract (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape);

    private protected void CreateAffine(int length, bool weight, bool bias)
    {
        if (weight) _parameters.Add(_weight = new Parameter<T>("weight", Filled(length, 1)) { NoWeightDecay = true });
        if (bias) _parameters.Add(_bias = new Parameter<T>("bias", Filled(length, 0)) { NoWeightDecay = true });
    }

    /// <summary>Whether this call normalizes with statistics of the input (else with running statistics).</summary>
    private protected virtual bool UsesInputStatistics => true;


    /// <summary>The mean and rstd to use when <see cref="UsesInputStatistics"/> is false.</summary>
    private protected virtual void FixedStatistics(RulerLayout layout, Span<double> mean, Span<double> rstd) =>
        throw new InvalidOperationException("This normalizer has no running statistics.");

    /// <summary>Refuses inputs the normalizer cannot handle in the current mode.</summary>
    private protected virtual void Validate(RulerLayout layout, ReadOnlySpan<int> shape) { }

    // Every call below works on locals (layout, statistics arrays) read once: the kernels are bounded by the layout
    // they are handed and check each span against it where it is pinned (Kernels), never by a field read again.

    private protected override void ForwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y)
    {
        var layout = LayoutFor(shape, x.Length);
        Check.Length(y.Length, layout.Count, nameof(y));
        Validate(layout, shape);
        var (mean, rstd) = Stats(layout.GroupCount);
        ReadOnlySpan<T> gamma = _weight is null ? default : _weight.Value;
        ReadOnlySpan<T> beta = _bias is null ? default : _bias.Value;
        bool fromInput = UsesInputStatistics;
        _lastUsedInputStatistics = fromInput;
        var backend = Backend;
        if (fromInput) ForwardWithInputStatistics(backend, layout, x, gamma, beta, y, mean, rstd);
        else
        {
            FixedStatistics(layout, mean, rstd);
            backend.Normalize(layout, x, mean, rstd, gamma, beta, y, measuredFromInput: false);
        }
    }

    /// <summary>Normalizes with the input's own statistics (written to mean and rstd); running statistics hook in here.</summary>
    private protected virtual void ForwardWithInputStatistics(IRulerBackend backend, RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, double[] mean, double[] rstd) =>
        backend.Forward(layout, x, gamma, beta, y, mean, rstd);

    private protected override void BackwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx)
    {
        var layout = LayoutFor(shape, x.Length);
        Check.Length(dy.Length, layout.Count, nameof(dy));
        Check.Length(dx.Length, layout.Count, nameof(dx));
        double[] mean = _mean, rstd = _rstd;
        if (mean.Length != layout.GroupCount || rstd.Length != layout.GroupCount)
            throw new InvalidOperationException($"Backward: expected a Forward on an input with {layout.GroupCount} groups first, got statistics for {mean.Length}.");
        if (_dgamma.Length != layout.AffineSize)
        {
            _dgamma = new T[layout.AffineSize];
            _dbeta = new T[layout.AffineSize];
        }
        if (_lastUsedInputStatistics && VerifyBackwardInput) SavedStatistics.Verify(layout, x, mean, rstd, ref _check, "x");
        T[] dgamma = _dgamma, dbeta = _dbeta;
        ReadOnlySpan<T> gamma = _weight is null ? default : _weight.Value;
        Backend.Backward(layout, x, mean, rstd, gamma, dy, dx,
            _weight is null ? default : dgamma.AsSpan(), _bias is null ? default : dbeta.AsSpan(), _lastUsedInputStatistics);
        if (_weight is not null) Accumulate(_weight.Grad, dgamma);
        if (_bias is not null) Accumulate(_bias.Grad, dbeta);
    }

    /// <summary>The layout of <see cref="RulerFor"/> for this input shape; the last one is reused for the same shape.</summary>
    private RulerLayout LayoutFor(ReadOnlySpan<int> shape, int length)
    {
        var last = _lastLayout;
        if (last is not { } cached || !shape.SequenceEqual(cached.Shape))
        {
            var (ruler, view) = RulerFor(shape);
            last = (shape.ToArray(), RulerOps.Resolve(ruler, length, view, "x"));
            _lastLayout = last;
        }
        var layout = last.Value.Layout;
        if (length != layout.Count)
            throw Check.Fail("x", $"{layout.Count} elements for shape {Check.ShapeText(shape)}", $"{length}");
        return layout;
    }

    /// <summary>The saved-statistics arrays for this many groups (replaced when the count changes).</summary>
    private (double[] Mean, double[] Rstd) Stats(int groups)
    {
        double[] mean = _mean, rstd = _rstd;
        if (mean.Length != groups || rstd.Length != groups)
        {
            mean = new double[groups];
            rstd = new double[groups];
            (_mean, _rstd) = (mean, rstd);
        }
        return (mean, rstd);
    }

    private protected static int CheckChannels(ReadOnlySpan<int> shape, ChannelLayout layout, int channels, int minRank, string what)
    {
        if (shape.Length < minRank)
            throw Check.Fail("x", $"a {what} input of rank >= {minRank}", $"shape {Check.ShapeText(shape)}");
        int c = shape[RulerSpec.ChannelAxis(shape.Length, layout)];
        if (c != channels)
            throw Check.Fail("x", $"{channels} channels on axis {(layout == ChannelLayout.ChannelsFirst ? "1" : "-1")} ({layout})", $"{c} in shape {Check.ShapeText(shape)}");
        return c;
    }
}
