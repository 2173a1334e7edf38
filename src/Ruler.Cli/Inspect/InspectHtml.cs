using System.Net;
using System.Text;
using ScottPlot;

namespace Ruler.Cli.Inspect;

/// <summary>
/// The HTML report: one self-contained page (inline CSS, no scripts) with the tables of the terminal report and
/// PNG plots written next to it (referenced by relative paths): the residual stream's RMS per block, each
/// normalization's input RMS and largest magnitude, and the feature magnitudes around the strongest outliers.
/// </summary>
internal static class InspectHtml
{
    private const string Css = """
        body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2rem auto; max-width: 1200px; color: #1d2330; padding: 0 1rem; }
        h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #d8dce4; padding-bottom: .2rem; }
        p.meta, p.note { color: #5a6272; margin: .2rem 0; font-size: .9rem; }
        table { border-collapse: collapse; font-size: .82rem; margin: .6rem 0; width: 100%; }
        th, td { border-bottom: 1px solid #e4e7ee; padding: .25rem .5rem; text-align: left; vertical-align: top; }
        th { background: #f3f5f9; font-weight: 600; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        td.name { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: .76rem; word-break: break-all; }
        .pre { color: #1b6fbf; font-weight: 600; } .post { color: #b4561b; font-weight: 600; } .none { color: #808898; }
        .warn { color: #b42318; font-weight: 600; }
        figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #e4e7ee; } figcaption { color: #5a6272; font-size: .85rem; }
        """;

