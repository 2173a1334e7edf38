using Ruler.Internal;
using Ruler.Tests.Support;

namespace Ruler.Tests.Mutation;

/// <summary>
/// The moments are exact on ill-conditioned groups, against exact rational arithmetic: the mean is the exact mean
/// rounded once (within half an ulp, plus 1e-3 ulp of slack for the final division), M2 is within 1e-12 of the exact
/// Σ(x − μ)² relative, and a constant group has exactly its value as mean and M2 = 0. Inputs are large offsets with
/// spreads of a few ulps, where a plain Σx/n loses several ulps of the mean and an uncorrected two-pass M2 is off by
/// tens of percent. Checked for the reference kernel (groups interleaved), <see cref="GroupMoments.Of"/> and the
/// public <see cref="RulerOps.Moments{T}"/>.
/// </summary>
public class MomentsExactnessTests
{
    private const double M2Tolerance = 1e-12, OutlierMeanTolerance = 1e-14;

    /// <summary>Groups of values a + k·ulp(a), a = 2^50 (ulp 0.25), k random in [0, 7]: sums of 64 of them round.</summary>
    private static double[] IllConditioned(int seed, int count, double offset = 1L << 50)
    {
        var rng = new Random(seed);
        double ulp = Math.BitIncrement(offset) - offset;
        var x = new double[count];
        for (int i = 0; i < count; i++) x[i] = offset + rng.Next(8) * ulp;
        return x;
    }

    private static (Rational Mean, Rational M2) Exact(IEnumerable<double> values)
    {
        var xs = values.Select(Rational.From).ToArray();
        var n = new Rational(xs.Length, 1);
        var mean = xs.Aggregate(Rational.Zero, (s, v) => s + v) / n;
        var m2 = xs.Aggregate(Rational.Zero, (s, v) => s + (v - mean) * (v - mean));
        return (mean, m2);
    }

    /// <summary>Count exact, M2 within <see cref="M2Tolerance"/> relative; the mean within half an ulp, or within
    /// <paramref name="meanRelative"/> relative when given.</summary>
    private static void AssertExact(IEnumerable<double> group, GroupMoments m, string what, double? meanRelative = null)
    {
        var values = group.ToArray();
        var (mean, m2) = Exact(values);
        Assert.Equal(values.Length, m.Count);
        double ulp = Math.BitIncrement(Math.Abs(m.Mean)) - Math.Abs(m.Mean);
        double meanError = Math.Abs((Rational.From(m.Mean) - mean).ToDouble());
        if (meanRelative is double relative)
            Assert.True(meanError <= relative * Math.Abs(mean.ToDouble()), $"{what}: mean {m.Mean:R}, relative error {meanError / Math.Abs(mean.ToDouble()):E2}");
        else
            Assert.True(meanError <= 0.501 * ulp, $"{what}: mean {m.Mean:R} is {meanError / ulp:F3} ulp from the exact mean {mean.ToDouble():R}");
        double exactM2 = m2.ToDouble();
        Assert.True(exactM2 > 0, $"{what}: the case must have spread");
        double m2Error = Math.Abs((Rational.From(m.M2) - m2).ToDouble()) / exactM2;
        Assert.True(m2Error <= M2Tolerance, $"{what}: M2 {m.M2:R} vs exact {exactM2:R}, relative error {m2Error:E2}");
    }

    [Fact]
    public void ReferenceKernelMomentsOfInterleavedGroupsAreExact()
    {
        // Shape (64, 3) reduced over axis 0: three groups whose elements interleave (group = column).
        int[] shape = [64, 3];
        var x = IllConditioned(1, 64 * 3);
        for (int i = 0; i < x.Length; i++) x[i] += (i % 3) * 1024.0;    // a different offset per group
        var layout = new RulerSpec([0]).Resolve(shape);
        var moments = new GroupMoments[3];
        ReferenceKernels.Moments<double>(layout, x, moments);
        for (int g = 0; g < 3; g++) AssertExact(x.Where((_, i) => i % 3 == g), moments[g], $"reference group {g}");
    }

    [Fact]
    public void ReferenceKernelMomentsOfAnOffByOneUlpGroupNeedTheTwoPassCorrection()
    {
        // {a, a+u, a+u}: the mean a + 2u/3 rounds to a + u, so Σd = −u ≠ 0 and Σd² alone is 50% above the exact M2 = 2u²/3.
        double a = 1L << 50, u = Math.BitIncrement(a) - a;
        double[] x = [a, a + u, a + u, 7, 7, 9];    // and a second, well-conditioned group
        var layout = new RulerSpec([1]).Resolve([2, 3]);
        var moments = new GroupMoments[2];
        ReferenceKernels.Moments<double>(layout, x, moments);
        AssertExact(x[..3], moments[0], "reference {a, a+u, a+u}");
        Assert.Equal(2 * u * u / 3, moments[0].M2, 1e-12 * u * u);
        AssertExact(x[3..], moments[1], "reference {7, 7, 9}");

        var of = GroupMoments.Of(x.AsSpan(0, 3));
        AssertExact(x[..3], of, "GroupMoments.Of {a, a+u, a+u}");
    }

