using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// Half and BFloat16 storage: forward (y), backward (dx, dγ, dβ, training and eval) and the fused add within one ulp
/// of the storage type of the float64 reference rounded to that type, on random data of magnitude up to 500 (whose
/// variance, ~8e4, exceeds Half's range of 65504).
/// </summary>
public class FastPathReducedPrecisionTests
{
    /// <summary>Every backend (<see cref="TestBackends"/>) on each of these layouts.</summary>
    public static TheoryData<string, string> Layouts => TestBackends.Cross(["LayerNorm", "RMSNorm", "BatchNorm NCHW", "BatchNorm NHWC", "GroupNorm NCHW",
        "InstanceNorm NHWC", "LayerNorm chunked", "GroupNorm NCHW chunked"]);

    public static TheoryData<string> Backends => TestBackends.Names();

    [Theory]
    [MemberData(nameof(Layouts))]
    public void HalfIsWithinOneUlpOfTheReference(string backend, string name) => AssertWithinOneUlp<Half>(TestBackends.Get(backend), name);

    [Theory]
    [MemberData(nameof(Layouts))]
    public void BFloat16IsWithinOneUlpOfTheReference(string backend, string name) => AssertWithinOneUlp<BFloat16>(TestBackends.Get(backend), name);

    [Theory]
    [MemberData(nameof(Backends))]
    public void NarrowResultsDoNotDependOnTheThreadCount(string backend)
    {
        var b = TestBackends.Get(backend);
        var failures = new List<string>();
        foreach (var c in FastPathComparison.LargeLayouts())
        {
            failures.AddRange(FastPathComparison.CompareThreads<Half>(b, c, 7));
            failures.AddRange(FastPathComparison.CompareThreads<BFloat16>(b, c, 7));
        }
        Assert.Empty(failures);
    }

