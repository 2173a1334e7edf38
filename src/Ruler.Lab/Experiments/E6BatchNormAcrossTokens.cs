namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E6 (see ../shared/LAB.md).
internal sealed class E6BatchNormAcrossTokens : IExperiment
{
    public string Id => "E6";
    public string Title => "E6 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E6 is not built yet.");
}
