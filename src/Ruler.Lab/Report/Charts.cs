using ScottPlot;

namespace Ruler.Lab.Report;

/// <summary>One line of a chart: a label and its points.</summary>
/// <param name="Label">Legend text.</param>
/// <param name="X">x values.</param>
/// <param name="Y">y values (same length as <paramref name="X"/>).</param>
public sealed record Series(string Label, double[] X, double[] Y);

/// <summary>
/// The lab's plots in one style (ScottPlot 5): white background, one colour per series from a fixed palette, a
/// legend, axis labels, and a log₁₀ y axis where asked. Every experiment draws through here so the report reads as
/// one document.
/// </summary>
public static class Charts
{
    /// <summary>Width and height of a figure in pixels (the report shows two per row on a laptop screen).</summary>
    public const int Width = 800, Height = 480;

    /// <summary>Colours in legend order (Tableau 10), so a normalizer keeps its colour when a series is missing.</summary>
    public static readonly Color[] Palette = new ScottPlot.Palettes.Category10().Colors;

    /// <summary>A line chart saved as PNG to <paramref name="path"/>.</summary>
    /// <param name="path">Where to write the PNG.</param>
    /// <param name="title">Title above the plot.</param>
    /// <param name="xLabel">x-axis label.</param>
    /// <param name="yLabel">y-axis label.</param>
    /// <param name="series">The lines; a series' colour is its index in this list.</param>
    /// <param name="logY">Plot log₁₀ y with ticks labelled in y's own units (non-positive values are dropped).</param>
    /// <param name="markers">Draw a marker at every point (for short series).</param>
    public static void Line(string path, string title, string xLabel, string yLabel, IReadOnlyList<Series> series, bool logY = false, bool markers = false)
    {
        var plot = new Plot();
        for (int i = 0; i < series.Count; i++)
        {
            var s = series[i];
            if (s.X.Length != s.Y.Length) throw new ArgumentException($"Charts.Line: series '{s.Label}' has {s.X.Length} x and {s.Y.Length} y values.", nameof(series));
            double[] xs = s.X, ys = s.Y;
            if (logY)
            {
                var keep = Enumerable.Range(0, ys.Length).Where(j => ys[j] > 0 && double.IsFinite(ys[j])).ToArray();
                xs = [.. keep.Select(j => s.X[j])];
                ys = [.. keep.Select(j => Math.Log10(s.Y[j]))];
            }
            var line = plot.Add.Scatter(xs, ys, Palette[i % Palette.Length]);
            line.LegendText = s.Label;
            line.LineWidth = 2;
            line.MarkerSize = markers ? 6 : 0;
        }
        if (logY) UseLogTicks(plot.Axes.Left);
        Finish(plot, path, title, xLabel, yLabel, legend: series.Count > 1);
    }

    /// <summary>Labels a log₁₀-valued axis in the original units (1, 10, 100 … or 1e-3 …) with minor log ticks.</summary>
    public static void UseLogTicks(IAxis axis) =>
        axis.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
        {
            MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
            IntegerTicksOnly = true,
            LabelFormatter = v => FormatPowerOfTen(v),
        };

    /// <summary>Title, labels, legend and fonts shared by every figure, then the PNG.</summary>
    public static void Finish(Plot plot, string path, string title, string xLabel, string yLabel, bool legend)
    {
        plot.Font.Set("DejaVu Sans"); // shipped by Debian's fonts-dejavu-core, which .ci/run installs; ScottPlot falls back when absent
        plot.Title(title, size: 18);
        plot.XLabel(xLabel, size: 15);
        plot.YLabel(yLabel, size: 15);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        if (legend)
        {
            plot.Legend.IsVisible = true;
            plot.Legend.FontSize = 13;
        }
        plot.SavePng(path, Width, Height);
    }

    private static string FormatPowerOfTen(double exponent)
    {
        double v = Math.Pow(10, exponent);
        return exponent is >= -2 and <= 4 ? v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) : $"1e{exponent:0}";
    }
}
