namespace Ruler.Nn.Tests;

public class VectorOpsTests
{
    [Theory]
    [InlineData(5)]
    [InlineData(8)]
    [InlineData(37)]
    [InlineData(29)] // 16 + 8 + 4 + 1: every vector width of the exp pass, then the scalar tail
    [InlineData(61)]
    public void FloatSoftmaxMatchesDoubleAndFlushesNegligibleTermsToZero(int length)
    {
        var rng = new Rng(1);
        var d = GradCheck.Gaussian(rng, length, 3);
        d[length / 2] = -1000; // weight e^-1000 relative to the max: below the float cutoff
        var f = Array.ConvertAll(d, v => (float)v);
        VectorOps.Softmax<float>(f, 1f);
        VectorOps.Softmax<double>(d, 1.0);
        Assert.Equal(0f, f[length / 2]);
        Assert.True(d[length / 2] == 0 || d[length / 2] < 1e-300);
        Assert.Equal(1.0, f.Sum(v => (double)v), 5);
        for (int i = 0; i < length; i++) Assert.True(Math.Abs(f[i] - d[i]) <= 1e-6, $"{i}: {f[i]} vs {d[i]}");
        Assert.All(f, v => Assert.True(v == 0 || float.IsNormal(v)));
    }

    [Fact]
    public void SoftmaxBackwardIsTheSoftmaxJacobianTransposeTimesTheGradient()
    {
        var rng = new Rng(2);
        int n = 11;
        var p = GradCheck.Gaussian(rng, n);
        VectorOps.Softmax<double>(p, 0.5);
        var g = GradCheck.Gaussian(rng, n);
        var d = (double[])g.Clone();
        VectorOps.SoftmaxBackward<double>(p, d, 0.5);
        // J[i,j] = ∂p_j/∂z_i = scale·p_j·(δ_ij − p_i), so (Jᵀg)_i = scale·p_i·(g_i − Σ_j p_j g_j).
        for (int i = 0; i < n; i++)
        {
            double expected = 0;
            for (int j = 0; j < n; j++) expected += 0.5 * p[j] * ((i == j ? 1 : 0) - p[i]) * g[j];
            Assert.Equal(expected, d[i], 12);
        }
    }
}
