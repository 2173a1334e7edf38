using Ruler;

namespace Ruler.Cli.Inspect;

/// <summary>The five normalizers, by the name the report uses.</summary>
internal enum NormKind { BatchNorm, LayerNorm, GroupNorm, InstanceNorm, RmsNorm }

/// <summary>Where a normalization sits relative to the residual stream.</summary>
internal enum Placement
{
    /// <summary>Not on a residual stream (or not recognisably so).</summary>
    None,
    /// <summary>Reads the residual stream and opens a branch whose result is added back to that stream.</summary>
    Pre,
    /// <summary>Reads the residual sum itself: the stream continues as the normalized value.</summary>
    Post,
}

/// <summary>
/// One normalization found in a graph: what it is, where its values are, and the ruler it implements. The value
/// names are what dynamic analysis asks ONNX Runtime to expose.
/// </summary>
internal sealed class FoundNormalization
{
    /// <summary>A name for the report: the node's name, or its output's when the node has none.</summary>
    public required string Name { get; init; }
    public required NormKind Kind { get; init; }
    /// <summary>The native operator's name, or "decomposed" for a matched subgraph.</summary>
    public required string Source { get; init; }
    public required double Eps { get; init; }
    /// <summary>Whether the mean is subtracted (false for the RMS family).</summary>
    public required bool Center { get; init; }
    /// <summary>The normalized input; for Skip* operators the first of the summed values.</summary>
    public required string Input { get; init; }
    /// <summary>Values added to <see cref="Input"/> before normalizing (Skip* operators' skip and bias); empty otherwise.</summary>
    public IReadOnlyList<string> AddedToInput { get; init; } = [];
    public required string Output { get; init; }
    public string? Gamma { get; init; }
    public string? Beta { get; init; }
    /// <summary>BatchNormalization's running mean and variance (eval mode uses them instead of batch statistics).</summary>
    public string? RunningMean { get; init; }
    public string? RunningVar { get; init; }
    /// <summary>BatchNormalization with training_mode = 1: statistics from the batch.</summary>
    public bool BatchStatistics { get; init; }
    /// <summary>GroupNormalization's group count.</summary>
    public int Groups { get; init; }
    /// <summary>
    /// LayerNorm/RMSNorm: the reduced axes as the graph states them (an axis attribute expands to its trailing range
    /// once the rank is known; decomposed: the ReduceMean axes). Unused for the channel normalizers.
    /// </summary>
    public int[]? TrailingAxes { get; init; }
    /// <summary>LayerNormalization-style first normalized axis, when the axes are given that way.</summary>
    public int? FirstAxis { get; init; }
    /// <summary>Decomposed: γ's axes counted from the end (its rank without leading 1s).</summary>
    public int AffineRank { get; init; }
    /// <summary>The graph nodes it consists of, in graph order.</summary>
    public required IReadOnlyList<string> Nodes { get; init; }
    /// <summary>Graph position of its first node, for ordering.</summary>
    public required int Order { get; init; }
    public Placement Placement { get; set; }
    /// <summary>Rank of the input when the graph states it.</summary>
    public int? InputRank { get; set; }

    /// <summary>
    /// The ruler for an input of the given rank, as a <see cref="RulerSpec"/>; GroupNorm's is on the (N, G, C/G, S) view.
    /// Null when the rank is unknown and the ruler depends on it.
    /// </summary>
    public RulerSpec? Ruler(int? rank)
    {
        switch (Kind)
        {
            case NormKind.GroupNorm:
                return new RulerSpec([2, 3], true, Eps, Gamma is null ? [] : [1, 2]);
            case NormKind.BatchNorm:
                return rank is int rb && rb >= 2 ? new RulerSpec(Enumerable.Range(0, rb).Where(a => a != 1).ToArray(), true, Eps, Gamma is null ? [] : [1]) : null;
            case NormKind.InstanceNorm:
                return rank is int ri && ri >= 3 ? new RulerSpec(Enumerable.Range(2, ri - 2).ToArray(), true, Eps, Gamma is null ? [] : [1]) : null;
            default:
                int[]? axes = TrailingAxes;
                if (FirstAxis is int first)
                {
                    if (first < 0) axes = Enumerable.Range(first, -first).ToArray();
                    else if (rank is int r && first < r) axes = Enumerable.Range(first - r, r - first).ToArray();
                    else return null;
                }
                if (axes is null) return null;
                int[] affine = Gamma is null ? []
                    : FirstAxis is not null ? axes
                    : Enumerable.Range(-AffineRank, AffineRank).ToArray();
                return new RulerSpec(axes, Center, Eps, affine);
        }
    }
}
