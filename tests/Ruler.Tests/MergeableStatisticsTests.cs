using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Group statistics (count, mean, M2) merge exactly (Chan et al.): a batch split into shards, with moments computed per
/// shard and merged per channel, gives the whole batch's BatchNorm — what a multi-device SyncBatchNorm needs.
/// "Exact" means to float64 rounding: relative 1e-13 on moments here, 1e-12 on outputs of magnitude ~1.
/// </summary>
public class MergeableStatisticsTests
{
    private static GroupMoments Merge(IEnumerable<GroupMoments> parts) => parts.Aggregate(default(GroupMoments), GroupMoments.Combine);

    /// <summary>Moments from the tests' oracle: compensated sums, independent of <see cref="GroupMoments.Of"/>.</summary>
    private static (double Mean, double M2) OracleMoments(double[] v)
    {
        double mean = Oracle.CompensatedSum(v) / v.Length;
        return (mean, Oracle.CompensatedSum(v.Select(x => (x - mean) * (x - mean))));
    }

    public static TheoryData<double, double> Distributions() => new() { { 0, 1 }, { 1e8, 1 }, { -3, 1e-6 }, { 1e3, 1e3 } };

    [Theory, MemberData(nameof(Distributions))]
    public void CombineOfShardsEqualsTheWholeBatchMoments(double offset, double spread)
    {
        var rng = new Random(1);
        var v = TestData.Normal(rng, 1000, offset, spread);
        var (mean, m2) = OracleMoments(v);
        // Uneven cuts, including empty and single-element shards.
        int[] cuts = [0, 0, 1, 7, 7, 300, 301, 650, 999, 1000];
        var shards = cuts.Zip(cuts.Skip(1), (a, b) => GroupMoments.Of(v.AsSpan(a, b - a))).ToArray();
        var merged = Merge(shards);
        // Tolerance on M2: each shard mean is rounded to ε·|mean|, which perturbs a merge's δ²·n_a·n_b/n term by about
        // 4ε·κ/√n of M2, with κ = |mean|/std the condition number; 9 merges, so 40ε·κ/√n + 1e-12. Chan's update meets
        // it; merging raw sums of squares (error ~ ε·κ²) would not once κ ≳ 1e4.
        double kappa = Math.Abs(offset) / spread;
        double m2Tolerance = m2 * (1e-12 + 40 * 1.1102230246251565e-16 * kappa / Math.Sqrt(v.Length));
        Assert.Equal(1000, merged.Count);
        Assert.Equal(mean, merged.Mean, Math.Abs(mean) * 1e-13 + spread * 1e-13);
        Assert.Equal(m2, merged.M2, m2Tolerance);
        // Any merge order (here: right to left, and as a balanced tree) gives the same moments.
        var reversed = shards.Reverse().Aggregate(default(GroupMoments), (acc, s) => GroupMoments.Combine(s, acc));
        var tree = GroupMoments.Combine(Merge(shards[..4]), Merge(shards[4..]));
        foreach (var other in new[] { reversed, tree })
        {
            Assert.Equal(merged.Count, other.Count);
            Assert.Equal(merged.Mean, other.Mean, Math.Abs(mean) * 1e-13 + spread * 1e-13);
            Assert.Equal(merged.M2, other.M2, 2 * m2Tolerance);
        }
    }

    [Fact]
    public void CombineWithAnEmptyGroupIsTheIdentity()
    {
        var a = GroupMoments.Of([1.0, 2.5, 4.0]);
        Assert.Equal(a, GroupMoments.Combine(a, default));
        Assert.Equal(a, GroupMoments.Combine(default, a));
        Assert.Equal(0, GroupMoments.Combine(default, default).Count);
    }

    [Fact]
    public void MomentsReportBiasedUnbiasedAndMeanSquareVariances()
    {
        var m = GroupMoments.Of([8.0, 10.0, 12.0]); // the essay's A: population std 1.633
        Assert.Equal(10, m.Mean, 1e-15);
        Assert.Equal(8, m.M2, 1e-13);
        Assert.Equal(1.633, Math.Sqrt(m.Variance), 3);
        Assert.Equal(4, m.UnbiasedVariance, 1e-13);
        Assert.Equal(100 + 8.0 / 3, m.MeanSquare, 1e-12);
    }

    public static TheoryData<ChannelLayout, int[]> ShardCases() => new()
    {
        { ChannelLayout.ChannelsFirst, new[] { 3, 1, 4 } },
        { ChannelLayout.ChannelsLast, new[] { 2, 2, 2, 2 } },
        { ChannelLayout.ChannelsFirst, new[] { 1, 7 } },
    };

