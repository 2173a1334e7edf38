using Ruler.Lab.Report;

namespace Ruler.Lab.Tests;

public sealed class LabFormatTests
{
    private static LabResult R(string metric, Verdict verdict) => new("E0", "claim", "setup", metric, 1, "", null, verdict);

    [Fact]
    public void The_headline_is_the_first_result_judged_by_a_criterion()
    {
        Assert.Equal("judged", LabFormat.Headline([R("shown", Verdict.Report), R("judged", Verdict.Pass), R("later", Verdict.Fail)])!.Metric);
        Assert.Equal("failed", LabFormat.Headline([R("shown", Verdict.Report), R("failed", Verdict.Fail), R("held", Verdict.Pass)])!.Metric);
    }

    [Fact]
    public void Without_criteria_the_headline_is_the_first_result_and_without_results_there_is_none()
    {
        Assert.Equal("first", LabFormat.Headline([R("first", Verdict.Report), R("second", Verdict.Report)])!.Metric);
        Assert.Null(LabFormat.Headline([]));
    }
}
