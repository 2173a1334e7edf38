using Ruler.Lab.Report;

namespace Ruler.Lab.Tests;

public sealed class ChartsTests
{
    [Fact]
    public void Line_chart_with_log_axis_writes_a_png_of_the_requested_size()
    {
        using var run = new QuickRun();
        string path = Path.Combine(run.Directory, "line.png");
        double[] x = [0, 1, 2, 3];
        Charts.Line(path, "t", "layer", "RMS", [new Series("a", x, [1, 10, 100, 1000]), new Series("b", x, [1, 2, 3, 0])], logY: true);
        byte[] png = File.ReadAllBytes(path);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        int width = (png[16] << 24) | (png[17] << 16) | (png[18] << 8) | png[19];
        int height = (png[20] << 24) | (png[21] << 16) | (png[22] << 8) | png[23];
        Assert.Equal((Charts.Width, Charts.Height), (width, height));
    }

    [Fact]
    public void Mismatched_series_lengths_are_refused_naming_the_series()
    {
        using var run = new QuickRun();
        var e = Assert.Throws<ArgumentException>(() => Charts.Line(Path.Combine(run.Directory, "x.png"), "t", "x", "y", [new Series("bad", [1, 2], [1])]));
        Assert.Contains("bad", e.Message);
    }

    [Fact]
    public void A_long_title_gets_a_smaller_font_so_that_it_fits_the_figure_width()
    {
        Assert.Equal(20f, Charts.TitleSize("Residual stream RMS"));
        string longTitle = "Post-ReLU activation RMS per layer at initialization (10-layer plain CNN, MNIST)";
        float size = Charts.TitleSize(longTitle);
        Assert.InRange(size, 11f, 19f);
        Assert.True(0.57 * size * longTitle.Length <= Charts.Width, $"{longTitle.Length} characters at {size} px overflow {Charts.Width} px");
    }
}
