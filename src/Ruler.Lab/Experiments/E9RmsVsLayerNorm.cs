namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E9 (see ../shared/LAB.md).
internal sealed class E9RmsVsLayerNorm : IExperiment
{
    public string Id => "E9";
    public string Title => "E9 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E9 is not built yet.");
}
