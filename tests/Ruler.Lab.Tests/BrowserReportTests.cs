namespace Ruler.Lab.Tests;

/// <summary>
/// One `ruler lab --quick` of the whole catalog, run once by the real CLI and shared by the browser tests. It writes
/// into quick-lab/ beside the test assembly (emptied first), where the report and its screenshot stay to be looked at.
/// </summary>
public sealed class QuickLabFixture : IAsyncLifetime
{
    public string Output { get; } = Path.Combine(AppContext.BaseDirectory, "quick-lab");
    public int ExitCode { get; private set; }
    public string Stdout { get; private set; } = "";
    public Runner.LabResults Lab { get; private set; } = null!;
    public string Page => Path.Combine(Output, "index.html");

    public async Task InitializeAsync()
    {
        if (Directory.Exists(Output)) Directory.Delete(Output, recursive: true);
        (ExitCode, Stdout, string stderr) = await LabCli.RunAsync(TimeSpan.FromMinutes(10), "lab", "--quick", "--out", Output);
        Assert.True(File.Exists(Page), $"no index.html after exit {ExitCode}:\n{Stdout}\n{stderr}");
        Lab = Runner.LabResults.FromJson(File.ReadAllText(Path.Combine(Output, "results.json")));
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

/// <summary>The report of a quick lab run, opened in headless Chromium.</summary>
public sealed class BrowserReportTests(QuickLabFixture lab) : IClassFixture<QuickLabFixture>
{
    [Fact]
    public async Task The_report_loads_in_chromium_with_every_image_decoded_no_errors_and_every_experiment_in_the_summary()
    {
        var page = await HeadlessChromium.CheckAsync(lab.Page);
        Assert.Empty(page.Errors);
        Assert.Equal(lab.Lab.Experiments.Sum(e => e.Figures.Count), page.Images.Count);
        Assert.All(page.Images, i => Assert.True(i.NaturalWidth > 0, $"{i.Src} did not decode"));
        Assert.Equal(LabCatalog.All.Select(e => e.Id), page.SummaryIds);

        string screenshot = Path.Combine(lab.Output, "report-screenshot.png");
        await HeadlessChromium.ScreenshotAsync(lab.Page, screenshot, 1280, Math.Clamp(page.Height, 800, 16000));
        byte[] png = File.ReadAllBytes(screenshot);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    [Fact]
    public void The_run_covers_the_whole_catalog_every_experiment_finishes_and_every_criterion_holds()
    {
        Assert.Equal(LabCatalog.All.Select(e => e.Id), lab.Lab.Environment.Selected);
        Assert.Equal(LabCatalog.All.Select(e => e.Id), lab.Lab.Experiments.Select(e => e.Id));
        Assert.NotNull(lab.Lab.Environment.EndedAt);
        Assert.Equal(lab.Lab.Passed ? 0 : 1, lab.ExitCode);
        Assert.Contains($"Report: {lab.Page}", lab.Stdout);
        Assert.All(lab.Lab.Experiments, e => Assert.True(e.Status == Runner.ExperimentStatus.Done, $"{e.Id} is {e.Status}"));
        // Every Pass criterion of LAB.md holds at the quick size, so the quick lab exits 0.
        Assert.True(lab.ExitCode == 0, $"quick lab exited {lab.ExitCode}:\n{lab.Stdout}");
    }
}