    /// <summary>Writes the page and its images; returns the page's path.</summary>
    public static string Write(ModelInspection m, string path)
    {
        string full;
        try
        {
            full = Path.GetFullPath(path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InspectException($"--html {path}: cannot write there: {e.Message}");
        }
        string dir = Path.GetDirectoryName(full)!;
        string stem = Path.GetFileNameWithoutExtension(full);
        var figures = new List<(string File, string Caption)>();
        try
        {
            if (m.Stream is { Count: > 0 }) figures.Add((StreamPlot(m, dir, stem + "-stream.png"),
                "Residual stream: RMS of each residual sum h = s + f(s) (what a Post-norm reads), and of the normalized value that continues when a norm reads it."));
            if (m.Normalizations.Any(r => r.Input is not null))
            {
                figures.Add((InputPlot(m, dir, stem + "-inputs.png"),
                    "Each normalization's input: median per-group RMS and largest |x|, log10 scale, in graph order."));
                if (OutlierPlot(m, dir, stem + "-outliers.png") is { } outliers)
                    figures.Add((outliers, $"Feature magnitudes (RMS over all other positions) at the normalization with the strongest outlier; red: ≥ {NormStatistics.OutlierFactor:0}× the median feature."));
            }
            File.WriteAllText(full, Page(m, figures), new UTF8Encoding(false));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InspectException($"--html {path}: cannot write the report: {e.Message}");
        }
        return full;
    }

    private static string Page(ModelInspection m, List<(string File, string Caption)> figures)
    {
        var s = new StringBuilder();
        s.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>ruler inspect: ")
            .Append(H(Path.GetFileName(m.Path))).Append("</title><style>").Append(Css).Append("</style></head><body>\n");
        s.Append("<h1>ruler inspect: ").Append(H(Path.GetFileName(m.Path))).Append("</h1>\n");
        s.Append("<p class=\"meta\">").Append(H(m.Path)).Append(" · IR ").Append(m.IrVersion).Append(" · opset ").Append(m.Opset)
            .Append(" · producer ").Append(H(m.Producer.Length == 0 ? "?" : m.Producer)).Append(" · ").Append(m.NodeCount).Append(" nodes · ")
            .Append(m.ResidualAdds.Count).Append(" residual additions</p>\n");
        if (m.Inputs is not null) foreach (string i in m.Inputs) s.Append("<p class=\"meta\">input ").Append(H(i)).Append("</p>\n");

        s.Append("<h2>Normalizations: who shares a ruler</h2>\n");
        if (m.Normalizations.Count == 0) s.Append("<p>No normalization found.</p>\n");
        else
        {
            s.Append("<table><tr><th>#</th><th>name</th><th>kind</th><th>source</th><th>ruler</th><th>eps</th><th>placement</th><th>γ mean [min, max] ≈0</th><th>β mean [min, max] ≈0</th></tr>\n");
            int k = 1;
            foreach (var r in m.Normalizations)
            {
                string placement = r.Found.Placement.ToString().ToLowerInvariant();
                s.Append("<tr><td class=\"num\">").Append(k++).Append("</td><td class=\"name\">").Append(H(r.Found.Name)).Append("</td><td>")
                    .Append(r.Found.Kind).Append("</td><td>").Append(H(r.Found.Source)).Append("</td><td>").Append(H(InspectText.RulerText(r)))
                    .Append("</td><td class=\"num\">").Append(InspectText.G(r.Found.Eps)).Append("</td><td class=\"").Append(placement).Append("\">")
                    .Append(placement).Append("</td><td class=\"num\">").Append(Param(r.Gamma)).Append("</td><td class=\"num\">").Append(Param(r.Beta)).Append("</td></tr>\n");
            }
            s.Append("</table>\n<p class=\"note\">≈0: how many parameters have |value| ≤ ").Append(ParameterSummary.NearZeroBound)
                .Append(". Pre: reads the residual stream and opens a branch added back to it; post: reads the residual sum h = s + f(s).</p>\n");
        }

        if (m.Normalizations.Any(r => r.Input is not null))
        {
            s.Append("<h2>What the rulers see on this input</h2>\n<p class=\"note\">Outlier features have RMS ≥ ").Append(NormStatistics.OutlierFactor)
                .Append("× the median feature's; low-var counts groups with variance (RMS family: mean square) below ").Append(NormStatistics.LowVarianceFactor)
                .Append("·eps; fp16 Σx² is the largest per-group sum of squares (over 65504 a float16 accumulator overflows); differences are max |a − b| / max(1, |b|).</p>\n");
            s.Append("<table><tr><th>#</th><th>groups × size</th><th>RMS median [min, max]</th><th>max|x|</th><th>outlier features (index: ×median)</th><th>low-var</th><th>fp16 Σx² max</th><th>out RMS</th><th>Ruler−ORT</th><th>Ruler−f64</th><th>ORT−f64</th></tr>\n");
            int k = 1;
            foreach (var r in m.Normalizations)
            {
                s.Append("<tr><td class=\"num\">").Append(k++).Append("</td>");
                if (r.Input is not { } i || r.Check is not { } c) { s.Append("<td colspan=\"10\">shapes do not fit the ruler: not measured</td></tr>\n"); continue; }
                string outliers = i.Outliers.Count == 0 ? "none" : string.Join(" ", i.Outliers.Take(12).Select(o => $"{o.Index}: {o.RatioToMedian:0.#}×")) + (i.Outliers.Count > 12 ? $" (+{i.Outliers.Count - 12})" : "");
                s.Append("<td class=\"num\">").Append(i.Groups).Append(" × ").Append(i.GroupSize).Append("</td><td class=\"num\">")
                    .Append(InspectText.G(i.GroupRms.Median)).Append(" [").Append(InspectText.G(i.GroupRms.Min)).Append(", ").Append(InspectText.G(i.GroupRms.Max)).Append("]</td><td class=\"num\">")
                    .Append(InspectText.G(i.MaxAbs)).Append("</td><td>").Append(H(outliers)).Append("</td><td class=\"num").Append(i.LowVarianceGroups > 0 ? " warn" : "").Append("\">")
                    .Append(i.LowVarianceGroups).Append("</td><td class=\"num").Append(i.Fp16OverflowGroups > 0 ? " warn" : "").Append("\">").Append(InspectText.G(i.Fp16MaxSumOfSquares))
                    .Append("</td><td class=\"num\">").Append(InspectText.G(i.OutputRms)).Append("</td><td class=\"num\">").Append(InspectText.E(c.RulerVsOnnxRuntime))
                    .Append("</td><td class=\"num\">").Append(InspectText.E(c.RulerVsFloat64)).Append("</td><td class=\"num\">").Append(InspectText.E(c.OnnxRuntimeVsFloat64)).Append("</td></tr>\n");
            }
            s.Append("</table>\n");
        }
        if (figures.Count > 0)
        {
            s.Append("<h2>Plots</h2>\n");
            foreach (var (file, caption) in figures)
                s.Append("<figure><img src=\"").Append(H(Uri.EscapeDataString(file))).Append("\" alt=\"").Append(H(caption)).Append("\"><figcaption>")
                    .Append(H(caption)).Append("</figcaption></figure>\n");
        }
        if (m.Stream is { Count: > 0 } stream)
        {
            s.Append("<h2>Residual stream</h2>\n<table><tr><th>block</th><th>addition</th><th>RMS</th><th>max|x|</th><th>normalized by</th></tr>\n");
            foreach (var p in stream)
                s.Append("<tr><td class=\"num\">").Append(p.Block).Append("</td><td class=\"name\">").Append(H(p.Name)).Append("</td><td class=\"num\">")
                    .Append(InspectText.G(p.Rms)).Append("</td><td class=\"num\">").Append(InspectText.G(p.MaxAbs)).Append("</td><td class=\"name\">")
                    .Append(H(p.NormalizedBy ?? "-")).Append("</td></tr>\n");
            s.Append("</table>\n");
        }
        s.Append("<p class=\"note\">Written by <code>ruler inspect</code>.</p>\n</body></html>\n");
        return s.ToString();
    }

    private static string StreamPlot(ModelInspection m, string dir, string file)
    {
        var stream = m.Stream!;
        var plot = new Plot();
        double[] xs = stream.Select(p => (double)p.Block).ToArray();
        var sum = plot.Add.Scatter(xs, stream.Select(p => p.Rms).ToArray());
        sum.LegendText = "residual sum h";
        sum.LineWidth = 2;
        sum.MarkerSize = 7;
        var normalized = stream.Select(p => (p.Block, Out: m.Normalizations.FirstOrDefault(r => r.Found.Name == p.NormalizedBy)?.Input?.OutputRms))
            .Where(t => t.Out is double v && double.IsFinite(v)).ToArray();
        if (normalized.Length > 0)
        {
            var after = plot.Add.Scatter(normalized.Select(t => (double)t.Block).ToArray(), normalized.Select(t => t.Out!.Value).ToArray());
            after.LegendText = "after its norm";
            after.LineWidth = 2;
            after.MarkerSize = 7;
        }
        plot.Title("Residual stream RMS per block");
        plot.XLabel("residual addition (graph order)");
        plot.YLabel("RMS");
        plot.Axes.SetLimitsY(0, Math.Max(stream.Max(p => p.Rms), normalized.Length > 0 ? normalized.Max(t => t.Out!.Value) : 0) * 1.1);
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, file);
    }

