using Ruler.Lab.Report;
using Ruler.Lab.Runner;

namespace Ruler.Lab.Tests;

public sealed class HtmlReportTests
{
    private static readonly LabSettings Quick = new(LabSize.Quick);

    private static LabResults Lab(IReadOnlyList<string> selected, IReadOnlyList<ExperimentRecord> records, IReadOnlyList<LabResult> results, bool ended = true)
    {
        var environment = new LabEnvironment("cpu <x>", 2, 2, ".NET", "Linux", null, 1, null, LabSize.Quick, selected,
            DateTimeOffset.Now, ended ? DateTimeOffset.Now : null);
        return new LabResults(environment, results, records);
    }

    private static ExperimentRecord Done(string id, IReadOnlyList<Figure>? figures = null, IReadOnlyList<string>? notes = null) =>
        new(id, $"Title {id}", $"claim {id}", ExperimentStatus.Done, null, figures ?? [], notes ?? [], 1.5, Quick, "v", DateTimeOffset.Now);

    [Fact]
    public void All_text_is_escaped()
    {
        var record = Done("E1", [new Figure("a b&c.png", "caption <b>")], ["<script>alert(1)</script> & more"]);
        var result = new LabResult("E1", "c", "setup <i>", "metric \"<m>\"", 1, "<u>", new Anchor("<v>", "<src>"), Verdict.Pass, "<crit>");
        string html = HtmlReport.Render(Lab(["E1"], [record], [result]));
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more", html);
        Assert.Contains("src=\"a%20b%26c.png\"", html);
        foreach (string raw in new[] { "caption <b>", "setup <i>", "\"<m>\"", "<u>", "<v>", "<src>", "<crit>", "cpu <x>" }) Assert.DoesNotContain(raw, html);
        Assert.Contains("caption &lt;b&gt;", html);
    }

    [Fact]
    public void Summary_has_one_row_per_selected_experiment_with_value_anchor_and_verdict()
    {
        var results = new List<LabResult>
        {
            new("E1", "c", "s", "headline", 0.25, "nats", new Anchor("0.3", "Paper 2019"), Verdict.Pass, "< 1"),
            new("E1", "c", "s", "second", 7, "", null, Verdict.Report),
            new("E2", "c", "s", "bad", 9, "", null, Verdict.Fail, "< 1"),
        };
        string html = HtmlReport.Render(Lab(["E1", "E2", "E3"], [Done("E1"), Done("E2")], results, ended: false));
        string summary = html[html.IndexOf("<section id=\"summary\">", StringComparison.Ordinal)..html.IndexOf("</section>", StringComparison.Ordinal)];
        foreach (string id in new[] { "E1", "E2", "E3" }) Assert.Contains($"<tr data-id=\"{id}\">", summary);
        Assert.Contains("headline: <b>0.25 nats</b>", summary);
        Assert.Contains("Paper 2019", summary);
        Assert.Contains("badge fail", summary);
        Assert.Contains("badge not-run", summary);
        Assert.Contains("Not run: the run has not reached this experiment", html);
        Assert.Contains("Run in progress or interrupted: 2 of 3", html);
    }

    [Fact]
    public void A_failed_experiment_shows_its_error()
    {
        var failed = new ExperimentRecord("E4", "T", "C", ExperimentStatus.Failed, "IOException: disk full", [], [], 0.2, Quick, "v", DateTimeOffset.Now);
        string html = HtmlReport.Render(Lab(["E4"], [failed], []));
        Assert.Contains("badge error", html);
        Assert.Contains("IOException: disk full", html);
    }

    [Fact]
    public void The_page_is_self_contained_and_prints()
    {
        string html = HtmlReport.Render(Lab(["E1"], [Done("E1", [new Figure("e1.png", "c")])], [FakeExperiment.Pass("E1", "m", 1)]));
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<link", html);
        Assert.DoesNotContain("<script", html);
        Assert.Contains("@media print", html);
        Assert.Contains("break-inside: avoid", html);
    }

    [Theory]
    [InlineData(0, "", "0")]
    [InlineData(24, "of 24", "24 of 24")]
    [InlineData(1.2247449, "", "1.2247")]
    [InlineData(3.4e-6, "", "3.4e-6")]
    [InlineData(97.5, "%", "97.5 %")]
    [InlineData(2.5e7, "", "2.5e+7")]
    public void Values_read_with_five_significant_digits_or_scientific(double value, string unit, string expected) =>
        Assert.Equal(expected, LabFormat.Value(value, unit));
}