    [Theory, MemberData(nameof(ShardCases))]
    public void ShardedBatchNormWithMergedMomentsEqualsBatchNormOnTheWholeBatch(ChannelLayout layout, int[] shardSizes)
    {
        // x: (N, C, H, W) or (N, H, W, C) with N = Σ shard sizes; shards are slices along N (contiguous in both layouts).
        const int c = 3, hh = 4, ww = 2;
        int n = shardSizes.Sum(), perSample = c * hh * ww;
        int[] Shape(int batch) => layout == ChannelLayout.ChannelsFirst ? [batch, c, hh, ww] : [batch, hh, ww, c];
        var rng = new Random(2);
        var x = TestData.Normal(rng, n * perSample, 5, 2);
        var gamma = TestData.Normal(rng, c, 1, 0.3);
        var beta = TestData.Normal(rng, c);

        var bn = new BatchNorm<double>(c, layout: layout);
        gamma.CopyTo(bn.Weight.Value, 0);
        beta.CopyTo(bn.Bias.Value, 0);
        var whole = new double[x.Length];
        bn.Forward(x, Shape(n), whole);

        var ruler = RulerSpec.BatchNorm(4, layout);
        var merged = new GroupMoments[c];
        int start = 0;
        foreach (int s in shardSizes)
        {
            var moments = new GroupMoments[c];
            RulerOps.Moments<double>(ruler, x.AsSpan(start * perSample, s * perSample), Shape(s), moments);
            for (int k = 0; k < c; k++) merged[k] = GroupMoments.Combine(merged[k], moments[k]);
            start += s;
        }
        var mean = new double[c];
        var rstd = new double[c];
        RulerOps.Statistics(ruler, merged, mean, rstd);
        Approx.Elementwise(bn.SavedMean.ToArray(), mean, 0, 1e-13, "merged mean vs whole-batch mean");
        Approx.Elementwise(bn.SavedRstd.ToArray(), rstd, 0, 1e-12, "merged rstd vs whole-batch rstd");
        // The running variance tracks the unbiased estimate of the whole batch: 0.9·1 + 0.1·M2/(n−1).
        Approx.Elementwise(merged.Select(m => 0.9 + 0.1 * m.UnbiasedVariance).ToArray(), bn.Running!.Variance, 0, 1e-12, "running variance");

        var sharded = new double[x.Length];
        start = 0;
        foreach (int s in shardSizes)
        {
            RulerOps.Normalize<double>(ruler, x.AsSpan(start * perSample, s * perSample), Shape(s), mean, rstd, gamma, beta,
                sharded.AsSpan(start * perSample, s * perSample));
            start += s;
        }
        Approx.Elementwise(whole, sharded, 1e-12, 1e-12, "sharded BatchNorm vs whole-batch BatchNorm");
    }

    [Fact]
    public void ShardedBatchNormInFloatMatchesWithin1e6()
    {
        // Same, in float32 storage: the merged statistics are float64, so only the output rounding differs (≤ 1e-6 abs).
        const int c = 4;
        var rng = new Random(3);
        var x = TestData.ToFloat(TestData.Normal(rng, 8 * c * 6, -2, 3));
        var bn = new BatchNorm<float>(c);
        var whole = new float[x.Length];
        bn.Forward(x, [8, c, 6], whole);
        var ruler = RulerSpec.BatchNorm(3);
        var merged = new GroupMoments[c];
        var moments = new GroupMoments[c];
        RulerOps.Moments<float>(ruler, x.AsSpan(0, 5 * c * 6), [5, c, 6], moments);
        for (int k = 0; k < c; k++) merged[k] = moments[k];
        RulerOps.Moments<float>(ruler, x.AsSpan(5 * c * 6), [3, c, 6], moments);
        for (int k = 0; k < c; k++) merged[k] = GroupMoments.Combine(merged[k], moments[k]);
        var mean = new double[c];
        var rstd = new double[c];
        RulerOps.Statistics(ruler, merged, mean, rstd);
        var sharded = new float[x.Length];
        RulerOps.Normalize<float>(ruler, x.AsSpan(0, 5 * c * 6), [5, c, 6], mean, rstd, default, default, sharded.AsSpan(0, 5 * c * 6));
        RulerOps.Normalize<float>(ruler, x.AsSpan(5 * c * 6), [3, c, 6], mean, rstd, default, default, sharded.AsSpan(5 * c * 6));
        Approx.Elementwise(TestData.ToDouble(whole), TestData.ToDouble(sharded), 1e-6, 0, "sharded float BatchNorm");
    }
}
