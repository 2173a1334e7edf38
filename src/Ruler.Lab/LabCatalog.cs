using Ruler.Lab.Experiments;

namespace Ruler.Lab;

/// <summary>Every experiment of the lab, in the order the report shows them.</summary>
public static class LabCatalog
{
    /// <summary>E1…E9.</summary>
    public static IReadOnlyList<IExperiment> All { get; } =
    [
        new E1OriginAndUnit(), new E2WhoSharesTheRuler(), new E3DepthWithoutRuler(), new E4TinyBatches(),
        new E5BatchNormFitsCnns(), new E6BatchNormAcrossTokens(), new E7ResidualStream(), new E8PrePostGradients(),
        new E9RmsVsLayerNorm(),
    ];

    /// <summary>The experiment with this id (case-insensitive), or null.</summary>
    public static IExperiment? Find(string id) => All.FirstOrDefault(e => string.Equals(e.Id, id, StringComparison.OrdinalIgnoreCase));
}
