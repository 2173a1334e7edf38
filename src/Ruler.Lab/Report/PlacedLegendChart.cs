using ScottPlot;

namespace Ruler.Lab.Report;

/// <summary>
/// <see cref="Charts.Line"/> with two extra choices for figures whose lines overlap by design (E6–E8): where the
/// legend sits, so it does not cover the ends of the lines, and which series are drawn dashed, so a series that
/// lies exactly on another stays visible. Everything else (palette, fonts, log ticks, size) is <see cref="Charts"/>'.
/// </summary>
internal static class PlacedLegendChart
{
    /// <summary>A line chart saved as PNG to <paramref name="path"/>.</summary>
    /// <param name="path">Where to write the PNG.</param>
    /// <param name="title">Title above the plot.</param>
    /// <param name="xLabel">x-axis label.</param>
    /// <param name="yLabel">y-axis label.</param>
    /// <param name="series">The lines; a series' colour is its index in this list unless <paramref name="colors"/> says otherwise.</param>
    /// <param name="legend">Corner of the data area that holds the legend (ignored when <paramref name="legendOutside"/>).</param>
    /// <param name="logY">Plot log₁₀ y with ticks in y's own units (non-positive and non-finite values are dropped).</param>
    /// <param name="dashed">Labels of the series to draw dashed.</param>
    /// <param name="colors">Palette index per series (same length as <paramref name="series"/>), or null for the series' own index.</param>
    /// <param name="markers">Draw a marker at every point.</param>
    /// <param name="legendOutside">Put the legend in a panel right of the data area instead of inside it.</param>
    public static void Line(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, Alignment legend,
        bool logY = false, IReadOnlyCollection<string>? dashed = null, IReadOnlyList<int>? colors = null, bool markers = false, bool legendOutside = false)
    {
        var plot = new Plot();
        double yMin = double.PositiveInfinity, yMax = double.NegativeInfinity;
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"PlacedLegendChart.Line: series '{s.Label}' has {s.X.Length} x and {s.Y.Length} y values.", nameof(series));
            var keep = Enumerable.Range(0, s.Y.Length).Where(j => double.IsFinite(s.Y[j]) && (!logY || s.Y[j] > 0)).ToArray();
            double[] xs = [.. keep.Select(j => s.X[j])];
            double[] ys = [.. keep.Select(j => logY ? Math.Log10(s.Y[j]) : s.Y[j])];
            if (ys.Length > 0) (yMin, yMax) = (Math.Min(yMin, ys.Min()), Math.Max(yMax, ys.Max()));
            var line = plot.Add.Scatter(xs, ys, Charts.Palette[(colors is null ? i : colors[i]) % Charts.Palette.Length]);
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = markers ? 6 : 0;
            if (dashed is not null && dashed.Contains(s.Label)) line.LinePattern = LinePattern.Dashed;
        }
        if (logY && yMax - yMin < 2) plot.Axes.Left.TickGenerator = FewDecadeTicks(yMin, yMax);
        else if (logY) Charts.UseLogTicks(plot.Axes.Left);
        if (legendOutside && series.Count > 1)
        {
            plot.ShowLegend(Edge.Right);
            plot.Legend.FontSize = 13;
            Charts.Finish(plot, path, title, xLabel, yLabel, legend: false);
            return;
        }
        plot.Legend.Alignment = legend;
        Charts.Finish(plot, path, title, xLabel, yLabel, legend: series.Count > 1);
    }

    /// <summary>
    /// Ticks for a log₁₀ axis that spans less than two decades, where powers of ten alone leave it with one label or
    /// none: labelled ticks at 1, 2 and 5 × 10^k and minor ticks at the other integers × 10^k.
    /// </summary>
    private static ScottPlot.TickGenerators.NumericManual FewDecadeTicks(double log10Min, double log10Max)
    {
        var ticks = new ScottPlot.TickGenerators.NumericManual();
        for (int k = (int)Math.Floor(log10Min) - 1; k <= (int)Math.Ceiling(log10Max) + 1; k++)
        {
            for (int m = 1; m <= 9; m++)
            {
                double v = m * Math.Pow(10, k), at = Math.Log10(v);
                if (m is 1 or 2 or 5) ticks.AddMajor(at, v.ToString(k >= -3 && k <= 4 ? "0.####" : "0e0", System.Globalization.CultureInfo.InvariantCulture));
                else ticks.AddMinor(at);
            }
        }
        return ticks;
    }
}
