namespace Ruler.Lab.Tests;

/// <summary>Runs one experiment at the quick size into a temp folder, the way the tests of each experiment do.</summary>
internal sealed class QuickRun : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ruler-lab-tests-").FullName;

    public ExperimentReport Run(string id, ulong seed = 1)
    {
        var experiment = LabCatalog.Find(id) ?? throw new ArgumentException($"no experiment {id}", nameof(id));
        return experiment.Run(new LabContext(new LabSettings(LabSize.Quick, seed), Directory, NoProgress.Instance));
    }

    /// <summary>The one result with this metric (fails the test when there is none or several).</summary>
    public static LabResult Result(ExperimentReport report, string metric) => Assert.Single(report.Results, r => r.Metric == metric);

    public void Dispose() => System.IO.Directory.Delete(Directory, recursive: true);
}

/// <summary>
/// Runs one experiment once at the quick size for every test of a class (xunit class fixture); each experiment's
/// tests derive a fixture from it with the experiment's id.
/// </summary>
public abstract class QuickRunFixture : IDisposable
{
    protected QuickRunFixture(string id) => Report = Run.Run(id);

    internal QuickRun Run { get; } = new();

    internal ExperimentReport Report { get; }

    public void Dispose() => Run.Dispose();
}
