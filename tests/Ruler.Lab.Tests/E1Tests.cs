using Ruler.Lab.Invariance;

namespace Ruler.Lab.Tests;

/// <summary>Runs E1 once at the quick size for every test of the class.</summary>
public sealed class E1Fixture() : QuickRunFixture("E1");

/// <summary>LAB.md E1's Pass criteria at the quick size.</summary>
public sealed class E1Tests(E1Fixture fixture) : IClassFixture<E1Fixture>
{
    private readonly ExperimentReport report = fixture.Report;

    [Theory]
    [InlineData("normalize([1, 2, 3]) = [−v, 0, v]: v")]
    [InlineData("normalize([101, 102, 103]) = [−v, 0, v]: v")]
    [InlineData("normalize([10, 20, 30]) = [−v, 0, v]: v")]
    public void The_essays_vectors_normalize_to_minus_1_2247_0_1_2247(string metric)
    {
        var result = QuickRun.Result(report, metric);
        Assert.Equal(1.2247, result.Value, 1e-4); // eps = 0: exactly √1.5 = 1.2247449
        Assert.Equal(Verdict.Pass, result.Verdict);
    }

    [Theory]
    [InlineData("std([8, 10, 12])", 1.633)]
    [InlineData("std([80, 100, 120])", 16.33)]
    public void Population_std_of_A_and_B_match_the_essay(string metric, double expected)
    {
        var result = QuickRun.Result(report, metric);
        Assert.Equal(expected, result.Value, expected * 1e-4);
        Assert.Equal(Verdict.Pass, result.Verdict);
    }

    [Fact]
    public void Every_invariance_cell_is_below_1e_4_where_the_algebra_says_invariant_and_above_1e_2_elsewhere()
    {
        var cells = report.Results.Where(r => r.Metric.StartsWith("max |Δy|", StringComparison.Ordinal)).ToList();
        Assert.Equal(5 * 4 + 4, cells.Count);
        foreach (string normalizer in InvarianceTable.Normalizers)
            foreach (string transform in InvarianceTable.Transforms)
                AssertCell(cells, normalizer, transform, scaleOnly: false);
        foreach (string transform in InvarianceTable.Transforms) AssertCell(cells, "RmsNorm", transform, scaleOnly: true);
        var headline = report.Results[0];
        Assert.Equal((24.0, Verdict.Pass), (headline.Value, headline.Verdict));
    }

    [Fact]
    public void RmsNorm_is_invariant_only_to_positive_scaling_of_whole_samples()
    {
        var rms = report.Results.Where(r => r.Metric.Contains("RMSNorm", StringComparison.Ordinal)).ToList();
        var invariant = rms.Where(r => r.Value < 1e-4).Select(r => r.Metric).ToList();
        Assert.Equal(["max |Δy|, RMSNorm, a·x global", "max |Δy|, RMSNorm, a·x per sample"], invariant);
    }

    [Fact]
    public void Anchors_cite_Ba_Kiros_Hinton_Table_1_and_the_figure_is_written()
    {
        Assert.Contains(report.Results, r => r.Anchor?.Source.Contains("Ba, Kiros & Hinton 2016", StringComparison.Ordinal) == true);
        var figure = Assert.Single(report.Figures);
        Assert.True(new FileInfo(Path.Combine(fixture.Run.Directory, figure.File)).Length > 1000);
        Assert.All(report.Results, r => Assert.NotEqual(Verdict.Fail, r.Verdict));
    }

    private static void AssertCell(List<LabResult> cells, string normalizer, string transform, bool scaleOnly)
    {
        string label = normalizer == "RmsNorm" ? "RMSNorm" : normalizer;
        string what = scaleOnly ? "a·x " : "a·x + b ";
        var cell = Assert.Single(cells, r => r.Metric.Contains(label, StringComparison.Ordinal) && r.Metric.EndsWith(what + transform.Replace('_', ' '), StringComparison.Ordinal));
        if (InvarianceTable.ExpectedInvariant(normalizer, transform, scaleOnly)) Assert.True(cell.Value < 1e-4, $"{cell.Metric}: {cell.Value}");
        else Assert.True(cell.Value > 1e-2, $"{cell.Metric}: {cell.Value}");
        Assert.Equal(Verdict.Pass, cell.Verdict);
    }
}
