namespace Ruler;

/// <summary>
/// InstanceNorm (Ulyanov et al. 2016): one ruler per (sample, channel), over the spatial positions. PyTorch's
/// defaults: no affine, no running statistics. With running statistics, training folds in the batch average of
/// the per-instance means and unbiased variances, and eval normalizes every instance with them.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class InstanceNorm<T> : RunningStatisticsNormalizer<T> where T : unmanaged
{
    /// <summary>Creates an InstanceNorm with PyTorch's defaults.</summary>
    /// <param name="numFeatures">Channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running statistics update weight in [0, 1]; null for a cumulative average.</param>
    /// <param name="affine">Learnable γ (ones) and β (zeros) per channel; off by default.</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in eval mode; off by default.</param>
    /// <param name="layout">Where the channel axis is.</param>
    public InstanceNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = false, bool trackRunningStats = false,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(numFeatures, eps, momentum, affine, trackRunningStats, layout) { }

    private protected override string SingleValueGroup => "spatial element";

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        CheckChannels(shape, Layout, NumFeatures, 3, "InstanceNorm (N, C, spatial…)");
        return (RulerSpec.InstanceNorm(shape.Length, Layout, Eps), shape.ToArray());
    }
}
