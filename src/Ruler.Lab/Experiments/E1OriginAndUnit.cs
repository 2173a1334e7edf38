namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E1 (see ../shared/LAB.md).
internal sealed class E1OriginAndUnit : IExperiment
{
    public string Id => "E1";
    public string Title => "E1 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E1 is not built yet.");
}
