using Onnx;
using Ruler.Cli.Inspect;
using Ruler.Tests.Support;

namespace Ruler.Tests.Inspect;

/// <summary>
/// The packaged pretrained models: all-MiniLM-L6-v2 (BERT, 6 layers, LayerNorms decomposed by PyTorch's exporter,
/// Post-LN) and ResNet-18 (CNTK export, BatchNormalization nodes). What the finder reports is checked against facts
/// read here independently from the graph (parameter names and node types, which the finder never looks at).
/// </summary>
public class InspectRealModelTests
{
    private static readonly ModelRun.InputOptions NoDims = new(new Dictionary<string, string>(), false, 0, new Dictionary<string, long>());

    private static ModelRun.InputOptions SentenceInputs()
    {
        long[] ids = PretrainedModels.Tokenize("The quick brown fox jumps over the lazy dog.");
        string dir = Path.Combine(Path.GetTempPath(), "ruler-inspect-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        var files = new Dictionary<string, string>
        {
            ["input_ids"] = Path.Combine(dir, "input_ids.npy"),
            ["attention_mask"] = Path.Combine(dir, "attention_mask.npy"),
            ["token_type_ids"] = Path.Combine(dir, "token_type_ids.npy"),
        };
        NpyFile.Write(files["input_ids"], ids, 1, ids.Length);
        NpyFile.Write(files["attention_mask"], Enumerable.Repeat(1L, ids.Length).ToArray(), 1, ids.Length);
        NpyFile.Write(files["token_type_ids"], new long[ids.Length], 1, ids.Length);
        return NoDims with { Files = files };
    }

    [Fact]
    public void MiniLmEveryLayerNormWithItsEpsAndPostPlacement()
    {
        var inspection = ModelInspection.Run(PretrainedModels.MiniLm, null);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(PretrainedModels.MiniLm));
        var layerNormWeights = model.Graph.Initializer.Select(t => t.Name).Where(n => n.EndsWith("LayerNorm.weight", StringComparison.Ordinal)).Order().ToArray();
        Assert.Equal(13, layerNormWeights.Length); // embeddings + 2 per layer × 6

        var norms = inspection.Normalizations;
        Assert.Equal(layerNormWeights, norms.Select(r => r.Found.Gamma).Order());
        Assert.All(norms, r =>
        {
            Assert.Equal((NormKind.LayerNorm, "decomposed"), (r.Found.Kind, r.Found.Source));
            Assert.Equal(1e-12, r.Found.Eps, 1e-18); // BERT's layer_norm_eps, stored as float32
            Assert.Equal([-1], r.Ruler!.ReducedAxes);
            Assert.True(r.Ruler.Center);
            Assert.Equal([-1], r.Ruler.AffineAxes);
            Assert.Equal(384, r.Gamma!.Count);
            Assert.NotNull(r.Beta);
        });
        Assert.Equal("embeddings.LayerNorm", norms[0].Found.Name);
        Assert.Equal(Placement.None, norms[0].Found.Placement);
        Assert.All(norms.Skip(1), r => Assert.Equal(Placement.Post, r.Found.Placement));
        Assert.Equal(12, inspection.ResidualAdds.Count);
    }

    [Fact]
    public void MiniLmOnASentenceRulerAgreesWithFloat64()
    {
        var inspection = ModelInspection.Run(PretrainedModels.MiniLm, SentenceInputs());
        Assert.Equal(13, inspection.Normalizations.Count);
        foreach (var r in inspection.Normalizations)
        {
            Assert.Equal([1, 12, 384], r.Input!.Shape);
            // |Ruler − float64| / max(1, |float64|) over every output element.
            Assert.InRange(r.Check!.RulerVsFloat64, 0, 1e-5);
            Assert.InRange(r.Check.RulerVsOnnxRuntime, 0, 1e-5);
        }
        Assert.Equal(12, inspection.Stream!.Count);
        Assert.All(inspection.Stream, p => Assert.NotNull(p.NormalizedBy));

        // ONNX Runtime's output of the first layer's attention LayerNorm against the tests' float64 oracle.
        var graph = OnnxGraph.Load(PretrainedModels.MiniLm);
        var n = inspection.Normalizations[1].Found;
        var captured = ModelRun.Run(graph, ModelRun.Inputs(graph, SentenceInputs()), [n.Input, n.Output]);
        var oracle = Oracle.Normalize(captured[n.Input].Values, [12, 384], idx => idx[0], 12, idx => idx[1], true, n.Eps,
            graph.ConstantValues(n.Gamma!), graph.ConstantValues(n.Beta!));
        Approx.Elementwise(oracle.Y, captured[n.Output].Values, 1e-5, 1e-5, "MiniLM LayerNorm, ONNX Runtime vs oracle");
    }

    [Fact]
    public void ResNet18EveryBatchNormWithItsEps()
    {
        var inspection = ModelInspection.Run(PretrainedModels.ResNet18, null);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(PretrainedModels.ResNet18));
        var batchNorms = model.Graph.Node.Where(n => n.OpType == "BatchNormalization").ToList();
        Assert.Equal(batchNorms.Select(n => n.Name), inspection.Normalizations.Select(r => r.Found.Name));
        for (int i = 0; i < batchNorms.Count; i++)
        {
            var r = inspection.Normalizations[i];
            double eps = batchNorms[i].Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5;
            Assert.Equal(eps, r.Found.Eps, 1e-12);
            Assert.Equal([0, 2, 3], r.Ruler!.ReducedAxes);
            Assert.Equal([1], r.Ruler.AffineAxes);
            Assert.Equal(Placement.None, r.Found.Placement);
        }
    }

    [Fact]
    public void ResNet18OnAnImageRulerAgreesWithFloat64()
    {
        // An image-like input: smooth colour gradients with a little noise, normalized with ImageNet's channel statistics.
        var rng = new Random(2);
        double[] mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
        var x = new float[3 * 224 * 224];
        for (int c = 0; c < 3; c++)
            for (int i = 0; i < 224; i++)
                for (int j = 0; j < 224; j++)
                {
                    double v = 0.5 + 0.4 * Math.Sin((i * (c + 1) + 2 * j) / 40.0) + 0.05 * (rng.NextDouble() - 0.5);
                    x[(c * 224 + i) * 224 + j] = (float)((v - mean[c]) / std[c]);
                }
        string file = Path.Combine(Path.GetTempPath(), "ruler-inspect-tests", Guid.NewGuid().ToString("N") + ".npy");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        NpyFile.Write(file, x, 1, 3, 224, 224);
        var graph = OnnxGraph.Load(PretrainedModels.ResNet18);
        string input = Assert.Single(ModelRun.GraphInputs(graph)).Name;

        var inspection = ModelInspection.Run(PretrainedModels.ResNet18, NoDims with { Files = new Dictionary<string, string> { [input] = file } });
        Assert.Equal(22, inspection.Normalizations.Count);
        foreach (var r in inspection.Normalizations)
        {
            Assert.InRange(r.Check!.RulerVsFloat64, 0, 1e-5);
            Assert.InRange(r.Check.RulerVsOnnxRuntime, 0, 1e-5);
        }
    }
}
