namespace Ruler.Nn.Tests.Mutation;

/// <summary>
/// Bad arguments to the engine's layers: each gets one exception of the documented type that names the argument
/// and says what was expected and what was given; the smallest valid value of every bound is accepted. Found
/// missing by the Ruler.Nn mutation run (tools/mutation-scores.md): no test reached these checks.
/// </summary>
public class LayerArgumentTests
{
    /// <summary>Asserts the call throws exactly <typeparamref name="TEx"/> naming <paramref name="param"/>, with every fragment in its message.</summary>
    internal static TEx Refused<TEx>(Action call, string? param, params string[] fragments) where TEx : Exception
    {
        var e = Assert.Throws<TEx>(call);
        if (e is ArgumentException a) Assert.Equal(param, a.ParamName);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
        return e;
    }

    private static readonly Rng R = new(1);

    [Fact]
    public void Linear()
    {
        Refused<ArgumentOutOfRangeException>(() => new Linear<double>("fc", 0, 4, R), "inFeatures", "Linear fc: feature counts must be >= 1, got 0→4");
        Refused<ArgumentOutOfRangeException>(() => new Linear<double>("fc", 4, 0, R), "inFeatures", "got 4→0");
        var one = new Linear<double>("one", 1, 1, R);
        Assert.Single(one.Forward([2.0], 1));

        var fc = new Linear<double>("fc", 4, 2, R);
        Refused<InvalidOperationException>(() => fc.Backward(new double[6]), null, "Linear.Backward before Forward.");
        Refused<ArgumentException>(() => fc.Forward(new double[11], 3), "x", "Linear fc.weight: x needs 3×4 elements, got 11.");
        fc.Forward(new double[12], 3);
        Refused<ArgumentException>(() => fc.Backward(new double[5]), "dy", "Linear fc.weight: dy needs 3×2 elements, got 5.");
    }

    [Theory]
    [InlineData(0, 3, 3, 1, 0)]
    [InlineData(2, 0, 3, 1, 0)]
    [InlineData(2, 3, 0, 1, 0)]
    [InlineData(2, 3, 3, 0, 0)]
    [InlineData(2, 3, 3, 1, -1)]
    public void Conv2dSettings(int inChannels, int outChannels, int kernel, int stride, int padding) =>
        Refused<ArgumentOutOfRangeException>(() => new Conv2d<double>("c", inChannels, outChannels, kernel, R, stride, padding),
            "kernelSize", "Conv2d c: need channels, kernel, stride >= 1 and padding >= 0.");

    [Fact]
    public void Conv2dShapes()
    {
        var tiny = new Conv2d<double>("tiny", 1, 1, 1, R);
        Assert.Single(tiny.Forward([3.0], 1, 1, 1));

        var conv = new Conv2d<double>("c", 2, 3, 3, R);
        Refused<InvalidOperationException>(() => conv.Backward(new double[3]), null, "Conv2d.Backward before Forward.");
        Refused<ArgumentException>(() => conv.Forward(new double[17], 1, 3, 3), "x", "Conv2d c.weight: x needs 1×2×3×3 elements, got 17.");
        Refused<ArgumentException>(() => conv.Forward(new double[2 * 2 * 5], 1, 2, 5), "x", "Conv2d c.weight: input 2×5 is smaller than the kernel 3 with padding 0.");
        Refused<ArgumentException>(() => conv.Forward(new double[2 * 5 * 2], 1, 5, 2), "x", "input 5×2 is smaller");
        // The smallest input that fits: one output position.
        Assert.Equal(3, conv.Forward(new double[2 * 3 * 3], 1, 3, 3).Length);
        Refused<ArgumentException>(() => conv.Backward(new double[4]), "dy", "Conv2d c.weight: dy needs 1×3×1×1 elements, got 4.");
    }

