namespace Ruler.Nn.Tests;

/// <summary>Whole models gradient-checked end to end in float64: every parameter, through the cross-entropy loss.</summary>
public class ModelGradientTests
{
    [Theory]
    [InlineData(NormKind.LayerNorm, NormPlacement.Pre)]
    [InlineData(NormKind.LayerNorm, NormPlacement.Post)]
    [InlineData(NormKind.RmsNorm, NormPlacement.Pre)]
    [InlineData(NormKind.RmsNorm, NormPlacement.Post)]
    [InlineData(NormKind.BatchNorm, NormPlacement.Pre)]
    public void TwoLayerTransformer(NormKind norm, NormPlacement placement)
    {
        var config = new TransformerConfig(VocabSize: 7, Context: 6, Layers: 2, Dim: 8, Heads: 2) { Norm = norm, Placement = placement };
        var model = new CharTransformer<double>(config, seed: 1);
        var rng = new Rng(2);
        foreach (var (_, p) in model.NamedParameters.Where(p => p.Name.Contains(".ln") || p.Name.StartsWith("ln_f")))
            for (int i = 0; i < p.Value.Length; i++) p.Value[i] += 0.3 * rng.NextGaussian();
        int batch = 2, time = 5;
        var tokens = new int[batch * time];
        var targets = new int[batch * time];
        for (int i = 0; i < tokens.Length; i++) (tokens[i], targets[i]) = (rng.NextInt(7), rng.NextInt(7));
        double Loss() => model.Loss(tokens, targets, batch, time);
        Loss();
        // Pre-LN/RMS: every block's add after the first runs fused with the next norm (the final norm last), so
        // this check covers the library's fused AddForward/AddBackward end to end.
        bool fused = placement == NormPlacement.Pre && norm is NormKind.LayerNorm or NormKind.RmsNorm;
        Assert.All(model.Blocks.Skip(1), b => Assert.Equal(fused, b.Norm.LastForwardFused));
        Assert.Equal(fused, model.FinalNorm.LastForwardFused);
        model.Backward();
        foreach (var (name, p) in model.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    [Theory]
    [InlineData(NormKind.None, CnnHead.GlobalAveragePool)]
    [InlineData(NormKind.BatchNorm, CnnHead.GlobalAveragePool)]
    [InlineData(NormKind.GroupNorm, CnnHead.Flatten)]
    [InlineData(NormKind.LayerNorm, CnnHead.Flatten)]
    public void ThreeLayerCnn(NormKind norm, CnnHead head)
    {
        var config = new CnnConfig([2, 4, 4]) { Height = 6, Width = 6, Classes = 5, Norm = norm, NormGroups = 2, PoolAfter = [1], Head = head };
        var model = new Cnn<double>(config, seed: 3);
        var rng = new Rng(4);
        int batch = 3;
        var images = GradCheck.Gaussian(rng, batch * 6 * 6);
        int[] labels = [0, 3, 4];
        double Loss() => model.Loss(images, labels, batch);
        Loss();
        model.Backward();
        foreach (var (name, p) in model.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    [Fact]
    public void ParameterNamesAreUnique()
    {
        var t = new CharTransformer<float>(new TransformerConfig(5, 4, 2, 8, 2), 1);
        Assert.Equal(t.NamedParameters.Count, t.NamedParameters.Select(p => p.Name).Distinct().Count());
        Assert.Contains(t.NamedParameters, p => p.Name == "h.1.ln2.weight");
        var c = new Cnn<float>(new CnnConfig([4, 4]) { Norm = NormKind.BatchNorm }, 1);
        Assert.Equal(c.NamedParameters.Count, c.NamedParameters.Select(p => p.Name).Distinct().Count());
    }
}
