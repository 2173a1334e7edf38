using Onnx;

namespace Ruler.Cli.Inspect;

/// <summary>A residual addition h = skip + branch(skip): the skip operand is among the values the branch is computed from.</summary>
internal sealed record ResidualAdd(string Name, string Output, string Skip, string Branch, int Order);

/// <summary>
/// Finds the normalizations of a graph: native operators by type, decomposed LayerNorm/RMSNorm subgraphs by their
/// structure (never by node names), and the residual additions that decide Pre/Post placement.
/// </summary>
internal static class NormalizationFinder
{
    private const string Microsoft = "com.microsoft";

    /// <summary>Every normalization in graph order, with its placement.</summary>
    public static List<FoundNormalization> Find(OnnxGraph graph, out List<ResidualAdd> residuals)
    {
        var found = new List<FoundNormalization>();
        foreach (var node in graph.Nodes)
        {
            var n = Native(graph, node) ?? Decomposed(graph, node);
            if (n is null) continue;
            n.InputRank = graph.Rank(n.Input);
            found.Add(n);
        }
        found.Sort((a, b) => a.Order.CompareTo(b.Order));
        residuals = ResidualAdds(graph);
        foreach (var n in found) n.Placement = PlacementOf(graph, n, residuals);
        return found;
    }

    private static string Input(NodeProto node, int i) => i < node.Input.Count ? node.Input[i] : "";
    private static string? Optional(NodeProto node, int i) => Input(node, i) is { Length: > 0 } s ? s : null;
    private static string NameOf(NodeProto node) => node.Name.Length != 0 ? node.Name : node.Output[0];

    private static FoundNormalization? Native(OnnxGraph graph, NodeProto node)
    {
        bool onnx = node.Domain is "" or "ai.onnx";
        bool ms = node.Domain == Microsoft;
        if (node.Output.Count == 0 || node.Input.Count == 0) return null;
        string op = node.OpType;
        double Eps(double fallback) => OnnxGraph.FloatAttribute(node, "epsilon", fallback);
        int order = graph.OrderOf(node);
        switch (op)
        {
            case "BatchNormalization" when onnx && node.Input.Count >= 5:
                return new FoundNormalization
                {
                    Name = NameOf(node), Kind = NormKind.BatchNorm, Source = op, Eps = Eps(1e-5), Center = true,
                    Input = node.Input[0], Output = node.Output[0], Gamma = node.Input[1], Beta = node.Input[2],
                    RunningMean = node.Input[3], RunningVar = node.Input[4],
                    BatchStatistics = OnnxGraph.IntAttribute(node, "training_mode", 0) == 1, Nodes = [NameOf(node)], Order = order,
                };
            case "LayerNormalization" when onnx || ms:
            case "RMSNormalization" when onnx:
            case "SimplifiedLayerNormalization" when onnx || ms:
                bool center = op == "LayerNormalization";
                return new FoundNormalization
                {
                    Name = NameOf(node), Kind = center ? NormKind.LayerNorm : NormKind.RmsNorm, Source = op, Eps = Eps(1e-5), Center = center,
                    Input = node.Input[0], Output = node.Output[0], Gamma = Optional(node, 1), Beta = center ? Optional(node, 2) : null,
                    FirstAxis = (int)OnnxGraph.IntAttribute(node, "axis", -1), Nodes = [NameOf(node)], Order = order,
                };
            case "GroupNormalization" when onnx && node.Input.Count >= 3:
                return new FoundNormalization
                {
                    Name = NameOf(node), Kind = NormKind.GroupNorm, Source = op, Eps = Eps(1e-5), Center = true,
                    Input = node.Input[0], Output = node.Output[0], Gamma = node.Input[1], Beta = node.Input[2],
                    Groups = (int)OnnxGraph.IntAttribute(node, "num_groups", 0), Nodes = [NameOf(node)], Order = order,
                };
            case "InstanceNormalization" when onnx && node.Input.Count >= 3:
                return new FoundNormalization
                {
                    Name = NameOf(node), Kind = NormKind.InstanceNorm, Source = op, Eps = Eps(1e-5), Center = true,
                    Input = node.Input[0], Output = node.Output[0], Gamma = node.Input[1], Beta = node.Input[2],
                    Nodes = [NameOf(node)], Order = order,
                };
            case "SkipLayerNormalization" when ms && node.Input.Count >= 3:
            case "SkipSimplifiedLayerNormalization" when ms && node.Input.Count >= 3:
                bool centered = op == "SkipLayerNormalization";
                string? bias = centered ? Optional(node, 4) : Optional(node, 3);
                return new FoundNormalization
                {
                    Name = NameOf(node), Kind = centered ? NormKind.LayerNorm : NormKind.RmsNorm, Source = op, Eps = Eps(1e-12), Center = centered,
                    Input = node.Input[0], AddedToInput = bias is null ? [node.Input[1]] : [node.Input[1], bias],
                    Output = node.Output[0], Gamma = node.Input[2], Beta = centered ? Optional(node, 3) : null,
                    FirstAxis = -1, Nodes = [NameOf(node)], Order = order,
                };
            default:
                return null;
        }
    }

