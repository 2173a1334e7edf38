namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E8 (see ../shared/LAB.md).
internal sealed class E8PrePostGradients : IExperiment
{
    public string Id => "E8";
    public string Title => "E8 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E8 is not built yet.");
}
