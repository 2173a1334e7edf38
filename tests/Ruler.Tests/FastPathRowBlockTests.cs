using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The row backward in blocks (<see cref="RowBackwardBlocks"/>: rows of at least 8 KB) against the float64 reference
/// at every SIMD tail, over several blocks and tasks, with one and two threads; and the SIMD add of dγ, dβ into
/// Parameter.Grad (<see cref="GradientAccumulation"/>) against the scalar form, bit for bit. Tolerances as
/// <see cref="FastPathComparison"/>: float 1e-5, double 1e-12 relative.
/// </summary>
public class FastPathRowBlockTests
{
    /// <summary>Every backend (<see cref="TestBackends"/>) at row lengths at and past the block kernel's threshold, with tails of every vector width.</summary>
    public static TheoryData<string, int> FloatLengths => TestBackends.Cross([2048, 2049, 2055, 2063, 2079, 4111]);

    public static TheoryData<string, int> DoubleLengths => TestBackends.Cross([1024, 1025, 1027, 1031, 1039]);

    public static TheoryData<string> Backends => TestBackends.Names();

    [Theory]
    [MemberData(nameof(FloatLengths))]
    public void FloatRowsInBlocksMatchTheReference(string backend, int n)
    {
        Assert.True(RowBackwardBlocks.Handles<float>(new RowPlan(37, 1, n, 1, 1), affine: true));
        AssertAll(Cases(n).SelectMany(c => FastPathComparison.Compare<float>(TestBackends.Get(backend), c, n)));
    }

    [Theory]
    [MemberData(nameof(DoubleLengths))]
    public void DoubleRowsInBlocksMatchTheReference(string backend, int n)
    {
        Assert.True(RowBackwardBlocks.Handles<double>(new RowPlan(37, 1, n, 1, 1), affine: true));
        AssertAll(Cases(n).SelectMany(c => FastPathComparison.Compare<double>(TestBackends.Get(backend), c, n)));
    }

    [Fact]
    public void ShorterRowsStayWithThePerRowKernel()
    {
        Assert.False(RowBackwardBlocks.Handles<float>(new RowPlan(37, 1, 2047, 1, 1), affine: true));
        Assert.False(RowBackwardBlocks.Handles<double>(new RowPlan(37, 1, 1023, 1, 1), affine: true));
        Assert.False(RowBackwardBlocks.Handles<float>(new RowPlan(37, 2, 4096, 1, 1), affine: true));   // γ changes from row to row
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void SeveralTasksGiveTheSameBitsForOneAndTwoThreads(string backend)
    {
        var b = TestBackends.Get(backend);
        var failures = new List<string>();
        foreach (var c in new FastPathComparison.Case[]
                 {
                     new("LayerNorm", RulerSpec.LayerNorm(), [131, 2063]), new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [131, 2063]),
                 })
        {
            failures.AddRange(FastPathComparison.CompareThreads<float>(b, c, 11));
            failures.AddRange(FastPathComparison.Compare<float>(b, c, 11));
        }
        failures.AddRange(FastPathComparison.CompareThreads<double>(b, new("LayerNorm", RulerSpec.LayerNorm(), [131, 1031]), 12));
        AssertAll(failures);
    }

    [Fact]
    public void BlockBackwardAllocatesNothingPerCall()
    {
        int rows = 131, n = 2063;
        var ruler = RulerSpec.LayerNorm();
        int[] shape = [rows, n];
        var x = new float[rows * n];
        var dy = new float[rows * n];
        var dx = new float[rows * n];
        var gamma = new float[n];
        var dg = new float[n];
        var db = new float[n];
        var mean = new double[rows];
        var rstd = new double[rows];
        for (int i = 0; i < x.Length; i++) (x[i], dy[i]) = (MathF.Sin(i), MathF.Cos(i * 0.7f));
        Array.Fill(gamma, 1.5f);
        RulerOps.Forward<float>(ruler, x, shape, gamma, default, new float[x.Length], mean, rstd);
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 5; attempt++)
        {
            RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, dx, dg, db);
            long before = GC.GetAllocatedBytesForCurrentThread();
            RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, dx, dg, db);
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.Equal(0, fewest);
    }

    [Fact]
    public void GradientAccumulationIsTheScalarSumBitForBit()
    {
        var rng = new Random(5);
        for (int n = 0; n <= 67; n++)
        {
            Check<float>(n, rng);
            Check<double>(n, rng);
            Check<Half>(n, rng);
            Check<BFloat16>(n, rng);
        }
    }

    [Fact]
    public void GradientAccumulationRefusesMismatchedLengths()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => GradientAccumulation.Add<float>(new float[3], new float[2]));
        Assert.Contains("add", ex.Message);
    }

    private static void Check<T>(int n, Random rng) where T : unmanaged
    {
        var into = new T[n];
        var add = new T[n];
        for (int i = 0; i < n; i++)
        {
            // Mixed magnitudes, so the sums round (and some cancel).
            into[i] = Num.FromDouble<T>((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 30)));
            add[i] = Num.FromDouble<T>((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-30, 30)));
        }
        var expected = new T[n];
        for (int i = 0; i < n; i++) expected[i] = Num.FromDouble<T>(Num.ToDouble(into[i]) + Num.ToDouble(add[i]));
        GradientAccumulation.Add<T>(into, add);
        for (int i = 0; i < n; i++)
            Assert.True(Num.ToDouble(into[i]).Equals(Num.ToDouble(expected[i])), $"{typeof(T).Name} n={n} i={i}: {Num.ToDouble(into[i])} vs {Num.ToDouble(expected[i])}");
    }

    private static IEnumerable<FastPathComparison.Case> Cases(int n)
    {
        yield return new("LayerNorm", RulerSpec.LayerNorm(), [37, n]);
        yield return new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [37, n]);
    }

    private static void AssertAll(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        Assert.True(list.Count == 0, $"{list.Count} mismatches:\n" + string.Join("\n", list.Take(20)));
    }
}