    /// <summary>
    /// Matches a decomposed LayerNorm or RMSNorm anchored at the ReduceMean that measures the spread:
    /// v = ReduceMean(z², axes); s = Sqrt(v + eps) (or (v + eps)^−½); n = z / s (or z · 1/s); then optionally n·γ, + β.
    /// It is a LayerNorm when z = x − ReduceMean(x, same axes), else an RMSNorm of z. Every link is checked: the
    /// squared value, the numerator and the centered value must be the same tensor, the exponent 2, eps a constant.
    /// </summary>
    private static FoundNormalization? Decomposed(OnnxGraph graph, NodeProto spread)
    {
        if (spread.OpType != "ReduceMean" || spread.Input.Count == 0 || spread.Output.Count != 1) return null;
        if (OnnxGraph.IntAttribute(spread, "keepdims", 1) != 1) return null;
        int[]? axes = ReduceAxes(graph, spread);
        if (axes is null || axes.Length == 0) return null;

        // z² as Pow(z, 2) or Mul(z, z)
        var square = graph.Producer(spread.Input[0]);
        if (square is null) return null;
        string z;
        if (square.OpType == "Pow" && square.Input.Count == 2 && graph.Scalar(square.Input[1]) == 2) z = square.Input[0];
        else if (square.OpType == "Mul" && square.Input.Count == 2 && square.Input[0] == square.Input[1]) z = square.Input[0];
        else return null;

        // v + eps
        if (Single(graph, spread.Output[0]) is not { OpType: "Add" } addEps) return null;
        string? epsValue = Other(addEps, spread.Output[0]);
        if (epsValue is null || graph.Scalar(epsValue) is not double eps || !(eps > 0)) return null;
        var nodes = new List<NodeProto> { square, spread, addEps };

        // 1/√(v + eps) applied to z
        NodeProto? normalize = null;
        foreach (var c in graph.Consumers(addEps.Output[0]))
        {
            if (c.OpType == "Sqrt")
            {
                foreach (var d in graph.Consumers(c.Output[0]))
                {
                    if (d.OpType == "Div" && d.Input.Count == 2 && d.Input[1] == c.Output[0] && d.Input[0] == z) { normalize = d; nodes.Add(c); break; }
                    if (d.OpType == "Reciprocal" && Single(graph, d.Output[0]) is { OpType: "Mul" } m && Other(m, d.Output[0]) == z)
                    { normalize = m; nodes.Add(c); nodes.Add(d); break; }
                }
            }
            else if (c.OpType == "Pow" && c.Input.Count == 2 && c.Input[0] == addEps.Output[0] && graph.Scalar(c.Input[1]) == -0.5
                && Single(graph, c.Output[0]) is { OpType: "Mul" } m && Other(m, c.Output[0]) == z)
            { normalize = m; nodes.Add(c); }
            if (normalize is not null) break;
        }
        if (normalize is null) return null;
        nodes.Add(normalize);

        // centred? z = x − ReduceMean(x, same axes)
        string input = z;
        bool center = false;
        if (graph.Producer(z) is { OpType: "Sub" } sub && sub.Input.Count == 2
            && graph.Producer(sub.Input[1]) is { OpType: "ReduceMean" } mean && mean.Input.Count >= 1 && mean.Input[0] == sub.Input[0]
            && OnnxGraph.IntAttribute(mean, "keepdims", 1) == 1 && ReduceAxes(graph, mean) is { } meanAxes && SameAxes(meanAxes, axes, graph.Rank(sub.Input[0])))
        {
            input = sub.Input[0];
            center = true;
            nodes.Insert(0, sub);
            nodes.Insert(0, mean);
        }

        // affine: · γ, + β (constants)
        string output = normalize.Output[0];
        string? gamma = null, beta = null;
        if (Single(graph, output) is { OpType: "Mul" } scale && Other(scale, output) is { } g && graph.IsConstant(g))
        {
            gamma = g;
            output = scale.Output[0];
            nodes.Add(scale);
        }
        if (Single(graph, output) is { OpType: "Add" } shift && Other(shift, output) is { } b && graph.IsConstant(b))
        {
            beta = b;
            output = shift.Output[0];
            nodes.Add(shift);
        }
        int affineRank = 0;
        if ((gamma ?? beta) is { } param && graph.ConstantDims(param) is { } dims)
        {
            int lead = 0;
            while (lead < dims.Length && dims[lead] == 1) lead++;
            affineRank = dims.Length - lead;
        }

        var ordered = nodes.OrderBy(graph.OrderOf).ToList();
        return new FoundNormalization
        {
            Name = ParameterStem(graph, gamma ?? beta) ?? NameOf(ordered[0]), Kind = center ? NormKind.LayerNorm : NormKind.RmsNorm, Source = "decomposed", Eps = eps, Center = center,
            Input = input, Output = output, Gamma = gamma, Beta = beta, TrailingAxes = axes, AffineRank = affineRank,
            Nodes = ordered.Select(NameOf).ToList(), Order = graph.OrderOf(ordered[0]),
        };
    }

