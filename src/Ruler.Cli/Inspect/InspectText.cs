using System.Globalization;
using System.Text;

namespace Ruler.Cli.Inspect;

/// <summary>The terminal report of `ruler inspect`: the normalizations, then (with inputs) what they measured and the residual stream.</summary>
internal static class InspectText
{
    public static string Render(ModelInspection m)
    {
        var s = new StringBuilder();
        s.AppendLine($"model     {m.Path}");
        s.AppendLine($"          IR {m.IrVersion}, opset {m.Opset}, producer {(m.Producer.Length == 0 ? "?" : m.Producer)}, {m.NodeCount} nodes, {m.ResidualAdds.Count} residual additions");
        if (m.Inputs is not null) foreach (string i in m.Inputs) s.AppendLine($"input     {i}");
        s.AppendLine();
        if (m.Normalizations.Count == 0)
        {
            s.AppendLine("No normalization found (native BatchNormalization, LayerNormalization, GroupNormalization, InstanceNormalization,");
            s.AppendLine("RMSNormalization, SimplifiedLayerNormalization, Skip(Simplified)LayerNormalization, or a decomposed LayerNorm/RMSNorm).");
            return s.ToString();
        }
        var counts = m.Normalizations.GroupBy(r => r.Found.Kind).Select(g => $"{g.Count()} {g.Key}");
        s.AppendLine($"{m.Normalizations.Count} normalizations: {string.Join(", ", counts)}");
        var rows = new List<string[]> { new[] { "#", "name", "kind", "source", "ruler", "eps", "placement", "γ mean [min, max] ≈0", "β mean [min, max] ≈0" } };
        int k = 1;
        foreach (var r in m.Normalizations)
            rows.Add([(k++).ToString(), r.Found.Name, r.Found.Kind.ToString(), r.Found.Source, RulerText(r), G(r.Found.Eps),
                r.Found.Placement.ToString().ToLowerInvariant(), Param(r.Gamma), Param(r.Beta)]);
        Table(s, rows);
        s.AppendLine($"(≈0: how many parameters have |value| ≤ {ParameterSummary.NearZeroBound:0.###}"
            + (m.Normalizations.Any(r => r.Found.Kind == NormKind.GroupNorm) ? "; GroupNorm's ruler is on the (N, G, C/G, S) view.)" : ".)"));

        if (m.Normalizations.Any(r => r.Input is not null))
        {
            s.AppendLine();
            s.AppendLine($"On the run: per-group input RMS; outlier features have RMS ≥ {NormStatistics.OutlierFactor:0}× the median feature's;");
            s.AppendLine($"low-var = groups with variance (RMS family: mean square) < {NormStatistics.LowVarianceFactor:0}·eps; fp16 Σx² = largest per-group sum of squares");
            s.AppendLine("(> 65504 overflows a float16 accumulator); differences are max |a − b| / max(1, |b|).");
            rows = [["#", "groups × size", "RMS median [min, max]", "max|x|", "outlier features (index: ×median)", "low-var", "fp16 Σx² max", "out RMS", "Ruler−ORT", "Ruler−f64", "ORT−f64"]];
            k = 1;
            foreach (var r in m.Normalizations)
            {
                if (r.Input is not { } i || r.Check is not { } c)
                {
                    rows.Add([(k++).ToString(), "(shapes do not fit the ruler: not measured)", "", "", "", "", "", "", "", "", ""]);
                    continue;
                }
                rows.Add([(k++).ToString(), $"{i.Groups} × {i.GroupSize}", $"{G(i.GroupRms.Median)} [{G(i.GroupRms.Min)}, {G(i.GroupRms.Max)}]",
                    G(i.MaxAbs), Outliers(i), i.LowVarianceGroups.ToString(), $"{G(i.Fp16MaxSumOfSquares)}{(i.Fp16OverflowGroups > 0 ? $" ({i.Fp16OverflowGroups} over)" : "")}",
                    G(i.OutputRms), E(c.RulerVsOnnxRuntime), E(c.RulerVsFloat64), E(c.OnnxRuntimeVsFloat64)]);
            }
            Table(s, rows);
        }
        if (m.Stream is { Count: > 0 } stream)
        {
            s.AppendLine();
            s.AppendLine("Residual stream: RMS of each residual sum h = s + f(s), in graph order");
            rows = [["block", "addition", "RMS", "max|x|", "normalized by"]];
            foreach (var p in stream) rows.Add([p.Block.ToString(), p.Name, G(p.Rms), G(p.MaxAbs), p.NormalizedBy ?? "-"]);
            Table(s, rows);
        }
        return s.ToString();
    }

    public static string RulerText(NormalizationReport r)
    {
        if (r.Ruler is not { } spec) return "(needs the input rank)";
        string text = $"reduce {Axes(spec.ReducedAxes)}, {(spec.Center ? "centered" : "not centered")}, affine {Axes(spec.AffineAxes)}";
        return r.Found.Kind == NormKind.GroupNorm ? $"G={r.Found.Groups} on (N,G,C/G,S): {text}" : text;
    }

    public static string Axes(IReadOnlyList<int> axes) => "{" + string.Join(",", axes) + "}";

    private static string Outliers(InputStatistics i)
    {
        if (i.Outliers.Count == 0) return "none";
        string list = string.Join(" ", i.Outliers.Take(6).Select(o => $"{o.Index}:{o.RatioToMedian:0.#}"));
        return i.Outliers.Count > 6 ? $"{list} (+{i.Outliers.Count - 6})" : list;
    }

    private static string Param(ParameterSummary? p) =>
        p is null ? "-" : $"{G(p.Mean)} [{G(p.Min)}, {G(p.Max)}] {p.NearZero}";

    public static string G(double v) => double.IsNaN(v) ? "-" : v.ToString(Math.Abs(v) is >= 1e-3 and < 1e5 or 0 ? "0.####" : "0.##e+0", CultureInfo.InvariantCulture);

    public static string E(double v) => double.IsNaN(v) ? "-" : v == 0 ? "0" : v.ToString("0.0e+0", CultureInfo.InvariantCulture);

    private static void Table(StringBuilder s, List<string[]> rows)
    {
        int cols = rows[0].Length;
        var width = new int[cols];
        foreach (var row in rows) for (int c = 0; c < cols; c++) width[c] = Math.Max(width[c], row[c].Length);
        foreach (var row in rows)
        {
            var line = new StringBuilder();
            for (int c = 0; c < cols; c++) line.Append(row[c].PadRight(width[c])).Append(c + 1 < cols ? "  " : "");
            s.AppendLine(line.ToString().TrimEnd());
        }
    }
}
