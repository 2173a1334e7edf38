using System.Diagnostics;
using System.Text.Json;
using Ruler.Lab.Report;

namespace Ruler.Lab.Runner;

/// <summary>Hears when experiments start and finish (the CLI's progress view; tests).</summary>
public interface ILabRunObserver
{
    /// <summary>Experiment <paramref name="index"/> (0-based) of <paramref name="count"/> starts.</summary>
    void Starting(IExperiment experiment, int index, int count);

    /// <summary>An experiment finished (or failed), or was taken from the previous run (<paramref name="reused"/>); its files are written.</summary>
    void Finished(ExperimentRecord record, IReadOnlyList<LabResult> results, bool reused);
}

/// <summary>What to run and where.</summary>
/// <param name="Experiments">The experiments, in the order to run them.</param>
/// <param name="Settings">Size, seed, seed count, threads.</param>
/// <param name="OutputDirectory">Where results.json, index.html and the figures go (created when missing).</param>
/// <param name="Resume">Keep experiments that results.json already holds with the same settings and code version.</param>
public sealed record LabRunOptions(IReadOnlyList<IExperiment> Experiments, LabSettings Settings, string OutputDirectory, bool Resume = false);

/// <summary>
/// Runs a selection of experiments one after another and, after each one, replaces <c>results.json</c> and
/// <c>index.html</c> in the output folder atomically: killing the run at any moment leaves valid files for every
/// experiment finished so far. An experiment that throws is recorded as failed with its message and the run goes on.
/// </summary>
public sealed class LabRunner(LabRunOptions options, ILabProgress progress, ILabRunObserver? observer = null)
{
    /// <summary>The report's file name in the output folder.</summary>
    public const string ReportFileName = "index.html";

    /// <summary>Path of results.json.</summary>
    public string ResultsPath => Path.Combine(options.OutputDirectory, LabResults.FileName);

    /// <summary>Path of index.html.</summary>
    public string ReportPath => Path.Combine(options.OutputDirectory, ReportFileName);

    /// <summary>Runs every experiment and returns what results.json holds at the end.</summary>
    public LabResults Run()
    {
        Directory.CreateDirectory(options.OutputDirectory);
        AtomicFile.RemoveStale(options.OutputDirectory);
        var previous = options.Resume ? ReadPrevious() : null;
        var experiments = options.Experiments;
        var environment = LabEnvironment.Capture(options.Settings, [.. experiments.Select(e => e.Id)]);

        // Everything the previous run finished that can be kept goes into the files from the first write on, so a
        // kill during this run never drops a result that was already on disk.
        var kept = new Dictionary<string, (ExperimentRecord Record, List<LabResult> Results)>();
        if (previous is not null)
            foreach (var experiment in experiments)
                if (Reusable(previous, experiment.Id, CodeVersion.Of(experiment)) is { } record)
                    kept[experiment.Id] = (record, previous.ResultsOf(experiment.Id).ToList());
        var finished = new Dictionary<string, (ExperimentRecord Record, List<LabResult> Results)>(kept);
        LabResults Current(DateTimeOffset? endedAt)
        {
            var done = experiments.Where(e => finished.ContainsKey(e.Id)).Select(e => finished[e.Id]).ToList();
            return new(environment with { EndedAt = endedAt }, [.. done.SelectMany(d => d.Results)], [.. done.Select(d => d.Record)]);
        }

        int threadsBefore = RulerParallelism.MaxThreads;
        RulerParallelism.MaxThreads = options.Settings.Threads;
        try
        {
            Write(Current(null));
            for (int i = 0; i < experiments.Count; i++)
            {
                var experiment = experiments[i];
                if (kept.TryGetValue(experiment.Id, out var reused))
                {
                    observer?.Finished(reused.Record, reused.Results, reused: true);
                    continue;
                }
                observer?.Starting(experiment, i, experiments.Count);
                var (record, measured) = RunOne(experiment, CodeVersion.Of(experiment));
                finished[experiment.Id] = (record, measured);
                Write(Current(null));
                observer?.Finished(record, measured, reused: false);
            }
            var final = Current(DateTimeOffset.Now);
            Write(final);
            return final;
        }
        finally
        {
            RulerParallelism.MaxThreads = threadsBefore;
        }
    }

    private (ExperimentRecord Record, List<LabResult> Results) RunOne(IExperiment experiment, string version)
    {
        var settings = options.Settings;
        var clock = Stopwatch.StartNew();
        try
        {
            var report = experiment.Run(new LabContext(settings, options.OutputDirectory, progress));
            double seconds = clock.Elapsed.TotalSeconds;
            if (report.Id != experiment.Id)
                throw new InvalidOperationException($"{experiment.Id} returned a report for '{report.Id}'.");
            var measured = report.Results.Select(r => r.Seconds > 0 ? r : r with { Seconds = seconds }).ToList();
            var record = new ExperimentRecord(experiment.Id, report.Title, report.Claim, ExperimentStatus.Done, null,
                report.Figures, report.Notes, seconds, settings, version, DateTimeOffset.Now);
            return (record, measured);
        }
        catch (Exception e)
        {
            double seconds = clock.Elapsed.TotalSeconds;
            string error = $"{e.GetType().Name}: {e.Message}";
            var record = new ExperimentRecord(experiment.Id, experiment.Title, experiment.Claim, ExperimentStatus.Failed, error,
                [], [], seconds, settings, version, DateTimeOffset.Now);
            // One result row, so that a reader of `results` alone sees the failure.
            var failure = new LabResult(experiment.Id, experiment.Claim, "", "ran to completion (1 = yes)", 0, "", null,
                Verdict.Fail, "no exception: " + error, seconds);
            return (record, [failure]);
        }
    }

    /// <summary>The previous run's record of this experiment when it finished with the same settings, the same code and its figures still on disk.</summary>
    private ExperimentRecord? Reusable(LabResults previous, string id, string version)
    {
        var record = previous.ExperimentOf(id);
        var settings = options.Settings;
        // Threads are not compared: results are the same bits for any thread count.
        bool same = record is { Status: ExperimentStatus.Done }
            && record.CodeVersion == version
            && record.Settings.Size == settings.Size && record.Settings.Seed == settings.Seed && record.Settings.Seeds == settings.Seeds
            && record.Figures.All(f => File.Exists(Path.Combine(options.OutputDirectory, f.File)));
        return same ? record : null;
    }

    private LabResults? ReadPrevious()
    {
        if (!File.Exists(ResultsPath)) return null;
        try
        {
            return LabResults.FromJson(File.ReadAllText(ResultsPath));
        }
        catch (JsonException)
        {
            return null; // not a results file of this lab (or an older format): run everything
        }
    }

    private void Write(LabResults current)
    {
        AtomicFile.WriteAllText(ResultsPath, current.ToJson());
        AtomicFile.WriteAllText(ReportPath, HtmlReport.Render(current));
    }
}
