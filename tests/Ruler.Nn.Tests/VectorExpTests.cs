using System.Runtime.Intrinsics;

namespace Ruler.Nn.Tests;

public class VectorExpTests
{
    [Fact]
    public void RelativeErrorIsWithinFourUlpsOverTheNormalRange()
    {
        // 200,001 points over [−87, 88]: float rounding of the argument reduction and the polynomial keeps the
        // error within a few ulps (1 ulp = 2^-23 ≈ 1.2e-7 relative).
        double worst = 0;
        for (int i = 0; i <= 200_000; i += 8)
        {
            var x = new float[8];
            for (int j = 0; j < 8; j++) x[j] = (float)(-87 + 175.0 * Math.Min(i + j, 200_000) / 200_000);
            var y = VectorExp.Exp(Vector256.Create(x));
            for (int j = 0; j < 8; j++) worst = Math.Max(worst, Math.Abs(y[j] / Math.Exp(x[j]) - 1));
        }
        Assert.True(worst <= 4.8e-7, $"worst relative error {worst:E2}");
    }

    [Fact]
    public void ExtremesAreClampedToFiniteValues()
    {
        var y = VectorExp.Exp(Vector256.Create(float.NegativeInfinity, -1000f, -88f, 0f, 1f, 88f, 1000f, float.PositiveInfinity));
        Assert.Equal(1f, y[3]);
        Assert.Equal(MathF.E, y[4], 6);
        Assert.All(new[] { y[0], y[1], y[2] }, v => Assert.InRange(v, 0f, 1e-38f));
        Assert.All(new[] { y[5], y[6], y[7] }, v => Assert.True(float.IsFinite(v) && v > 1e38f));
    }
}
