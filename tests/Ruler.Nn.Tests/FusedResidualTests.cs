namespace Ruler.Nn.Tests;

/// <summary>
/// The fused residual add + norm of Pre-norm stacks (<see cref="NormSlot{T}.AddForward"/>, <see cref="ResidualBlock{T}.ForwardFused"/>,
/// <see cref="ResidualStack"/>): gradients against float64 central differences (<see cref="GradCheck"/>, relative
/// error ≤ 1e-6), and values against the two-step form (add, then normalize) as the independent oracle.
/// </summary>
public class FusedResidualTests
{
    [Theory]
    [InlineData(NormKind.LayerNorm, true)]
    [InlineData(NormKind.RmsNorm, true)]
    [InlineData(NormKind.BatchNorm, false)]
    [InlineData(NormKind.CenterOnly, false)]
    [InlineData(NormKind.None, false)]
    public void SlotAddForwardAndAddBackwardAreTheGradientsOfAddThenNormalize(NormKind kind, bool fused)
    {
        var rng = new Rng(21);
        int rows = 6, d = 5;
        int[] shape = [rows, d];
        var slot = NormSlot<double>.ForTokens("ln", kind, d);
        LayerGradientTests.RandomizeAffine(slot, rng);
        Assert.Equal(fused, slot.FusesResidualAdd);
        var x = GradCheck.Gaussian(rng, rows * d, 2);
        var u = GradCheck.Gaussian(rng, rows * d);
        var gh = GradCheck.Gaussian(rng, rows * d); // what reaches h along the residual path
        var gy = GradCheck.Gaussian(rng, rows * d); // what reaches y = norm(h)
        double Loss()
        {
            var (h, y) = slot.AddForward(x, u, shape);
            return GradCheck.Dot(gh, h) + GradCheck.Dot(gy, y);
        }
        Loss();
        Assert.Equal(fused, slot.LastForwardFused);
        var dsum = (double[])slot.AddBackward(gy, gh).Clone();
        GradCheck.Check("x", x, dsum, Loss);
        GradCheck.Check("u", u, dsum, Loss); // h = x + u: both addends get the same gradient
        foreach (var (name, p) in slot.NamedParameters) GradCheck.Check(name, p.Value, p.Grad, Loss);
        // Layers accumulate parameter gradients (the kernel overwrites its dγ, dβ): a second backward doubles them.
        Loss();
        var once = slot.Parameters.Select(p => (double[])p.Grad.Clone()).ToArray();
        slot.AddBackward(gy, gh);
        foreach (var (p, g) in slot.Parameters.Zip(once))
            for (int i = 0; i < g.Length; i++) Assert.Equal(2 * g[i], p.Grad[i], 12);
    }

    [Theory]
    [InlineData(NormKind.LayerNorm)]
    [InlineData(NormKind.RmsNorm)]
    public void SlotAddForwardEqualsAddThenForward(NormKind kind)
    {
        var rng = new Rng(22);
        int rows = 37, d = 48; // several rows per thread, a width that is not a whole number of vectors
        int[] shape = [rows, d];
        var fusedSlot = NormSlot<float>.ForTokens("ln", kind, d);
        var plainSlot = NormSlot<float>.ForTokens("ln", kind, d);
        foreach (var (a, b) in fusedSlot.Parameters.Zip(plainSlot.Parameters))
            for (int i = 0; i < a.Value.Length; i++) a.Value[i] = b.Value[i] = (float)(1 + 0.3 * rng.NextGaussian());
        var x = Floats(rng, rows * d, 3);
        var u = Floats(rng, rows * d, 1);
        var (h, y) = fusedSlot.AddForward(x, u, shape);
        var sum = new float[x.Length];
        for (int i = 0; i < sum.Length; i++) sum[i] = x[i] + u[i];
        var expected = plainSlot.Forward(sum, shape);
        Assert.Equal(sum, h); // the stream is the plain float sum, bit for bit
        // y: the same statistics measured by a different summation order; both are within float rounding of exact.
        for (int i = 0; i < y.Length; i++) Assert.True(Math.Abs(y[i] - expected[i]) <= 2e-6 * (1 + Math.Abs(expected[i])), $"y[{i}] {y[i]} vs {expected[i]}");
    }

    [Theory]
    [InlineData(NormKind.LayerNorm)]
    [InlineData(NormKind.RmsNorm)]
    [InlineData(NormKind.GroupNorm)] // not fused: the same stack code adds, then normalizes
    public void FusedPreNormStackGradientCheck(NormKind kind)
    {
        var rng = new Rng(23);
        int d = 8, batch = 2, time = 3;
        var (blocks, final) = Stack(kind, d, rng);
        var x = GradCheck.Gaussian(rng, batch * time * d);
        var gStream = GradCheck.Gaussian(rng, x.Length);
        var gOut = GradCheck.Gaussian(rng, x.Length);
        double Loss()
        {
            var (stream, normalized) = ResidualStack.Forward(blocks, x, final, batch, time);
            return GradCheck.Dot(gStream, stream) + GradCheck.Dot(gOut, normalized);
        }
        Loss();
        bool fused = kind is NormKind.LayerNorm or NormKind.RmsNorm;
        Assert.False(blocks[0].Norm.LastForwardFused); // the first norm reads the embedding: nothing to fuse with
        for (int i = 1; i < blocks.Count; i++) Assert.Equal(fused, blocks[i].Norm.LastForwardFused);
        Assert.Equal(fused, final.LastForwardFused);
        var dx = final.AddBackward(gOut, gStream);
        for (int i = blocks.Count - 1; i >= 0; i--) dx = blocks[i].Backward(dx);
        GradCheck.Check("x", x, (double[])dx.Clone(), Loss);
        foreach (var (name, p) in blocks.SelectMany(b => b.NamedParameters).Concat(final.NamedParameters)) GradCheck.Check(name, p.Value, p.Grad, Loss);
    }

