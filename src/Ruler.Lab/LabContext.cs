namespace Ruler.Lab;

/// <summary>Receives progress while an experiment runs (a Spectre.Console live view, plain lines, or nothing).</summary>
public interface ILabProgress
{
    /// <summary>The experiment is at <paramref name="done"/> of <paramref name="total"/> steps; <paramref name="detail"/> is e.g. "BN seed 2, loss 0.412".</summary>
    void Step(string experimentId, int done, int total, string detail);
}

/// <summary>Progress that goes nowhere (tests).</summary>
public sealed class NoProgress : ILabProgress
{
    /// <summary>The one instance.</summary>
    public static readonly NoProgress Instance = new();

    /// <inheritdoc />
    public void Step(string experimentId, int done, int total, string detail) { }
}

/// <summary>What an experiment is given: the settings, where to write plots, where to say how far it is.</summary>
/// <param name="Settings">Size, seed, seed count, threads.</param>
/// <param name="OutputDirectory">Folder for the experiment's PNG files (exists).</param>
/// <param name="Progress">Where to report steps.</param>
public sealed record LabContext(LabSettings Settings, string OutputDirectory, ILabProgress Progress)
{
    /// <summary>Full path of a figure file in the output folder.</summary>
    public string PathOf(string fileName) => System.IO.Path.Combine(OutputDirectory, fileName);
}
