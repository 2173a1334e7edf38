using System.Text.Json;
using Ruler.Cli.Inspect;
using Ruler.Tests.Support;
using static Ruler.Tests.Inspect.GraphBuilder;

namespace Ruler.Tests.Inspect;

/// <summary>
/// Dynamic analysis on synthetic models with planted features: statistics are checked against values computed
/// here from the same input, ONNX Runtime's captured output against the tests' own float64 oracle, and Ruler's
/// recomputation within the stated tolerance.
/// </summary>
public class InspectDynamicTests
{
    private const int Rows = 4, D = 256;
    private const double Eps = 1e-5;

    /// <summary>
    /// Rows 0–2 are N(0, 1) with feature 5 set to 400 (an outlier feature, whose square alone exceeds float16's
    /// 65504); row 2 is scaled by 20; row 3 is the constant 7 (variance 0 &lt; 10·eps).
    /// </summary>
    private static float[] PlantedInput()
    {
        var rng = new Random(11);
        var x = TestData.ToFloat(TestData.Normal(rng, Rows * D));
        for (int j = 0; j < D; j++) { x[2 * D + j] *= 20; x[3 * D + j] = 7; }
        for (int r = 0; r < 3; r++) x[r * D + 5] = 400;
        return x;
    }

    private static (string Model, string Input, float[] X, float[] Gamma, float[] Beta) LayerNormCase(bool decomposed)
    {
        var rng = new Random(5);
        float[] gamma = TestData.ToFloat(TestData.Uniform(rng, D, 0.5, 1.5)), beta = TestData.ToFloat(TestData.Uniform(rng, D, -0.5, 0.5));
        var b = new GraphBuilder();
        string x = b.Input("x", Rows, D);
        string y = decomposed
            ? b.DecomposedLayerNorm(x, gamma, beta, (float)Eps)
            : b.Node("LayerNormalization", [x, b.Constant("g", gamma, D), b.Constant("b", beta, D)], n => Float(n, "epsilon", (float)Eps));
        b.Output(y, Rows, D);
        string model = b.Save(decomposed ? "decomposed.onnx" : "native.onnx");
        float[] input = PlantedInput();
        string npy = Path.Combine(Path.GetDirectoryName(model)!, "x.npy");
        NpyFile.Write(npy, input, Rows, D);
        return (model, npy, input, gamma, beta);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void LayerNormStatisticsMatchTheInputAndTheRecomputationIsExact(bool decomposed)
    {
        var (model, npy, x, gamma, beta) = LayerNormCase(decomposed);
        var inspection = ModelInspection.Run(model, new ModelRun.InputOptions(new Dictionary<string, string> { ["x"] = npy }, false, 0, new Dictionary<string, long>()));
        var r = Assert.Single(inspection.Normalizations);
        var s = r.Input!;

        double[] xd = TestData.ToDouble(x);
        var rowRms = Enumerable.Range(0, Rows).Select(i => Math.Sqrt(xd.Skip(i * D).Take(D).Average(v => v * v))).Order().ToArray();
        var rowSq = Enumerable.Range(0, Rows).Select(i => xd.Skip(i * D).Take(D).Sum(v => v * v)).ToArray();
        Assert.Equal((Rows, (long)D), (s.Groups, s.GroupSize));
        Assert.Equal(rowRms[0], s.GroupRms.Min, 1e-9);
        Assert.Equal(0.5 * (rowRms[1] + rowRms[2]), s.GroupRms.Median, 1e-9);
        Assert.Equal(xd.Max(Math.Abs), s.MaxAbs);
        Assert.Equal(2, s.LoudestGroup); // 400 plus 255 values of N(0, 20²)
        Assert.Equal(5, Assert.Single(s.Outliers).Index);
        Assert.Equal(1, s.LowVarianceGroups);
        Assert.Equal(rowSq.Max(), s.Fp16MaxSumOfSquares, 1e-6);
        Assert.Equal(rowSq.Count(v => v > 65504), s.Fp16OverflowGroups);
        Assert.Equal(3, s.Fp16OverflowGroups); // rows 0–2 each hold 400² = 160000 alone; row 3's 256·49 = 12544 fits

        // ONNX Runtime's output, captured through the extra graph output, against the tests' float64 oracle.
        var graph = OnnxGraph.Load(model);
        var fed = ModelRun.Inputs(graph, new ModelRun.InputOptions(new Dictionary<string, string> { ["x"] = npy }, false, 0, new Dictionary<string, long>()));
        var captured = ModelRun.Run(graph, fed, [r.Found.Input, r.Found.Output]);
        Assert.Equal(xd, captured[r.Found.Input].Values);
        var oracle = Oracle.Normalize(xd, [Rows, D], idx => idx[0], Rows, idx => idx[1], true, Eps, TestData.ToDouble(gamma), TestData.ToDouble(beta));
        Approx.Elementwise(oracle.Y, captured[r.Found.Output].Values, 1e-5, 1e-5, "ONNX Runtime vs oracle");

        // Tolerance: |a − b| / max(1, |b|) ≤ 1e-5 for float32 outputs of magnitude ≲ 10 (a few float32 ulps).
        Assert.InRange(r.Check!.RulerVsFloat64, 0, 1e-5);
        Assert.InRange(r.Check.RulerVsOnnxRuntime, 0, 1e-5);
        Assert.InRange(r.Check.OnnxRuntimeVsFloat64, 0, 1e-5);
    }

    /// <summary>BatchNorm in eval mode is recomputed from its running statistics; GroupNorm on its view; InstanceNorm per (sample, channel).</summary>
    [Fact]
    public void ChannelNormalizersAreRecomputedExactly()
    {
        var rng = new Random(3);
        float[] Param(double lo, double hi) => TestData.ToFloat(TestData.Uniform(rng, 6, lo, hi));
        var b = new GraphBuilder(21);
        string x = b.Input("x", null, 6, 5, 5);
        string bn = b.Node("BatchNormalization", [x, b.Constant("bg", Param(0.5, 2), 6), b.Constant("bb", Param(-1, 1), 6),
            b.Constant("bm", Param(-0.5, 0.5), 6), b.Constant("bv", Param(0.5, 3), 6)]);
        string gn = b.Node("GroupNormalization", [bn, b.Constant("gg", Param(0.5, 2), 6), b.Constant("gb", Param(-1, 1), 6)], n => Int(n, "num_groups", 3));
        string inorm = b.Node("InstanceNormalization", [gn, b.Constant("ig", Param(0.5, 2), 6), b.Constant("ib", Param(-1, 1), 6)]);
        b.Output(inorm, null, 6, 5, 5);
        string model = b.Save("channels.onnx");

        var inspection = ModelInspection.Run(model, new ModelRun.InputOptions(new Dictionary<string, string>(), true, 7, new Dictionary<string, long> { ["d0"] = 3 }));
        Assert.Equal(3, inspection.Normalizations.Count);
        foreach (var r in inspection.Normalizations)
        {
            Assert.NotNull(r.Check);
            Assert.InRange(r.Check!.RulerVsFloat64, 0, 1e-5);
            Assert.InRange(r.Check.RulerVsOnnxRuntime, 0, 1e-5);
        }
        Assert.Equal([6, 3 * 3, 3 * 6], inspection.Normalizations.Select(r => r.Input!.Groups));

        // GroupNorm's captured output against the tests' oracle: groups (n, c / 2), affine per channel.
        var graph = OnnxGraph.Load(model);
        var fed = ModelRun.Inputs(graph, new ModelRun.InputOptions(new Dictionary<string, string>(), true, 7, new Dictionary<string, long> { ["d0"] = 3 }));
        var captured = ModelRun.Run(graph, fed, [bn, gn]);
        var xin = captured[bn].Values;
        var oracle = Oracle.Normalize(xin, [3, 6, 5, 5], idx => idx[0] * 3 + idx[1] / 2, 9, idx => idx[1], true, 1e-5,
            graph.ConstantValues("gg"), graph.ConstantValues("gb"));
        Approx.Elementwise(oracle.Y, captured[gn].Values, 1e-5, 1e-5, "GroupNormalization vs oracle");
    }

    /// <summary>GroupNormalization-18 has one scale and bias per group (opset 21: per channel); the recomputation expands them per channel.</summary>
    [Fact]
    public void GroupNormOpset18ScalesPerGroup()
    {
        var b = new GraphBuilder(18);
        string x = b.Input("x", 2, 6, 4);
        string y = b.Node("GroupNormalization", [x, b.Constant("s", [0.5f, 2f, -1f], 3), b.Constant("t", [0.1f, 0.2f, 0.3f], 3)], n => Int(n, "num_groups", 3));
        b.Output(y, 2, 6, 4);
        string model = b.Save("gn18.onnx");
        var inspection = ModelInspection.Run(model, new ModelRun.InputOptions(new Dictionary<string, string>(), true, 1, new Dictionary<string, long>()));
        var r = Assert.Single(inspection.Normalizations);
        Assert.InRange(r.Check!.RulerVsOnnxRuntime, 0, 1e-5);
        Assert.InRange(r.Check.RulerVsFloat64, 0, 1e-5);
    }

    [Fact]
    public void JsonCarriesTheSchema()
    {
        var (model, npy, _, _, _) = LayerNormCase(decomposed: true);
        var output = new StringWriter();
        var error = new StringWriter();
        int rc = InspectCommand.Run(model, [$"x={npy}"], false, 0, [], true, null, output, error);
        Assert.Equal("", error.ToString());
        Assert.Equal(0, rc);
        using var doc = JsonDocument.Parse(output.ToString());
        var root = doc.RootElement;
        Assert.Equal(17, root.GetProperty("model").GetProperty("opset").GetInt32());
        Assert.Equal("Ruler.Tests", root.GetProperty("model").GetProperty("producer").GetString());
        var n = Assert.Single(root.GetProperty("normalizations").EnumerateArray());
        Assert.Equal("LayerNorm", n.GetProperty("kind").GetString());
        Assert.Equal("decomposed", n.GetProperty("source").GetString());
        Assert.Equal(Eps, n.GetProperty("eps").GetDouble(), 1e-12);
        Assert.Equal([-1], n.GetProperty("ruler").GetProperty("reduced_axes").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(n.GetProperty("ruler").GetProperty("center").GetBoolean());
        Assert.Equal("none", n.GetProperty("placement").GetString());
        Assert.Equal(D, n.GetProperty("gamma").GetProperty("count").GetInt32());
        Assert.Equal(5, n.GetProperty("input_statistics").GetProperty("outlier_features")[0].GetProperty("index").GetInt32());
        Assert.InRange(n.GetProperty("check").GetProperty("ruler_vs_float64").GetDouble(), 0, 1e-5);
    }

    [Fact]
    public void HtmlPageIsSelfContainedWithItsPlotsNextToIt()
    {
        var (model, npy, _, _, _) = LayerNormCase(decomposed: false);
        string page = Path.Combine(Path.GetDirectoryName(model)!, "report", "page.html");
        var output = new StringWriter();
        int rc = InspectCommand.Run(model, [$"x={npy}"], false, 0, [], false, page, output, new StringWriter());
        Assert.Equal(0, rc);
        string html = File.ReadAllText(page);
        Assert.StartsWith("<!DOCTYPE html>", html);
        Assert.Contains("<style>", html);
        Assert.DoesNotContain("http://", html);
        Assert.DoesNotContain("https://", html);
        Assert.DoesNotContain("<script", html);
        var images = System.Text.RegularExpressions.Regex.Matches(html, "<img src=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["page-inputs.png", "page-outliers.png"], images); // no residual stream in this model
        foreach (string image in images)
        {
            byte[] png = File.ReadAllBytes(Path.Combine(Path.GetDirectoryName(page)!, image));
            Assert.True(png.Length > 1000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), $"{image} is not a PNG");
        }
        Assert.Contains("wrote " + page, output.ToString());
    }

    [Fact]
    public void MaxDifferenceIsAbsoluteBelowOneAndRelativeAbove()
    {
        Assert.Equal(0.5, NormStatistics.MaxDifference([1.5, 0], [1, 0]), 1e-15);
        Assert.Equal(0.1, NormStatistics.MaxDifference([11, 0.2], [10, 0.2]), 1e-15);
        Assert.Equal(double.PositiveInfinity, NormStatistics.MaxDifference([double.NaN], [1]));
        Assert.Equal(double.PositiveInfinity, NormStatistics.MaxDifference([1, 2], [1]));
    }
}
