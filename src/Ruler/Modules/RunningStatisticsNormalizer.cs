using Ruler.Internal;

namespace Ruler;

/// <summary>
/// The normalizers whose rulers hold channels of (N, C, spatial…) inputs and that may keep per-channel running
/// statistics: BatchNorm (one group per channel) and InstanceNorm (one group per sample and channel). Groups are
/// numbered (sample, channel), so group g belongs to channel g mod C.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class RunningStatisticsNormalizer<T> : RulerNormalizer<T> where T : unmanaged
{
    private readonly double[] _batchMean;
    private readonly double[] _batchVariance;
    private GroupMoments[] _moments = [];

    private protected RunningStatisticsNormalizer(int numFeatures, double eps, double? momentum, bool affine, bool trackRunningStats,
        ChannelLayout layout) : base(eps)
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

    /// <summary>Channel count C.</summary>
    public int NumFeatures { get; }

    /// <summary>Where the channel axis is.</summary>
    public ChannelLayout Layout { get; }

    /// <summary>Running statistics, or null when not tracked.</summary>
    public RunningStatistics<T>? Running { get; }

    private protected override RunningStatistics<T>? StateRunning => Running;

    /// <summary>What a training-mode group of a single value is called in the error ("value per channel", …).</summary>
    private protected abstract string SingleValueGroup { get; }

    private protected override bool UsesInputStatistics => Training || Running is null;

    private protected override void Validate(RulerLayout layout, ReadOnlySpan<int> shape)
    {
        if (UsesInputStatistics && layout.GroupSize == 1)
            throw Check.Fail("x", $"more than 1 {SingleValueGroup} when training", $"input size {Check.ShapeText(shape)}");
    }

    /// <summary>
    /// In training with running statistics, the batch is measured as moments (count, mean, M2) first, so the running
    /// variance comes from M2 itself and not from 1/rstd² − eps (which cancels when var ≪ eps); the statistics follow
    /// from the same moments, so y is what <see cref="IRulerBackend.Forward{T}"/> writes.
    /// </summary>
    private protected override void ForwardWithInputStatistics(IRulerBackend backend, RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> y, double[] mean, double[] rstd)
    {
        if (!Training || Running is null)
        {
            base.ForwardWithInputStatistics(backend, layout, x, gamma, beta, y, mean, rstd);
            return;
        }
        var moments = _moments.Length == layout.GroupCount ? _moments : _moments = new GroupMoments[layout.GroupCount];
        backend.Moments(layout, x, moments);
        RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
        backend.Normalize(layout, x, mean, rstd, gamma, beta, y, measuredFromInput: true);
        Observe(moments);
    }

    /// <summary>Folds the batch into the running statistics: per channel, the mean over samples of each group's mean and unbiased variance M2/(n − 1).</summary>
    private void Observe(ReadOnlySpan<GroupMoments> moments)
    {
        int channels = NumFeatures, samples = moments.Length / channels;
        Array.Clear(_batchMean);
        Array.Clear(_batchVariance);
        for (int s = 0; s < samples; s++)
            for (int c = 0; c < channels; c++)
            {
                var m = moments[s * channels + c];
                _batchMean[c] += m.Mean / samples;
                _batchVariance[c] += m.UnbiasedVariance / samples;
            }
        Running!.Update(_batchMean, _batchVariance);
    }

    private protected override void FixedStatistics(RulerLayout layout, Span<double> mean, Span<double> rstd)
    {
        for (int g = 0; g < mean.Length; g++) (mean[g], rstd[g]) = Running!.Statistics(g % NumFeatures, Eps);
    }
}
