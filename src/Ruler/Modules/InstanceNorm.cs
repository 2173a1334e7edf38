namespace Ruler;

/// <summary>
/// InstanceNorm (Ulyanov et al. 2016): one ruler per (sample, channel), over the spatial positions. PyTorch's
/// defaults: no affine, no running statistics. With running statistics, training folds in the batch average of
/// the per-instance means and unbiased variances, and eval normalizes every instance with them.
/// Accepts (N, C, spatial…) of rank ≥ 3 and, as PyTorch's InstanceNorm1d does, an unbatched rank-2 input (C, L)
/// ((L, C) channels-last), normalized as one sample. Unbatched inputs of higher rank ((C, H, W) for InstanceNorm2d)
/// cannot be told apart from batched ones of the same rank ((N, C, L)): add a leading batch dim of 1 for them.
/// </summary>
/// <example>
/// <code>
/// var norm = new InstanceNorm&lt;float&gt;(3);              // nn.InstanceNorm2d(3): no affine, no running statistics
/// norm.Forward(image, [batch, 3, 64, 64], y);         // one mean and std per (sample, channel)
/// var styled = new InstanceNorm&lt;float&gt;(3, affine: true);
/// styled.Forward(series, [3, 100], y);                // unbatched (C, L), as InstanceNorm1d accepts
/// </code>
/// </example>
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
    /// <exception cref="ArgumentException"><paramref name="numFeatures"/> is not positive, eps is negative or not finite, or momentum is outside [0, 1].</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public InstanceNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = false, bool trackRunningStats = false,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(numFeatures, eps, momentum, affine, trackRunningStats, layout) { }

    private protected override string SingleValueGroup => "spatial element";

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        if (shape.Length == 2)
        {
            // Unbatched (C, L) / (L, C): the view (1, C, L) / (1, L, C), one sample.
            Internal.Check.Shape(shape, "x");
            int c = shape[Layout == ChannelLayout.ChannelsFirst ? 0 : 1];
            if (c != NumFeatures)
                throw Internal.Check.Fail("x", $"{NumFeatures} channels on axis {(Layout == ChannelLayout.ChannelsFirst ? "0" : "-1")} of an unbatched ({(Layout == ChannelLayout.ChannelsFirst ? "C, L" : "L, C")}) input",
                    $"{c} in shape {Internal.Check.ShapeText(shape)}");
            return (RulerSpec.InstanceNorm(3, Layout, Eps), [1, shape[0], shape[1]]);
        }
        CheckChannels(shape, Layout, NumFeatures, 2, "InstanceNorm (C, L) or (N, C, spatial…)");
        return (RulerSpec.InstanceNorm(shape.Length, Layout, Eps), shape.ToArray());
    }
}