    [Fact]
    public void ReferenceKernelMeanOfAConstantGroupIsItsValueExactly()
    {
        // 1e15 + 0.125 (ulp 0.125): n copies do not sum exactly, yet the mean must be the value and M2 zero.
        double c = 1e15 + 0.125, d = -3e15 - 0.5;
        var x = new double[2 * 37];
        for (int i = 0; i < x.Length; i++) x[i] = i % 2 == 0 ? c : d;
        var layout = new RulerSpec([0]).Resolve([37, 2]);
        var moments = new GroupMoments[2];
        ReferenceKernels.Moments<double>(layout, x, moments);
        Assert.Equal(new GroupMoments(37, c, 0), moments[0]);
        Assert.Equal(new GroupMoments(37, d, 0), moments[1]);
        Assert.Equal(new GroupMoments(37, c, 0), GroupMoments.Of(Enumerable.Repeat(c, 37).ToArray()));
    }

    [Fact]
    public void GroupMomentsOfAnIllConditionedListIsExact()
    {
        for (int seed = 0; seed < 4; seed++)
        {
            var x = IllConditioned(10 + seed, 64 + seed);
            AssertExact(x, GroupMoments.Of(x), $"GroupMoments.Of seed {seed}");
        }
        Assert.Equal(default, GroupMoments.Of([]));
    }

    [Theory]
    [InlineData(new[] { 4, 64 }, new[] { 1 })]          // rows
    [InlineData(new[] { 64, 4 }, new[] { 0 })]          // columns
    [InlineData(new[] { 8, 4, 8 }, new[] { 0, 2 })]     // planes
    public void RulerOpsMomentsOfIllConditionedGroupsAreExact(int[] shape, int[] reduced)
    {
        int count = shape.Aggregate(1, (p, d) => p * d);
        AssertRulerOpsMomentsExact(shape, reduced, IllConditioned(20 + shape[0], count));
    }

    /// <summary>RulerOps.Moments of x on the ruler reducing <paramref name="reduced"/>, each group against <see cref="AssertExact"/>;
    /// <paramref name="prepare"/> may change x once the group of each element is known.</summary>
    private static void AssertRulerOpsMomentsExact(int[] shape, int[] reduced, double[] x, double? meanRelative = null,
        Action<double[], int[], int>? prepare = null)
    {
        var ruler = new RulerSpec(reduced);
        var layout = ruler.Resolve(shape);
        var (group, _) = layout.IndexMaps();
        prepare?.Invoke(x, group, layout.GroupCount);
        var moments = new GroupMoments[layout.GroupCount];
        RulerOps.Moments<double>(ruler, x, shape, moments);
        for (int g = 0; g < layout.GroupCount; g++)
            AssertExact(x.Where((_, i) => group[i] == g), moments[g], $"RulerOps.Moments {string.Join('x', shape)} group {g}", meanRelative);
    }

    /// <summary>
    /// Groups of 4096 whose first element (the kernels' shift) is an outlier 1e9 away from the others (Σd²/M2 ≈ n, over
    /// the 256 at which the fast kernels measure the group again around its mean): rows and columns. The mean is within
    /// <see cref="OutlierMeanTolerance"/> of the exact mean, relative (the second pass sums deviations as large as the
    /// outlier: measured 4–14 ulp, ~1e-15), M2 within <see cref="M2Tolerance"/>; without the second pass the mean is off
    /// by ~1e-12 relative.
    /// </summary>
    [Theory]
    [InlineData(new[] { 2, 4096 }, new[] { 1 })]        // rows
    [InlineData(new[] { 4096, 2 }, new[] { 0 })]        // columns
    public void RulerOpsMomentsOfGroupsWithAnOutlierFirstElementAreExact(int[] shape, int[] reduced)
    {
        int count = shape.Aggregate(1, (p, d) => p * d);
        AssertRulerOpsMomentsExact(shape, reduced, TestData.Normal(new Random(30 + shape[0]), count), OutlierMeanTolerance,
            (x, group, groups) => { for (int g = 0; g < groups; g++) x[Array.IndexOf(group, g)] = 1e9 * (g + 1); });
    }

    [Fact]
    public void CombinedMomentsWeighTheGroupsByTheirCounts()
    {
        // Unequal counts: the combined mean and M2 must weigh by n_a, n_b (Chan), checked exactly on small integers.
        double[] a = [1, 2, 3, 10], b = [-4, 6];
        var combined = GroupMoments.Combine(GroupMoments.Of(a), GroupMoments.Of(b));
        var whole = a.Concat(b).ToArray();
        var (mean, m2) = Exact(whole);
        Assert.Equal(6, combined.Count);
        Assert.Equal(mean.ToDouble(), combined.Mean, 1e-15);
        Assert.Equal(m2.ToDouble(), combined.M2, 1e-12);
        var reversed = GroupMoments.Combine(GroupMoments.Of(b), GroupMoments.Of(a));
        Assert.Equal(mean.ToDouble(), reversed.Mean, 1e-15);
        Assert.Equal(m2.ToDouble(), reversed.M2, 1e-12);
    }

    [Fact]
    public void VarianceFormsOfOneAndTwoValues()
    {
        var one = new GroupMoments(1, 3, 0);
        Assert.Equal(0, one.Variance);
        Assert.True(double.IsNaN(one.UnbiasedVariance));
        Assert.Equal(9, one.MeanSquare);
        var two = GroupMoments.Of([1.0, 3.0]);
        Assert.Equal(1, two.Variance);
        Assert.Equal(2, two.UnbiasedVariance);
        Assert.Equal(5, two.MeanSquare);
        var none = default(GroupMoments);
        Assert.True(double.IsNaN(none.Variance) && double.IsNaN(none.UnbiasedVariance) && double.IsNaN(none.MeanSquare));
    }
}
