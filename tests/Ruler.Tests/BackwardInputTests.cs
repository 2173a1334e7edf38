using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// A module's Backward is right only for the input its Forward saw. It is refused (ArgumentException naming x,
/// nothing written) after an in-place forward, for another tensor of the same shape, for the same tensor changed
/// since, and for another shape with the same group count; a copy of the input (other memory, same values) is
/// accepted and gives the same gradients as the original.
/// </summary>
public class BackwardInputTests
{
    private static (double[] X, double[] Dy) Data(int n, int seed)
    {
        var rng = new Random(seed);
        return (TestData.Normal(rng, n, 1, 2), TestData.Normal(rng, n));
    }

    private static void AssertRefused(Normalizer<double> m, double[] x, int[] shape, double[] dy, string why)
    {
        var dx = new double[x.Length];
        Array.Fill(dx, 5);
        var grads = m.Parameters.Select(p => p.Grad.ToArray()).ToList();
        var e = Assert.Throws<ArgumentException>(() => m.Backward(x, shape, dy, dx));
        Assert.Equal("x", e.ParamName);
        Assert.Contains(why, e.Message);
        Assert.All(dx, v => Assert.Equal(5, v));
        for (int i = 0; i < grads.Count; i++) Assert.Equal(grads[i], m.Parameters[i].Grad);
    }

    [Fact]
    public void BackwardAfterAnInPlaceForwardIsRefused()
    {
        var (a, dy) = Data(16, 1);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], a);
        AssertRefused(ln, a, [2, 8], dy, "in place");

        var dyt = new DynamicTanh<double>([8]);
        var (b, _) = Data(16, 2);
        dyt.Forward(b, [2, 8], b);
        AssertRefused(dyt, b, [2, 8], dy, "in place");
    }

    [Fact]
    public void BackwardOnAnotherTensorOfTheSameShapeIsRefused()
    {
        var (a, dy) = Data(16, 3);
        var (b, _) = Data(16, 4);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        AssertRefused(ln, b, [2, 8], dy, "differ");
    }

    [Fact]
    public void BackwardOnTheInputChangedSinceTheForwardIsRefused()
    {
        var (a, dy) = Data(16, 5);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        a[13] = Math.BitIncrement(a[13]);
        AssertRefused(ln, a, [2, 8], dy, "differ");
    }

    [Fact]
    public void BackwardOnAnotherShapeWithTheSameGroupCountIsRefused()
    {
        var (a, dy) = Data(24, 6);
        var bn = new BatchNorm<double>(3);
        bn.Forward(a, [2, 3, 4], new double[24]);
        AssertRefused(bn, a, [4, 3, 2], dy, "shape [2, 3, 4]");
    }

    [Fact]
    public void BackwardAfterAFailedForwardIsRefused()
    {
        var (a, dy) = Data(16, 7);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        Assert.Throws<ArgumentException>(() => ln.Forward(a, [2, 8], new double[15]));
        Assert.Throws<InvalidOperationException>(() => ln.Backward(a, [2, 8], dy, new double[16]));
    }

    [Fact]
    public void BackwardOnACopyOfTheInputIsAcceptedAndGivesTheSameGradients()
    {
        var (a, dy) = Data(16, 8);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        var dxOriginal = new double[16];
        ln.Backward(a, [2, 8], dy, dxOriginal);
        var gradOriginal = ln.Weight!.Grad.ToArray();
        ln.ZeroGrad();
        var dxCopy = new double[16];
        ln.Backward((double[])a.Clone(), [2, 8], dy, dxCopy);
        Approx.Bitwise(dxOriginal, dxCopy, "dx from a copy of the input");
        Approx.Bitwise(gradOriginal, ln.Weight.Grad, "dγ from a copy of the input");

        // And the accepted result is the oracle's (1e-12 relative): the check refuses only what would be wrong.
        var oracle = Oracle.Backward(a, [2, 8], i => i[0], 2, i => i[1], 8, true, 1e-5, Enumerable.Repeat(1.0, 8).ToArray(), dy);
        Approx.Elementwise(oracle.Dx, dxCopy, 1e-12, 1e-12, "dx vs the oracle");
    }
}
