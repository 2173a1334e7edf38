namespace Ruler.Lab.Tests;

/// <summary>Runs E3 once at the quick size for every test of the class.</summary>
public sealed class E3Fixture() : QuickRunFixture("E3");

public sealed class E3Tests(E3Fixture fixture) : IClassFixture<E3Fixture>
{
    private double Value(string metric) => QuickRun.Result(fixture.Report, metric).Value;

    [Fact]
    public void Without_a_norm_the_tenth_layer_RMS_is_below_a_hundredth_of_the_first()
    {
        double ratio = Value("RMS(layer 10) / RMS(layer 1), no norm (largest over seeds)");
        Assert.InRange(ratio, 0, 1e-2);
        Assert.True(ratio > 0, "the activations vanished entirely, which the 1/6-per-layer theory does not predict");
    }

    [Theory]
    [InlineData("BN")]
    [InlineData("GN(8)")]
    public void With_a_norm_after_every_conv_every_post_relu_RMS_is_in_0_6_to_0_8(string norm)
    {
        Assert.InRange(Value($"smallest post-ReLU RMS over the 10 layers, {norm}"), 0.6, 0.8);
        Assert.InRange(Value($"largest post-ReLU RMS over the 10 layers, {norm}"), 0.6, 0.8);
    }

    [Fact]
    public void Every_pass_criterion_holds_and_the_plot_is_a_png()
    {
        Assert.True(fixture.Report.Passed, string.Join("; ", fixture.Report.Results.Where(r => r.Verdict == Verdict.Fail).Select(r => r.Metric)));
        var figure = Assert.Single(fixture.Report.Figures);
        Assert.Equal("e3-activation-rms.png", figure.File);
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }
}
