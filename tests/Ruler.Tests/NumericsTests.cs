using Ruler.Internal;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Hard inputs for every normalizer, each compared with the tests' independent float64 <see cref="Oracle"/> run on the
/// very same input values (float inputs are widened exactly). Tolerances are stated per test.
/// </summary>
public class NumericsTests
{
    private const double Eps = 1e-5;

    public static TheoryData<string> Cases => NormCase.Names();

    private static (double[] Gamma, double[] Beta) Affine(NormCase c, Random rng) =>
        (TestData.Uniform(rng, c.AffineSize, 0.5, 1.5), TestData.Uniform(rng, c.AffineSize, -0.5, 0.5));

    /// <summary>
    /// The oracle and the library in storage <typeparamref name="T"/> on the same values: x ~ Normal(mean, spread)
    /// from <paramref name="seed"/> rounded to T, then the random affine, itself rounded to T when <paramref name="roundAffine"/>.
    /// </summary>
    private static (Oracle.Result Expected, NormRun.Output Got) Compare<T>(string id, int seed, double mean, double spread,
        bool roundAffine = false) where T : unmanaged
    {
        var c = NormCase.ById(id);
        var rng = new Random(seed);
        var x = TestData.RoundTo<T>(TestData.Normal(rng, c.Count, mean, spread));
        var (gamma, beta) = Affine(c, rng);
        if (roundAffine) (gamma, beta) = (TestData.RoundTo<T>(gamma), TestData.RoundTo<T>(beta));
        return (c.Reference(x, Eps, gamma, beta), NormRun.Forward<T>(c, x, Eps, gamma, beta));
    }

    /// <summary>The forward in float (<paramref name="single"/>) or double.</summary>
    private static NormRun.Output Forward(bool single, NormCase c, double[] x, double[] gamma, double[] beta) =>
        single ? NormRun.Forward<float>(c, x, Eps, gamma, beta) : NormRun.Forward<double>(c, x, Eps, gamma, beta);

    /// <summary>Float data ~ Normal(0.5, 2) and float affine: |Δ| ≤ 1e-6 + 1e-5·|ref| for y and mean, 1e-5 relative for rstd.</summary>
    private static void AssertFloatWithin1e5(string id, int seed)
    {
        var (expected, got) = Compare<float>(id, seed, 0.5, 2, roundAffine: true);
        Approx.Elementwise(expected.Y, got.Y, 1e-6, 1e-5, $"{id} y");
        Approx.Elementwise(expected.Mean, got.Mean, 1e-6, 1e-5, $"{id} mean");
        Approx.Elementwise(expected.Rstd, got.Rstd, 0, 1e-5, $"{id} rstd");
    }

    /// <summary>Float data with offset 1e4 and spread 1e-2: y norm-wise and rstd element-wise within 1e-4 relative.</summary>
    private static void AssertFloatOffset1e4Within1e4(string id, int seed)
    {
        var (expected, got) = Compare<float>(id, seed, 1e4, 1e-2);
        Approx.NormwiseRelative(expected.Y, got.Y, 1e-4, $"{id} y");
        Approx.Elementwise(expected.Rstd, got.Rstd, 0, 1e-4, $"{id} rstd");
    }

    [Theory, MemberData(nameof(Cases))]
    public void LargeOffsetWithUnitSpreadInDoubleStaysWithin1e5OfTheReference(string id)
    {
        // Offset 1e8, spread ~1: a one-pass E[x²] − E[x]² in double would lose all digits of the variance.
        var (expected, got) = Compare<double>(id, 11, 1e8, 1);
        Approx.NormwiseRelative(expected.Y, got.Y, 1e-5, $"{id} y");
        Approx.Elementwise(expected.Rstd, got.Rstd, 0, 1e-5, $"{id} rstd");
    }

    [Theory, MemberData(nameof(Cases))]
    public void ModerateOffsetWithSmallSpreadInFloatStaysWithin1e4OfTheReference(string id)
    {
        // Offset 1e4, spread 1e-2 in float32: the variance (1e-4) is 1e-12 of the mean square.
        AssertFloatOffset1e4Within1e4(id, 12);
    }

    public static TheoryData<string, double, bool> ExtremeCases()
    {
        var data = new TheoryData<string, double, bool>();
        foreach (var id in NormCase.All().Select(c => c.Id))
            foreach (double scale in new[] { 1e30, 1e-30 })
                foreach (bool single in new[] { true, false })
                    data.Add(id, scale, single);
        return data;
    }

