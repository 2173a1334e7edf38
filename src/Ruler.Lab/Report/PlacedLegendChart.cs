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
    /// <param name="legend">Corner of the data area that holds the legend.</param>
    /// <param name="logY">Plot log₁₀ y with ticks in y's own units (non-positive and non-finite values are dropped).</param>
    /// <param name="dashed">Labels of the series to draw dashed.</param>
    /// <param name="colors">Palette index per series (same length as <paramref name="series"/>), or null for the series' own index.</param>
    /// <param name="markers">Draw a marker at every point.</param>
    public static void Line(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, Alignment legend,
        bool logY = false, IReadOnlyCollection<string>? dashed = null, IReadOnlyList<int>? colors = null, bool markers = false)
    {
        var plot = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"PlacedLegendChart.Line: series '{s.Label}' has {s.X.Length} x and {s.Y.Length} y values.", nameof(series));
            var keep = Enumerable.Range(0, s.Y.Length).Where(j => double.IsFinite(s.Y[j]) && (!logY || s.Y[j] > 0)).ToArray();
            double[] xs = [.. keep.Select(j => s.X[j])];
            double[] ys = [.. keep.Select(j => logY ? Math.Log10(s.Y[j]) : s.Y[j])];
            var line = plot.Add.Scatter(xs, ys, Charts.Palette[(colors is null ? i : colors[i]) % Charts.Palette.Length]);
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = markers ? 6 : 0;
            if (dashed is not null && dashed.Contains(s.Label)) line.LinePattern = LinePattern.Dashed;
        }
        if (logY) Charts.UseLogTicks(plot.Axes.Left);
        plot.Legend.Alignment = legend;
        Charts.Finish(plot, path, title, xLabel, yLabel, legend: series.Count > 1);
    }
}
