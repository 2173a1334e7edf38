using Ruler;

namespace Ruler.Nn.Tests;

/// <summary>Every layer's hand-written backward against central finite differences in float64 (see <see cref="GradCheck"/>).</summary>
public class LayerGradientTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Linear(bool bias)
    {
        var rng = new Rng(1);
        var layer = new Linear<double>("fc", 5, 4, rng, bias);
        int rows = 3;
        var x = GradCheck.Gaussian(rng, rows * 5);
        var w = GradCheck.Gaussian(rng, rows * 4);
        double Loss() => GradCheck.Dot(w, layer.Forward(x, rows));
        Loss();
        var dx = (double[])layer.Backward(w).Clone();
        GradCheck.Check("x", x, dx, Loss);
        foreach (var p in layer.Parameters) GradCheck.Check(p.Name, p.Value, p.Grad, Loss);
        Assert.Equal(bias ? 2 : 1, layer.Parameters.Count);
    }

    [Fact]
    public void EmbeddingAndPositionalEmbedding()
    {
        var rng = new Rng(2);
        var wte = new Embedding<double>("wte", 6, 4, rng);
        var wpe = new PositionalEmbedding<double>("wpe", 5, 4, rng);
        int[] tokens = [1, 3, 3, 0, 5, 1];
        var w = GradCheck.Gaussian(rng, tokens.Length * 4);
        double Loss() => GradCheck.Dot(w, wpe.Forward(wte.Forward(tokens), 2, 3));
        Loss();
        wte.Backward(wpe.Backward(w));
        GradCheck.Check("wte", wte.Weight.Value, wte.Weight.Grad, Loss);
        GradCheck.Check("wpe", wpe.Weight.Value, wpe.Weight.Grad, Loss);
    }

    [Theory]
    [InlineData(3, 1, 1, true)]
    [InlineData(3, 2, 1, true)]
    [InlineData(3, 1, 0, false)]
    [InlineData(1, 1, 0, true)]
    [InlineData(1, 2, 0, false)]
    public void Conv2d(int kernel, int stride, int padding, bool bias)
    {
        var rng = new Rng(3);
        var conv = new Conv2d<double>("conv", 2, 3, kernel, rng, stride, padding, bias);
        int n = 2, h = 5, w = 6;
        var x = GradCheck.Gaussian(rng, n * 2 * h * w);
        var g = GradCheck.Gaussian(rng, n * 3 * conv.OutputSize(h) * conv.OutputSize(w));
        double Loss() => GradCheck.Dot(g, conv.Forward(x, n, h, w));
        Loss();
        var dx = (double[])conv.Backward(g).Clone();
        GradCheck.Check("x", x, dx, Loss);
        foreach (var p in conv.Parameters) GradCheck.Check(p.Name, p.Value, p.Grad, Loss);
    }

    [Fact]
    public void Pooling()
    {
        var rng = new Rng(5);
        int n = 2, c = 3, h = 5, w = 4;
        var x = GradCheck.Gaussian(rng, n * c * h * w);
        var max = new MaxPool2d<double>(2);
        var avg = new AvgPool2d<double>(2);
        var gap = new GlobalAvgPool<double>();
        var gm = GradCheck.Gaussian(rng, n * c * 2 * 2);
        var gg = GradCheck.Gaussian(rng, n * c);
        double MaxLoss() => GradCheck.Dot(gm, max.Forward(x, n, c, h, w));
        double AvgLoss() => GradCheck.Dot(gm, avg.Forward(x, n, c, h, w));
        double GapLoss() => GradCheck.Dot(gg, gap.Forward(x, n, c, h, w));
        MaxLoss();
        GradCheck.Check("max", x, (double[])max.Backward(gm).Clone(), MaxLoss);
        AvgLoss();
        GradCheck.Check("avg", x, (double[])avg.Backward(gm).Clone(), AvgLoss);
        GapLoss();
        GradCheck.Check("gap", x, (double[])gap.Backward(gg).Clone(), GapLoss);
    }

    [Theory]
    [InlineData(ActivationKind.Relu)]
    [InlineData(ActivationKind.Gelu)]
    [InlineData(ActivationKind.Tanh)]
    public void Activations(ActivationKind kind)
    {
        var rng = new Rng(6);
        var act = Activation<double>.Create(kind);
        var x = GradCheck.Gaussian(rng, 40, 2);
        var g = GradCheck.Gaussian(rng, 40);
        double Loss() => GradCheck.Dot(g, act.Forward(x));
        Loss();
        GradCheck.Check(kind.ToString(), x, (double[])act.Backward(g).Clone(), Loss);
    }

    [Fact]
    public void GeluMatchesGpt2Formula()
    {
        var gelu = new Gelu<double>();
        double[] x = [-3, -1, -0.5, 0, 0.5, 1, 3];
        var y = gelu.Forward(x);
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            Assert.Equal(0.5 * v * (1 + Math.Tanh(Math.Sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v))), y[i], 14);
        }
    }

    [Fact]
    public void FloatGeluSimdPathMatchesTheFormulaAndBackwardMatchesDouble()
    {
        // 1001 points in [-12, 12] (not a multiple of 8, so the scalar tail runs too), through the float SIMD body.
        var xd = Enumerable.Range(0, 1001).Select(i => -12 + 24.0 * i / 1000).ToArray();
        var xf = xd.Select(v => (float)v).ToArray();
        var gelu = new Gelu<float>();
        var y = gelu.Forward(xf);
        var dx = gelu.Backward(Enumerable.Repeat(1f, xf.Length).ToArray());
        var reference = new Gelu<double>();
        var yd = reference.Forward(xf.Select(v => (double)v).ToArray());
        var dxd = reference.Backward(Enumerable.Repeat(1.0, xf.Length).ToArray());
        for (int i = 0; i < xf.Length; i++)
        {
            // float tanh via exp is good to a few 1e-7 absolute; y carries it times |x|/2.
            Assert.True(Math.Abs(y[i] - yd[i]) <= 1e-6 * (1 + Math.Abs(xf[i])), $"y at x={xf[i]}: {y[i]} vs {yd[i]}");
            Assert.True(Math.Abs(dx[i] - dxd[i]) <= 2e-6 * (1 + xf[i] * xf[i]), $"dx at x={xf[i]}: {dx[i]} vs {dxd[i]}");
        }
    }

    [Fact]
    public void FloatActivationsMatchDoubleAtEveryVectorTail()
    {
        // Lengths 1…67 cross every tail of the 4-, 8- and 16-lane loops. ReLU is exact (a select); tanh within 2 ulp-ish
        // of the float64 value (1e-6 relative + 1e-7 absolute). Zeros, −0, ±∞ and NaN ride along for ReLU: NaN stays NaN
        // in the forward and gets a zero gradient, x = 0 gets a zero gradient (PyTorch's threshold_backward).
        var rng = new Rng(21);
        for (int n = 1; n <= 67; n++)
        {
            var xd = GradCheck.Gaussian(rng, n, 2);
            var gd = GradCheck.Gaussian(rng, n);
            var x = xd.Select(v => (float)v).ToArray();
            var g = gd.Select(v => (float)v).ToArray();
            float[] specials = [0f, -0f, float.NaN, float.PositiveInfinity, float.NegativeInfinity];
            for (int k = 0; k < specials.Length && k < n; k++) x[(k * 7) % n] = specials[k];
            var relu = new Relu<float>();
            var y = relu.Forward(x);
            var dx = relu.Backward(g);
            var tanh = new Tanh<float>();
            var ty = (float[])tanh.Forward(x).Clone();
            var tdx = tanh.Backward(g);
            for (int i = 0; i < n; i++)
            {
                double v = x[i];
                if (double.IsNaN(v)) Assert.True(float.IsNaN(y[i]), $"n={n}: relu(NaN) = {y[i]}");
                else Assert.Equal((float)Math.Max(v, 0), y[i]);
                Assert.Equal(v > 0 ? g[i] : 0f, dx[i]);
                if (double.IsNaN(v)) continue;
                double t = Math.Tanh(v), dt = (1 - t * t) * g[i];
                Assert.True(Math.Abs(ty[i] - t) <= 1e-6 * Math.Abs(t) + 1e-7, $"n={n}, x={v}: tanh {ty[i]} vs {t}");
                Assert.True(Math.Abs(tdx[i] - dt) <= 1e-6 * Math.Abs(g[i]) + 1e-7, $"n={n}, x={v}: tanh' {tdx[i]} vs {dt}");
            }
        }
    }

    [Fact]
    public void DropoutWithTheSameSeedHasConsistentGradients()
    {
        var rng = new Rng(7);
        var x = GradCheck.Gaussian(rng, 200);
        var g = GradCheck.Gaussian(rng, 200);
        // A fresh layer with the same seed draws the same mask, so the loss is a fixed function of x.
        double Loss() => GradCheck.Dot(g, new Dropout<double>(0.3, 11).Forward(x));
        var d = new Dropout<double>(0.3, 11);
        d.Forward(x);
        GradCheck.Check("dropout", x, (double[])d.Backward(g).Clone(), Loss);
    }

    [Fact]
    public void DropoutDropsAboutPAndScalesSurvivorsAndIsTheIdentityInEval()
    {
        var d = new Dropout<double>(0.25, 5);
        var x = Enumerable.Repeat(1.0, 20000).ToArray();
        var y = d.Forward(x);
        int dropped = y.Count(v => v == 0);
        Assert.InRange(dropped / 20000.0, 0.23, 0.27);
        Assert.All(y.Where(v => v != 0), v => Assert.Equal(1 / 0.75, v, 12));
        d.Training = false;
        Assert.Same(x, d.Forward(x));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void CausalSelfAttention(bool bias)
    {
        var rng = new Rng(8);
        var attn = new CausalSelfAttention<double>("attn", 6, 2, rng, bias);
        int batch = 2, time = 4;
        var x = GradCheck.Gaussian(rng, batch * time * 6);
        var g = GradCheck.Gaussian(rng, batch * time * 6);
        double Loss() => GradCheck.Dot(g, attn.Forward(x, batch, time));
        Loss();
        GradCheck.Check("x", x, (double[])attn.Backward(g).Clone(), Loss);
        foreach (var p in attn.Parameters) GradCheck.Check(p.Name, p.Value, p.Grad, Loss);
    }

    [Fact]
    public void FloatAttentionMatchesDoubleForwardAndBackward()
    {
        // Same seed, same draws: the float layer holds the double layer's weights rounded to float.
        var f = new CausalSelfAttention<float>("attn", 64, 4, new Rng(20));
        var d = new CausalSelfAttention<double>("attn", 64, 4, new Rng(20));
        var rng = new Rng(21);
        int batch = 2, time = 37; // not a multiple of 8: the softmax's scalar tail runs too
        var xd = GradCheck.Gaussian(rng, batch * time * 64);
        var gd = GradCheck.Gaussian(rng, xd.Length);
        var yf = f.Forward(Array.ConvertAll(xd, v => (float)v), batch, time);
        var yd = d.Forward(xd, batch, time);
        var dxf = f.Backward(Array.ConvertAll(gd, v => (float)v));
        var dxd = d.Backward(gd);
        // float32 rounding through two GEMMs and a softmax: a few 1e-6 relative; 1e-4 absolute on O(1) values is ample.
        for (int i = 0; i < yd.Length; i++) Assert.True(Math.Abs(yf[i] - yd[i]) <= 1e-4, $"y[{i}]: {yf[i]} vs {yd[i]}");
        for (int i = 0; i < dxd.Length; i++) Assert.True(Math.Abs(dxf[i] - dxd[i]) <= 1e-4, $"dx[{i}]: {dxf[i]} vs {dxd[i]}");
    }

    [Fact]
    public void UniformAttentionAveragesThePrefix()
    {
        var rng = new Rng(9);
        var attn = new CausalSelfAttention<double>("attn", 4, 2, rng, uniformAttention: true);
        // The query and key biases are zeroed too (with W_Q = W_K = 0 alone, constant q and k would still give a
        // uniform P here, so it is checked directly); the value bias is drawn as usual.
        Assert.All(attn.Qkv.Bias!.Value.Take(2 * 4), v => Assert.Equal(0.0, v));
        Assert.Contains(attn.Qkv.Bias!.Value.Skip(2 * 4), v => v != 0);
        int time = 5;
        attn.Forward(GradCheck.Gaussian(rng, time * 4), 1, time);
        var att = attn.Attention;
        for (int h = 0; h < 2; h++)
            for (int t = 0; t < time; t++)
                for (int u = 0; u < time; u++)
                    Assert.Equal(u <= t ? 1.0 / (t + 1) : 0, att[(h * time + t) * time + u], 14);
    }

    [Fact]
    public void SoftmaxCrossEntropy()
    {
        var rng = new Rng(10);
        var ce = new SoftmaxCrossEntropy<double>();
        var z = GradCheck.Gaussian(rng, 4 * 5, 3);
        int[] targets = [0, 4, 2, 2];
        double Loss() => ce.Forward(z, targets, 5);
        Loss();
        GradCheck.Check("logits", z, (double[])ce.Backward().Clone(), Loss);
    }

    [Fact]
    public void CrossEntropyOfUniformLogitsIsLogClasses()
    {
        var ce = new SoftmaxCrossEntropy<double>();
        Assert.Equal(Math.Log(7), ce.Forward(new double[14], [3, 6], 7), 14);
    }

    public static TheoryData<NormKind> TokenKinds => [NormKind.None, NormKind.LayerNorm, NormKind.RmsNorm, NormKind.GroupNorm, NormKind.BatchNorm, NormKind.DyT, NormKind.CenterOnly];

    [Theory]
    [MemberData(nameof(TokenKinds))]
    public void TokenNormSlot(NormKind kind)
    {
        var rng = new Rng(11);
        var slot = NormSlot<double>.ForTokens("ln", kind, 6, groups: 2);
        RandomizeAffine(slot, rng);
        int rows = 5;
        var x = GradCheck.Gaussian(rng, rows * 6, 2);
        var g = GradCheck.Gaussian(rng, rows * 6);
        double Loss() => GradCheck.Dot(g, slot.Forward(x, [rows, 6]));
        Loss();
        GradCheck.Check("x", x, (double[])slot.Backward(g).Clone(), Loss);
        foreach (var (name, p) in slot.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    public static TheoryData<NormKind> ImageKinds => [NormKind.LayerNorm, NormKind.RmsNorm, NormKind.GroupNorm, NormKind.InstanceNorm, NormKind.BatchNorm, NormKind.DyT, NormKind.CenterOnly];

    [Theory]
    [MemberData(nameof(ImageKinds))]
    public void ImageNormSlot(NormKind kind)
    {
        var rng = new Rng(12);
        int n = 2, c = 4, h = 3, w = 2;
        var slot = NormSlot<double>.ForImages("norm", kind, c, h, w, groups: 2);
        RandomizeAffine(slot, rng);
        var x = GradCheck.Gaussian(rng, n * c * h * w, 2);
        var g = GradCheck.Gaussian(rng, x.Length);
        double Loss() => GradCheck.Dot(g, slot.Forward(x, [n, c, h, w]));
        Loss();
        GradCheck.Check("x", x, (double[])slot.Backward(g).Clone(), Loss);
        foreach (var (name, p) in slot.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    [Fact]
    public void SlotAroundACallerBuiltNormalizerUsesItAsIs()
    {
        var rng = new Rng(14);
        var bn = new BatchNorm<double>(3, eps: 1e-3, momentum: 0.5, layout: ChannelLayout.ChannelsLast);
        var slot = NormSlot<double>.From("bn", bn, 4);
        Assert.Equal(NormKind.BatchNorm, slot.Kind);
        Assert.Same(bn, slot.Normalizer);
        int[] shape = [2, 2, 2, 3];
        var x = GradCheck.Gaussian(rng, 24, 2);
        var g = GradCheck.Gaussian(rng, 24);
        double Loss() => GradCheck.Dot(g, slot.Forward(x, shape));
        Loss();
        GradCheck.Check("x", x, (double[])slot.Backward(g).Clone(), Loss);
        Assert.Equal(["bn.weight", "bn.bias"], slot.NamedParameters.Select(p => p.Name));
    }

    [Fact]
    public void InstanceNormHasNoPerTokenForm() =>
        Assert.Throws<ArgumentException>(() => NormSlot<double>.ForTokens("ln", NormKind.InstanceNorm, 4));

    [Theory]
    [InlineData(NormPlacement.Pre, NormKind.LayerNorm)]
    [InlineData(NormPlacement.Post, NormKind.LayerNorm)]
    [InlineData(NormPlacement.Pre, NormKind.RmsNorm)]
    [InlineData(NormPlacement.Post, NormKind.BatchNorm)]
    public void ResidualBlock(NormPlacement placement, NormKind kind)
    {
        var rng = new Rng(13);
        int d = 4, batch = 2, time = 3;
        var block = new ResidualBlock<double>(placement, NormSlot<double>.ForTokens("ln", kind, d),
            new Mlp<double>("mlp", d, 8, ActivationKind.Gelu, rng));
        RandomizeAffine(block.Norm, rng);
        var x = GradCheck.Gaussian(rng, batch * time * d);
        var g = GradCheck.Gaussian(rng, x.Length);
        double Loss() => GradCheck.Dot(g, block.Forward(x, batch, time));
        Loss();
        GradCheck.Check("x", x, (double[])block.Backward(g).Clone(), Loss);
        foreach (var (name, p) in block.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    /// <summary>γ = 1, β = 0 would hide a swapped or missing affine term; random values expose it.</summary>
    internal static void RandomizeAffine(NormSlot<double> slot, Rng rng)
    {
        foreach (var p in slot.Parameters)
            for (int i = 0; i < p.Value.Length; i++) p.Value[i] += 0.3 * rng.NextGaussian();
    }
}
