using Ruler.Nn;

namespace Ruler.Nn.Tests;

public class MatMulTests
{
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 5, 7, 3 }, { 6, 32, 256 }, { 7, 33, 257 }, { 97, 257, 300 }, { 200, 300, 513 }, { 31, 1000, 17 }, { 16, 40, 9000 },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void FloatKernelMatchesReferenceForEveryTransposeForm(int m, int n, int k)
    {
        var rng = new Rng(42);
        foreach (var (ta, tb) in new[] { (false, false), (false, true), (true, false), (true, true) })
        {
            var a = Gaussian(rng, m * k);
            var b = Gaussian(rng, k * n);
            var c0 = Gaussian(rng, m * n);
            foreach (bool acc in new[] { false, true })
            {
                var fast = (float[])c0.Clone();
                MatMul.Multiply<float>(a, b, fast, m, n, k, ta, tb, acc);
                var expect = new double[m * n];
                for (int i = 0; i < expect.Length; i++) expect[i] = acc ? c0[i] : 0;
                MatMulReference.Multiply<double>(ToDouble(a), ToDouble(b), expect, m, n, k, ta, tb, true);
                // float32 sums of k products of unit Gaussians: error grows like √k·2⁻²⁴; 1e-4·√k absolute is ample.
                double tol = 1e-4 * Math.Sqrt(k + 1);
                for (int i = 0; i < expect.Length; i++) Assert.True(Math.Abs(fast[i] - expect[i]) <= tol, $"ta={ta} tb={tb} acc={acc} i={i}: {fast[i]} vs {expect[i]}");
            }
        }
    }

    [Fact]
    public void ResultBitsDoNotDependOnThreadCount() => AssertSameBitsOnOneAnd(threads: 4, seed: 3, m: 300, n: 520, k: 700);

    [Fact]
    public void LongKSplitResultBitsDoNotDependOnThreadCount() =>
        AssertSameBitsOnOneAnd(threads: 3, seed: 4, m: 32, n: 144, k: 25_000); // a conv weight gradient's shape: few tiles, long K

    /// <summary>The (m × k)·(k × n) product of seeded Gaussian operands is bitwise the same on one thread and on <paramref name="threads"/>.</summary>
    private static void AssertSameBitsOnOneAnd(int threads, ulong seed, int m, int n, int k)
    {
        var rng = new Rng(seed);
        var a = Gaussian(rng, m * k);
        var b = Gaussian(rng, k * n);
        var one = new float[m * n];
        var two = new float[m * n];
        int saved = RulerParallelism.MaxThreads;
        try
        {
            RulerParallelism.MaxThreads = 1;
            MatMul.Multiply<float>(a, b, one, m, n, k);
            RulerParallelism.MaxThreads = threads;
            MatMul.Multiply<float>(a, b, two, m, n, k);
        }
        finally { RulerParallelism.MaxThreads = saved; }
        Assert.Equal(one, two);
    }

    [Fact]
    public void TooShortOperandIsRefused() =>
        Assert.Throws<ArgumentException>(() => MatMul.Multiply<float>(new float[5], new float[6], new float[6], 2, 3, 3));

    private static float[] Gaussian(Rng rng, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)rng.NextGaussian();
        return a;
    }

    private static double[] ToDouble(float[] a) => Array.ConvertAll(a, v => (double)v);
}