    [Theory, MemberData(nameof(ExtremeCases))]
    public void ExtremeMagnitudesNeitherOverflowNorProduceNaN(string id, double scale, bool single)
    {
        // |x| ~ 1e30 squares to 1e60 (beyond float32); |x| ~ 1e-30 squares to 1e-60 (below float32's range).
        // Tolerance: norm-wise relative 1e-5 against the reference on the same values; every output finite.
        var (expected, got) = single ? Compare<float>(id, 13, 0.5 * scale, scale) : Compare<double>(id, 13, 0.5 * scale, scale);
        Approx.NormwiseRelative(expected.Y, got.Y, 1e-5, $"{id} y at scale {scale}");
        Assert.All(got.Mean, m => Assert.True(double.IsFinite(m), $"saved mean {m}"));
        Assert.All(got.Rstd, r => Assert.True(double.IsFinite(r) && r > 0, $"saved rstd {r}"));
        Approx.Elementwise(expected.Rstd, got.Rstd, 0, 1e-5, $"{id} rstd at scale {scale}");
    }

    public static TheoryData<string, bool> CasesByPrecision()
    {
        var data = new TheoryData<string, bool>();
        foreach (var id in NormCase.All().Select(c => c.Id))
        {
            data.Add(id, true);
            data.Add(id, false);
        }
        return data;
    }

    [Theory, MemberData(nameof(CasesByPrecision))]
    public void ConstantGroupOutputsExactlyBeta(string id, bool single)
    {
        // Every other group is constant (a value with a long mantissa): its mean must be exactly that value, so
        // y = 0·rstd·γ + β = β bitwise. RMSNorm has no β and no centering: its constant groups are all-zero, y = 0.
        var c = NormCase.ById(id);
        var rng = new Random(14);
        var x = TestData.Normal(rng, c.Count, 3, 2);
        var groupOf = c.GroupOfElements();
        double constant = c.Center ? 12345.678901 : 0.0;
        for (int i = 0; i < x.Length; i++) if (groupOf[i] % 2 == 0) x[i] = constant;
        var (gamma, beta) = Affine(c, rng);
        var got = Forward(single, c, x, gamma, beta);
        var beta64 = single ? TestData.ToDouble(TestData.ToFloat(beta)) : beta;
        int[] affineOf = new int[x.Length];
        Oracle.ForEachIndex(c.Shape, (i, idx) => affineOf[i] = c.Affine(idx));
        for (int i = 0; i < x.Length; i++)
        {
            if (groupOf[i] % 2 != 0) continue;
            double want = c.HasBeta ? beta64[affineOf[i]] : 0.0;
            Assert.True(got.Y[i] == want, $"{id}: element {i} of constant group {groupOf[i]}: expected exactly {want:R}, got {got.Y[i]:R}");
        }
        Assert.All(got.Y, v => Assert.False(double.IsNaN(v)));
    }

    [Theory, MemberData(nameof(CasesByPrecision))]
    public void NaNInOneGroupLeavesEveryOtherGroupBitwiseUnchanged(string id, bool single)
    {
        var c = NormCase.ById(id);
        var rng = new Random(15);
        var x = TestData.Normal(rng, c.Count, 1, 3);
        var (gamma, beta) = Affine(c, rng);
        var groupOf = c.GroupOfElements();
        int poisoned = c.Groups / 2;
        var withNaN = (double[])x.Clone();
        withNaN[Array.IndexOf(groupOf, poisoned) + 0] = double.NaN;

        var clean = Forward(single, c, x, gamma, beta);
        var dirty = Forward(single, c, withNaN, gamma, beta);

        Approx.Bitwise(Keep(clean.Y, i => groupOf[i] != poisoned), Keep(dirty.Y, i => groupOf[i] != poisoned), $"{id} y outside the NaN group");
        Approx.Bitwise(Keep(clean.Mean, g => g != poisoned), Keep(dirty.Mean, g => g != poisoned), $"{id} saved mean of other groups");
        Approx.Bitwise(Keep(clean.Rstd, g => g != poisoned), Keep(dirty.Rstd, g => g != poisoned), $"{id} saved rstd of other groups");
        Assert.Contains(Keep(dirty.Y, i => groupOf[i] == poisoned), double.IsNaN);
        if (dirty.Module is BatchNorm<double> bn64) AssertRunningUnchangedExcept(bn64.Running!.Mean, ((BatchNorm<double>)clean.Module).Running!.Mean, poisoned);
        if (dirty.Module is BatchNorm<float> bn32)
        {
            var cleanRunning = ((BatchNorm<float>)clean.Module).Running!;
            AssertRunningUnchangedExcept(TestData.ToDouble(bn32.Running!.Mean), TestData.ToDouble(cleanRunning.Mean), poisoned);
            AssertRunningUnchangedExcept(TestData.ToDouble(bn32.Running!.Variance), TestData.ToDouble(cleanRunning.Variance), poisoned);
        }
    }

