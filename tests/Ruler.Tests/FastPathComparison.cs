using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// A backend's kernels (through <see cref="RulerOps"/>'s overloads that take an <see cref="IRulerBackend"/>) against
/// <see cref="ReferenceKernels"/> on the same inputs:
/// moments, forward, normalize with given statistics, backward with statistics from the input and as constants
/// (eval), and the fused add + norm. Shared by the xunit tests and the Ruler.KernelCheck console, which runs it
/// under restricted instruction sets. Every check returns the failures it found (empty: all within tolerance).
/// </summary>
internal static class FastPathComparison
{
    /// <summary>A ruler on a shape (for GroupNorm, the shape of its 4-d view).</summary>
    public sealed record Case(string Name, RulerSpec Ruler, int[] Shape)
    {
        public override string ToString() => $"{Name} {Check.ShapeText(Shape)}";
    }

    /// <summary>Every fast layout with reduced (or column) size <paramref name="n"/> and small outer dims.</summary>
    public static IEnumerable<Case> Layouts(int n)
    {
        var last = ChannelLayout.ChannelsLast;
        yield return new("BatchNorm NCHW", RulerSpec.BatchNorm(4), [2, 3, 1, n]);
        yield return new("BatchNorm (N,C,L)", RulerSpec.BatchNorm(3), [3, 2, n]);
        yield return new("BatchNorm NHWC", RulerSpec.BatchNorm(4, last), [2, 1, 3, n]);
        yield return new("BatchNorm (N,C)", RulerSpec.BatchNorm(2), [5, n]);
        yield return new("BatchNorm (N,C) tall", RulerSpec.BatchNorm(2), [n + 1, 3]);
        yield return new("LayerNorm", RulerSpec.LayerNorm(), [3, n]);
        yield return new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [3, n]);
        yield return new("GroupNorm NCHW", RulerSpec.GroupNorm(), [2, 2, 3, n]);
        yield return new("GroupNorm NCHW wide groups", RulerSpec.GroupNorm(), [2, 2, n, 3]);
        yield return new("GroupNorm NHWC", RulerSpec.GroupNorm(last), [2, 3, 2, n]);
        yield return new("GroupNorm NHWC one group", RulerSpec.GroupNorm(last), [2, 5, 1, n]);
        yield return new("InstanceNorm NCHW", RulerSpec.InstanceNorm(4), [2, 3, 1, n]);
        yield return new("InstanceNorm NHWC", RulerSpec.InstanceNorm(4, last), [2, 3, 1, n]);
    }

    /// <summary>Layouts large enough to be split into several tasks, for the thread-count comparison.</summary>
    public static IEnumerable<Case> LargeLayouts()
    {
        var last = ChannelLayout.ChannelsLast;
        yield return new("BatchNorm NCHW", RulerSpec.BatchNorm(4), [4, 8, 67, 65]);
        yield return new("BatchNorm NHWC", RulerSpec.BatchNorm(4, last), [4, 33, 31, 67]);
        yield return new("BatchNorm (N,C)", RulerSpec.BatchNorm(2), [4099, 67]);
        yield return new("LayerNorm", RulerSpec.LayerNorm(), [517, 301]);
        yield return new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [517, 301]);
        yield return new("GroupNorm NCHW", RulerSpec.GroupNorm(), [4, 8, 5, 1031]);
        yield return new("GroupNorm NHWC", RulerSpec.GroupNorm(last), [4, 1031, 8, 5]);
        yield return new("InstanceNorm NCHW", RulerSpec.InstanceNorm(4), [4, 16, 63, 65]);
        yield return new("InstanceNorm NHWC", RulerSpec.InstanceNorm(4, last), [4, 63, 65, 16]);
    }

    /// <summary>The relative tolerance of element outputs for a storage type (statistics are float64: 1e-10).</summary>
    public static double Tolerance<T>() => typeof(T) == typeof(float) ? 1e-5 : 1e-12;

    /// <summary>Every op of <paramref name="c"/> against the reference, with and without γ, β.</summary>
    public static List<string> Compare<T>(IRulerBackend backend, Case c, int seed) where T : unmanaged
    {
        var failures = new List<string>();
        foreach (bool affine in new[] { true, false })
        {
            var d = new Data<T>(c, affine, seed);
            CompareForward(backend, c, d, failures);
            CompareBackward(backend, c, d, failures);
            CompareAdd(backend, c, d, failures);
        }
        return failures;
    }

    /// <summary>Every op with one thread and with two: the outputs must be the same bits.</summary>
    public static List<string> CompareThreads<T>(IRulerBackend backend, Case c, int seed) where T : unmanaged
    {
        var failures = new List<string>();
        int saved = Threading.MaxThreads;
        try
        {
            var d = new Data<T>(c, true, seed);
            Threading.MaxThreads = 1;
            var one = RunAll(backend, c, d);
            Threading.MaxThreads = 2;
            var two = RunAll(backend, c, d);
            for (int i = 0; i < one.Count; i++)
                if (!one[i].SequenceEqual(two[i]))
                    failures.Add($"{backend} {c} {typeof(T).Name}: output {i} differs between 1 and 2 threads");
        }
        finally
        {
            Threading.MaxThreads = saved;
        }
        return failures;
    }

    private static List<double[]> RunAll<T>(IRulerBackend backend, Case c, Data<T> d) where T : unmanaged
    {
        var r = new Outputs<T>(d.Layout);
        var moments = new GroupMoments[d.Layout.GroupCount];
        RulerOps.Moments(backend, c.Ruler, d.X, c.Shape, moments);
        RulerOps.Forward(backend, c.Ruler, d.X, c.Shape, d.Gamma, d.Beta, r.Y, r.Mean, r.Rstd);
        RulerOps.Backward(backend, c.Ruler, d.X, c.Shape, r.Mean, r.Rstd, d.Gamma, d.Dy, r.Dx, r.Dg, r.Db);
        var h = new T[d.X.Length];
        var y2 = new T[d.X.Length];
        var dx2 = new T[d.X.Length];
        RulerOps.AddForward(backend, c.Ruler, d.X, d.U, c.Shape, d.Gamma, d.Beta, h, y2, r.Mean, r.Rstd);
        RulerOps.AddBackward(backend, c.Ruler, h, c.Shape, r.Mean, r.Rstd, d.Gamma, d.Dy, d.Dh, dx2, r.Dg, r.Db);
        return [moments.SelectMany(m => new[] { m.Count, m.Mean, m.M2 }).ToArray(), D(r.Y), r.Mean, r.Rstd, D(r.Dx), D(r.Dg), D(r.Db),
            D(h), D(y2), D(dx2)];
    }

    private static void CompareForward<T>(IRulerBackend backend, Case c, Data<T> d, List<string> failures) where T : unmanaged
    {
        string at = $"{backend} {c} {typeof(T).Name} affine={d.Affine}";
        var layout = d.Layout;
        var refMoments = new GroupMoments[layout.GroupCount];
        var fastMoments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments(layout, d.X, refMoments);
        RulerOps.Moments(backend, c.Ruler, d.X, c.Shape, fastMoments);
        for (int g = 0; g < refMoments.Length; g++)
        {
            var (a, b) = (fastMoments[g], refMoments[g]);
            if (a.Count != b.Count || !Near(a.Mean, b.Mean, 1e-10, Math.Sqrt(b.M2 / b.Count)) || !Near(a.M2, b.M2, 1e-9, 0))
            {
                failures.Add($"{at} Moments group {g}: fast {a}, reference {b}");
                break;
            }
        }
        var expected = new Outputs<T>(layout);
        RulerOps.Statistics(c.Ruler, refMoments, expected.Mean, expected.Rstd);
        ReferenceKernels.Normalize(layout, d.X, expected.Mean, expected.Rstd, d.Gamma, d.Beta, expected.Y);
        var fast = new Outputs<T>(layout);
        RulerOps.Forward(backend, c.Ruler, d.X, c.Shape, d.Gamma, d.Beta, fast.Y, fast.Mean, fast.Rstd);
        Close(failures, $"{at} Forward mean", fast.Mean, expected.Mean, 1e-10);
        Close(failures, $"{at} Forward rstd", fast.Rstd, expected.Rstd, 1e-10);
        Close(failures, $"{at} Forward y", D(fast.Y), D(expected.Y), Tolerance<T>());

        // Eval: arbitrary given statistics.
        var mean = expected.Mean.Select((m, i) => m + 0.25 * (i % 3 - 1)).ToArray();
        var rstd = expected.Rstd.Select((r, i) => r * (1 + 0.1 * (i % 2))).ToArray();
        ReferenceKernels.Normalize(layout, d.X, mean, rstd, d.Gamma, d.Beta, expected.Y);
        RulerOps.Normalize(backend, c.Ruler, d.X, c.Shape, mean, rstd, d.Gamma, d.Beta, fast.Y);
        Close(failures, $"{at} Normalize y", D(fast.Y), D(expected.Y), Tolerance<T>());
    }

    private static void CompareBackward<T>(IRulerBackend backend, Case c, Data<T> d, List<string> failures) where T : unmanaged
    {
        var layout = d.Layout;
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments(layout, d.X, moments);
        var mean = new double[moments.Length];
        var rstd = new double[moments.Length];
        RulerOps.Statistics(c.Ruler, moments, mean, rstd);
        foreach (bool fromInput in new[] { true, false })
        {
            string at = $"{backend} {c} {typeof(T).Name} affine={d.Affine} statisticsFromInput={fromInput}";
            var expected = new Outputs<T>(layout);
            var fast = new Outputs<T>(layout);
            ReferenceKernels.Backward(layout, d.X, mean, rstd, d.Gamma, d.Dy, expected.Dx, expected.Dg, expected.Db, fromInput);
            RulerOps.Backward(backend, c.Ruler, d.X, c.Shape, mean, rstd, d.Gamma, d.Dy, fast.Dx, fast.Dg, fast.Db, fromInput);
            Close(failures, $"{at} Backward dx", D(fast.Dx), D(expected.Dx), Tolerance<T>(), TermScale(d, rstd));
            Close(failures, $"{at} Backward dgamma", D(fast.Dg), D(expected.Dg), Tolerance<T>());
            Close(failures, $"{at} Backward dbeta", D(fast.Db), D(expected.Db), Tolerance<T>());
            if (!d.Affine) continue;
            // Only one of dγ, dβ asked for (the other span empty): the same values, and dx unchanged.
            var onlyBeta = new Outputs<T>(layout);
            RulerOps.Backward(backend, c.Ruler, d.X, c.Shape, mean, rstd, d.Gamma, d.Dy, onlyBeta.Dx, default, onlyBeta.Db, fromInput);
            Close(failures, $"{at} Backward dbeta without dgamma", D(onlyBeta.Db), D(expected.Db), Tolerance<T>());
            Close(failures, $"{at} Backward dx without dgamma", D(onlyBeta.Dx), D(expected.Dx), Tolerance<T>(), TermScale(d, rstd));
            var onlyGamma = new Outputs<T>(layout);
            RulerOps.Backward(backend, c.Ruler, d.X, c.Shape, mean, rstd, d.Gamma, d.Dy, onlyGamma.Dx, onlyGamma.Dg, default, fromInput);
            Close(failures, $"{at} Backward dgamma without dbeta", D(onlyGamma.Dg), D(expected.Dg), Tolerance<T>());
        }
    }

    private static void CompareAdd<T>(IRulerBackend backend, Case c, Data<T> d, List<string> failures) where T : unmanaged
    {
        string at = $"{backend} {c} {typeof(T).Name} affine={d.Affine}";
        var layout = d.Layout;
        var h = new T[d.X.Length];
        for (int i = 0; i < h.Length; i++) h[i] = Num.FromDouble<T>(Num.ToDouble(d.X[i]) + Num.ToDouble(d.U[i]));
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments(layout, h, moments);
        var expected = new Outputs<T>(layout);
        RulerOps.Statistics(c.Ruler, moments, expected.Mean, expected.Rstd);
        ReferenceKernels.Normalize(layout, h, expected.Mean, expected.Rstd, d.Gamma, d.Beta, expected.Y);
        var fast = new Outputs<T>(layout);
        var fastH = new T[h.Length];
        RulerOps.AddForward(backend, c.Ruler, d.X, d.U, c.Shape, d.Gamma, d.Beta, fastH, fast.Y, fast.Mean, fast.Rstd);
        Close(failures, $"{at} AddForward h", D(fastH), D(h), 0);
        Close(failures, $"{at} AddForward mean", fast.Mean, expected.Mean, 1e-10);
        Close(failures, $"{at} AddForward rstd", fast.Rstd, expected.Rstd, 1e-10);
        Close(failures, $"{at} AddForward y", D(fast.Y), D(expected.Y), Tolerance<T>());
        foreach (bool withDh in new[] { true, false })
        {
            ReadOnlySpan<T> dh = withDh ? d.Dh : default;
            ReferenceKernels.Backward(layout, h, expected.Mean, expected.Rstd, d.Gamma, d.Dy, expected.Dx, expected.Dg, expected.Db, true);
            for (int i = 0; i < dh.Length; i++) expected.Dx[i] = Num.FromDouble<T>(Num.ToDouble(expected.Dx[i]) + Num.ToDouble(dh[i]));
            RulerOps.AddBackward(backend, c.Ruler, h, c.Shape, expected.Mean, expected.Rstd, d.Gamma, d.Dy, dh, fast.Dx, fast.Dg, fast.Db);
            Close(failures, $"{at} AddBackward dh={withDh} dsum", D(fast.Dx), D(expected.Dx), Tolerance<T>(), TermScale(d, expected.Rstd));
            Close(failures, $"{at} AddBackward dh={withDh} dgamma", D(fast.Dg), D(expected.Dg), Tolerance<T>());
            Close(failures, $"{at} AddBackward dh={withDh} dbeta", D(fast.Db), D(expected.Db), Tolerance<T>());
        }
    }

    /// <summary>
    /// The size of the terms dx is the difference of: rstd·|dy·γ|. dx = rstd·(g − mean(g) − x̂·mean(g·x̂)) cancels
    /// (to 0 for a group of one value), so its rounding error is relative to its terms, not to itself.
    /// </summary>
    private static double TermScale<T>(Data<T> d, double[] rstd) where T : unmanaged =>
        rstd.Max() * d.Dy.Max(v => Math.Abs(Num.ToDouble(v))) * (d.Gamma.Length == 0 ? 1 : d.Gamma.Max(v => Math.Abs(Num.ToDouble(v))));

    /// <summary>
    /// |fast − reference| ≤ tol·(|reference| + scale), scale = max(max |reference|, <paramref name="terms"/>):
    /// relative to the element and to the tensor's scale.
    /// </summary>
    private static void Close(List<string> failures, string what, double[] fast, double[] reference, double tol, double terms = 0)
    {
        double scale = Math.Max(terms, reference.Length == 0 ? 0 : reference.Max(Math.Abs));
        for (int i = 0; i < fast.Length; i++)
        {
            if (double.IsNaN(fast[i]) && double.IsNaN(reference[i])) continue;
            if (!Near(fast[i], reference[i], tol, scale))
            {
                failures.Add($"{what}[{i}]: fast {fast[i]:R}, reference {reference[i]:R} (tolerance {tol:R} relative)");
                return;
            }
        }
    }

    private static bool Near(double a, double b, double tol, double scale) => Math.Abs(a - b) <= tol * (Math.Abs(b) + scale);

    private static double[] D<T>(T[] v) where T : unmanaged => v.Select(Num.ToDouble).ToArray();

    /// <summary>Random inputs for one case: x with an offset, residual update u, dy, dh, and γ, β (empty when not affine).</summary>
    private sealed class Data<T> where T : unmanaged
    {
        public Data(Case c, bool affine, int seed)
        {
            Affine = affine;
            Layout = c.Ruler.Resolve(c.Shape);
            var random = new Random(seed);
            int n = (int)Layout.Count, p = Layout.AffineSize;
            X = Fill(random, n, 0.5, 2);
            U = Fill(random, n, 0, 1);
            Dy = Fill(random, n, 0, 1);
            Dh = Fill(random, n, 0, 1);
            Gamma = affine ? Fill(random, p, 1, 0.5) : [];
            Beta = affine ? Fill(random, p, 0, 1) : [];
        }

        public bool Affine { get; }
        public RulerLayout Layout { get; }
        public T[] X { get; }
        public T[] U { get; }
        public T[] Dy { get; }
        public T[] Dh { get; }
        public T[] Gamma { get; }
        public T[] Beta { get; }

        private static T[] Fill(Random random, int n, double center, double spread) =>
            Enumerable.Range(0, n).Select(_ => Num.FromDouble<T>(center + spread * (2 * random.NextDouble() - 1))).ToArray();
    }

    private sealed class Outputs<T>(RulerLayout layout) where T : unmanaged
    {
        public T[] Y { get; } = new T[layout.Count];
        public double[] Mean { get; } = new double[layout.GroupCount];
        public double[] Rstd { get; } = new double[layout.GroupCount];
        public T[] Dx { get; } = new T[layout.Count];
        public T[] Dg { get; } = new T[layout.AffineSize];
        public T[] Db { get; } = new T[layout.AffineSize];
    }
}
