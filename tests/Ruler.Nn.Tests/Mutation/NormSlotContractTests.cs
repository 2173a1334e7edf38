using static Ruler.Nn.Tests.Mutation.LayerArgumentTests;
using static Ruler.Nn.Tests.Mutation.LayerOracleTests;

namespace Ruler.Nn.Tests.Mutation;

/// <summary>
/// NormSlot, ResidualBlock and ResidualStack: argument errors, names, the training switch, the recorder's series, and
/// the fused residual path of a LayerNorm without γ/β, each against the two-step form (the library's own modules
/// called one after the other). Found missing by the Ruler.Nn mutation run (tools/mutation-scores.md).
/// </summary>
public class NormSlotContractTests
{
    [Fact]
    public void SlotConstructionErrors()
    {
        Refused<ArgumentException>(() => NormSlot<double>.ForTokens("n", NormKind.InstanceNorm, 4), "kind", "NormSlot: InstanceNorm has no per-token form; use it on images.");
        Refused<ArgumentOutOfRangeException>(() => NormSlot<double>.ForTokens("n", (NormKind)99, 4), "kind", "Unknown norm kind.");
        Refused<ArgumentOutOfRangeException>(() => NormSlot<double>.From("n", new LayerNorm<double>([4]), 0), "rank", "NormSlot: rank must be >= 1.");
        Refused<ArgumentNullException>(() => NormSlot<double>.From("n", null!, 2), "normalizer");
        Assert.Equal(NormKind.DyT, NormSlot<double>.From("n", new DynamicTanh<double>([4]), 2).Kind);
        Assert.Equal(NormKind.BatchNorm, NormSlot<double>.From("n", new BatchNorm<double>(4), 2).Kind);

        // Rank 1: a single token (LayerNorm over the whole input).
        var one = NormSlot<double>.From("n", new LayerNorm<double>([4]), 1);
        var y = one.Forward([1, 2, 3, 4], [4]);
        Assert.Equal(0.0, y.Sum(), 12);
    }

