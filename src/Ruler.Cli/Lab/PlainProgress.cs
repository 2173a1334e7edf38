using System.Diagnostics;
using Ruler.Lab;
using Ruler.Lab.Report;
using Ruler.Lab.Runner;

namespace Ruler.Cli.Lab;

/// <summary>Progress as plain lines (output is not a terminal): one when an experiment starts and ends, steps at most every few seconds.</summary>
internal sealed class PlainProgress(TextWriter output) : ILabProgress, ILabRunObserver
{
    private static readonly TimeSpan StepInterval = TimeSpan.FromSeconds(5);
    private readonly Stopwatch sinceLastStep = Stopwatch.StartNew();
    private readonly Stopwatch experimentClock = new();
    private readonly Lock gate = new();

    public void Starting(IExperiment experiment, int index, int count)
    {
        lock (gate)
        {
            output.WriteLine($"[{index + 1}/{count}] {experiment.Id} {experiment.Title}");
            experimentClock.Restart();
            sinceLastStep.Restart();
        }
    }

    public void Step(string experimentId, int done, int total, string detail)
    {
        lock (gate)
        {
            if (sinceLastStep.Elapsed < StepInterval) return;
            sinceLastStep.Restart();
            string eta = Eta.Of(experimentClock.Elapsed, done, total) is { } left ? $", about {Eta.Format(left)} left" : "";
            output.WriteLine($"    {experimentId} step {done}/{total}{eta}: {detail}");
        }
    }

    public void Finished(ExperimentRecord record, IReadOnlyList<LabResult> results, bool reused)
    {
        var verdict = LabFormat.Verdict(record, results);
        lock (gate)
            output.WriteLine(reused
                ? $"    {record.Id} kept from the previous run ({verdict.Word}: {verdict.Detail})"
                : $"    {record.Id} {verdict.Word} in {record.Seconds:0.0} s: {verdict.Detail}");
    }
}

/// <summary>Time left, from the time spent and the fraction of steps done.</summary>
internal static class Eta
{
    public static TimeSpan? Of(TimeSpan elapsed, int done, int total) =>
        done <= 0 || total <= 0 || done > total ? null : elapsed * ((double)(total - done) / done);

    public static string Format(TimeSpan t) => t.TotalSeconds < 60 ? $"{t.TotalSeconds:0} s" : $"{(int)t.TotalMinutes} min {t.Seconds} s";
}
