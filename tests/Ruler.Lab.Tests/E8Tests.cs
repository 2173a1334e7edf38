using Ruler.Lab.Experiments;

namespace Ruler.Lab.Tests;

/// <summary>Runs E8 once at the quick size (L ∈ {6, 12, 24}, 2 seeds) for all its tests.</summary>
public sealed class E8QuickFixture() : QuickRunFixture("E8");

/// <summary>LAB.md E8's Pass criterion at the quick size, asserted on the measured gradient norms.</summary>
public sealed class E8Tests(E8QuickFixture fixture) : IClassFixture<E8QuickFixture>
{
    private readonly ExperimentReport _report = fixture.Report;

    private double Value(string metric) => QuickRun.Result(_report, metric).Value;

    [Theory]
    [InlineData(12)]
    [InlineData(24)]
    public void Pre_LN_last_layer_gradient_is_well_below_Post_LN_for_deep_stacks(int depth)
    {
        double pre = Value($"‖∂loss/∂W2‖ of the last layer, Pre-LN, L={depth}");
        double post = Value($"‖∂loss/∂W2‖ of the last layer, Post-LN, L={depth}");
        Assert.True(pre > 0 && post > 0 && double.IsFinite(pre) && double.IsFinite(post), $"gradients {pre}, {post}");
        Assert.True(pre / post < 0.6, $"Pre/Post = {pre / post} at L={depth}");
        // The reported ratio is the ratio of these two means (relative tolerance 1e-12: the same doubles).
        var ratio = QuickRun.Result(_report, $"Pre/Post ‖∂loss/∂W2‖ of the last layer, L={depth} (mean over seeds)");
        Assert.Equal(pre / post, ratio.Value, 1e-12);
        Assert.Equal(Verdict.Pass, ratio.Verdict);
    }

    [Fact]
    public void L6_ratio_is_reported_not_judged()
    {
        Assert.Equal(Verdict.Report, QuickRun.Result(_report, "Pre/Post ‖∂loss/∂W2‖ of the last layer, L=6 (mean over seeds)").Verdict);
    }

    [Fact]
    public void Tokens_have_unit_second_moment_and_pairwise_correlation_one_half()
    {
        // 64 sequences × 16 tokens × 64 dims: the estimates' standard errors are well under 0.02.
        const int sequences = 64, tokens = 16, dim = 64;
        float[] x = E8PrePostGradients.CorrelatedTokens(new Rng(7), sequences, tokens, dim);
        double square = 0, cross = 0;
        int pairs = 0;
        for (int b = 0; b < sequences; b++)
            for (int t = 0; t < tokens; t++)
                for (int j = 0; j < dim; j++)
                {
                    double v = x[(b * tokens + t) * dim + j];
                    square += v * v;
                    if (t + 1 < tokens)
                    {
                        cross += v * x[(b * tokens + t + 1) * dim + j];
                        pairs++;
                    }
                }
        Assert.InRange(square / x.Length, 0.95, 1.05);
        Assert.InRange(cross / pairs, 0.45, 0.55);
    }

    [Fact]
    public void Both_figures_are_pngs_and_the_setting_is_stated()
    {
        Assert.True(_report.Passed);
        Assert.Equal(["e8-grad-per-layer.png", "e8-last-layer-vs-depth.png"], _report.Figures.Select(f => f.File));
        foreach (var figure in _report.Figures)
        {
            byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
        Assert.Contains(_report.Notes, n => n.Contains("√0.5·z + √0.5·ε_i", StringComparison.Ordinal));
    }
}
