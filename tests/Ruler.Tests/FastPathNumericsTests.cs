using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The numerics the fast kernels promise, for rows (LayerNorm), planes (BatchNorm NCHW) and columns (BatchNorm
/// NHWC): constant groups, a large offset with a small spread, extreme magnitudes, and a NaN that stays in its group.
/// Every expectation is the float64 reference on the same input.
/// </summary>
public class FastPathNumericsTests
{
    public static TheoryData<string> Backends => TestBackends.Names();

    public static TheoryData<string, double> Magnitudes => TestBackends.Cross([1e30, 1e-30]);

    private static readonly (string Name, RulerSpec Ruler, int[] Shape)[] Layouts =
    [
        ("LayerNorm", RulerSpec.LayerNorm(), [6, 1000]),
        ("BatchNorm NCHW", RulerSpec.BatchNorm(4), [3, 6, 17, 19]),
        ("BatchNorm NHWC", RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast), [3, 17, 19, 6]),
        ("GroupNorm NHWC", RulerSpec.GroupNorm(ChannelLayout.ChannelsLast), [2, 300, 3, 4]),
    ];

    [Theory]
    [MemberData(nameof(Backends))]
    public void ConstantGroupsHaveTheirValueAsMeanAndOutputBetaExactly(string backend)
    {
        var b = TestBackends.Get(backend);
        foreach (var (name, ruler, shape) in Layouts)
        {
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Repeat(3.7f, (int)layout.Count).ToArray();
            var gamma = Enumerable.Range(0, layout.AffineSize).Select(i => 1 + 0.1f * i).ToArray();
            var beta = Enumerable.Range(0, layout.AffineSize).Select(i => 0.5f - 0.25f * i).ToArray();
            var (y, mean, _) = Fast(b, ruler, shape, x, gamma, beta);
            var (expected, _, _) = Reference(layout, x, gamma, beta);
            Assert.All(mean, m => Assert.Equal((double)3.7f, m));
            Assert.True(y.SequenceEqual(expected), $"{name}: y differs from β");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void FloatGroupsWithOffset1e4AndSpread1e2StayWithin1e4OfTheReference(string backend)
    {
        var b = TestBackends.Get(backend);
        var random = new Random(1);
        foreach (var (name, ruler, shape) in Layouts)
        {
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Range(0, (int)layout.Count).Select(_ => (float)(1e4 + 1e-2 * random.NextDouble())).ToArray();
            var (y, _, _) = Fast(b, ruler, shape, x, [], []);
            var (expected, _, _) = Reference(layout, x, [], []);
            AssertClose(name, y, expected, 1e-4);
        }
    }

    /// <summary>
    /// The inputs resolve 1e8 to ulp 1.5e-8, so a mean that differs from the reference's by a few ulps (planes and
    /// columns merge chunk means) moves y by ~1e-8·rstd: 1e-6 leaves room for that and nothing else.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public void DoubleGroupsWithOffset1e8AndUnitSpreadStayWithin1e6OfTheReference(string backend)
    {
        var b = TestBackends.Get(backend);
        var random = new Random(2);
        foreach (var (name, ruler, shape) in Layouts)
        {
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Range(0, (int)layout.Count).Select(_ => 1e8 + random.NextDouble()).ToArray();
            var (y, _, _) = Fast(b, ruler, shape, x, [], []);
            var (expected, _, _) = Reference(layout, x, [], []);
            AssertClose(name, y, expected, 1e-6);
        }
    }

    /// <summary>
    /// Rows whose first element (the shift of the one-pass sums) is far from the mean: long rows take the two-pass
    /// fallback, short rows (eight at a time) stay in one pass (Σd² ≤ (n + 1)·M2). The mean is compared in units
    /// of the standard deviation, which is what y sees.
    /// </summary>
    [Theory]
    [MemberData(nameof(Backends))]
    public void RowsWhoseFirstElementIsAnOutlierMatchTheReference(string backend)
    {
        var b = TestBackends.Get(backend);
        var random = new Random(5);
        foreach (int[] shape in new[] { new[] { 6, 1000 }, new[] { 19, 64 } })
        {
            var ruler = RulerSpec.LayerNorm();
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Range(0, (int)layout.Count).Select(i => i % shape[1] == 0 ? 1e3 : 1 + 1e-2 * random.NextDouble()).ToArray();
            var xf = x.Select(v => (float)v).ToArray();
            var (y, mean, rstd) = Fast(b, ruler, shape, xf, [], []);
            var (expected, refMean, refRstd) = Reference(layout, xf, [], []);
            AssertClose($"float {shape[1]}", y, expected, 1e-5);
            var (yd, meanD, rstdD) = Fast(b, ruler, shape, x, [], []);
            var (expectedD, refMeanD, refRstdD) = Reference(layout, x, [], []);
            AssertClose($"double {shape[1]}", yd, expectedD, 1e-12);
            for (int g = 0; g < layout.GroupCount; g++)
            {
                Assert.Equal(refMean[g], mean[g], 1e-12 / refRstd[g]);
                Assert.Equal(refRstd[g], rstd[g], refRstd[g] * 1e-12);
                Assert.Equal(refMeanD[g], meanD[g], 1e-12 / refRstdD[g]);
                Assert.Equal(refRstdD[g], rstdD[g], refRstdD[g] * 1e-14);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Magnitudes))]
    public void FloatHugeAndTinyMagnitudesNeitherOverflowNorLoseAccuracy(string backend, double magnitude)
    {
        var b = TestBackends.Get(backend);
        var random = new Random(3);
        foreach (var (name, ruler, shape) in Layouts)
        {
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Range(0, (int)layout.Count).Select(_ => (float)(magnitude * (2 * random.NextDouble() - 0.5))).ToArray();
            var dy = Enumerable.Range(0, (int)layout.Count).Select(_ => (float)random.NextDouble()).ToArray();
            var (y, mean, rstd) = Fast(b, ruler, shape, x, [], []);
            var (expected, _, _) = Reference(layout, x, [], []);
            Assert.All(mean.Concat(rstd), v => Assert.True(double.IsFinite(v), $"{name}: non-finite statistic"));
            AssertClose(name, y, expected, 1e-5);
            var dx = new float[x.Length];
            var expectedDx = new float[x.Length];
            RulerOps.Backward<float>(b, ruler, x, shape, mean, rstd, [], dy, dx, [], []);
            ReferenceKernels.Backward<float>(layout, x, mean, rstd, [], dy, expectedDx, [], [], true);
            double terms = rstd.Max();
            Assert.All(dx, v => Assert.True(float.IsFinite(v), $"{name}: non-finite dx"));
            for (int i = 0; i < dx.Length; i++)
                Assert.True(Math.Abs(dx[i] - expectedDx[i]) <= 1e-5 * terms, $"{name}: dx[{i}] {dx[i]} vs {expectedDx[i]}");
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ANaNChangesOnlyItsOwnGroup(string backend)
    {
        var b = TestBackends.Get(backend);
        var random = new Random(4);
        foreach (var (name, ruler, shape) in Layouts)
        {
            var layout = ruler.Resolve(shape);
            var x = Enumerable.Range(0, (int)layout.Count).Select(_ => (float)random.NextDouble()).ToArray();
            x[x.Length / 2 + 3] = float.NaN;
            var (y, mean, rstd) = Fast(b, ruler, shape, x, [], []);
            var (expected, refMean, _) = Reference(layout, x, [], []);
            var (group, _) = layout.IndexMaps();
            int poisoned = group[x.Length / 2 + 3];
            for (int g = 0; g < layout.GroupCount; g++)
                Assert.Equal(g == poisoned, double.IsNaN(mean[g]) || double.IsNaN(rstd[g]));
            for (int i = 0; i < y.Length; i++)
            {
                if (group[i] == poisoned) Assert.True(float.IsNaN(y[i]), $"{name}: y[{i}] should be NaN");
                else Assert.True(Math.Abs(y[i] - expected[i]) <= 1e-5 * (1 + Math.Abs(expected[i])), $"{name}: y[{i}] {y[i]} vs {expected[i]}");
            }
            Assert.Equal(refMean.Count(double.IsNaN), mean.Count(double.IsNaN));
        }
    }

    private static (T[] Y, double[] Mean, double[] Rstd) Fast<T>(IRulerBackend backend, RulerSpec ruler, int[] shape, T[] x, T[] gamma, T[] beta) where T : unmanaged
    {
        var layout = ruler.Resolve(shape);
        var y = new T[x.Length];
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Forward<T>(backend, ruler, x, shape, gamma, beta, y, mean, rstd);
        return (y, mean, rstd);
    }

    private static (T[] Y, double[] Mean, double[] Rstd) Reference<T>(RulerLayout layout, T[] x, T[] gamma, T[] beta) where T : unmanaged
    {
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments<T>(layout, x, moments);
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
        var y = new T[x.Length];
        ReferenceKernels.Normalize<T>(layout, x, mean, rstd, gamma, beta, y);
        return (y, mean, rstd);
    }

    private static void AssertClose<T>(string name, T[] fast, T[] expected, double tol) where T : unmanaged
    {
        for (int i = 0; i < fast.Length; i++)
        {
            double a = Num.ToDouble(fast[i]), b = Num.ToDouble(expected[i]);
            Assert.True(Math.Abs(a - b) <= tol * Math.Max(1, Math.Abs(b)), $"{name}: y[{i}] fast {a:R}, reference {b:R}");
        }
    }
}
