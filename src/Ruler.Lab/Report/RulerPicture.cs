using ScottPlot;

namespace Ruler.Lab.Report;

/// <summary>One panel of <see cref="RulerPicture.Draw"/>: a normalizer and the statistics group of every element of an (N, C, S) block.</summary>
/// <param name="Title">Panel title, e.g. "BatchNorm: 6 rulers, one per channel".</param>
/// <param name="Groups">Group id of every element in row-major (n, c, s) order.</param>
internal sealed record RulerPanel(string Title, int[] Groups);

/// <summary>
/// The E2 picture: one (N, C, S) block per normalizer, drawn as a grid (rows = channels, one block of S columns per
/// sample), every cell filled with the colour of its statistics group and labelled with the group's number, so cells
/// that share a ruler share a colour. Drawn in <see cref="Charts"/>' style (fonts, palette, title, size).
/// </summary>
internal static class RulerPicture
{
    private const double SampleGap = 0.6, PanelGapX = 2.5, PanelGapY = 3.2;

    /// <summary>Writes the picture of <paramref name="panels"/> (two per row) as PNG to <paramref name="path"/>.</summary>
    /// <param name="path">Where to write the PNG.</param>
    /// <param name="title">Title above the picture.</param>
    /// <param name="n">Samples N.</param>
    /// <param name="c">Channels C.</param>
    /// <param name="s">Spatial positions S = H·W (flattened).</param>
    /// <param name="panels">One per normalizer; each <see cref="RulerPanel.Groups"/> has N·C·S entries.</param>
    /// <param name="key">Lines explaining how to read the picture, written in the free slot after the last panel (or below).</param>
    public static void Draw(string path, string title, int n, int c, int s, IReadOnlyList<RulerPanel> panels, IReadOnlyList<string> key)
    {
        var plot = new Plot();
        plot.Font.Set("DejaVu Sans"); // before the texts are added, so every label gets Charts' font
        double panelWidth = n * s + (n - 1) * SampleGap, panelHeight = c;
        const int columns = 2;
        int rows = (panels.Count + columns - 1) / columns;
        for (int p = 0; p < panels.Count; p++)
        {
            var panel = panels[p];
            if (panel.Groups.Length != n * c * s)
                throw new ArgumentException($"RulerPicture: panel '{panel.Title}' has {panel.Groups.Length} group ids for {n}×{c}×{s} elements.", nameof(panels));
            double left = (p % columns) * (panelWidth + PanelGapX);
            double top = -(p / columns) * (panelHeight + PanelGapY);
            var heading = plot.Add.Text(panel.Title, left, top + 0.35);
            heading.LabelFontSize = 13;
            heading.LabelBold = true;
            heading.LabelAlignment = Alignment.LowerLeft;
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < c; ch++)
                    for (int j = 0; j < s; j++)
                    {
                        int g = panel.Groups[(i * c + ch) * s + j];
                        double x0 = left + i * (s + SampleGap) + j, y1 = top - ch;
                        var cell = plot.Add.Rectangle(x0, x0 + 1, y1 - 1, y1);
                        cell.FillColor = GroupColor(g);
                        cell.LineColor = Colors.White;
                        cell.LineWidth = 1;
                        var label = plot.Add.Text(g.ToString(System.Globalization.CultureInfo.InvariantCulture), x0 + 0.5, y1 - 0.5);
                        label.LabelFontSize = 9;
                        label.LabelAlignment = Alignment.MiddleCenter;
                        label.LabelFontColor = TextColorOn(cell.FillColor);
                    }
            if (p % columns == 0)
                for (int ch = 0; ch < c; ch++)
                {
                    var rowLabel = plot.Add.Text($"c{ch}", left - 0.2, top - ch - 0.5);
                    rowLabel.LabelFontSize = 10;
                    rowLabel.LabelAlignment = Alignment.MiddleRight;
                }
            if (p / columns == rows - 1 || p + columns >= panels.Count)
                for (int i = 0; i < n; i++)
                {
                    var sampleLabel = plot.Add.Text($"sample {i}", left + i * (s + SampleGap) + s / 2.0, top - c - 0.15);
                    sampleLabel.LabelFontSize = 10;
                    sampleLabel.LabelAlignment = Alignment.UpperCenter;
                }
        }
        int slot = panels.Count;
        double keyLeft = (slot % columns) * (panelWidth + PanelGapX), keyTop = -(slot / columns) * (panelHeight + PanelGapY);
        for (int k = 0; k < key.Count; k++)
        {
            var line = plot.Add.Text(key[k], keyLeft, keyTop + 0.35 - 1.1 * k);
            line.LabelFontSize = 12;
            line.LabelAlignment = Alignment.UpperLeft;
        }
        if (slot % columns == 0) rows++;
        double width = columns * panelWidth + (columns - 1) * PanelGapX;
        double bottom = -(rows - 1) * (panelHeight + PanelGapY) - panelHeight;
        plot.Axes.SetLimits(-1.6, width + 0.3, bottom - 1.4, 1.5);
        plot.HideAxesAndGrid();
        Charts.Finish(plot, path, title, "", "", legend: false);
    }

    /// <summary>Black on light fills, white on dark ones (relative luminance below one half).</summary>
    private static Color TextColorOn(Color fill) =>
        0.2126 * fill.R + 0.7152 * fill.G + 0.0722 * fill.B < 128 ? Colors.White : Colors.Black;

    /// <summary>A fill colour per group id: the ten strong Tableau colours, then their ten light partners, then again.</summary>
    public static Color GroupColor(int group)
    {
        var palette = new ScottPlot.Palettes.Category20().Colors;
        int k = group % 20;
        return k < 10 ? palette[2 * k] : palette[2 * (k - 10) + 1];
    }
}
