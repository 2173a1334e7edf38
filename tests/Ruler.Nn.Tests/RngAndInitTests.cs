namespace Ruler.Nn.Tests;

public class RngAndInitTests
{
    [Fact]
    public void SameSeedSameStreamDifferentSeedDifferentStream()
    {
        var a = new Rng(123);
        var b = new Rng(123);
        var c = new Rng(124);
        var sa = Enumerable.Range(0, 100).Select(_ => a.NextUInt64()).ToArray();
        Assert.Equal(sa, Enumerable.Range(0, 100).Select(_ => b.NextUInt64()).ToArray());
        Assert.NotEqual(sa, Enumerable.Range(0, 100).Select(_ => c.NextUInt64()).ToArray());
    }

    [Fact]
    public void GaussianHasMeanZeroAndUnitVariance()
    {
        var rng = new Rng(7);
        const int n = 200_000;
        double sum = 0, sq = 0;
        for (int i = 0; i < n; i++)
        {
            double g = rng.NextGaussian();
            sum += g;
            sq += g * g;
        }
        // Standard errors: mean 1/√n ≈ 0.0022, variance √(2/n) ≈ 0.0032; bounds are ~5 standard errors.
        Assert.InRange(sum / n, -0.011, 0.011);
        Assert.InRange(sq / n - (sum / n) * (sum / n), 0.984, 1.016);
    }

    [Fact]
    public void NextIntCoversTheRangeUniformly()
    {
        var rng = new Rng(8);
        var counts = new int[7];
        for (int i = 0; i < 70_000; i++) counts[rng.NextInt(7)]++;
        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
    }

    [Fact]
    public void LinearAndConvFollowPyTorchDefaultBounds()
    {
        var rng = new Rng(9);
        var linear = new Linear<double>("fc", 400, 300, rng);
        double bound = 1 / Math.Sqrt(400);
        Assert.All(linear.Weight.Value, v => Assert.InRange(v, -bound, bound));
        Assert.All(linear.Bias!.Value, v => Assert.InRange(v, -bound, bound));
        // U(−b, b) has variance b²/3.
        double var = linear.Weight.Value.Select(v => v * v).Average();
        Assert.InRange(var, 0.97 * bound * bound / 3, 1.03 * bound * bound / 3);
        var conv = new Conv2d<double>("conv", 16, 32, 3, rng);
        double cb = 1 / Math.Sqrt(16 * 9);
        Assert.All(conv.Weight.Value, v => Assert.InRange(v, -cb, cb));
        Assert.True(conv.Weight.Value.Max() > 0.95 * cb);
    }

    [Fact]
    public void KaimingUniformHasVarianceTwoOverFanInForRelu()
    {
        var rng = new Rng(11);
        var w = new double[300 * 200];
        Init.KaimingUniform<double>(w, fanIn: 200, rng);
        double bound = Math.Sqrt(6.0 / 200);
        Assert.All(w, v => Assert.InRange(v, -bound, bound));
        Assert.InRange(w.Select(v => v * v).Average(), 0.97 * 2.0 / 200, 1.03 * 2.0 / 200);
    }

    [Fact]
    public void XavierUniformAndNormalHaveTheGlorotVariance()
    {
        var rng = new Rng(10);
        int fanIn = 256, fanOut = 128;
        double expected = 2.0 / (fanIn + fanOut);
        var u = new double[fanIn * fanOut];
        Init.XavierUniform<double>(u, fanIn, fanOut, rng);
        double bound = Math.Sqrt(6.0 / (fanIn + fanOut));
        Assert.All(u, v => Assert.InRange(v, -bound, bound));
        Assert.InRange(u.Select(v => v * v).Average(), 0.97 * expected, 1.03 * expected);
        var g = new double[fanIn * fanOut];
        Init.XavierNormal<double>(g, fanIn, fanOut, rng);
        Assert.InRange(g.Select(v => v * v).Average(), 0.97 * expected, 1.03 * expected);
    }
}