    private static string InputPlot(ModelInspection m, string dir, string file)
    {
        var plot = new Plot();
        var measured = m.Normalizations.Select((r, i) => (Index: i + 1.0, r.Input)).Where(t => t.Input is not null).ToArray();
        double[] xs = measured.Select(t => t.Index).ToArray();
        var rms = plot.Add.Scatter(xs, measured.Select(t => Log(t.Input!.GroupRms.Median)).ToArray());
        rms.LegendText = "median group RMS";
        rms.MarkerSize = 7;
        var max = plot.Add.Scatter(xs, measured.Select(t => Log(t.Input!.MaxAbs)).ToArray());
        max.LegendText = "max |x|";
        max.MarkerSize = 7;
        plot.Title("Normalization inputs");
        plot.XLabel("normalization # (graph order)");
        plot.YLabel("log10");
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, file);
    }

    private static string? OutlierPlot(ModelInspection m, string dir, string file)
    {
        var strongest = m.Normalizations.Select((r, i) => (Number: i + 1, r))
            .Where(t => t.r.Input is { Outliers.Count: > 0 })
            .OrderByDescending(t => t.r.Input!.Outliers[0].RatioToMedian).FirstOrDefault();
        if (strongest.r is null) return null;
        var i = strongest.r.Input!;
        var plot = new Plot();
        var bars = new List<Bar>();
        var outliers = i.Outliers.Select(o => o.Index).ToHashSet();
        for (int f = 0; f < i.FeatureRms.Length; f++)
            bars.Add(new Bar { Position = f, Value = i.FeatureRms[f], FillColor = outliers.Contains(f) ? Colors.Crimson : Colors.SteelBlue, Size = 0.8, LineWidth = 0 });
        plot.Add.Bars(bars);
        var threshold = plot.Add.HorizontalLine(i.MedianFeatureRms * NormStatistics.OutlierFactor);
        threshold.LegendText = $"{NormStatistics.OutlierFactor:0}× median feature RMS ({InspectText.G(i.MedianFeatureRms)})";
        threshold.LinePattern = LinePattern.Dashed;
        threshold.LineColor = Colors.DimGray;
        foreach (var o in i.Outliers.Take(8))
        {
            var label = plot.Add.Text(o.Index.ToString(), o.Index, o.Rms);
            label.LabelFontSize = 13;
            label.LabelAlignment = Alignment.LowerCenter;
        }
        plot.Title($"Outlier features at normalization #{strongest.Number} ({Short(strongest.r.Found.Name)})");
        plot.XLabel($"feature index (axis {i.FeatureAxis}, {i.FeatureCount} features)");
        plot.YLabel("feature RMS");
        plot.Axes.SetLimitsX(-0.5, i.FeatureCount - 0.5);
        plot.Axes.SetLimitsY(0, i.Outliers[0].Rms * 1.15);
        plot.ShowLegend(Edge.Bottom);
        return Save(plot, dir, file);
    }

    private static string Short(string name) => name.Length <= 48 ? name : "…" + name[^47..];

    private static double Log(double v) => v > 0 ? Math.Log10(v) : double.NaN;

    private static string Save(Plot plot, string dir, string file)
    {
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true };
        plot.SavePng(Path.Combine(dir, file), 1000, 460);
        return file;
    }

    private static string Param(ParameterSummary? p) =>
        p is null ? "-" : $"{InspectText.G(p.Mean)} [{InspectText.G(p.Min)}, {InspectText.G(p.Max)}] {p.NearZero}";

    private static string H(string s) => WebUtility.HtmlEncode(s);
}
