using System.Text.Json;
using Ruler.Lab.Runner;

namespace Ruler.Lab.Tests;

/// <summary>The runner with test-only experiments: files after each experiment, failures recorded, resume, temp-file cleanup.</summary>
public sealed class LabRunnerTests : IDisposable
{
    private readonly string output = Directory.CreateTempSubdirectory("ruler-lab-runner-").FullName;

    public void Dispose() => Directory.Delete(output, recursive: true);

    private LabResults Run(IReadOnlyList<IExperiment> experiments, LabSettings? settings = null, bool resume = false, ILabRunObserver? observer = null) =>
        new LabRunner(new LabRunOptions(experiments, settings ?? new LabSettings(LabSize.Quick), output, resume), NoProgress.Instance, observer).Run();

    private JsonElement ResultsJson() => JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))).RootElement;

    [Fact]
    public void Results_json_has_the_environment_and_one_snake_case_object_per_result()
    {
        Run([new FakeExperiment("E1", _ => [FakeExperiment.Pass("E1", "m1", 1.5, new Anchor("2.0", "Someone 2020, Table 3")), FakeExperiment.Pass("E1", "m2", 0)])],
            new LabSettings(LabSize.Quick, Seed: 7, Seeds: 3, Threads: 1));
        var json = ResultsJson();
        var env = json.GetProperty("environment");
        foreach (string key in new[] { "cpu_model", "cores", "threads", "dotnet", "os", "git_commit", "seed", "size", "started_at", "ended_at" })
            Assert.True(env.TryGetProperty(key, out _), $"environment has no '{key}'");
        Assert.Equal((7UL, "quick", 1, 3), (env.GetProperty("seed").GetUInt64(), env.GetProperty("size").GetString(), env.GetProperty("threads").GetInt32(), env.GetProperty("seeds").GetInt32()));
        Assert.NotEqual(JsonValueKind.Null, env.GetProperty("ended_at").ValueKind);
        var results = json.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(2, results.Count);
        var first = results[0];
        foreach (string key in new[] { "id", "claim", "setup", "metric", "value", "unit", "anchor", "verdict", "seconds" })
            Assert.True(first.TryGetProperty(key, out _), $"result has no '{key}'");
        Assert.Equal("pass", first.GetProperty("verdict").GetString());
        Assert.Equal("Someone 2020, Table 3", first.GetProperty("anchor").GetProperty("source").GetString());
        Assert.Equal(JsonValueKind.Null, results[1].GetProperty("anchor").ValueKind);
        Assert.True(first.GetProperty("seconds").GetDouble() > 0, "the runner fills in the experiment's time");
    }

    [Fact]
    public void After_each_experiment_results_json_and_index_html_hold_everything_finished_so_far()
    {
        var seen = new List<(string Id, int Results, bool ReportMentions)>();
        var observer = new Observer((record, _) =>
        {
            var lab = LabResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json")));
            string html = File.ReadAllText(Path.Combine(output, "index.html"));
            seen.Add((record.Id, lab.Experiments.Count, html.Contains($"note of {record.Id}", StringComparison.Ordinal)));
            Assert.Null(lab.Environment.EndedAt);
        });
        Run([new FakeExperiment("E1"), new FakeExperiment("E2"), new FakeExperiment("E3")], observer: observer);
        Assert.Equal([("E1", 1, true), ("E2", 2, true), ("E3", 3, true)], seen);
    }

    [Fact]
    public void An_experiment_that_throws_is_recorded_as_failed_with_its_message_and_the_run_goes_on()
    {
        var after = new FakeExperiment("E3");
        var lab = Run([new FakeExperiment("E1"), new FakeExperiment("E2", throws: "out of <memory>"), after]);
        Assert.Equal(1, after.Runs);
        var failed = lab.ExperimentOf("E2")!;
        Assert.Equal(ExperimentStatus.Failed, failed.Status);
        Assert.Equal("InvalidOperationException: out of <memory>", failed.Error);
        Assert.Equal(Verdict.Fail, Assert.Single(lab.ResultsOf("E2")).Verdict);
        Assert.False(lab.Passed);
        Assert.Contains("out of &lt;memory&gt;", File.ReadAllText(Path.Combine(output, "index.html")));
    }

    [Fact]
    public void A_failed_pass_criterion_fails_the_run_and_report_results_do_not()
    {
        var report = new LabResult("E1", "c", "s", "report only", 3, "", null, Verdict.Report);
        Assert.True(Run([new FakeExperiment("E1", _ => [report])]).Passed);
        Assert.False(Run([new FakeExperiment("E1", _ => [FakeExperiment.Fail("E1", "m", 2)])]).Passed);
    }

    [Fact]
    public void Resume_keeps_finished_experiments_with_the_same_settings_and_reruns_the_rest()
    {
        var first = new FakeExperiment("E1", figure: "e1.png");
        var failing = new FakeExperiment("E2", throws: "boom");
        var before = Run([first, failing]);

        var again = new FakeExperiment("E1", figure: "e1.png");
        var fixedNow = new FakeExperiment("E2");
        var third = new FakeExperiment("E3");
        var reused = new List<string>();
        var lab = Run([again, fixedNow, third], resume: true, observer: new Observer((r, isReused) => { if (isReused) reused.Add(r.Id); }));

        Assert.Equal((0, 1, 1), (again.Runs, fixedNow.Runs, third.Runs));
        Assert.Equal(["E1"], reused);
        Assert.Equal(JsonSerializer.Serialize(before.ExperimentOf("E1")), JsonSerializer.Serialize(lab.ExperimentOf("E1")));
        Assert.Equal(before.ResultsOf("E1"), lab.ResultsOf("E1"));
        Assert.Equal(ExperimentStatus.Done, lab.ExperimentOf("E2")!.Status);
        Assert.True(lab.Passed);
    }

    [Fact]
    public void While_resume_reruns_one_experiment_the_files_already_hold_every_kept_one()
    {
        Run([new FakeExperiment("E1"), new FakeExperiment("E2", throws: "boom"), new FakeExperiment("E3")]);
        IReadOnlyList<string>? onDiskDuringE2 = null;
        var rerun = new FakeExperiment("E2", _ =>
        {
            onDiskDuringE2 = [.. LabResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json"))).Experiments.Select(e => e.Id)];
            return [FakeExperiment.Pass("E2", "m", 1)];
        });
        var lab = Run([new FakeExperiment("E1"), rerun, new FakeExperiment("E3")], resume: true);
        Assert.Equal(["E1", "E3"], onDiskDuringE2);
        Assert.Equal(["E1", "E2", "E3"], lab.Experiments.Select(e => e.Id));
    }

    [Theory]
    [InlineData(2UL, null, LabSize.Quick, false)] // another seed
    [InlineData(1UL, 4, LabSize.Quick, false)]    // another seed count
    [InlineData(1UL, null, LabSize.Full, false)]  // another size
    [InlineData(1UL, null, LabSize.Quick, true)]  // only the thread count differs: results do not depend on it
    public void Resume_reruns_an_experiment_whose_settings_changed(ulong seed, int? seeds, LabSize size, bool kept)
    {
        Run([new FakeExperiment("E1")], new LabSettings(LabSize.Quick, 1, null, Threads: 1));
        var again = new FakeExperiment("E1");
        Run([again], new LabSettings(size, seed, seeds, Threads: 2), resume: true);
        Assert.Equal(kept ? 0 : 1, again.Runs);
    }

    [Fact]
    public void Resume_reruns_when_the_code_version_differs_or_a_figure_is_gone()
    {
        Run([new FakeExperiment("E1", figure: "e1.png")]);
        File.Delete(Path.Combine(output, "e1.png"));
        var again = new FakeExperiment("E1", figure: "e1.png");
        Run([again], resume: true);
        Assert.Equal(1, again.Runs);

        string path = Path.Combine(output, "results.json");
        var lab = LabResults.FromJson(File.ReadAllText(path));
        File.WriteAllText(path, (lab with { Experiments = [lab.Experiments[0] with { CodeVersion = "0000000000000000" }] }).ToJson());
        var third = new FakeExperiment("E1", figure: "e1.png");
        Run([third], resume: true);
        Assert.Equal(1, third.Runs);
    }

    [Fact]
    public void Without_resume_everything_runs_again()
    {
        Run([new FakeExperiment("E1")]);
        var again = new FakeExperiment("E1");
        Run([again]);
        Assert.Equal(1, again.Runs);
    }

    [Fact]
    public void Stale_temp_files_of_a_killed_run_are_removed_and_no_temp_file_is_left()
    {
        string stale = Path.Combine(output, ".results.json.0123456789abcdef" + AtomicFile.TempSuffix);
        File.WriteAllText(stale, "{ half a fi");
        Run([new FakeExperiment("E1")]);
        Assert.False(File.Exists(stale));
        Assert.Empty(Directory.GetFiles(output, "*" + AtomicFile.TempSuffix));
    }

    [Fact]
    public void The_thread_count_is_set_for_the_run_and_restored_after()
    {
        int before = RulerParallelism.MaxThreads;
        var experiment = new FakeExperiment("E1");
        Run([experiment], new LabSettings(LabSize.Quick, Threads: before + 1));
        Assert.Equal(before + 1, experiment.ThreadsDuringRun);
        Assert.Equal(before, RulerParallelism.MaxThreads);
        Assert.Equal(LabSize.Quick, experiment.LastContext!.Settings.Size);
        Assert.Equal(output, experiment.LastContext.OutputDirectory);
    }

    [Fact]
    public void Non_finite_values_round_trip_through_results_json()
    {
        Run([new FakeExperiment("E1", _ => [FakeExperiment.Pass("E1", "nan", double.NaN), FakeExperiment.Pass("E1", "inf", double.PositiveInfinity)])]);
        var lab = LabResults.FromJson(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.True(double.IsNaN(lab.Results[0].Value));
        Assert.True(double.IsPositiveInfinity(lab.Results[1].Value));
    }

    private sealed class Observer(Action<ExperimentRecord, bool> finished) : ILabRunObserver
    {
        public void Starting(IExperiment experiment, int index, int count) { }

        public void Finished(ExperimentRecord record, IReadOnlyList<LabResult> results, bool reused) => finished(record, reused);
    }
}