    private static void AssertRunningUnchangedExcept<T>(T[] dirty, T[] clean, int poisoned) where T : unmanaged
    {
        var d = TestData.ToDouble(dirty);
        var c = TestData.ToDouble(clean);
        Approx.Bitwise(Keep(c, k => k != poisoned), Keep(d, k => k != poisoned), "running statistics of other channels");
    }

    [Theory, MemberData(nameof(Cases))]
    public void FloatResultsOnRandomDataStayWithin1e5OfTheReference(string id)
    {
        // Tolerance per element: |y − y_ref| ≤ 1e-6 + 1e-5·|y_ref| (float32 output rounding is ~6e-8 relative).
        AssertFloatWithin1e5(id, 16);
    }

    [Theory, MemberData(nameof(Cases))]
    public void HalfInputsWhoseVarianceOverflowsHalfAreNormalizedCorrectly(string id)
    {
        // Half storage, |x| ~ 300: x² and the variance (~9e4) exceed Half's maximum 65504, so statistics must be
        // accumulated wider. Tolerance per element: |Δy| ≤ 4e-3 + 2e-3·|y_ref| (Half keeps 11 significant bits, ≈ 4.9e-4).
        var (expected, got) = Compare<Half>(id, 21, 100, 300, roundAffine: true);
        Approx.Elementwise(expected.Y, got.Y, 4e-3, 2e-3, $"{id} Half y");
        Approx.Elementwise(expected.Rstd, got.Rstd, 0, 1e-5, $"{id} Half rstd (float64 statistics of the Half values)");
    }

    [Theory, MemberData(nameof(Cases))]
    public void LibraryReferenceKernelsAgreeWithTheIndependentOracle(string id)
    {
        // The library's float64 reference is the oracle of its fast paths; check it against ours (1e-12, double).
        var c = NormCase.ById(id);
        var rng = new Random(17);
        var x = TestData.Normal(rng, c.Count, 2, 3);
        var (gamma, beta) = Affine(c, rng);
        var module = c.Create<double>(Eps, gamma, beta);
        var (ruler, view) = module.RulerFor(c.Shape);
        var layout = ruler.Resolve(view);
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments<double>(layout, x, moments);
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Statistics(ruler, moments, mean, rstd);
        var y = new double[x.Length];
        ReferenceKernels.Normalize<double>(layout, x, mean, rstd, gamma, c.HasBeta ? beta : default, y);
        var expected = c.Reference(x, Eps, gamma, beta);
        Approx.Elementwise(expected.Y, y, 1e-12, 1e-12, $"{id} y");
        Approx.Elementwise(expected.Mean, mean, 1e-12, 1e-12, $"{id} mean");
        Approx.Elementwise(expected.Rstd, rstd, 0, 1e-12, $"{id} rstd");
    }

    public static TheoryData<string> LargeCases => NormCase.LargeNames();

    [Theory, MemberData(nameof(LargeCases))]
    public void LargeFloatTensorsStayWithin1e5OfTheReference(string id)
    {
        // Same tolerance as on small tensors (|Δy| ≤ 1e-6 + 1e-5·|y_ref|), on sizes where fast paths vectorize and split work.
        AssertFloatWithin1e5(id, 18);
    }

    [Theory, MemberData(nameof(LargeCases))]
    public void LargeFloatTensorsWithOffset1e4AndSpread1e2StayWithin1e4OfTheReference(string id) =>
        AssertFloatOffset1e4Within1e4(id, 19);

    [Theory, MemberData(nameof(LargeCases))]
    public void LargeDoubleTensorsWithOffset1e8StayWithin1e5OfTheReference(string id)
    {
        var (expected, got) = Compare<double>(id, 20, 1e8, 1);
        Approx.NormwiseRelative(expected.Y, got.Y, 1e-5, $"{id} y");
    }

    [Theory, MemberData(nameof(LargeCases))]
    public void LargeTensorsKeepConstantGroupsExactAndNaNInsideItsGroup(string id) =>
        // The small-tensor tests, rerun at sizes that exercise the fast paths.
        ConstantGroupOutputsExactlyBetaAndNaNIsolation(id);

    private void ConstantGroupOutputsExactlyBetaAndNaNIsolation(string id)
    {
        ConstantGroupOutputsExactlyBeta(id, single: true);
        ConstantGroupOutputsExactlyBeta(id, single: false);
        NaNInOneGroupLeavesEveryOtherGroupBitwiseUnchanged(id, single: true);
        NaNInOneGroupLeavesEveryOtherGroupBitwiseUnchanged(id, single: false);
    }

    private static double[] Keep(double[] a, Func<int, bool> keep) => a.Where((_, i) => keep(i)).ToArray();
}
