using System.Text.Json;
using Ruler.Cli.Explain;
using Ruler.Lab.Invariance;

namespace Ruler.Tests;

public class ExplainTests
{
    private static readonly JsonElement Report = JsonDocument.Parse(ExplainReport.Json()).RootElement;

    [Fact]
    public void ShiftedAndScaledExamplesAllNormalizeToTheSamePattern()
    {
        var examples = Report.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(5, examples.Count);
        foreach (var e in examples)
        {
            double[] y = e.GetProperty("normalized").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            // eps = 0: the exact value is ±√1.5 = ±1.224745.
            Assert.Equal(-1.2247, y[0], 1e-4);
            Assert.Equal(0, y[1], 1e-12);
            Assert.Equal(1.2247, y[2], 1e-4);
        }
    }

    [Fact]
    public void StdOfBIsTenTimesStdOfA()
    {
        var examples = Report.GetProperty("examples").EnumerateArray().ToList();
        var a = examples.Single(e => e.GetProperty("label").GetString() == "A");
        var b = examples.Single(e => e.GetProperty("label").GetString() == "B = 10 A");
        Assert.Equal(Math.Sqrt(8.0 / 3), a.GetProperty("std").GetDouble(), 1e-12);
        Assert.Equal(10 * Math.Sqrt(8.0 / 3), b.GetProperty("std").GetDouble(), 1e-10);
        Assert.Equal(10, a.GetProperty("mean").GetDouble(), 1e-12);
        Assert.Equal(100, b.GetProperty("mean").GetDouble(), 1e-12);
    }

    // By algebra: a normalizer is invariant to a transform exactly when each of its groups sees a single (a, b).
    [Theory]
    [InlineData("BatchNorm", "global", true), InlineData("BatchNorm", "per_channel", true)]
    [InlineData("BatchNorm", "per_sample", false), InlineData("BatchNorm", "per_group", false)]
    [InlineData("LayerNorm", "global", true), InlineData("LayerNorm", "per_channel", false)]
    [InlineData("LayerNorm", "per_sample", true), InlineData("LayerNorm", "per_group", false)]
    [InlineData("GroupNorm", "global", true), InlineData("GroupNorm", "per_channel", false)]
    [InlineData("GroupNorm", "per_sample", true), InlineData("GroupNorm", "per_group", true)]
    [InlineData("InstanceNorm", "global", true), InlineData("InstanceNorm", "per_channel", true)]
    [InlineData("InstanceNorm", "per_sample", true), InlineData("InstanceNorm", "per_group", true)]
    [InlineData("RmsNorm", "global", false), InlineData("RmsNorm", "per_channel", false)]
    [InlineData("RmsNorm", "per_sample", false), InlineData("RmsNorm", "per_group", false)]
    public void InvarianceTableMatchesTheAlgebra(string normalizer, string transform, bool invariant)
    {
        var cell = Report.GetProperty("invariance").GetProperty(normalizer).GetProperty(transform);
        double change = cell.GetProperty("max_abs_change").GetDouble();
        Assert.Equal(invariant, cell.GetProperty("invariant").GetBoolean());
        // LAB.md E1: invariant cells < 1e-4, the others > 1e-2.
        if (invariant) Assert.True(change < 1e-4, $"{normalizer}/{transform}: {change}");
        else Assert.True(change > 1e-2, $"{normalizer}/{transform}: {change}");
    }

    [Theory]
    [InlineData("global", true), InlineData("per_sample", true), InlineData("per_channel", false), InlineData("per_group", false)]
    public void RmsNormIsInvariantOnlyToPositiveScalingOfWholeSamples(string transform, bool invariant)
    {
        var cell = Report.GetProperty("invariance_scale_only").GetProperty("RmsNorm").GetProperty(transform);
        Assert.Equal(invariant, cell.GetProperty("invariant").GetBoolean());
    }

    [Fact]
    public void TextReportShowsEveryNormalizerAndTheWorkedNumbers()
    {
        string text = ExplainReport.Text();
        foreach (string name in InvarianceTable.Normalizers) Assert.Contains(name, text);
        Assert.Contains("[-1.2247, 0.0000, 1.2247]", text);
        Assert.Contains("1.633", text);
        Assert.Contains("16.33", text);
    }
}
