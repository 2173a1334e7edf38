using Ruler.Nn.Optim;

namespace Ruler.Nn.Tests;

public class OptimClippingTests
{
    private static double GlobalNorm(IEnumerable<Parameter<double>> ps) =>
        Math.Sqrt(ps.SelectMany(p => p.Grad).Sum(g => g * g));

    [Fact]
    public void LargeGradientsAreScaledToExactlyTheMaxNormAndKeepTheirDirection()
    {
        var a = new Parameter<double>("a", new double[2]);
        var b = new Parameter<double>("b", new double[1]);
        a.Grad[0] = 3; a.Grad[1] = 0; b.Grad[0] = -4; // global norm 5
        double before = GradientClipping.ClipByGlobalNorm([a, b], maxNorm: 1.0);
        Assert.Equal(5.0, before);
        Assert.Equal(1.0, GlobalNorm([a, b]), 1e-15);
        Assert.Equal(0.6, a.Grad[0], 1e-15);
        Assert.Equal(-0.8, b.Grad[0], 1e-15);
    }

    [Fact]
    public void FloatGradientsAreClippedToTheMaxNormWithinSinglePrecision()
    {
        var p = new Parameter<float>("w", new float[100]);
        for (int i = 0; i < 100; i++) p.Grad[i] = i - 50.5f;
        double before = GradientClipping.ClipByGlobalNorm([p], 2.5);
        Assert.Equal(Math.Sqrt(Enumerable.Range(0, 100).Sum(i => (i - 50.5) * (i - 50.5))), before, 1e-9);
        double after = Math.Sqrt(p.Grad.Sum(g => (double)g * g));
        Assert.Equal(2.5, after, 1e-6);
    }

    [Fact]
    public void GradientsWithinTheMaxNormAreLeftBitForBit()
    {
        var p = new Parameter<double>("w", new double[2]);
        p.Grad[0] = 0.3; p.Grad[1] = -0.4;
        Assert.Equal(0.5, GradientClipping.ClipByGlobalNorm([p], 1.0), 1e-15);
        Assert.Equal([0.3, -0.4], p.Grad);
    }

    [Fact]
    public void NonFiniteNormIsReturnedAndGradientsAreLeftForTheCallerToSkip()
    {
        var p = new Parameter<float>("w", new float[2]);
        p.Grad[0] = float.NaN; p.Grad[1] = 1f;
        Assert.True(double.IsNaN(GradientClipping.ClipByGlobalNorm([p], 1.0)));
        Assert.Equal(1f, p.Grad[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => GradientClipping.ClipByGlobalNorm([p], 0));
    }
}
