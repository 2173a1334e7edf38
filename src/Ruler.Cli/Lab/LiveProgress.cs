using Ruler.Lab;
using Ruler.Lab.Report;
using Ruler.Lab.Runner;
using Spectre.Console;

namespace Ruler.Cli.Lab;

/// <summary>Progress on a terminal: a Spectre.Console live view with one bar per experiment (step, detail, elapsed, time left) and one for the run.</summary>
internal sealed class LiveProgress(ProgressContext context, int experimentCount) : ILabProgress, ILabRunObserver
{
    private readonly ProgressTask overall = context.AddTask("lab", maxValue: experimentCount);
    private readonly Lock gate = new();
    private ProgressTask? current;
    private string currentId = "";

    public void Starting(IExperiment experiment, int index, int count)
    {
        lock (gate)
        {
            overall.Description = $"lab: experiment {index + 1} of {count}";
            currentId = experiment.Id;
            current = context.AddTask(Markup.Escape($"{experiment.Id} {experiment.Title}"), maxValue: 1);
        }
    }

    public void Step(string experimentId, int done, int total, string detail)
    {
        lock (gate)
        {
            if (current is null || experimentId != currentId || total <= 0) return;
            current.MaxValue = total;
            current.Value = Math.Min(done, total);
            current.Description = Markup.Escape($"{experimentId} {Shorten(detail, 60)}");
        }
    }

    public void Finished(ExperimentRecord record, IReadOnlyList<LabResult> results, bool reused)
    {
        var verdict = LabFormat.Verdict(record, results);
        lock (gate)
        {
            var task = reused ? context.AddTask("", maxValue: 1) : current ?? context.AddTask("", maxValue: 1);
            string colour = verdict.Word switch { "pass" => "green", "report" => "grey", _ => "red" };
            task.Description = $"{Markup.Escape(record.Id)} [{colour}]{Markup.Escape(verdict.Word)}[/]" + (reused ? " (kept from the previous run)" : "");
            task.Value = task.MaxValue;
            task.StopTask();
            overall.Increment(1);
            if (overall.Value >= overall.MaxValue) overall.Description = $"lab: {experimentCount} experiment{(experimentCount == 1 ? "" : "s")} done";
            current = null;
        }
    }

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