    [Theory]
    [InlineData(NormKind.LayerNorm)]
    [InlineData(NormKind.RmsNorm)]
    public void FusedStackMatchesBlockByBlockAndRecordsTheSameSeries(NormKind kind)
    {
        int d = 8, batch = 2, time = 5;
        var (fusedBlocks, fusedFinal) = Stack(kind, d, new Rng(24));
        var (plainBlocks, plainFinal) = Stack(kind, d, new Rng(24));
        var x = GradCheck.Gaussian(new Rng(25), batch * time * d);
        var fusedRec = new Recorder();
        var plainRec = new Recorder();
        foreach (var b in fusedBlocks) b.Recorder = fusedRec;
        foreach (var b in plainBlocks) b.Recorder = plainRec;

        var (stream, normalized) = ResidualStack.Forward(fusedBlocks, x, fusedFinal, batch, time);
        var s = x;
        foreach (var b in plainBlocks) s = b.Forward(s, batch, time);
        var n = plainFinal.Forward(s, [batch * time, d]);
        // Oracle: the blocks run one by one (add, then the next block's norm), in float64.
        AssertClose(s, stream, 1e-12);
        AssertClose(n, normalized, 1e-12);
        Assert.Equal(plainRec.Names, fusedRec.Names);
        foreach (var name in plainRec.Names) AssertClose([.. plainRec[name]], [.. fusedRec[name]], 1e-12);

        var g = GradCheck.Gaussian(new Rng(26), n.Length);
        var dFused = fusedFinal.Backward(g);
        for (int i = fusedBlocks.Count - 1; i >= 0; i--) dFused = fusedBlocks[i].Backward(dFused);
        var dPlain = plainFinal.Backward(g);
        for (int i = plainBlocks.Count - 1; i >= 0; i--) dPlain = plainBlocks[i].Backward(dPlain);
        AssertClose(dPlain, dFused, 1e-12);
        foreach (var (a, b) in plainBlocks.SelectMany(b => b.Parameters).Zip(fusedBlocks.SelectMany(b => b.Parameters))) AssertClose(a.Grad, b.Grad, 1e-12);
    }

    [Fact]
    public void ForwardFusedRefusesANormalizedInputItsNormDidNotProduce()
    {
        var (blocks, final) = Stack(NormKind.LayerNorm, 4, new Rng(27));
        var x = GradCheck.Gaussian(new Rng(28), 2 * 4);
        var stranger = new double[x.Length];
        Assert.Throws<ArgumentException>(() => blocks[0].ForwardFused(x, stranger, blocks[1].Norm, 1, 2));
        Assert.Throws<ArgumentException>(() => blocks[0].ForwardFused(x, null, blocks[0].Norm, 1, 2));
        var post = new ResidualBlock<double>(NormPlacement.Post, NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, 4), blocks[0].F);
        Assert.Throws<InvalidOperationException>(() => post.ForwardFused(x, null, final, 1, 2));
    }

    /// <summary>Attention, MLP, attention blocks in Pre placement and a final norm, every affine randomized.</summary>
    private static (List<ResidualBlock<double>> Blocks, NormSlot<double> Final) Stack(NormKind kind, int d, Rng rng)
    {
        var blocks = new List<ResidualBlock<double>>
        {
            new(NormPlacement.Pre, NormSlot<double>.ForTokens("h.0.ln1", kind, d, 2), new CausalSelfAttention<double>("h.0.attn", d, 2, rng)),
            new(NormPlacement.Pre, NormSlot<double>.ForTokens("h.0.ln2", kind, d, 2), new Mlp<double>("h.0.mlp", d, 2 * d, ActivationKind.Gelu, rng)),
            new(NormPlacement.Pre, NormSlot<double>.ForTokens("h.1.ln1", kind, d, 2), new CausalSelfAttention<double>("h.1.attn", d, 2, rng)),
        };
        var final = NormSlot<double>.ForTokens("ln_f", kind, d, 2);
        foreach (var slot in blocks.Select(b => b.Norm).Append(final)) LayerGradientTests.RandomizeAffine(slot, rng);
        return (blocks, final);
    }

    private static void AssertClose(double[] expected, double[] actual, double relative)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(Math.Abs), err = 0;
        for (int i = 0; i < expected.Length; i++) err = Math.Max(err, Math.Abs(expected[i] - actual[i]));
        Assert.True(err <= relative * Math.Max(scale, 1e-300), $"max |Δ| {err:E2} > {relative:E0} × scale {scale:E2}");
    }

    private static float[] Floats(Rng rng, int n, double scale)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(scale * rng.NextGaussian());
        return a;
    }
}
