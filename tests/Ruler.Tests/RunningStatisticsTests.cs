using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Running statistics, PyTorch's way, against the recurrence computed here from the oracle's batch statistics:
/// r ← (1 − m)·r + m·batch, with the unbiased batch variance, m = momentum or 1/(batches seen) when momentum is null.
/// Tolerance 1e-12 relative (float64).
/// </summary>
public class RunningStatisticsTests
{
    /// <summary>Per channel of x (N, C, *): the batch mean and unbiased variance, from the oracle.</summary>
    private static (double[] Mean, double[] Unbiased) BatchStats(double[] x, int[] shape)
    {
        int c = shape[1];
        var r = Oracle.Normalize(x, shape, i => i[1], c, i => i[1], true, 0);
        double n = x.Length / c;
        return (r.Mean, r.Rstd.Select(s => 1 / (s * s) * n / (n - 1)).ToArray());
    }

    [Theory]
    [InlineData(0.1)]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(null)]
    public void BatchNormRunningStatisticsFollowPyTorchsRecurrence(double? momentum)
    {
        int[] shape = [5, 3, 4];
        var bn = new BatchNorm<double>(3, momentum: momentum);
        var rng = new Random(1);
        double[] mean = [0, 0, 0], var = [1, 1, 1];
        for (int step = 1; step <= 4; step++)
        {
            var x = TestData.Normal(rng, 60, step, 0.5 * step);
            bn.Forward(x, shape, new double[60]);
            var (bm, bv) = BatchStats(x, shape);
            double m = momentum ?? 1.0 / step;
            for (int k = 0; k < 3; k++)
            {
                mean[k] = (1 - m) * mean[k] + m * bm[k];
                var[k] = (1 - m) * var[k] + m * bv[k];
            }
            Assert.Equal(step, bn.Running!.BatchesTracked);
            Approx.Elementwise(mean, bn.Running.Mean, 1e-15, 1e-12, $"running mean after {step} batches");
            Approx.Elementwise(var, bn.Running.Variance, 1e-15, 1e-12, $"running variance after {step} batches");
        }
    }

    /// <summary>
    /// Batches whose variance is far below eps (1.3e-18 and 1.3e-22 against eps 1e-5): the running variance is the exact
    /// unbiased variance (1e-12 relative, exact rational oracle), not 1/rstd² − eps (0.12% off, and 0 below that).
    /// </summary>
    [Fact]
    public void RunningVarianceComesFromTheMomentsWhenTheVarianceIsFarBelowEps()
    {
        var rng = new Random(9);
        int[] shape = [8, 2, 3];
        var x = new double[48];
        double[] spread = [1.1e-9, 1.1e-11];
        Oracle.ForEachIndex(shape, (i, idx) => x[i] = 0.75 + spread[idx[1]] * (rng.NextDouble() - 0.5) * 4);
        var expected = new double[2];
        for (int c = 0; c < 2; c++)
        {
            var values = new List<double>();
            Oracle.ForEachIndex(shape, (i, idx) => { if (idx[1] == c) values.Add(x[i]); });
            expected[c] = ExactOracle.UnbiasedVariance(values);
        }
        Assert.InRange(expected[0], 1e-19, 1e-17);
        Assert.InRange(expected[1], 1e-23, 1e-21);

        var bn = new BatchNorm<double>(2, momentum: 1.0);
        bn.Forward(x, shape, new double[48]);
        Approx.Elementwise(expected, bn.Running!.Variance, 0, 1e-12, "BatchNorm running variance with var ≪ eps");

        // InstanceNorm: per (sample, channel) groups, averaged over samples.
        var inorm = new InstanceNorm<double>(2, momentum: 1.0, trackRunningStats: true);
        inorm.Forward(x, shape, new double[48]);
        var perSample = new double[2];
        for (int c = 0; c < 2; c++)
            for (int s = 0; s < 8; s++)
                perSample[c] += ExactOracle.UnbiasedVariance(Enumerable.Range(0, 3).Select(j => x[(s * 2 + c) * 3 + j])) / 8;
        Approx.Elementwise(perSample, inorm.Running!.Variance, 0, 1e-12, "InstanceNorm running variance with var ≪ eps");
    }

    [Fact]
    public void EvalModeNormalizesWithRunningStatisticsAndLeavesThemAlone()
    {
        int[] shape = [4, 3, 5];
        var bn = new BatchNorm<double>(3);
        var rng = new Random(2);
        bn.Forward(TestData.Normal(rng, 60, 2, 3), shape, new double[60]);
        var runningMean = bn.Running!.Mean.ToArray();
        var runningVar = bn.Running.Variance.ToArray();
        bn.Training = false;
        var x = TestData.Normal(rng, 60);
        var y = new double[60];
        bn.Forward(x, shape, y);
        var expected = new double[60];
        Oracle.ForEachIndex(shape, (i, idx) => expected[i] = (x[i] - runningMean[idx[1]]) / Math.Sqrt(runningVar[idx[1]] + 1e-5));
        Approx.Elementwise(expected, y, 1e-14, 1e-12, "eval output");
        Assert.Equal(runningMean, bn.Running.Mean);
        Assert.Equal(runningVar, bn.Running.Variance);
        Assert.Equal(1, bn.Running.BatchesTracked);
    }

    [Fact]
    public void InstanceNormRunningStatisticsAverageThePerInstanceStatistics()
    {
        // PyTorch folds instance norm into a batch norm over (1, N·C, *) and averages the N updated copies: the
        // running mean moves towards the mean over samples of the per-instance means, and likewise the unbiased variances.
        int[] shape = [4, 3, 6];
        var inorm = new InstanceNorm<double>(3, momentum: 0.25, trackRunningStats: true);
        var rng = new Random(3);
        var x = TestData.Normal(rng, 72, 1, 2);
        inorm.Forward(x, shape, new double[72]);
        var per = Oracle.Normalize(x, shape, i => i[0] * 3 + i[1], 12, i => i[1], true, 0);
        for (int c = 0; c < 3; c++)
        {
            double m = 0, v = 0;
            for (int n = 0; n < 4; n++)
            {
                m += per.Mean[n * 3 + c] / 4;
                v += 1 / (per.Rstd[n * 3 + c] * per.Rstd[n * 3 + c]) * 6 / 5 / 4;
            }
            Assert.Equal(0.75 * 0 + 0.25 * m, inorm.Running!.Mean[c], 1e-12);
            Assert.Equal(0.75 * 1 + 0.25 * v, inorm.Running.Variance[c], 1e-12);
        }
    }

    [Fact]
    public void ResetRestoresMeanZeroVarianceOneAndNoBatches()
    {
        var bn = new BatchNorm<float>(2);
        bn.Forward(TestData.ToFloat(TestData.Normal(new Random(4), 8, 3, 2)), [4, 2], new float[8]);
        bn.Running!.Reset();
        Assert.Equal([0f, 0f], bn.Running.Mean);
        Assert.Equal([1f, 1f], bn.Running.Variance);
        Assert.Equal(0, bn.Running.BatchesTracked);
    }
}
