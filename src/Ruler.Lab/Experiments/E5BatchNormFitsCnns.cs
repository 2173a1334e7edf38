namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E5 (see ../shared/LAB.md).
internal sealed class E5BatchNormFitsCnns : IExperiment
{
    public string Id => "E5";
    public string Title => "E5 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E5 is not built yet.");
}
