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
    private int[] _lastShape = [];
    private RulerLayout? _lastLayout;

    private protected RulerNormalizer(double eps)
    {
        Check.Eps(eps);
        Eps = eps;
    }

    /// <summary>Added to the variance before the square root.</summary>
    public double Eps { get; }

    /// <summary>γ, or null when the layer has no scale.</summary>
    public Parameter<T>? Weight { get; private set; }

    /// <summary>β, or null when the layer has no shift.</summary>
    public Parameter<T>? Bias { get; private set; }

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
        if (weight) _parameters.Add(Weight = new Parameter<T>("weight", Filled(length, 1)) { NoWeightDecay = true });
        if (bias) _parameters.Add(Bias = new Parameter<T>("bias", Filled(length, 0)) { NoWeightDecay = true });
    }

    /// <summary>Whether this call normalizes with statistics of the input (else with running statistics).</summary>
    private protected virtual bool UsesInputStatistics => true;

    /// <summary>Called in training mode with the batch moments of each group, before normalizing (running statistics).</summary>
    private protected virtual void Observe(RulerLayout layout, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd) { }

    /// <summary>The mean and rstd to use when <see cref="UsesInputStatistics"/> is false.</summary>
    private protected virtual void FixedStatistics(RulerLayout layout, Span<double> mean, Span<double> rstd) =>
        throw new InvalidOperationException("This normalizer has no running statistics.");

    /// <summary>Refuses inputs the normalizer cannot handle in the current mode.</summary>
    private protected virtual void Validate(RulerLayout layout, ReadOnlySpan<int> shape) { }

    /// <inheritdoc />
    public override void Forward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y)
    {
        var layout = LayoutFor(shape, x.Length);
        Check.Length(y.Length, layout.Count, nameof(y));
        Validate(layout, shape);
        EnsureStats(layout.GroupCount);
        ReadOnlySpan<T> gamma = Weight is null ? default : Weight.Value;
        ReadOnlySpan<T> beta = Bias is null ? default : Bias.Value;
        _lastUsedInputStatistics = UsesInputStatistics;
        if (_lastUsedInputStatistics)
        {
            Kernels.Forward(layout, x, gamma, beta, y, _mean, _rstd);
            if (Training) Observe(layout, _mean, _rstd);
        }
        else
        {
            FixedStatistics(layout, _mean, _rstd);
            Kernels.Normalize(layout, x, _mean, _rstd, gamma, beta, y);
        }
    }

    /// <inheritdoc />
    public override void Backward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx)
    {
        var layout = LayoutFor(shape, x.Length);
        Check.Length(dy.Length, layout.Count, nameof(dy));
        Check.Length(dx.Length, layout.Count, nameof(dx));
        if (_mean.Length != layout.GroupCount)
            throw new InvalidOperationException($"Backward: expected a Forward on an input with {layout.GroupCount} groups first, got statistics for {_mean.Length}.");
        if (_dgamma.Length != layout.AffineSize)
        {
            _dgamma = new T[layout.AffineSize];
            _dbeta = new T[layout.AffineSize];
        }
        ReadOnlySpan<T> gamma = Weight is null ? default : Weight.Value;
        Kernels.Backward(layout, x, _mean, _rstd, gamma, dy, dx,
            Weight is null ? default : _dgamma.AsSpan(), Bias is null ? default : _dbeta.AsSpan(), _lastUsedInputStatistics);
        if (Weight is not null) Accumulate(Weight.Grad, _dgamma);
        if (Bias is not null) Accumulate(Bias.Grad, _dbeta);
    }

    /// <summary>The layout of <see cref="RulerFor"/> for this input shape; the last one is reused for the same shape.</summary>
    private RulerLayout LayoutFor(ReadOnlySpan<int> shape, int length)
    {
        if (_lastLayout is null || !shape.SequenceEqual(_lastShape))
        {
            var (ruler, view) = RulerFor(shape);
            _lastLayout = RulerOps.Resolve(ruler, length, view, "x");
            _lastShape = shape.ToArray();
        }
        if (length != _lastLayout.Count)
            throw Check.Fail("x", $"{_lastLayout.Count} elements for shape {Check.ShapeText(shape)}", $"{length}");
        return _lastLayout;
    }

    private void EnsureStats(int groups)
    {
        if (_mean.Length == groups) return;
        _mean = new double[groups];
        _rstd = new double[groups];
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
