using Ruler.Cli.Inspect;
using static Ruler.Tests.Inspect.GraphBuilder;

namespace Ruler.Tests.Inspect;

/// <summary>Static analysis on synthetic models: which normalizations are found, their rulers, eps and placement.</summary>
public class InspectFinderTests
{
    private static readonly float[] Ones8 = Enumerable.Repeat(1f, 8).ToArray();
    private static readonly float[] Zeros8 = new float[8];

    internal static IReadOnlyList<NormalizationReport> Inspect(GraphBuilder b, string name = "model.onnx") =>
        ModelInspection.Run(b.Save(name), null).Normalizations;

    private static void AssertRuler(NormalizationReport r, int[] reduced, bool center, int[] affine)
    {
        Assert.NotNull(r.Ruler);
        Assert.Equal(reduced, r.Ruler!.ReducedAxes);
        Assert.Equal(center, r.Ruler.Center);
        Assert.Equal(affine, r.Ruler.AffineAxes);
    }

    [Fact]
    public void NativeLayerNormAndRmsNormOperators()
    {
        var b = new GraphBuilder(23);
        string x = b.Input("x", 2, 5, 8);
        string ln = b.Node("LayerNormalization", [x, b.Constant("g", Ones8, 8), b.Constant("b", Zeros8, 8)], n => { Int(n, "axis", -1); Float(n, "epsilon", 1e-6f); });
        string ln2 = b.Node("LayerNormalization", [ln, b.Constant("g2", Enumerable.Repeat(2f, 40).ToArray(), 5, 8)], n => Int(n, "axis", 1));
        string rms = b.Node("RMSNormalization", [ln2, b.Constant("s", Ones8, 8)], n => Float(n, "epsilon", 1e-5f));
        string simp = b.Node("SimplifiedLayerNormalization", [rms, b.Constant("s2", Ones8, 8)], n => Float(n, "epsilon", 1e-6f));
        b.Output(simp, 2, 5, 8);

        var found = Inspect(b);
        Assert.Equal(4, found.Count);
        Assert.Equal(("LayerNorm", "LayerNormalization"), (found[0].Found.Kind.ToString(), found[0].Found.Source));
        Assert.Equal(1e-6, found[0].Found.Eps, 1e-12);
        AssertRuler(found[0], [-1], true, [-1]);
        Assert.Equal(1e-5, found[1].Found.Eps, 1e-12); // the operator's default
        AssertRuler(found[1], [-2, -1], true, [-2, -1]); // axis 1 of a rank-3 input: the last two axes
        Assert.Equal(2, found[1].Gamma!.Min);
        Assert.Equal(NormKind.RmsNorm, found[2].Found.Kind);
        AssertRuler(found[2], [-1], false, [-1]);
        Assert.Equal(("RmsNorm", "SimplifiedLayerNormalization"), (found[3].Found.Kind.ToString(), found[3].Found.Source));
        Assert.Equal(8, found[0].Beta!.Count);
    }

    [Fact]
    public void BatchGroupAndInstanceNormRulers()
    {
        var b = new GraphBuilder(21);
        float[] c4 = [1, 2, 0, 0.5f];
        string x = b.Input("x", 2, 4, 3, 3);
        string bn = b.Node("BatchNormalization", [x, b.Constant("bg", c4, 4), b.Constant("bb", new float[4], 4), b.Constant("bm", new float[4], 4), b.Constant("bv", [1, 1, 1, 1], 4)],
            n => Float(n, "epsilon", 1e-3f));
        string gn = b.Node("GroupNormalization", [bn, b.Constant("gg", c4, 4), b.Constant("gb", new float[4], 4)], n => Int(n, "num_groups", 2));
        string inorm = b.Node("InstanceNormalization", [gn, b.Constant("ig", c4, 4), b.Constant("ib", new float[4], 4)]);
        b.Output(inorm, 2, 4, 3, 3);

        var found = Inspect(b);
        Assert.Equal([NormKind.BatchNorm, NormKind.GroupNorm, NormKind.InstanceNorm], found.Select(f => f.Found.Kind));
        Assert.Equal(1e-3, found[0].Found.Eps, 1e-9);
        AssertRuler(found[0], [0, 2, 3], true, [1]);
        AssertRuler(found[1], [2, 3], true, [1, 2]); // on the (N, G, C/G, S) view
        Assert.Equal(2, found[1].Found.Groups);
        AssertRuler(found[2], [2, 3], true, [1]);
        Assert.Equal(new ParameterSummary(4, 0, 2, 0.875, 1), found[0].Gamma); // one γ of 0: near zero
        Assert.All(found, f => Assert.Equal(Placement.None, f.Found.Placement));
    }

