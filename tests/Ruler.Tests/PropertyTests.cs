using FsCheck.Xunit;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Algebraic properties of rulers, over small generated shapes and data (FsCheck picks a seed and the dims; the data
/// comes from the seed). In float64 with eps = 1e-12 the invariances are exact up to eps/var ≈ 1e-10 and rounding,
/// so the tolerance is |Δ| ≤ 1e-7 (the inputs are uniform in [−1, 1] in groups of ≥ 4, so var ≳ 1e-4 in practice).
/// </summary>
public class PropertyTests
{
    private const double Eps = 1e-12;
    private const double Tolerance = 1e-7;

    private static int Pick(byte b, int lo, int hi) => lo + b % (hi - lo + 1);

    /// <summary>A normalizer case with small dims chosen by FsCheck; every group holds at least 4 values.</summary>
    private static NormCase Case(int kind, byte s1, byte s2, byte s3)
    {
        int n = Pick(s1, 2, 4), c = Pick(s2, 1, 4), sp = Pick(s3, 2, 5);
        return (kind % 7) switch
        {
            0 => NormCase.LayerNorm([n, c, sp + 2]),
            1 => NormCase.LayerNorm([n, c + 1, sp], normalizedRank: 2),
            2 => NormCase.RmsNorm([n, sp + 2]),
            3 => NormCase.BatchNorm([n, c, sp]),
            4 => NormCase.BatchNorm([n, 2, sp, c], ChannelLayout.ChannelsLast),
            5 => NormCase.GroupNorm([n, 2 * c, sp + 1], c),
            _ => NormCase.InstanceNorm([n, c, sp + 2]),
        };
    }

    /// <summary>x ~ U over <paramref name="count"/> elements, then γ ~ U[0.5, 1.5] and β ~ U over <paramref name="affineSize"/>, drawn from <paramref name="rng"/> in that order.</summary>
    private static (double[] X, double[] Gamma, double[] Beta) Draw(Random rng, int count, int affineSize) =>
        (TestData.Uniform(rng, count), TestData.Uniform(rng, affineSize, 0.5, 1.5), TestData.Uniform(rng, affineSize));

    private static double[] Forward(NormCase c, double[] x, double[] gamma, double[] beta) =>
        NormRun.Forward<double>(c, x, Eps, gamma, beta).Y;

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance,
                $"{what}: element {i}: {expected[i]:R} vs {actual[i]:R} (|Δ| {Math.Abs(expected[i] - actual[i]):G3} > {Tolerance})");
    }

    [Property(MaxTest = 100)]
    public void EveryNormalizerIsInvariantToShiftAndScalePerGroup(int seed, byte kind, byte s1, byte s2, byte s3)
    {
        // x → a_g·x + b_g with a_g ∈ [0.5, 4] and b_g ∈ [−5, 5] drawn independently for every group g of the ruler;
        // RMSNorm has no centering, so only b_g = 0 (pure scaling) leaves it unchanged.
        var c = Case(kind, s1, s2, s3);
        var rng = new Random(seed);
        var (x, gamma, beta) = Draw(rng, c.Count, c.AffineSize);
        var a = TestData.Uniform(rng, c.Groups, 0.5, 4);
        var b = c.Center ? TestData.Uniform(rng, c.Groups, -5, 5) : new double[c.Groups];
        var groupOf = c.GroupOfElements();
        var moved = x.Select((v, i) => a[groupOf[i]] * v + b[groupOf[i]]).ToArray();
        AssertClose(Forward(c, x, gamma, beta), Forward(c, moved, gamma, beta), $"{c.Id} under per-group a·x + b");
    }

    [Property(MaxTest = 60)]
    public void RmsNormIsNotShiftInvariant(int seed, byte s1, byte s3)
    {
        // The contrast that makes the property above meaningful for RMSNorm: a shift of 1 changes its output.
        var c = Case(2, s1, 0, s3);
        var rng = new Random(seed);
        var x = TestData.Uniform(rng, c.Count);
        var ones = Enumerable.Repeat(1.0, c.AffineSize).ToArray();
        var y = Forward(c, x, ones, ones);
        var shifted = Forward(c, x.Select(v => v + 1).ToArray(), ones, ones);
        Assert.True(y.Zip(shifted, (p, q) => Math.Abs(p - q)).Max() > 1e-2, "RMSNorm ignored a shift");
    }

    [Property(MaxTest = 60)]
    public void GroupNormWithOneGroupEqualsLayerNormOverChannelsAndSpace(int seed, byte s1, byte s2, byte s3)
    {
        int n = Pick(s1, 1, 3), ch = Pick(s2, 1, 5), h = Pick(s3, 1, 3), w = Pick((byte)(s3 / 4), 2, 3);
        int[] shape = [n, ch, h, w];
        var rng = new Random(seed);
        var (x, gamma, beta) = Draw(rng, TestData.Count(shape), ch);
        var gn = NormCase.GroupNorm(shape, 1);
        var ln = NormCase.LayerNorm(shape, normalizedRank: 3);
        // LayerNorm's affine is per element of (C, H, W): give every spatial position its channel's γ and β.
        var gammaLn = Enumerable.Range(0, ch * h * w).Select(i => gamma[i / (h * w)]).ToArray();
        var betaLn = Enumerable.Range(0, ch * h * w).Select(i => beta[i / (h * w)]).ToArray();
        AssertClose(Forward(ln, x, gammaLn, betaLn), Forward(gn, x, gamma, beta), "GroupNorm(G=1) vs LayerNorm(C,H,W)");
    }

    [Property(MaxTest = 60)]
    public void GroupNormWithOneChannelPerGroupEqualsInstanceNorm(int seed, byte s1, byte s2, byte s3)
    {
        int n = Pick(s1, 1, 3), ch = Pick(s2, 1, 5), sp = Pick(s3, 2, 7);
        int[] shape = [n, ch, sp];
        var rng = new Random(seed);
        var (x, gamma, beta) = Draw(rng, TestData.Count(shape), ch);
        AssertClose(Forward(NormCase.InstanceNorm(shape), x, gamma, beta), Forward(NormCase.GroupNorm(shape, ch), x, gamma, beta),
            "GroupNorm(G=C) vs InstanceNorm");
    }

    [Property(MaxTest = 100)]
    public void OnlyBatchNormOutputOfSampleZeroDependsOnTheOtherSamples(int seed, byte kind, byte s1, byte s2, byte s3)
    {
        // Replace samples 1.. of the batch (drawn from another distribution); sample 0's output must change under
        // BatchNorm in training mode (> 1e-2) and stay bitwise the same under LN, RMS, GN and IN.
        var c = Case(kind, s1, s2, s3);
        var rng = new Random(seed);
        var (x, gamma, beta) = Draw(rng, c.Count, c.AffineSize);
        int perSample = c.Count / c.Shape[0];
        var other = (double[])x.Clone();
        TestData.Uniform(rng, c.Count - perSample, 2, 6).CopyTo(other, perSample);
        var y0 = Forward(c, x, gamma, beta)[..perSample];
        var y1 = Forward(c, other, gamma, beta)[..perSample];
        if (c.Name.StartsWith("BatchNorm"))
            Assert.True(y0.Zip(y1, (p, q) => Math.Abs(p - q)).Max() > 1e-2, $"{c.Id}: sample 0 did not notice its batch");
        else
            Approx.Bitwise(y0, y1, $"{c.Id}: sample 0 output with other samples replaced");
    }
}