    /// <summary>
    /// A decomposed norm has no node of its own to name it; its γ (or β) initializer usually carries the module's name
    /// ("encoder.layer.0.output.LayerNorm.weight"), so the report uses that without the parameter suffix. Matching never looks at names.
    /// </summary>
    private static string? ParameterStem(OnnxGraph graph, string? parameter)
    {
        if (parameter is null || !graph.Graph.Initializer.Any(t => t.Name == parameter)) return null;
        foreach (string suffix in new[] { ".weight", ".bias", ".gamma", ".beta", ".scale" })
            if (parameter.EndsWith(suffix, StringComparison.Ordinal) && parameter.Length > suffix.Length) return parameter[..^suffix.Length];
        return parameter;
    }

    private static bool SameAxes(int[] a, int[] b, int? rank)
    {
        int[] Norm(int[] x) => x.Select(v => v < 0 && rank is int r ? v + r : v).Order().ToArray();
        return Norm(a).SequenceEqual(Norm(b));
    }

    /// <summary>ReduceMean's axes: the attribute (opset &lt; 18) or the constant second input (opset 18+).</summary>
    private static int[]? ReduceAxes(OnnxGraph graph, NodeProto node)
    {
        if (OnnxGraph.IntsAttribute(node, "axes") is { } attr) return attr.Select(a => (int)a).ToArray();
        if (node.Input.Count > 1 && node.Input[1].Length != 0 && graph.ConstantValues(node.Input[1]) is { } values)
            return values.Select(a => (int)a).ToArray();
        return null;
    }

    private static NodeProto? Single(OnnxGraph graph, string value) =>
        graph.Consumers(value) is [var only] && !graph.IsGraphOutput(value) ? only : null;

    private static string? Other(NodeProto binary, string value)
    {
        if (binary.Input.Count != 2) return null;
        if (binary.Input[0] == value) return binary.Input[1];
        if (binary.Input[1] == value) return binary.Input[0];
        return null;
    }

    /// <summary>
    /// Additions of two computed values h = s + f(s) where the branch f(s) is computed from s within one block: the
    /// search from the branch back to s does not pass through an earlier residual sum. (Without that limit, a value
    /// every layer reads, such as BERT's attention mask, would look like the skip of every later layer's mask addition.)
    /// </summary>
    private static List<ResidualAdd> ResidualAdds(OnnxGraph graph)
    {
        var adds = new List<ResidualAdd>();
        var sums = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            if (node.OpType != "Add" || node.Input.Count != 2 || node.Output.Count != 1) continue;
            string a = node.Input[0], b = node.Input[1];
            if (a == b || graph.IsConstant(a) || graph.IsConstant(b)) continue;
            ResidualAdd? add = graph.DependsOn(b, a, sums) ? new ResidualAdd(NameOf(node), node.Output[0], a, b, graph.OrderOf(node))
                : graph.DependsOn(a, b, sums) ? new ResidualAdd(NameOf(node), node.Output[0], b, a, graph.OrderOf(node))
                : null;
            if (add is null) continue;
            adds.Add(add);
            sums.Add(add.Output);
        }
        return adds;
    }

    /// <summary>
    /// Pre: the input is the skip operand of a residual addition whose branch is computed from this normalization's
    /// output. Post: the input is a residual sum that nothing else reads, and the sum's skip operand is not itself an
    /// unnormalized residual sum (that is the final norm of a Pre-norm stack, placed "none"). Skip* operators are the
    /// residual addition themselves: Pre when their sum output is read (the stream goes on unnormalized), else Post.
    /// </summary>
    private static Placement PlacementOf(OnnxGraph graph, FoundNormalization n, List<ResidualAdd> residuals)
    {
        if (n.AddedToInput.Count > 0)
        {
            var node = graph.Producer(n.Output)!;
            bool sumRead = node.Output.Count > 3 && node.Output[3].Length != 0 && (graph.Consumers(node.Output[3]).Count > 0 || graph.IsGraphOutput(node.Output[3]));
            return sumRead ? Placement.Pre : Placement.Post;
        }
        foreach (var r in residuals)
            if (r.Skip == n.Input && r.Order > n.Order && graph.DependsOn(r.Branch, n.Output)) return Placement.Pre;
        var sum = residuals.FirstOrDefault(r => r.Output == n.Input);
        if (sum is not null && graph.Consumers(sum.Output).All(c => n.Nodes.Contains(NameOf(c))) && !graph.IsGraphOutput(sum.Output)
            && !residuals.Any(r => r.Output == sum.Skip))
            return Placement.Post;
        return Placement.None;
    }
}