    [Fact]
    public void EmbeddingAndPositionalEmbedding()
    {
        Refused<ArgumentOutOfRangeException>(() => new Embedding<double>("wte", 0, 4, R), "vocabSize", "Embedding wte: sizes must be >= 1, got 0×4.");
        Refused<ArgumentOutOfRangeException>(() => new Embedding<double>("wte", 4, 0, R), "vocabSize", "got 4×0.");
        Assert.Single(new Embedding<double>("one", 1, 1, R).Forward([0]));
        var wte = new Embedding<double>("wte", 6, 2, R);
        Refused<InvalidOperationException>(() => wte.Backward(new double[2]), null, "Embedding.Backward before Forward.");
        Refused<ArgumentOutOfRangeException>(() => wte.Forward([1, 5, 6]), "tokens", "Embedding wte.weight: token 6 at 2 is outside [0, 6).");
        Refused<ArgumentOutOfRangeException>(() => wte.Forward([-1]), "tokens", "token -1 at 0");
        wte.Forward([1, 5]);
        Refused<ArgumentException>(() => wte.Backward(new double[6]), "dy", "Embedding.Backward: dy needs 4 elements (the last forward's output), got 6.");

        Refused<ArgumentOutOfRangeException>(() => new PositionalEmbedding<double>("wpe", 0, 4, R), "context", "PositionalEmbedding wpe: sizes must be >= 1, got 0×4.");
        Refused<ArgumentOutOfRangeException>(() => new PositionalEmbedding<double>("wpe", 4, 0, R), "context", "got 4×0.");
        var single = new PositionalEmbedding<double>("one", 1, 1, R);
        var ys = single.Forward([1.0, 2.0], 2, 1);
        Assert.Equal([1 + single.Weight.Value[0], 2 + single.Weight.Value[0]], ys);
        var wpe = new PositionalEmbedding<double>("wpe", 5, 2, R);
        Refused<InvalidOperationException>(() => wpe.Backward(new double[2]), null, "PositionalEmbedding.Backward before Forward.");
        Refused<ArgumentOutOfRangeException>(() => wpe.Forward(new double[12], 1, 6), "time", "PositionalEmbedding wpe.weight: time must be in [1, 5], got 6.");
        Refused<ArgumentOutOfRangeException>(() => wpe.Forward([], 1, 0), "time", "got 0.");
        Refused<ArgumentException>(() => wpe.Forward(new double[7], 1, 3), "x", "PositionalEmbedding wpe.weight: x needs 1×3×2 elements, got 7.");
        wpe.Forward(new double[10], 1, 5);
        Refused<ArgumentException>(() => wpe.Backward(new double[12]), "dy", "PositionalEmbedding.Backward: dy needs 10 elements");
    }

    [Fact]
    public void CenterOnly()
    {
        Refused<ArgumentOutOfRangeException>(() => new CenterOnly<double>(0), "features", "CenterOnly needs >= 1 feature.");
        Assert.Equal([0.0, 0.0], new CenterOnly<double>(1).Forward([5.0, -2.0]));
        Refused<ArgumentException>(() => new CenterOnly<double>(3).Forward(new double[7]), "x", "CenterOnly: length 7 is not a multiple of 3.");
    }

