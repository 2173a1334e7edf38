namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E4 (see ../shared/LAB.md).
internal sealed class E4TinyBatches : IExperiment
{
    public string Id => "E4";
    public string Title => "E4 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E4 is not built yet.");
}
