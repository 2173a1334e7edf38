namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E7 (see ../shared/LAB.md).
internal sealed class E7ResidualStream : IExperiment
{
    public string Id => "E7";
    public string Title => "E7 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E7 is not built yet.");
}
