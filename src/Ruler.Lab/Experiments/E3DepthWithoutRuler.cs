namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E3 (see ../shared/LAB.md).
internal sealed class E3DepthWithoutRuler : IExperiment
{
    public string Id => "E3";
    public string Title => "E3 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E3 is not built yet.");
}