    [Fact]
    public void BFloat16RoundsToNearestEvenAndKeepsNaN()
    {
        // Ties: 1 + 2^-8 is halfway between 1 and 1 + 2^-7 (ties to even: 1); 1 + 3·2^-8 is halfway to 1 + 2^-6.
        Assert.Equal(1f, (float)(BFloat16)(1f + MathF.Pow(2, -8)));
        Assert.Equal(1f + MathF.Pow(2, -6), (float)(BFloat16)(1f + 3 * MathF.Pow(2, -8)));
        Assert.Equal(1f + MathF.Pow(2, -7), (float)(BFloat16)(1f + MathF.Pow(2, -8) + MathF.Pow(2, -20)));
        Assert.Equal(float.PositiveInfinity, (float)(BFloat16)float.MaxValue);
        Assert.True(((BFloat16)float.NaN).IsNaN);
        Assert.True(float.IsNaN((float)(BFloat16)BitConverter.UInt32BitsToSingle(0x7F800001)));
        var random = new Random(5);
        for (int i = 0; i < 10000; i++)
        {
            float f = (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-60, 60)));
            float r = (float)(BFloat16)f;
            Assert.True(Math.Abs(r - f) <= Math.Abs(f) * MathF.Pow(2, -8), $"{f} rounded to {r}");
        }
    }

    private static void AssertWithinOneUlp<T>(IRulerBackend backend, string name) where T : unmanaged
    {
        var (ruler, shape) = name switch
        {
            "LayerNorm" => (RulerSpec.LayerNorm(), new[] { 16, 300 }),
            "RMSNorm" => (RulerSpec.RmsNorm(1, 1e-5), new[] { 16, 300 }),
            "BatchNorm NCHW" => (RulerSpec.BatchNorm(4), new[] { 4, 8, 9, 11 }),
            "BatchNorm NHWC" => (RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast), new[] { 4, 9, 11, 8 }),
            "GroupNorm NCHW" => (RulerSpec.GroupNorm(), RulerSpec.GroupNormView([4, 8, 9, 11], 4)),
            // Several chunks of whole rows (or of whole affine periods of groups), the last one partial.
            "LayerNorm chunked" => (RulerSpec.LayerNorm(), new[] { 240, 300 }),
            "GroupNorm NCHW chunked" => (RulerSpec.GroupNorm(), RulerSpec.GroupNormView([16, 8, 9, 11], 4)),
            _ => (RulerSpec.InstanceNorm(4, ChannelLayout.ChannelsLast), new[] { 4, 9, 11, 8 }),
        };
        var layout = ruler.Resolve(shape);
        var random = new Random(11);
        int n = (int)layout.Count, p = layout.AffineSize, g = layout.GroupCount;
        T[] x = Fill<T>(random, n, 0, 500), u = Fill<T>(random, n, 0, 100), dy = Fill<T>(random, n, 0, 1), dh = Fill<T>(random, n, 0, 1);
        T[] gamma = Fill<T>(random, p, 1, 0.5), beta = Fill<T>(random, p, 0, 1);

        var (refY, mean, rstd) = ReferenceForward(layout, x, gamma, beta);
        var y = new T[n];
        var fastMean = new double[g];
        var fastRstd = new double[g];
        RulerOps.Forward<T>(backend, ruler, x, shape, gamma, beta, y, fastMean, fastRstd);
        AssertUlps($"{name} y", y, refY);

        foreach (bool fromInput in new[] { true, false })
        {
            var (refDx, refDg, refDb) = ReferenceBackward(layout, x, mean, rstd, gamma, dy, [], fromInput);
            T[] dx = new T[n], dg = new T[p], db = new T[p];
            RulerOps.Backward<T>(backend, ruler, x, shape, mean, rstd, gamma, dy, dx, dg, db, fromInput);
            AssertUlps($"{name} fromInput={fromInput} dx", dx, refDx);
            AssertUlps($"{name} fromInput={fromInput} dgamma", dg, refDg);
            AssertUlps($"{name} fromInput={fromInput} dbeta", db, refDb);
        }

        var h = new T[n];
        for (int i = 0; i < n; i++) h[i] = Num.FromDouble<T>(Num.ToDouble(x[i]) + Num.ToDouble(u[i]));
        var (refAddY, addMean, addRstd) = ReferenceForward(layout, h, gamma, beta);
        var fastH = new T[n];
        RulerOps.AddForward<T>(backend, ruler, x, u, shape, gamma, beta, fastH, y, fastMean, fastRstd);
        Assert.Equal(h, fastH);
        AssertUlps($"{name} add y", y, refAddY);
        var (refDsum, refAddDg, refAddDb) = ReferenceBackward(layout, h, addMean, addRstd, gamma, dy, dh, true);
        T[] dsum = new T[n], adg = new T[p], adb = new T[p];
        RulerOps.AddBackward<T>(backend, ruler, h, shape, addMean, addRstd, gamma, dy, dh, dsum, adg, adb);
        AssertUlps($"{name} add dsum", dsum, refDsum);
        AssertUlps($"{name} add dgamma", adg, refAddDg);
        AssertUlps($"{name} add dbeta", adb, refAddDb);
    }

    private static (double[] Y, double[] Mean, double[] Rstd) ReferenceForward<T>(RulerLayout layout, T[] x, T[] gamma, T[] beta) where T : unmanaged
    {
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments<double>(layout, D(x), moments);
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Statistics(layout.Ruler, moments, mean, rstd);
        var y = new double[x.Length];
        ReferenceKernels.Normalize<double>(layout, D(x), mean, rstd, D(gamma), D(beta), y);
        return (y, mean, rstd);
    }

    private static (double[] Dx, double[] Dg, double[] Db) ReferenceBackward<T>(RulerLayout layout, T[] x, double[] mean, double[] rstd,
        T[] gamma, T[] dy, T[] dh, bool fromInput) where T : unmanaged
    {
        var dx = new double[x.Length];
        var dg = new double[gamma.Length];
        var db = new double[gamma.Length];
        ReferenceKernels.Backward<double>(layout, D(x), mean, rstd, D(gamma), D(dy), dx, dg, db, fromInput);
        for (int i = 0; i < dh.Length; i++) dx[i] += Num.ToDouble(dh[i]);
        return (dx, dg, db);
    }

    /// <summary>Every element within one ulp of the reference rounded to T (ulps counted on the sign-magnitude bits).</summary>
    private static void AssertUlps<T>(string what, T[] fast, double[] reference) where T : unmanaged
    {
        for (int i = 0; i < fast.Length; i++)
        {
            int a = Ordered(fast[i]), b = Ordered(Num.FromDouble<T>(reference[i]));
            Assert.True(Math.Abs(a - b) <= 1, $"{what}[{i}]: fast {Num.ToDouble(fast[i]):R}, reference {reference[i]:R} ({Math.Abs(a - b)} ulps)");
        }
    }

    private static int Ordered<T>(T v) where T : unmanaged
    {
        ushort bits = System.Runtime.CompilerServices.Unsafe.As<T, ushort>(ref v);
        int magnitude = bits & 0x7FFF;
        return (bits & 0x8000) != 0 ? -magnitude : magnitude;
    }

    private static double[] D<T>(T[] v) where T : unmanaged => v.Select(Num.ToDouble).ToArray();

    private static T[] Fill<T>(Random random, int n, double center, double spread) where T : unmanaged =>
        Enumerable.Range(0, n).Select(_ => Num.FromDouble<T>(center + spread * (2 * random.NextDouble() - 1))).ToArray();
}
