namespace Ruler.Nn.Tests.Mutation;

/// <summary>
/// The parameters every layer creates: PyTorch's names (so checkpoints and the lab's gradient series line up), weight
/// decay off for biases only, and the documented initialization — U(−1/√fan_in, 1/√fan_in) for weights and biases of
/// Linear and Conv2d, N(0, 1) for the embedding tables. Found missing by the Ruler.Nn mutation run (a bias left at
/// zero or a table never drawn went unnoticed).
/// </summary>
public class LayerParameterTests
{
    [Fact]
    public void NamesAndWeightDecay()
    {
        var rng = new Rng(60);
        var attn = new CausalSelfAttention<double>("h.0.attn", 4, 2, rng);
        var mlp = new Mlp<double>("h.0.mlp", 4, 8, ActivationKind.Relu, rng);
        var conv = new Conv2d<double>("conv.0", 2, 3, 3, rng);
        var wte = new Embedding<double>("wte", 5, 4, rng);
        var wpe = new PositionalEmbedding<double>("wpe", 5, 4, rng);
        Assert.Equal(["h.0.attn.qkv.weight", "h.0.attn.qkv.bias", "h.0.attn.proj.weight", "h.0.attn.proj.bias"], attn.Parameters.Select(p => p.Name));
        Assert.Equal(["h.0.mlp.fc.weight", "h.0.mlp.fc.bias", "h.0.mlp.proj.weight", "h.0.mlp.proj.bias"], mlp.Parameters.Select(p => p.Name));
        Assert.Equal(["conv.0.weight", "conv.0.bias"], conv.Parameters.Select(p => p.Name));
        Assert.Equal(["wte.weight"], wte.Parameters.Select(p => p.Name));
        Assert.Equal(["wpe.weight"], wpe.Parameters.Select(p => p.Name));
        foreach (var p in attn.Parameters.Concat(mlp.Parameters).Concat(conv.Parameters).Concat(wte.Parameters).Concat(wpe.Parameters))
            Assert.True(p.NoWeightDecay == p.Name.EndsWith(".bias"), $"{p.Name}: NoWeightDecay {p.NoWeightDecay}");
        Assert.Single(new Conv2d<double>("c", 2, 3, 3, rng, bias: false).Parameters);
    }

    /// <summary>Biases drawn like the weights: inside ±1/√fan_in and spread over it (the largest |b| above half the bound).</summary>
    [Fact]
    public void BiasesAreDrawnUniformlyInTheFanInBound()
    {
        var rng = new Rng(61);
        var fc = new Linear<double>("fc", 16, 64, rng);
        var conv = new Conv2d<double>("c", 4, 64, 3, rng);
        foreach (var (bias, fanIn) in new[] { (fc.Bias!.Value, 16), (conv.Bias!.Value, 4 * 9) })
        {
            double bound = 1 / Math.Sqrt(fanIn);
            Assert.All(bias, v => Assert.InRange(Math.Abs(v), 0, bound));
            Assert.True(bias.Max(Math.Abs) > bound / 2, $"biases not drawn: max |b| {bias.Max(Math.Abs)} of bound {bound}");
        }
    }

    /// <summary>Embedding tables are N(0, 1): over 4096 draws the mean is within 0.1 and the standard deviation within 0.1 of 1 (≈ 6σ of the sampling error).</summary>
    [Fact]
    public void EmbeddingTablesAreStandardNormal()
    {
        var rng = new Rng(62);
        foreach (var table in new[] { new Embedding<double>("wte", 64, 64, rng).Weight.Value, new PositionalEmbedding<double>("wpe", 64, 64, rng).Weight.Value })
        {
            double mean = table.Average(), std = Math.Sqrt(table.Average(v => (v - mean) * (v - mean)));
            Assert.InRange(mean, -0.1, 0.1);
            Assert.InRange(std, 0.9, 1.1);
        }
    }
}