    [Fact]
    public void Pooling()
    {
        Refused<ArgumentOutOfRangeException>(() => new MaxPool2d<double>(0), "size", "Pool size must be >= 1.");
        Refused<ArgumentOutOfRangeException>(() => new AvgPool2d<double>(0), "size", "Pool size must be >= 1.");
        // Size 1 is the identity.
        Assert.Equal([1.0, -2.0], new MaxPool2d<double>(1).Forward([1.0, -2.0], 1, 1, 1, 2));
        Assert.Equal([1.0, -2.0], new AvgPool2d<double>(1).Forward([1.0, -2.0], 1, 1, 1, 2));

        var max = new MaxPool2d<double>();
        var avg = new AvgPool2d<double>();
        var gap = new GlobalAvgPool<double>();
        Refused<InvalidOperationException>(() => max.Backward(new double[1]), null, "MaxPool2d.Backward before Forward.");
        Refused<InvalidOperationException>(() => avg.Backward(new double[1]), null, "AvgPool2d.Backward before Forward.");
        Refused<InvalidOperationException>(() => gap.Backward(new double[1]), null, "GlobalAvgPool.Backward before Forward.");
        Refused<ArgumentException>(() => max.Forward(new double[15], 1, 1, 4, 4), "x", "MaxPool2d: x needs 1×1×4×4 elements, got 15.");
        Refused<ArgumentException>(() => avg.Forward(new double[15], 1, 1, 4, 4), "x", "AvgPool2d: x needs 1×1×4×4 elements, got 15.");
        Refused<ArgumentException>(() => gap.Forward(new double[15], 1, 1, 4, 4), "x", "GlobalAvgPool: x needs 1×1×4×4 elements, got 15.");
        max.Forward(new double[16], 1, 1, 4, 4);
        avg.Forward(new double[16], 1, 1, 4, 4);
        gap.Forward(new double[16], 1, 1, 4, 4);
        Refused<ArgumentException>(() => max.Backward(new double[3]), "dy", "MaxPool2d.Backward: dy needs 4 elements (the last forward's output), got 3.");
        Refused<ArgumentException>(() => avg.Backward(new double[5]), "dy", "AvgPool2d.Backward: dy needs 4 elements");
        Refused<ArgumentException>(() => gap.Backward(new double[2]), "dy", "GlobalAvgPool.Backward: dy needs 1 elements");
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.0)]
    [InlineData(double.NaN)]
    public void DropoutProbability(double p) =>
        Refused<ArgumentOutOfRangeException>(() => new Dropout<double>(p, 1), "p", "Dropout probability must be in [0, 1).");

    [Fact]
    public void DropoutOfZeroReturnsItsInputAndChecksTheGradient()
    {
        var d = new Dropout<double>(0, 1) { Training = true };
        Refused<InvalidOperationException>(() => d.Backward(new double[2]), null, "Dropout.Backward before Forward.");
        double[] x = [1, 2, 3];
        Assert.Same(x, d.Forward(x));
        double[] dy = [4, 5, 6];
        Assert.Same(dy, d.Backward(dy));
        Refused<ArgumentException>(() => d.Backward(new double[2]), "dy", "Dropout.Backward: dy needs 3 elements (the last forward's output), got 2.");
        // An empty input is a forward like any other.
        Assert.Empty(d.Backward(d.Forward([])));
        var active = new Dropout<double>(0.5, 1) { Training = true };
        active.Forward(x);
        Refused<ArgumentException>(() => active.Backward(new double[4]), "dy", "got 4.");
    }

    [Theory]
    [InlineData(ActivationKind.Relu, "Relu")]
    [InlineData(ActivationKind.Gelu, "Gelu")]
    [InlineData(ActivationKind.Tanh, "Tanh")]
    public void Activations(ActivationKind kind, string name)
    {
        var act = Activation<float>.Create(kind);
        Refused<InvalidOperationException>(() => act.Backward(new float[4]), null, $"{name}.Backward before Forward.");
        act.Forward(new float[40]);
        // Shorter (the float ReLU's vector loop would read past it) and longer gradients are both refused.
        Refused<ArgumentException>(() => act.Backward(new float[3]), "dy", $"{name}.Backward: dy needs 40 elements (the last forward's output), got 3.");
        Refused<ArgumentException>(() => act.Backward(new float[41]), "dy", "got 41.");
    }

    [Fact]
    public void UnknownActivation() =>
        Refused<ArgumentOutOfRangeException>(() => Activation<double>.Create((ActivationKind)99), "kind", "Unknown activation.");

    [Fact]
    public void AttentionHeads()
    {
        Refused<ArgumentException>(() => new CausalSelfAttention<double>("attn", 8, 0, R), "heads", "CausalSelfAttention attn: dim 8 must be a multiple of heads 0.");
        Refused<ArgumentException>(() => new CausalSelfAttention<double>("attn", 8, 3, R), "heads", "dim 8 must be a multiple of heads 3.");
        var one = new CausalSelfAttention<double>("attn", 2, 1, R);
        Assert.Equal(1, one.Heads);
        Refused<InvalidOperationException>(() => one.Backward(new double[2]), null, "CausalSelfAttention.Backward before Forward.");
    }

    [Fact]
    public void SoftmaxCrossEntropy()
    {
        var ce = new SoftmaxCrossEntropy<double>();
        Refused<InvalidOperationException>(() => ce.Backward(), null, "SoftmaxCrossEntropy.Backward before Forward.");
        Refused<ArgumentException>(() => ce.Forward([], [], 0), "logits", "SoftmaxCrossEntropy: logits need 0×0 elements, got 0.");
        Refused<ArgumentException>(() => ce.Forward(new double[5], [0, 1], 3), "logits", "logits need 2×3 elements, got 5.");
        Refused<ArgumentOutOfRangeException>(() => ce.Forward(new double[6], [0, 3], 3), "targets", "SoftmaxCrossEntropy: target 3 at row 1 is outside [0, 3).");
        Refused<ArgumentOutOfRangeException>(() => ce.Forward(new double[6], [-1, 0], 3), "targets", "target -1 at row 0");
        // One class: probability 1, loss 0.
        Assert.Equal(0.0, ce.Forward([2.5, -1.0], [0, 0], 1));
    }

    [Fact]
    public void ZeroGradClearsEveryParameter()
    {
        var fc = new Linear<double>("fc", 3, 2, R);
        fc.Forward([1, 2, 3], 1);
        fc.Backward([1, 1]);
        Assert.All(fc.Parameters, p => Assert.Contains(p.Grad, g => g != 0));
        fc.ZeroGrad();
        Assert.All(fc.Parameters, p => Assert.All(p.Grad, g => Assert.Equal(0.0, g)));
    }
}
