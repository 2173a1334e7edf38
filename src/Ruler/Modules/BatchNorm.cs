namespace Ruler;

/// <summary>
/// BatchNorm (Ioffe &amp; Szegedy 2015): one ruler per channel, shared across the batch and every spatial position.
/// Accepts (N, C, spatial…) of any rank ≥ 2 — PyTorch's BatchNorm1d/2d/3d in one — or (N, spatial…, C) with
/// <see cref="ChannelLayout.ChannelsLast"/>. Training normalizes with the biased batch variance and updates the
/// running variance with the unbiased one; eval uses the running statistics when they are tracked.
/// </summary>
/// <example>
/// <code>
/// var bn = new BatchNorm&lt;float&gt;(64);                 // nn.BatchNorm2d(64): eps 1e-5, momentum 0.1
/// int[] shape = [batch, 64, 28, 28];                 // (N, C, H, W); any rank >= 2 works
/// bn.Forward(x, shape, y);                           // training: batch statistics; running mean/var updated
/// bn.Backward(x, shape, dy, dx);                     // dx; accumulates bn.Weight.Grad and bn.Bias.Grad
/// bn.Training = false;                               // eval: normalizes with bn.Running.Mean and .Variance
/// bn.Forward(x, shape, y);
/// var state = bn.StateDict();                        // "weight", "bias", "running_mean", "running_var", "num_batches_tracked"
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class BatchNorm<T> : RunningStatisticsNormalizer<T> where T : unmanaged
{
    /// <summary>Creates a BatchNorm with PyTorch's defaults.</summary>
    /// <param name="numFeatures">Channel count C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="momentum">Running statistics update weight in [0, 1]; null for a cumulative average.</param>
    /// <param name="affine">Learnable γ (ones) and β (zeros) per channel.</param>
    /// <param name="trackRunningStats">Keep running statistics and use them in eval mode.</param>
    /// <param name="layout">Where the channel axis is.</param>
    /// <exception cref="ArgumentException"><paramref name="numFeatures"/> is not positive, eps is negative or not finite, or momentum is outside [0, 1].</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public BatchNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(numFeatures, eps, momentum, affine, trackRunningStats, layout) { }

    private protected override string SingleValueGroup => "value per channel";

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        CheckChannels(shape, Layout, NumFeatures, 2, "BatchNorm (N, C, *)");
        return (RulerSpec.BatchNorm(shape.Length, Layout, Eps), shape.ToArray());
    }
}
