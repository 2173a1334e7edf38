using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// A module's Backward is right only for an input with the statistics its Forward saved. It is refused
/// (ArgumentException naming x, nothing written) after an in-place forward, for another tensor of the same shape, for
/// the same tensor changed since (by 1e-6 in one element), and for another shape with the same group count; a copy
/// of the input (other memory, same values) is accepted and gives the same gradients as the original, and an input
/// whose groups hold the same values in another order (same statistics) gets the gradient at that input.
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
        AssertRefused(ln, b, [2, 8], dy, "another tensor");
    }

    [Fact]
    public void BackwardOnTheInputChangedSinceTheForwardIsRefused()
    {
        var (a, dy) = Data(16, 5);
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        a[13] += 1e-6;
        AssertRefused(ln, a, [2, 8], dy, "changed since");
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
        var gradOriginal = ln.Weight.Grad.ToArray();
        ln.ZeroGrad();
        var dxCopy = new double[16];
        ln.Backward((double[])a.Clone(), [2, 8], dy, dxCopy);
        Approx.Bitwise(dxOriginal, dxCopy, "dx from a copy of the input");
        Approx.Bitwise(gradOriginal, ln.Weight.Grad, "dγ from a copy of the input");

        // And the accepted result is the oracle's (1e-12 relative): the check refuses only what would be wrong.
        var oracle = Oracle.Backward(a, [2, 8], i => i[0], 2, i => i[1], 8, true, 1e-5, Enumerable.Repeat(1.0, 8).ToArray(), dy);
        Approx.Elementwise(oracle.Dx, dxCopy, 1e-12, 1e-12, "dx vs the oracle");
    }

    [Fact]
    public void AnInputWithTheSameStatisticsGetsTheGradientAtThatInput()
    {
        var (a, dy) = Data(16, 12);
        var swapped = (double[])a.Clone();
        (swapped[1], swapped[6]) = (swapped[6], swapped[1]);   // same row, so the same mean and variance
        var ln = new LayerNorm<double>([8]);
        ln.Forward(a, [2, 8], new double[16]);
        var dx = new double[16];
        ln.Backward(swapped, [2, 8], dy, dx);
        var oracle = Oracle.Backward(swapped, [2, 8], i => i[0], 2, i => i[1], 8, true, 1e-5, Enumerable.Repeat(1.0, 8).ToArray(), dy);
        Approx.Elementwise(oracle.Dx, dx, 1e-12, 1e-12, "dx at the permuted input vs the oracle");
        Approx.Elementwise(oracle.Dgamma, ln.Weight.Grad, 1e-12, 1e-12, "dγ at the permuted input vs the oracle");
    }

    [Fact]
    public void WithoutStatisticsOfTheInputBackwardIsTheGradientAtTheInputItIsGiven()
    {
        // Eval mode with running statistics: y = (x − rm)·r·γ + β, so Backward(b) after Forward(a) is the exact gradient at b,
        // the same bits as after Forward(b).
        var (a, dy) = Data(24, 9);
        var (b, _) = Data(24, 10);
        var bn = new BatchNorm<double>(3);
        bn.Forward(a, [2, 3, 4], new double[24]);
        bn.Training = false;
        bn.Forward(a, [2, 3, 4], new double[24]);
        var dxAcross = new double[24];
        bn.Backward(b, [2, 3, 4], dy, dxAcross);
        var gradAcross = bn.Weight.Grad.ToArray();
        bn.ZeroGrad();
        bn.Forward(b, [2, 3, 4], new double[24]);
        var dxAtB = new double[24];
        bn.Backward(b, [2, 3, 4], dy, dxAtB);
        Approx.Bitwise(dxAtB, dxAcross, "eval-mode dx at b");
        Approx.Bitwise(bn.Weight.Grad, gradAcross, "eval-mode dγ at b");
        // An in-place eval forward is still refused: x no longer holds the forward's input.
        bn.Forward(a, [2, 3, 4], a);
        AssertRefused(bn, a, [2, 3, 4], dy, "in place");
    }

    [Fact]
    public void TurningVerificationOffSkipsOnlyTheValueCheck()
    {
        var (a, dy) = Data(16, 11);
        var ln = new LayerNorm<double>([8]) { VerifyBackwardInput = false };
        ln.Forward(a, [2, 8], new double[16]);
        a[3] += 1;   // the caller broke the promise: not detected, by request
        ln.Backward(a, [2, 8], dy, new double[16]);
        ln.Forward(a, [2, 8], a);
        AssertRefused(ln, a, [2, 8], dy, "in place");
        ln.Forward(a, [2, 8], new double[16]);
        AssertRefused(ln, a, [4, 4], dy, "shape [2, 8]");
    }
}
