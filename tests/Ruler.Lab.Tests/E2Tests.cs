using Ruler.Lab.Experiments;

namespace Ruler.Lab.Tests;

/// <summary>Runs E2 once at the quick size for every test of the class.</summary>
public sealed class E2Fixture() : QuickRunFixture("E2");

public sealed class E2Tests(E2Fixture fixture) : IClassFixture<E2Fixture>
{
    private double Value(string metric) => QuickRun.Result(fixture.Report, metric).Value;

    [Fact]
    public void GroupNorm_with_one_group_is_LayerNorm_and_with_one_channel_per_group_is_InstanceNorm_within_1e_5()
    {
        Assert.InRange(Value("max |Δy|, GroupNorm(G = 1) vs LayerNorm over (C, H, W)"), 0, 1e-5);
        Assert.InRange(Value("max |Δy|, GroupNorm(G = C) vs InstanceNorm"), 0, 1e-5);
    }

    [Fact]
    public void Replacing_the_rest_of_the_batch_moves_BatchNorm_training_output_by_more_than_1e_2_and_the_per_sample_norms_by_less_than_1e_6()
    {
        const string prefix = "max |Δy| of sample 0 when the rest of the batch is replaced, ";
        Assert.True(Value(prefix + "BN (train)") > 1e-2);
        foreach (var norm in new[] { "LN", "GN (G = 4)", "IN", "RMS" })
            Assert.InRange(Value(prefix + norm), 0, 1e-6);
    }

    [Fact]
    public void The_picture_has_the_group_counts_of_each_ruler_and_matches_the_kernels_statistics_within_1e_9()
    {
        Assert.Equal(6, Value("statistics groups, BN"));    // C
        Assert.Equal(4, Value("statistics groups, LN"));    // N
        Assert.Equal(12, Value("statistics groups, GN"));   // N·G
        Assert.Equal(24, Value("statistics groups, IN"));   // N·C
        Assert.Equal(4, Value("statistics groups, RMS"));   // N
        Assert.InRange(Value("max relative |Δ| between each picture group's mean, 1/√(var+eps) and the kernels' saved statistics (all five)"), 0, 1e-9);
    }

    [Fact]
    public void Every_pass_criterion_holds_and_the_picture_is_a_png()
    {
        Assert.True(fixture.Report.Passed, string.Join("; ", fixture.Report.Results.Where(r => r.Verdict == Verdict.Fail).Select(r => r.Metric)));
        var figure = Assert.Single(fixture.Report.Figures);
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public void Group_ids_follow_the_rulers_on_a_small_block_checked_by_hand()
    {
        int[] shape = [2, 4, 1, 1]; // N = 2, C = 4, one position: element order (n, c)
        Assert.Equal([0, 1, 2, 3, 0, 1, 2, 3], E2WhoSharesTheRuler.GroupIds(new BatchNorm<double>(4), shape).Groups);
        Assert.Equal([0, 0, 0, 0, 1, 1, 1, 1], E2WhoSharesTheRuler.GroupIds(new LayerNorm<double>([4, 1, 1]), shape).Groups);
        Assert.Equal([0, 0, 1, 1, 2, 2, 3, 3], E2WhoSharesTheRuler.GroupIds(new GroupNorm<double>(2, 4), shape).Groups);
        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7], E2WhoSharesTheRuler.GroupIds(new InstanceNorm<double>(4), [2, 4, 1, 2]).Groups.Where((_, i) => i % 2 == 0).ToArray());
    }
}
