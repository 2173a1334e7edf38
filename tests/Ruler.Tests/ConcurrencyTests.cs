using Ruler.Internal;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// The threading contract: a module instance serves one caller at a time, and a second concurrent caller is refused
/// with <see cref="InvalidOperationException"/>, never a crash or a wrong answer; separate instances on separate
/// threads give the bits of a single-threaded run; kernels refuse spans shorter than their layout before pinning.
/// </summary>
public class ConcurrencyTests
{
    private static readonly int[][] Shapes = [[100, 64], [37, 64]];

    /// <summary>Single-threaded results (separate instance) for each shape: the only answers a call may return.</summary>
    private static (float[] X, float[] Y, float[] Dx)[] Expected(int seed)
    {
        var rng = new Random(seed);
        return Shapes.Select(shape =>
        {
            int n = shape[0] * shape[1];
            var x = TestData.ToFloat(TestData.Normal(rng, n, 3, 2));
            var dy = TestData.ToFloat(TestData.Normal(rng, n));
            var ln = new LayerNorm<float>([64]);
            var y = new float[n];
            var dx = new float[n];
            ln.Forward(x, shape, y);
            ln.Backward(x, shape, dy, dx);
            return (x, y, dx);
        }).ToArray();
    }

    [Fact]
    public void OneInstanceHammeredFromSeveralThreadsGivesCorrectResultsOrRefuses()
    {
        var expected = Expected(11);
        var ln = new LayerNorm<float>([64]);
        Hammer.AssertCorrectOrRefused(4, TimeSpan.FromSeconds(1.5), t =>
        {
            var rng = new Random(t);
            return () =>
            {
                int s = rng.Next(Shapes.Length);
                var (x, yRef, _) = expected[s];
                var y = new float[x.Length];
                ln.Forward(x, Shapes[s], y);
                return y.AsSpan().SequenceEqual(yRef);
            };
        }, "one caller at a time");
    }

    [Fact]
    public void SeparateInstancesOnSeparateThreadsMatchASingleThreadedRunBitForBit()
    {
        var expected = Expected(12);
        var dys = Shapes.Select(shape => TestData.ToFloat(TestData.Normal(new Random(shape[0]), shape[0] * shape[1]))).ToArray();
        var reference = Shapes.Select((shape, s) =>
        {
            var ln = new LayerNorm<float>([64]);
            var dx = new float[expected[s].X.Length];
            ln.Forward(expected[s].X, shape, new float[dx.Length]);
            ln.Backward(expected[s].X, shape, dys[s], dx);
            return (dx, ln.Weight.Grad.ToArray());
        }).ToArray();
        string? failure = null;
        var until = DateTime.UtcNow.AddSeconds(1);
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var ln = new LayerNorm<float>([64]);
            int s = t % Shapes.Length;
            var (x, yRef, _) = expected[s];
            var y = new float[x.Length];
            var dx = new float[x.Length];
            while (DateTime.UtcNow < until && failure is null)
            {
                ln.ZeroGrad();
                ln.Forward(x, Shapes[s], y);
                ln.Backward(x, Shapes[s], dys[s], dx);
                if (!y.AsSpan().SequenceEqual(yRef)) failure = $"thread {t}: y differs";
                else if (!dx.AsSpan().SequenceEqual(reference[s].dx)) failure = $"thread {t}: dx differs";
                else if (!ln.Weight.Grad.AsSpan().SequenceEqual(reference[s].Item2)) failure = $"thread {t}: dγ differs";
            }
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Null(failure);
    }

    [Fact]
    public void KernelsRefuseSpansShorterThanTheirLayoutBeforeWritingAnything()
    {
        var layout = new RulerSpec([1]).Resolve([4, 8]);
        var x = TestData.ToFloat(TestData.Normal(new Random(3), 32));
        var y = new float[32];
        var statistics = new double[8];
        Array.Fill(statistics, -7);
        // mean is a 3-element window of a larger array: a kernel bounded by the layout (4 groups) would write past it.
        var e = Assert.Throws<InvalidOperationException>(() =>
            Kernels.Forward<float>(layout, x, default, default, y, statistics.AsSpan(0, 3), new double[4]));
        Assert.Contains("mean", e.Message);
        Assert.All(statistics, v => Assert.Equal(-7, v));
        Assert.All(y, v => Assert.Equal(0, v));
        Assert.Throws<InvalidOperationException>(() =>
            Kernels.Backward<float>(layout, x, new double[4], new double[4], default, new float[32], y.AsSpan(0, 31), default, default, true));
        Assert.All(y, v => Assert.Equal(0, v));
    }
}