    [Fact]
    public void SlotShapeErrors()
    {
        var fused = NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, 4);
        var plain = NormSlot<double>.ForTokens("bn", NormKind.BatchNorm, 4);
        Refused<InvalidOperationException>(() => fused.Backward(new double[8]), null, "NormSlot.Backward before Forward.");
        Refused<InvalidOperationException>(() => plain.Backward(new double[8]), null, "NormSlot.Backward before Forward.");
        Refused<InvalidOperationException>(() => plain.AddBackward(new double[8], null), null, "NormSlot.Backward before Forward.");
        Refused<ArgumentException>(() => fused.Forward(new double[8], [1, 2, 4]), "shape", "NormSlot: expected a rank-2 shape, got rank 3.");
        Refused<ArgumentException>(() => fused.AddForward(new double[8], new double[8], [8]), "shape", "NormSlot: expected a rank-2 shape, got rank 1.");
        Refused<ArgumentException>(() => fused.AddForward(new double[8], new double[7], [2, 4]), "u", "NormSlot.AddForward: u needs 8 elements, got 7.");
        fused.AddForward(new double[8], new double[8], [2, 4]);
        Refused<ArgumentException>(() => fused.AddBackward(new double[7], null), "dy", "NormSlot: dy needs 8 elements, got 7.");
        Refused<ArgumentException>(() => fused.AddBackward(new double[8], new double[9]), "dResidual", "NormSlot.AddBackward: dResidual needs 8 elements, got 9.");
    }

    [Fact]
    public void NamesAndTrainingReachTheNormalizer()
    {
        var bn = NormSlot<double>.ForImages("conv.0.norm", NormKind.BatchNorm, 3, 2, 2);
        Assert.Equal(["conv.0.norm.running_mean", "conv.0.norm.running_var"], bn.NamedBuffers.Select(b => b.Name));
        Assert.Equal(["conv.0.norm.weight", "conv.0.norm.bias"], bn.NamedParameters.Select(p => p.Name));
        Assert.Empty(NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, 4).NamedBuffers);
        bn.Training = false;
        Assert.False(bn.Normalizer!.Training);
        bn.Training = true;
        Assert.True(bn.Normalizer!.Training);
    }

    /// <summary>CenterOnly on images: each sample minus its mean over (C, H, W), and the same map backward.</summary>
    [Fact]
    public void CenterOnlyImagesSubtractEachSamplesMean()
    {
        var slot = NormSlot<double>.ForImages("c", NormKind.CenterOnly, 2, 3, 4);
        var rng = new Rng(3);
        int n = 2, per = 2 * 3 * 4;
        var x = GradCheck.Gaussian(rng, n * per, 3);
        var y = slot.Forward(x, [n, 2, 3, 4]);
        var dy = GradCheck.Gaussian(rng, n * per);
        var dx = slot.Backward(dy);
        for (int s = 0; s < n; s++)
        {
            double mx = x.Skip(s * per).Take(per).Average(), mg = dy.Skip(s * per).Take(per).Average();
            for (int i = s * per; i < (s + 1) * per; i++)
            {
                Assert.Equal(x[i] - mx, y[i], 12);
                Assert.Equal(dy[i] - mg, dx[i], 12);
            }
        }
    }

    /// <summary>
    /// LayerNorm without γ and β (and with γ only) through the fused residual kernels: h = x + u, y = LN(h), and
    /// dh = dResidual + LNᵀ(dy), against the library's LayerNorm module run on h. Tolerance 1e-12 on O(1) values
    /// (float64, different summation order).
    /// </summary>
    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    public void FusedResidualWithoutAffineMatchesTwoSteps(bool affine, bool bias)
    {
        var rng = new Rng(5);
        int rows = 3, d = 6;
        var slot = NormSlot<double>.From("ln", new LayerNorm<double>([d], elementwiseAffine: affine, bias: bias), 2);
        var reference = new LayerNorm<double>([d], elementwiseAffine: affine, bias: bias);
        if (affine)
        {
            var gamma = GradCheck.Gaussian(rng, d);
            gamma.CopyTo(slot.Normalizer!.Parameters[0].Value, 0);
            gamma.CopyTo(reference.Parameters[0].Value, 0);
        }
        Assert.True(slot.FusesResidualAdd);
        var x = GradCheck.Gaussian(rng, rows * d);
        var u = GradCheck.Gaussian(rng, rows * d);
        var (h, y) = slot.AddForward(x, u, [rows, d]);
        var hRef = x.Zip(u, (a, b) => a + b).ToArray();
        var yRef = new double[hRef.Length];
        reference.Forward(hRef, [rows, d], yRef);
        Near(hRef, h, "h");
        Near(yRef, y, "y");

        var dy = GradCheck.Gaussian(rng, rows * d);
        var dRes = GradCheck.Gaussian(rng, rows * d);
        var dh = slot.AddBackward(dy, dRes);
        var dn = new double[hRef.Length];
        reference.Backward(hRef, [rows, d], dy, dn);
        Near(dn.Zip(dRes, (a, b) => a + b).ToArray(), dh, "dh");
        if (affine) Near(reference.Parameters[0].Grad, slot.Normalizer!.Parameters[0].Grad, "dγ");
    }

    /// <summary>A slot that adds and normalizes in two steps (BatchNorm): AddBackward without a residual gradient is its plain backward.</summary>
    [Fact]
    public void UnfusedAddBackwardWithoutResidualIsTheNormBackward()
    {
        var rng = new Rng(6);
        var slot = NormSlot<double>.ForTokens("bn", NormKind.BatchNorm, 4);
        var twin = NormSlot<double>.ForTokens("bn", NormKind.BatchNorm, 4);
        var x = GradCheck.Gaussian(rng, 12);
        var u = GradCheck.Gaussian(rng, 12);
        var dy = GradCheck.Gaussian(rng, 12);
        slot.AddForward(x, u, [3, 4]);
        twin.Forward(x.Zip(u, (a, b) => a + b).ToArray(), [3, 4]);
        Near(twin.Backward(dy), slot.AddBackward(dy, null), "dh");
    }

    [Fact]
    public void ResidualBlockErrors()
    {
        var rng = new Rng(7);
        var pre = Block(NormPlacement.Pre, rng);
        var post = Block(NormPlacement.Post, rng);
        var next = NormSlot<double>.ForTokens("next", NormKind.LayerNorm, 4);
        Refused<InvalidOperationException>(() => pre.Backward(new double[8]), null, "ResidualBlock.Backward before Forward.");
        Refused<InvalidOperationException>(() => post.Backward(new double[8]), null, "ResidualBlock.Backward before Forward.");
        var x = GradCheck.Gaussian(rng, 8);
        Refused<ArgumentNullException>(() => pre.ForwardFused(x, null, null!, 1, 2), "next");
        Refused<InvalidOperationException>(() => post.ForwardFused(x, null, next, 1, 2), null, "ResidualBlock.ForwardFused: only a Pre-norm block's add feeds the next norm.");
        Refused<ArgumentException>(() => pre.ForwardFused(x, null, pre.Norm, 1, 2), "next", "ResidualBlock.ForwardFused: next must be another block's norm (or a final norm), not this block's own.");
        // The norm's output for x, handed in with another array of the same values: refused (it was not computed from this x).
        var normalized = pre.Norm.Forward(x, [2, 4]);
        var copy = (double[])x.Clone();
        Refused<ArgumentException>(() => pre.ForwardFused(copy, normalized, next, 1, 2), "normalized",
            "ResidualBlock.ForwardFused: normalized must be this block's norm of x, as returned by the previous block's ForwardFused.");
        Assert.Equal(8, pre.ForwardFused(x, normalized, next, 1, 2).Output.Length);
    }

    [Fact]
    public void ResidualBlockTrainingReachesNormAndBranch()
    {
        var block = new ResidualBlock<double>(NormPlacement.Pre, NormSlot<double>.ForTokens("bn", NormKind.BatchNorm, 4),
            new Mlp<double>("mlp", 4, 8, ActivationKind.Relu, new Rng(8)));
        block.Training = false;
        Assert.False(block.Norm.Training);
        Assert.False(block.Norm.Normalizer!.Training);
        Assert.False(block.F.Training);
        block.Training = true;
        Assert.True(block.Norm.Normalizer!.Training && block.F.Training);
    }

    /// <summary>The recorder's series: the update ratio |F|/|x| (∞ for a zero stream), branch and stream RMS, and the sum's RMS for Post only.</summary>
    [Theory]
    [InlineData(NormPlacement.Pre)]
    [InlineData(NormPlacement.Post)]
    public void ResidualBlockRecords(NormPlacement placement)
    {
        var rng = new Rng(9);
        var block = Block(placement, rng);
        var r = new Recorder();
        block.Recorder = r;
        var x = GradCheck.Gaussian(rng, 8);
        var y = block.Forward(x, 1, 2);
        var f = block.F.Forward(placement == NormPlacement.Pre ? block.Norm.Forward(x, [2, 4]) : x, 1, 2);
        var sum = x.Zip(f, (a, b) => a + b).ToArray();
        Assert.Equal(Recorder.Norm<double>(f) / Recorder.Norm<double>(x), r[Recorder.UpdateRatio][0], 12);
        Assert.Equal(Recorder.Rms<double>(f), r[Recorder.BranchRms][0], 12);
        Assert.Equal(Recorder.Rms<double>(y), r[Recorder.StreamRms][0], 12);
        if (placement == NormPlacement.Post) Assert.Equal(Recorder.Rms<double>(sum), r[Recorder.SumRms][0], 12);
        else Assert.Empty(r[Recorder.SumRms]);

        // A zero stream: the ratio is +∞ by definition, also when the branch gives zero too (no bias: F(0) = 0).
        var unbiased = new ResidualBlock<double>(placement, NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, 4, 1),
            new Mlp<double>("mlp", 4, 8, ActivationKind.Gelu, rng, bias: false)) { Recorder = r };
        unbiased.Forward(new double[8], 1, 2);
        Assert.Equal(double.PositiveInfinity, r[Recorder.UpdateRatio][1]);
    }

    /// <summary>A Pre block followed by a Post block, and a Post block before a final norm: the stack equals the blocks run one by one.</summary>
    [Fact]
    public void ResidualStackMixingPlacementsEqualsBlocksOneByOne()
    {
        var rng = new Rng(10);
        var blocks = new[] { Block(NormPlacement.Pre, rng), Block(NormPlacement.Post, rng) };
        var final = NormSlot<double>.ForTokens("ln_f", NormKind.RmsNorm, 4);
        var x = GradCheck.Gaussian(rng, 2 * 3 * 4);
        var (stream, normalized) = ResidualStack.Forward(blocks, x, final, 2, 3);
        var expected = blocks[1].Forward(blocks[0].Forward(x, 2, 3), 2, 3);
        Near(expected, stream, "stream");
        Near(final.Forward(expected, [6, 4]), normalized, "normalized");
    }

    [Fact]
    public void ResidualStackRefusesNoBlocks() =>
        Refused<ArgumentNullException>(() => ResidualStack.Forward<double>(null!, new double[4], null, 1, 1), "blocks");

    /// <summary>
    /// The engine's hot loop: after the first call of a shape, a fused slot's AddForward and AddBackward allocate
    /// nothing on the calling thread (the statistics, the ruler and its layout are kept while the shape stays).
    /// </summary>
    [Fact]
    public void FusedSlotAllocatesNothingPerCallAfterTheFirst()
    {
        var slot = NormSlot<float>.ForTokens("ln", NormKind.LayerNorm, 64);
        int rows = 8;
        var x = new float[rows * 64];
        var u = new float[x.Length];
        var dy = new float[x.Length];
        for (int i = 0; i < x.Length; i++) (x[i], u[i], dy[i]) = (MathF.Sin(i), MathF.Cos(i), MathF.Sin(3 * i));
        slot.AddForward(x, u, [rows, 64]);
        slot.AddBackward(dy, dy);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int call = 0; call < 100; call++)
        {
            slot.AddForward(x, u, [rows, 64]);
            slot.AddBackward(dy, dy);
        }
        long bytes = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(bytes == 0, $"{bytes} bytes allocated in 100 fused forward/backward pairs");
    }

    private static ResidualBlock<double> Block(NormPlacement placement, Rng rng) =>
        new(placement, NormSlot<double>.ForTokens("ln", NormKind.LayerNorm, 4), new Mlp<double>("mlp", 4, 8, ActivationKind.Gelu, rng));
}
