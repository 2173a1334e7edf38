namespace Ruler.Lab.Tests;

/// <summary>`ruler lab` refuses bad arguments with one line naming the argument, exit code 2, and writes nothing.</summary>
public sealed class LabCommandTests : IDisposable
{
    private readonly string root = Directory.CreateTempSubdirectory("ruler-lab-cli-").FullName;

    public void Dispose() => Directory.Delete(root, recursive: true);

    public static TheoryData<string[], string> BadArguments => new()
    {
        { ["E10"], "experiment id" },
        { ["E1", "bogus"], "experiment id" },
        { ["--threads", "0"], "--threads" },
        { ["--threads", "100000"], "--threads" },
        { ["--threads", "two"], "--threads" },
        { ["--seeds", "0"], "--seeds" },
        { ["--seeds", "-3"], "--seeds" },
        { ["--seed", "abc"], "--seed" },
        { ["--seed", "-1"], "--seed" },
        { ["--seed", "1.5"], "--seed" },
    };

    [Theory]
    [MemberData(nameof(BadArguments))]
    public async Task Bad_arguments_exit_2_with_one_line_naming_the_argument_and_write_nothing(string[] arguments, string named)
    {
        string output = Path.Combine(root, "report");
        var (exitCode, stdout, stderr) = await LabCli.RunAsync(TimeSpan.FromSeconds(60), ["lab", "--quick", "--out", output, .. arguments]);
        Assert.Equal(2, exitCode);
        string line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith(named + ":", line);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(output), "nothing may be written");
        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    [Fact]
    public async Task An_out_folder_that_cannot_be_created_is_refused()
    {
        string file = Path.Combine(root, "a-file");
        File.WriteAllText(file, "not a folder");
        var (exitCode, _, stderr) = await LabCli.RunAsync(TimeSpan.FromSeconds(60), "lab", "E1", "--quick", "--out", Path.Combine(file, "report"));
        Assert.Equal(2, exitCode);
        Assert.StartsWith("--out:", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(["a-file"], Directory.GetFileSystemEntries(root).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_selection_runs_writes_the_report_and_prints_the_summary_and_its_path()
    {
        string output = Path.Combine(root, "report");
        var (exitCode, stdout, stderr) = await LabCli.RunAsync(TimeSpan.FromSeconds(120), "lab", "e1", "--quick", "--out", output, "--threads", "1", "--seed", "3");
        Assert.True(exitCode == 0, $"exit {exitCode}\n{stdout}\n{stderr}");
        Assert.Contains("E1 pass", stdout);
        Assert.Contains("| Experiment", stdout);
        Assert.Contains($"Report: {Path.Combine(output, "index.html")}", stdout);
        var lab = Runner.LabResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.Equal(["E1"], lab.Environment.Selected);
        Assert.Equal((3UL, 1), (lab.Environment.Seed, lab.Environment.Threads));
        Assert.True(File.Exists(Path.Combine(output, "e1-invariance.png")));
    }
}
