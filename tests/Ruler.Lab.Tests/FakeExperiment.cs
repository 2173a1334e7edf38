namespace Ruler.Lab.Tests;

/// <summary>A test-only experiment: returns the results it was given (or throws), counts its runs, optionally writes a figure.</summary>
internal sealed class FakeExperiment(string id, Func<LabContext, IReadOnlyList<LabResult>>? results = null, string? figure = null, string? throws = null) : IExperiment
{
    public string Id => id;
    public string Title => $"Fake {id}";
    public string Claim => $"claim of {id}";
    public int Runs { get; private set; }
    public LabContext? LastContext { get; private set; }
    public int ThreadsDuringRun { get; private set; }

    public ExperimentReport Run(LabContext context)
    {
        Runs++;
        LastContext = context;
        ThreadsDuringRun = RulerParallelism.MaxThreads;
        context.Progress.Step(id, 1, 2, "halfway");
        if (throws is not null) throw new InvalidOperationException(throws);
        var figures = new List<Figure>();
        if (figure is not null)
        {
            File.WriteAllBytes(context.PathOf(figure), TinyPng);
            figures.Add(new Figure(figure, $"figure of {id}"));
        }
        var measured = results?.Invoke(context) ?? [Pass(id, "m1", 1.5)];
        return new ExperimentReport(id, Title, Claim, measured, figures, [$"note of {id}"]);
    }

    public static LabResult Pass(string id, string metric, double value, Anchor? anchor = null) =>
        new(id, $"claim of {id}", "setup", metric, value, "", anchor, Verdict.Pass, "< 2");

    public static LabResult Fail(string id, string metric, double value) =>
        new(id, $"claim of {id}", "setup", metric, value, "", null, Verdict.Fail, "< 1");

    /// <summary>A valid 1×1 PNG.</summary>
    public static readonly byte[] TinyPng = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==");
}
