namespace Ruler.Lab;

/// <summary>One of the lab's experiments: one claim of the essay turned into measured numbers (LAB.md).</summary>
public interface IExperiment
{
    /// <summary>E1…E9.</summary>
    string Id { get; }

    /// <summary>Short title.</summary>
    string Title { get; }

    /// <summary>The essay's claim it tests, in one line.</summary>
    string Claim { get; }

    /// <summary>Runs at <see cref="LabContext.Settings"/>' size, writes its plots into <see cref="LabContext.OutputDirectory"/>.</summary>
    ExperimentReport Run(LabContext context);
}
