namespace Ruler.Lab.Tests;

/// <summary>Runs E4 once at the quick size for every test of the class.</summary>
public sealed class E4Fixture() : QuickRunFixture("E4");

public sealed class E4Tests(E4Fixture fixture) : IClassFixture<E4Fixture>
{
    [Fact]
    public void BatchNorm_on_a_batch_of_two_maps_every_feature_to_plus_or_minus_one_within_1e_3()
    {
        // Mirror images for every feature (float rounding only), and |y| = 1 ± 1e-3 wherever eps is negligible.
        Assert.InRange(QuickRun.Result(fixture.Report, "max |y₁ + y₂| over every feature, BN on a batch of 2").Value, 0, 1e-5);
        Assert.InRange(QuickRun.Result(fixture.Report, "max ||y| − 1| over the features whose two values differ by > 0.2, BN on a batch of 2").Value, 0, 1e-3);
        Assert.InRange(QuickRun.Result(fixture.Report, "features whose two values differ by > 0.2 (of 256), BN on a batch of 2").Value, 128, 256);
    }

    [Fact]
    public void BatchNorm_refuses_a_batch_of_one_in_training_mode()
    {
        Assert.Equal(1, QuickRun.Result(fixture.Report, "batch of 1 in training mode refused with ArgumentException (1 = refused)").Value);
        Assert.Throws<ArgumentException>(() => new BatchNorm<float>(3).Forward(new float[3], [1, 3], new float[3]));
    }

    [Fact]
    public void Every_pass_criterion_holds_the_training_results_are_reports_and_the_plot_is_a_png()
    {
        Assert.True(fixture.Report.Passed, string.Join("; ", fixture.Report.Results.Where(r => r.Verdict == Verdict.Fail).Select(r => r.Metric)));
        Assert.All(fixture.Report.Results.Where(r => r.Metric.StartsWith("test accuracy", StringComparison.Ordinal)), r => Assert.Equal(Verdict.Report, r.Verdict));
        var figure = Assert.Single(fixture.Report.Figures);
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }
}
