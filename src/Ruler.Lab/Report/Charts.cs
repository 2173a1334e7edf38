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

    /// <summary>
    /// A table drawn as an image: one coloured cell per (row, column) with its text, row labels on the left and
    /// column labels below. Highlighted cells are filled with the palette's green, the others with a light grey.
    /// </summary>
    /// <param name="path">Where to write the PNG.</param>
    /// <param name="title">Title above the table.</param>
    /// <param name="rowLabels">One label per row, top to bottom.</param>
    /// <param name="columnLabels">One label per column, left to right.</param>
    /// <param name="text">Cell text, [row, column].</param>
    /// <param name="highlighted">Which cells to fill green, [row, column].</param>
    /// <param name="xLabel">Label below the column labels.</param>
    public static void CellTable(string path, string title, IReadOnlyList<string> rowLabels, IReadOnlyList<string> columnLabels,
        string[,] text, bool[,] highlighted, string xLabel)
    {
        int rows = rowLabels.Count, columns = columnLabels.Count;
        if (text.GetLength(0) != rows || text.GetLength(1) != columns || highlighted.GetLength(0) != rows || highlighted.GetLength(1) != columns)
            throw new ArgumentException($"Charts.CellTable: expected {rows}×{columns} cells for {rows} row and {columns} column labels.", nameof(text));
        var plot = new Plot();
        var green = Palette[2].WithAlpha(0.45);
        var grey = Colors.LightGray.WithAlpha(0.5);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
            {
                double top = rows - r, left = c;
                var cell = plot.Add.Rectangle(left, left + 1, top - 1, top);
                cell.FillStyle.Color = highlighted[r, c] ? green : grey;
                cell.LineStyle.Color = Colors.White;
                cell.LineStyle.Width = 3;
                var label = plot.Add.Text(text[r, c], left + 0.5, top - 0.5);
                label.LabelFontSize = 18;
                label.LabelFontName = "DejaVu Sans";
                label.LabelAlignment = Alignment.MiddleCenter;
                label.LabelFontColor = Colors.Black;
            }
        plot.Axes.Bottom.SetTicks([.. Enumerable.Range(0, columns).Select(c => c + 0.5)], [.. columnLabels]);
        plot.Axes.Left.SetTicks([.. Enumerable.Range(0, rows).Select(r => rows - r - 0.5)], [.. rowLabels]);
        plot.Axes.SetLimits(0, columns, 0, rows);
        plot.HideGrid();
        Finish(plot, path, title, xLabel, "", legend: false);
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
        plot.Title(title, size: TitleSize(title));
        plot.XLabel(xLabel, size: 16);
        plot.YLabel(yLabel, size: 16);
        plot.Axes.Bottom.TickLabelStyle.FontSize = 14;
        plot.Axes.Left.TickLabelStyle.FontSize = 14;
        if (legend)
        {
            plot.Legend.IsVisible = true;
            plot.Legend.FontSize = 14;
        }
        plot.SavePng(path, Width, Height);
    }

    /// <summary>
    /// 20 px, or smaller so that the title fits the figure's width: DejaVu Sans advances about 0.57 em per character,
    /// so a title of n characters at size s spans about 0.57·s·n pixels; keep that under 92% of the width.
    /// </summary>
    internal static float TitleSize(string title) => (float)Math.Clamp(0.92 * Width / (0.57 * Math.Max(1, title.Length)), 11, 20);

    private static string FormatPowerOfTen(double exponent)
    {
        double v = Math.Pow(10, exponent);
        return exponent is >= -2 and <= 4 ? v.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) : $"1e{exponent:0}";
    }
}
