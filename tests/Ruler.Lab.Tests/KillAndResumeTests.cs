using System.Diagnostics;
using System.Text.Json;
using Ruler.Lab.Runner;

namespace Ruler.Lab.Tests;

/// <summary>
/// A real kill: `ruler lab E1 E4 --quick` is killed as soon as results.json shows E1 finished; the files must be valid,
/// and `--resume` must finish E4 without running E1 again. E4 is the second experiment because its quick size runs for
/// seconds (E7's 0.3 s could finish before a poller starved by a loaded machine sees E1 and kills).
/// </summary>
public sealed class KillAndResumeTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("ruler-lab-kill-").FullName;

    public void Dispose() => Directory.Delete(output, recursive: true);

    [Fact]
    public async Task Killed_after_the_first_experiment_the_files_are_valid_and_resume_finishes_without_recomputing_it()
    {
        string results = Path.Combine(output, "results.json");
        LabResults? afterKill = null;
        using (var lab = LabCli.Start("lab", "E1", "E4", "--quick", "--out", output))
        {
            _ = lab.StandardOutput.ReadToEndAsync();
            _ = lab.StandardError.ReadToEndAsync();
            var clock = Stopwatch.StartNew();
            while (afterKill is null)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), "E1 did not finish within 3 minutes");
                Assert.False(lab.HasExited, $"the lab exited (code {(lab.HasExited ? lab.ExitCode : 0)}) before it could be killed after E1");
                if (File.Exists(results) && LabResults.FromJson(File.ReadAllText(results)) is { Experiments.Count: > 0 } seen)
                {
                    lab.Kill(entireProcessTree: true);
                    await lab.WaitForExitAsync();
                    afterKill = LabResults.FromJson(File.ReadAllText(results)); // still valid after the kill
                }
                else await Task.Delay(10);
            }
        }
        Assert.True(afterKill.Experiments.Count == 1,
            $"the kill landed after {string.Join(", ", afterKill.Experiments.Select(e => $"{e.Id} ({e.Status})"))} finished: E4 must run longer than the poll");
        var first = afterKill.Experiments[0];
        Assert.Equal("E1", first.Id);
        Assert.Null(afterKill.Environment.EndedAt);
        Assert.Contains("Not run: the run has not reached this experiment", File.ReadAllText(Path.Combine(output, "index.html")));

        var (exitCode, stdout, stderr) = await LabCli.RunAsync(TimeSpan.FromMinutes(3), "lab", "E1", "E4", "--quick", "--out", output, "--resume");
        var resumed = LabResults.FromJson(File.ReadAllText(results));
        Assert.Contains("E1 kept from the previous run", stdout);
        Assert.Equal(JsonSerializer.Serialize(first), JsonSerializer.Serialize(resumed.ExperimentOf("E1"))); // same finish time, seconds and code version: not recomputed
        Assert.Equal(afterKill.ResultsOf("E1"), resumed.ResultsOf("E1"));
        var second = resumed.ExperimentOf("E4");
        Assert.True(second is { Status: ExperimentStatus.Done }, $"E4 did not finish on resume: {second?.Error}\n{stdout}\n{stderr}");
        Assert.NotNull(resumed.Environment.EndedAt);
        Assert.Equal(resumed.Passed ? 0 : 1, exitCode);
        Assert.Empty(Directory.GetFiles(output, "*" + AtomicFile.TempSuffix));
    }
}
