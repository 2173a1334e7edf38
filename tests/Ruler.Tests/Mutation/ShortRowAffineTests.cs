namespace Ruler.Tests.Mutation;

/// <summary>
/// Short float rows whose γ, β change from row to row (GroupNorm on (N, C) with no spatial dims: a row is one group's
/// C/G channels, γ and β per channel, so consecutive rows use different slices) with only γ, only β, both and neither,
/// against a float64 reference: y = (x − mean)/√(var + eps)·γ + β per group, biased variance. Tolerance 1e-5·(1 + |y|)
/// (float rounding of a standardized value). Rows of 32 take the eight-rows-at-a-time kernel on AVX-512 (36 groups:
/// four full blocks and one of four) and the general row kernel elsewhere; the answer must be the same.
/// </summary>
public class ShortRowAffineTests
{
    private const double Tolerance = 1e-5, Eps = 1e-5;

    [Theory]
    [InlineData(true, true)]
    [InlineData(true, false)]
    [InlineData(false, true)]
    [InlineData(false, false)]
    public void GroupNormRowsWithPerGroupAffineMatchTheFloat64Reference(bool withGamma, bool withBeta)
    {
        const int n = 9, c = 128, groups = 4, perGroup = c / groups;
        var rng = new Random(withGamma ? withBeta ? 1 : 2 : withBeta ? 3 : 4);
        float[] x = Enumerable.Range(0, n * c).Select(_ => (float)(rng.NextDouble() * 6 - 1)).ToArray();
        float[] gamma = withGamma ? Enumerable.Range(0, c).Select(_ => (float)(rng.NextDouble() * 2 - 0.5)).ToArray() : [];
        float[] beta = withBeta ? Enumerable.Range(0, c).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray() : [];
        int[] view = RulerSpec.GroupNormView([n, c], groups);
        var ruler = RulerSpec.GroupNorm(eps: Eps);
        var y = new float[x.Length];
        var mean = new double[n * groups];
        var rstd = new double[n * groups];
        RulerOps.Forward<float>(ruler, x, view, gamma, beta, y, mean, rstd);

        for (int s = 0; s < n; s++)
            for (int g = 0; g < groups; g++)
            {
                int o = s * c + g * perGroup;
                double mu = 0, m2 = 0;
                for (int j = 0; j < perGroup; j++) mu += x[o + j];
                mu /= perGroup;
                for (int j = 0; j < perGroup; j++) m2 += (x[o + j] - mu) * (x[o + j] - mu);
                double r = 1 / Math.Sqrt(m2 / perGroup + Eps);
                for (int j = 0; j < perGroup; j++)
                {
                    int ch = g * perGroup + j;
                    double expected = (x[o + j] - mu) * r * (withGamma ? gamma[ch] : 1) + (withBeta ? beta[ch] : 0);
                    Assert.True(Math.Abs(y[o + j] - expected) <= Tolerance * (1 + Math.Abs(expected)),
                        $"sample {s} channel {ch}: {y[o + j]:R} vs reference {expected:R} (γ {withGamma}, β {withBeta})");
                }
            }
    }
}
