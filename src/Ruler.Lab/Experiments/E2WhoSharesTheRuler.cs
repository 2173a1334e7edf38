namespace Ruler.Lab.Experiments;

// PLACEHOLDER — replaced by the engineer who builds E2 (see ../shared/LAB.md).
internal sealed class E2WhoSharesTheRuler : IExperiment
{
    public string Id => "E2";
    public string Title => "E2 (not built yet)";
    public string Claim => "";
    public ExperimentReport Run(LabContext context) => throw new InvalidOperationException("E2 is not built yet.");
}
