using Ruler.Internal;

namespace Ruler;

/// <summary>
/// BatchNorm (Ioffe &amp; Szegedy 2015): one ruler per channel, shared across the batch and every spatial position.
/// Accepts (N, C, spatial…) of any rank ≥ 2 — PyTorch's BatchNorm1d/2d/3d in one — or (N, spatial…, C) with
/// <see cref="ChannelLayout.ChannelsLast"/>. Training normalizes with the biased batch variance and updates the
/// running variance with the unbiased one; eval uses the running statistics when they are tracked.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class BatchNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    /// <summary>Creates a BatchNorm with PyTorch's defaults.</summary>
    /// <param name="numFeatures">Channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running statistics update weight in [0, 1]; null for a cumulative average.</param>
    /// <param name="affine">Learnable γ (ones) and β (zeros) per channel.</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in eval mode.</param>
    /// <param name="layout">Where the channel axis is.</param>
    public BatchNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(eps)
    {
        Check.Positive(numFeatures, nameof(numFeatures));
        Check.Momentum(momentum);
        NumFeatures = numFeatures;
        Layout = layout;
        if (trackRunningStats) Running = new RunningStatistics<T>(numFeatures, momentum);
        CreateAffine(numFeatures, affine, affine);
        _unbiased = new double[numFeatures];
    }

    private readonly double[] _unbiased;

    /// <summary>Channel count.</summary>
    public int NumFeatures { get; }

    /// <summary>Where the channel axis is.</summary>
    public ChannelLayout Layout { get; }

    /// <summary>Running statistics, or null when not tracked.</summary>
    public RunningStatistics<T>? Running { get; }

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        CheckChannels(shape, Layout, NumFeatures, 2, "BatchNorm (N, C, *)");
        return (RulerSpec.BatchNorm(shape.Length, Layout, Eps), shape.ToArray());
    }

    private protected override bool UsesInputStatistics => Training || Running is null;

    private protected override void Validate(RulerLayout layout, ReadOnlySpan<int> shape)
    {
        if (UsesInputStatistics && layout.GroupSize == 1)
            throw Check.Fail("x", "more than 1 value per channel when training", $"input size {Check.ShapeText(shape)}");
    }

    private protected override void Observe(RulerLayout layout, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd)
    {
        if (Running is null) return;
        double n = layout.GroupSize;
        var v = _unbiased;
        for (int c = 0; c < v.Length; c++) v[c] = RunningStatistics<T>.VarianceFromRstd(rstd[c], Eps) * n / (n - 1);
        Running.Update(mean, v);
    }

    private protected override void FixedStatistics(RulerLayout layout, Span<double> mean, Span<double> rstd)
    {
        for (int c = 0; c < mean.Length; c++) (mean[c], rstd[c]) = Running!.Statistics(c, Eps);
    }
}
