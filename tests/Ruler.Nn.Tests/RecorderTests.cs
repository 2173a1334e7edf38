namespace Ruler.Nn.Tests;

public class RecorderTests
{
    [Fact]
    public void TransformerRecordsStreamRatiosAndGradientNorms()
    {
        var model = new CharTransformer<double>(new TransformerConfig(5, 4, 3, 8, 2), seed: 1) { Recorder = new Recorder() };
        int[] tokens = [0, 1, 2, 3, 4, 0, 1, 2];
        model.Loss(tokens, tokens, 2, 4);
        model.Backward();
        var r = model.Recorder!;
        Assert.Equal(1 + 6, r[Recorder.StreamRms].Count);
        Assert.Equal(6, r[Recorder.UpdateRatio].Count);
        Assert.All(r[Recorder.UpdateRatio], v => Assert.True(v > 0 && double.IsFinite(v)));
        // ‖F‖/‖x‖ = RMS(F)/RMS(x) (same element count), x being the stream entering the block.
        for (int l = 0; l < 6; l++)
            Assert.Equal(r[Recorder.BranchRms][l] / r[Recorder.StreamRms][l], r[Recorder.UpdateRatio][l], 10);
        var w2 = model.NamedParameters.First(p => p.Name == "h.2.mlp.proj.weight").Parameter;
        Assert.Equal(Recorder.Norm<double>(w2.Grad), r[Recorder.GradPrefix + "h.2.mlp.proj.weight"].Single(), 12);
        Assert.Empty(r[Recorder.SumRms]);
    }

    [Fact]
    public void PostNormStreamHasUnitRmsAfterEveryLayerNorm()
    {
        var rng = new Rng(2);
        var recorder = new Recorder();
        int d = 32;
        var x = GradCheck.Gaussian(rng, 16 * d);
        for (int l = 0; l < 4; l++)
        {
            var block = new ResidualBlock<double>(NormPlacement.Post, NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, d),
                new Mlp<double>("mlp", d, d, ActivationKind.Relu, rng, bias: false)) { Recorder = recorder };
            x = (double[])block.Forward(x, 1, 16).Clone();
        }
        // LayerNorm output has mean 0 and variance var/(var+eps) per row: RMS 1 up to eps.
        Assert.All(recorder[Recorder.StreamRms], v => Assert.Equal(1, v, 4));
        Assert.All(recorder[Recorder.SumRms], v => Assert.True(v > 1));
        Assert.Equal(4, recorder[Recorder.UpdateRatio].Count);
    }

    [Fact]
    public void CnnRecordsOneActivationRmsPerLayer()
    {
        var model = new Cnn<float>(new CnnConfig([4, 4, 4]) { Height = 8, Width = 8, ConvBias = false }, 3) { Recorder = new Recorder() };
        var rng = new Rng(3);
        var images = new float[2 * 64];
        for (int i = 0; i < images.Length; i++) images[i] = (float)rng.NextGaussian();
        model.Forward(images, 2);
        Assert.Equal([Recorder.ActivationRms], model.Recorder!.Names);
        Assert.Equal(3, model.Recorder[Recorder.ActivationRms].Count);
        Assert.All(model.Recorder[Recorder.ActivationRms], v => Assert.True(v > 0));
    }
}
