namespace Ruler.Lab.Tests;

/// <summary>Runs E7 once at the quick size (16 blocks) for all its tests.</summary>
public sealed class E7QuickFixture() : QuickRunFixture("E7");

/// <summary>LAB.md E7's Pass criteria at the quick size, asserted on the measured values.</summary>
public sealed class E7Tests(E7QuickFixture fixture) : IClassFixture<E7QuickFixture>
{
    private readonly ExperimentReport _report = fixture.Report;

    private double Value(string metric) => QuickRun.Result(_report, metric).Value;

    [Theory]
    [InlineData("none")]
    [InlineData("center-only")]
    public void Without_a_unit_the_stream_mean_square_grows_like_1_5_to_the_depth(string variant)
    {
        // 16 blocks: 1.5^16 ≈ 657 (Xiong et al. 2020, Lemma 2); tolerance: a factor 1.5, one block's growth.
        double expected = Math.Pow(1.5, 16);
        double ms = Value($"MS_L, {variant}");
        Assert.InRange(ms, expected / 1.5, expected * 1.5);
        Assert.Equal(Verdict.Pass, QuickRun.Result(_report, $"MS_L, {variant}").Verdict);
    }

    [Theory]
    [InlineData("Pre-RMS")]
    [InlineData("Pre-LN")]
    public void Pre_norm_streams_grow_linearly(string variant)
    {
        // 1 + L/2 = 9 at L = 16; LAB.md's quick band [6.5, 12].
        Assert.InRange(Value($"MS_L, {variant}"), 6.5, 12);
    }

    [Fact]
    public void RmsNorm_holds_the_stream_like_LayerNorm_and_center_only_does_not()
    {
        Assert.True(Value("|ln MS_L(Pre-RMS) − ln MS_L(Pre-LN)|") < 0.15);
        // Center-only sits with none (within 10% in mean square) and far above Pre-LN (> 20×).
        double center = Value("MS_L, center-only"), none = Value("MS_L, none"), ln = Value("MS_L, Pre-LN");
        Assert.InRange(center / none, 0.9, 1.1);
        Assert.True(center > 20 * ln, $"center-only MS {center} vs Pre-LN {ln}");
    }

    [Fact]
    public void Post_LN_sees_a_mean_square_of_1_5_before_each_norm_and_1_after()
    {
        Assert.InRange(Value("mean over blocks of MS(x + F(x)) before LN, Post-LN"), 1.35, 1.65);
        // LN's output has RMS 1 up to eps = 1e-5 (RMS = 1/√(1 + eps/σ²)) and float rounding.
        Assert.True(Value("max over blocks of |RMS − 1| after LN, Post-LN") < 1e-4);
    }

    [Fact]
    public void Every_pass_criterion_holds_and_both_figures_are_pngs()
    {
        Assert.True(_report.Passed, string.Join("; ", _report.Results.Where(r => r.Verdict == Verdict.Fail).Select(r => $"{r.Metric} = {r.Value}")));
        Assert.Equal(["e7-stream-rms.png", "e7-update-ratio.png"], _report.Figures.Select(f => f.File));
        foreach (var figure in _report.Figures)
        {
            byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        }
        Assert.Contains(_report.Notes, n => n.Contains("scale, not shift", StringComparison.Ordinal));
    }
}
