using Ruler.Internal;

namespace Ruler;

/// <summary>
/// InstanceNorm (Ulyanov et al. 2016): one ruler per (sample, channel), over the spatial positions. PyTorch's
/// defaults: no affine, no running statistics. With running statistics, training folds in the batch average of
/// the per-instance means and unbiased variances, and eval normalizes every instance with them.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class InstanceNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    /// <summary>Creates an InstanceNorm with PyTorch's defaults.</summary>
    public InstanceNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = false, bool trackRunningStats = false,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(eps)
    {
        Check.Positive(numFeatures, nameof(numFeatures));
        Check.Momentum(momentum);
        NumFeatures = numFeatures;
        Layout = layout;
        if (trackRunningStats) Running = new RunningStatistics<T>(numFeatures, momentum);
        CreateAffine(numFeatures, affine, affine);
        _batchMean = new double[numFeatures];
        _batchVariance = new double[numFeatures];
    }

    private readonly double[] _batchMean;
    private readonly double[] _batchVariance;

    /// <summary>Channel count.</summary>
    public int NumFeatures { get; }

    /// <summary>Where the channel axis is.</summary>
    public ChannelLayout Layout { get; }

    /// <summary>Running statistics, or null when not tracked (the default).</summary>
    public RunningStatistics<T>? Running { get; }

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        CheckChannels(shape, Layout, NumFeatures, 3, "InstanceNorm (N, C, spatial…)");
        return (RulerSpec.InstanceNorm(shape.Length, Layout, Eps), shape.ToArray());
    }

    private protected override bool UsesInputStatistics => Training || Running is null;

    private protected override void Validate(RulerLayout layout, ReadOnlySpan<int> shape)
    {
        if (UsesInputStatistics && layout.GroupSize == 1)
            throw Check.Fail("x", "more than 1 spatial element when training", $"input size {Check.ShapeText(shape)}");
    }

    private protected override void Observe(RulerLayout layout, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd)
    {
        if (Running is null) return;
        int c = NumFeatures, batch = layout.GroupCount / c;
        double n = layout.GroupSize;
        var m = _batchMean;
        var v = _batchVariance;
        Array.Clear(m);
        Array.Clear(v);
        for (int i = 0; i < batch; i++)
            for (int k = 0; k < c; k++)
            {
                m[k] += mean[i * c + k] / batch;
                v[k] += RunningStatistics<T>.VarianceFromRstd(rstd[i * c + k], Eps) * n / (n - 1) / batch;
            }
        Running.Update(m, v);
    }

    private protected override void FixedStatistics(RulerLayout layout, Span<double> mean, Span<double> rstd)
    {
        for (int g = 0; g < mean.Length; g++) (mean[g], rstd[g]) = Running!.Statistics(g % NumFeatures, Eps);
    }
}