    [Theory]
    [InlineData(17)]
    [InlineData(18)] // ReduceMean's axes move from an attribute to an input
    public void DecomposedLayerNormIsFoundByStructure(int opset)
    {
        var b = new GraphBuilder(opset);
        string x = b.Input("x", 3, 8);
        float[] gamma = Enumerable.Range(1, 8).Select(i => i / 4f).ToArray();
        string y = b.DecomposedLayerNorm(x, gamma, Zeros8, 1e-12f);
        b.Output(y, 3, 8);

        var r = Assert.Single(Inspect(b));
        Assert.Equal((NormKind.LayerNorm, "decomposed"), (r.Found.Kind, r.Found.Source));
        Assert.Equal(1e-12, r.Found.Eps, 1e-20);
        AssertRuler(r, [-1], true, [-1]);
        Assert.Equal((x, y), (r.Found.Input, r.Found.Output));
        Assert.Equal("ln", r.Found.Name); // named after its γ initializer, found without it
        Assert.Equal(9, r.Found.Nodes.Count);
        Assert.Equal(0.25, r.Gamma!.Min);
        Assert.Equal(2, r.Gamma.Max);
    }

    [Fact]
    public void DecomposedRmsNormIsFoundByStructure()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 3, 8);
        string y = b.DecomposedRmsNorm(x, Ones8, 1e-6f);
        b.Output(y, 3, 8);

        var r = Assert.Single(Inspect(b));
        Assert.Equal((NormKind.RmsNorm, "decomposed"), (r.Found.Kind, r.Found.Source));
        Assert.Equal(1e-6, r.Found.Eps, 1e-12);
        AssertRuler(r, [-1], false, [-1]);
        Assert.Null(r.Beta);
    }

    /// <summary>
    /// Patterns one link away from a LayerNorm: the numerator is x instead of x − mean (not a normalization: the
    /// spread is measured around the mean but not removed), the exponent is 3, the variance is taken of another
    /// tensor, or eps is not a constant. None may be reported.
    /// </summary>
    [Theory]
    [InlineData("numerator x")]
    [InlineData("cube")]
    [InlineData("spread of another tensor")]
    [InlineData("eps from an input")]
    public void AlmostLayerNormIsNotMatched(string variant)
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 3, 8);
        string other = b.Input("other", 3, 8);
        string mean = b.ReduceMean(x, -1);
        string d = b.Node("Sub", x, mean);
        string sq = variant switch
        {
            "cube" => b.Node("Pow", d, b.Scalar(3)),
            "spread of another tensor" => b.Node("Pow", b.Node("Sub", other, b.ReduceMean(other, -1)), b.Scalar(2)),
            _ => b.Node("Pow", d, b.Scalar(2)),
        };
        string v = b.ReduceMean(sq, -1);
        string eps = variant == "eps from an input" ? b.Input("eps", 1) : b.Scalar(1e-5f);
        string s = b.Node("Sqrt", b.Node("Add", v, eps));
        string n = b.Node("Div", variant == "numerator x" ? x : d, s);
        string y = b.Node("Add", b.Node("Mul", n, b.Constant("g", Ones8, 8)), b.Constant("b", Zeros8, 8));
        b.Output(y, 3, 8);

        Assert.Empty(Inspect(b));
    }

    [Fact]
    public void ModelWithoutNormalizationReportsNone()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 2, 8);
        string h = b.Node("Relu", b.Node("MatMul", x, b.Constant("w", new float[64], 8, 8)));
        b.Output(b.Node("Add", x, h), 2, 8);

        var inspection = ModelInspection.Run(b.Save("plain.onnx"), null);
        Assert.Empty(inspection.Normalizations);
        Assert.Single(inspection.ResidualAdds);
        Assert.Contains("No normalization found", InspectText.Render(inspection));
    }

    /// <summary>Pre-norm: h + f(LN(h)), then a final LN; the final LN of a Pre-norm stack is neither Pre nor Post.</summary>
    [Fact]
    public void PreNormBlocksAndTheFinalNorm()
    {
        var b = new GraphBuilder();
        string h = b.Input("x", 4, 8);
        for (int layer = 0; layer < 2; layer++)
        {
            string n = b.Node("LayerNormalization", [h, b.Constant($"g{layer}", Ones8, 8)], name: $"ln{layer}");
            string f = b.Node("Relu", b.Node("MatMul", n, b.Constant($"w{layer}", new float[64], 8, 8)));
            h = b.Node("Add", h, f);
        }
        string final = b.Node("LayerNormalization", [h, b.Constant("gf", Ones8, 8)], name: "ln_f");
        b.Output(final, 4, 8);

        var found = Inspect(b);
        Assert.Equal(["ln0", "ln1", "ln_f"], found.Select(f => f.Found.Name));
        Assert.Equal([Placement.Pre, Placement.Pre, Placement.None], found.Select(f => f.Found.Placement));
    }

    /// <summary>Post-norm (BERT): LN(h + f(h)) with decomposed norms; the embedding norm before the stack is placed none.</summary>
    [Fact]
    public void PostNormBlocksWithDecomposedNorms()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 4, 8);
        string h = b.DecomposedLayerNorm(x, Ones8, Zeros8, 1e-12f, prefix: "embeddings.LayerNorm");
        for (int layer = 0; layer < 2; layer++)
        {
            string f = b.Node("Add", b.Constant($"bias{layer}", Zeros8, 8), b.Node("MatMul", h, b.Constant($"w{layer}", new float[64], 8, 8)));
            h = b.DecomposedLayerNorm(b.Node("Add", f, h), Ones8, Zeros8, 1e-12f, prefix: $"layer{layer}.LayerNorm");
        }
        b.Output(h, 4, 8);

        var found = Inspect(b);
        Assert.Equal(["embeddings.LayerNorm", "layer0.LayerNorm", "layer1.LayerNorm"], found.Select(f => f.Found.Name));
        Assert.Equal([Placement.None, Placement.Post, Placement.Post], found.Select(f => f.Found.Placement));
    }

    /// <summary>ONNX Runtime's fused residual norm: Post when only the normalized sum goes on, Pre when the sum output is read.</summary>
    [Fact]
    public void SkipLayerNormPlacementFollowsItsSumOutput()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 4, 8);
        string u = b.Input("u", 4, 8);
        string post = b.Node("SkipLayerNormalization", [x, u, b.Constant("g", Ones8, 8), b.Constant("b", Zeros8, 8)],
            n => Float(n, "epsilon", 1e-5f), domain: "com.microsoft", name: "post");
        string pre = b.Node("SkipSimplifiedLayerNormalization", [post, u, b.Constant("g2", Ones8, 8)],
            n => Float(n, "epsilon", 1e-6f), domain: "com.microsoft", outputs: 4, name: "pre");
        b.Output(pre, 4, 8);
        b.Output("pre_out3", 4, 8);

        var found = Inspect(b);
        Assert.Equal(["post", "pre"], found.Select(f => f.Found.Name));
        Assert.Equal([NormKind.LayerNorm, NormKind.RmsNorm], found.Select(f => f.Found.Kind));
        Assert.Equal([Placement.Post, Placement.Pre], found.Select(f => f.Found.Placement));
        Assert.Equal([u], found[0].Found.AddedToInput);
    }
}
