using System.Globalization;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Seeded random calls for a bounded time: random shapes, reduced and affine axes, center or not, eps, float or
/// double, inputs with offsets, and sometimes NaN, ±∞ or subnormal elements; every result is compared with the
/// float64 <see cref="Oracle"/> (groups holding a non-finite input are skipped, and every other group must be
/// unaffected), and invalid arguments must be refused with an ArgumentException leaving every output and the
/// running statistics untouched.
/// </summary>
/// <remarks>
/// Iteration i uses seed <c>RULER_RANDOM_SEED + i</c> (default seed 20261201) and the run lasts
/// <c>RULER_RANDOM_SECONDS</c> (default 3; at least <see cref="MinIterations"/> iterations). A failure names its seed;
/// rerun it alone with <c>RULER_RANDOM_SEED=&lt;seed&gt; RULER_RANDOM_SECONDS=0</c>.
/// </remarks>
public class RandomizedTests
{
    private const int MinIterations = 25;
    private const int DefaultSeed = 20261201;

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : fallback;

    [Fact]
    public void RandomRulersAgreeWithTheOracleAndRefuseBadArgumentsCleanly()
    {
        int seed0 = Setting("RULER_RANDOM_SEED", DefaultSeed);
        var until = DateTime.UtcNow.AddSeconds(Setting("RULER_RANDOM_SECONDS", 3));
        for (int i = 0; i < MinIterations || DateTime.UtcNow < until; i++)
        {
            int seed = seed0 + i;
            try
            {
                var rng = new Random(seed);
                if (rng.Next(2) == 0) OneCall<float>(rng, 2e-5, 1e-4);
                else OneCall<double>(rng, 1e-9, 1e-8);
                RunningStatisticsSurviveARefusedCall(rng);
            }
            catch (Exception e)
            {
                throw new Xunit.Sdk.XunitException(
                    $"random case with seed {seed} failed (rerun: RULER_RANDOM_SEED={seed} RULER_RANDOM_SECONDS=0): {e.Message}", e);
            }
        }
    }

    private static void OneCall<T>(Random rng, double tolerance, double gradientTolerance) where T : unmanaged
    {
        int rank = rng.Next(1, 5);
        int[] shape = Enumerable.Range(0, rank).Select(_ => rng.Next(4) == 0 ? rng.Next(10, 40) : rng.Next(1, 7)).ToArray();
        int[] reduced = Enumerable.Range(0, rank).Where(_ => rng.Next(2) == 0).ToArray();
        if (reduced.Length == 0) reduced = [rng.Next(rank)];
        int[] affine = Enumerable.Range(0, rank).Where(_ => rng.Next(3) == 0).ToArray();
        bool center = rng.Next(4) != 0;
        double eps = new[] { 1e-5, 1e-3, 1e-12, 0.5 }[rng.Next(4)];
        // Sometimes spell axes from the end, as PyTorch allows.
        int[] Spell(int[] axes) => axes.Select(a => rng.Next(2) == 0 ? a : a - rank).ToArray();
        var ruler = new RulerSpec(Spell(reduced), center, eps, Spell(affine));
        var layout = ruler.Resolve(shape);
        int count = (int)layout.Count, groups = layout.GroupCount, affineSize = layout.AffineSize;

        double offset = rng.Next(3) == 0 ? rng.NextDouble() * 100 : 0, scale = Math.Pow(10, rng.Next(-2, 3));
        var xd = TestData.Normal(rng, count, offset, scale);
        if (rng.Next(4) == 0)
        {
            double[] special = [double.NaN, double.PositiveInfinity, double.NegativeInfinity, typeof(T) == typeof(float) ? 1e-40 : 4e-320, -1e-310];
            for (int k = rng.Next(1, 4); k > 0; k--) xd[rng.Next(count)] = special[rng.Next(special.Length)];
        }
        var x = TestData.Convert<T>(xd);
        xd = TestData.ToDouble(x);   // the oracle sees exactly the stored values
        bool withGamma = rng.Next(2) == 0, withBeta = rng.Next(2) == 0;
        var gammaD = TestData.ToDouble(TestData.Convert<T>(TestData.Uniform(rng, affineSize, 0.5, 2)));
        var betaD = TestData.ToDouble(TestData.Convert<T>(TestData.Uniform(rng, affineSize, -1, 1)));
        var gamma = withGamma ? TestData.Convert<T>(gammaD) : [];
        var beta = withBeta ? TestData.Convert<T>(betaD) : [];

        // Element → group and affine index, from the ruler's definition (row-major over kept / affine axes).
        int[] groupOf = new int[count], affineOf = new int[count];
        bool[] isReduced = new bool[rank], isAffine = new bool[rank];
        foreach (int a in reduced) isReduced[a] = true;
        foreach (int a in affine) isAffine[a] = true;
        Oracle.ForEachIndex(shape, (i, idx) =>
        {
            int g = 0, p = 0;
            for (int a = 0; a < rank; a++)
            {
                if (!isReduced[a]) g = g * shape[a] + idx[a];
                if (isAffine[a]) p = p * shape[a] + idx[a];
            }
            groupOf[i] = g;
            affineOf[i] = p;
        });
        int Flat(int[] idx) { int f = 0; for (int a = 0; a < rank; a++) f = f * shape[a] + idx[a]; return f; }

        var expected = Oracle.Normalize(xd, shape, idx => groupOf[Flat(idx)], groups, idx => affineOf[Flat(idx)], center, eps,
            withGamma ? gammaD : null, withBeta ? betaD : null);
        var y = new T[count];
        var mean = new double[groups];
        var rstd = new double[groups];
        RulerOps.Forward<T>(ruler, x, shape, gamma, beta, y, mean, rstd);
        var finite = new bool[groups];
        Array.Fill(finite, true);
        for (int i = 0; i < count; i++) if (!double.IsFinite(xd[i])) finite[groupOf[i]] = false;
        var yd = TestData.ToDouble(y);
        for (int i = 0; i < count; i++)
        {
            if (!finite[groupOf[i]]) continue;
            double err = Math.Abs(yd[i] - expected.Y[i]);
            Assert.True(err <= tolerance * (1 + Math.Abs(expected.Y[i])),
                $"{typeof(T).Name} {ruler} shape {Check(shape)}: y[{i}] {yd[i]:R} vs oracle {expected.Y[i]:R}");
        }

        // Backward on the finite groups' data: compare dx, dγ, dβ norm-wise with the oracle.
        if (finite.All(f => f))
        {
            var dyD = TestData.ToDouble(TestData.Convert<T>(TestData.Normal(rng, count)));
            var dx = new T[count];
            var dgamma = new T[affineSize];
            var dbeta = new T[affineSize];
            RulerOps.Backward<T>(ruler, x, shape, mean, rstd, gamma, TestData.Convert<T>(dyD), dx, dgamma, dbeta);
            var grads = Oracle.Backward(xd, shape, idx => groupOf[Flat(idx)], groups, idx => affineOf[Flat(idx)], affineSize, center, eps,
                withGamma ? gammaD : null, dyD);
            // Scales the errors are measured against: dx = rstd·(g − …) is made of terms of size rstd·|dy·γ| (it may cancel
            // to nearly 0, e.g. RMS over one element), dγ = Σ dy·x̂ of terms |dy·x̂|, dβ = Σ dy of terms |dy|.
            double dxScale = 0, dgScale = 0, dbScale = 0;
            for (int i = 0; i < count; i++)
            {
                double g = Math.Abs(dyD[i]) * (withGamma ? gammaD[affineOf[i]] : 1), xhat = Math.Abs((xd[i] - expected.Mean[groupOf[i]]) * expected.Rstd[groupOf[i]]);
                dxScale = Math.Max(dxScale, expected.Rstd[groupOf[i]] * g * (1 + xhat * xhat));
                dgScale = Math.Max(dgScale, Math.Abs(dyD[i]) * xhat * layout.GroupSize);
                dbScale = Math.Max(dbScale, Math.Abs(dyD[i]) * layout.GroupSize);
            }
            Within(grads.Dx, TestData.ToDouble(dx), gradientTolerance * dxScale, $"{typeof(T).Name} {ruler} shape {Check(shape)}: dx");
            Within(grads.Dgamma, TestData.ToDouble(dgamma), gradientTolerance * dgScale, $"{typeof(T).Name} {ruler} shape {Check(shape)}: dγ");
            Within(grads.Dbeta, TestData.ToDouble(dbeta), gradientTolerance * dbScale, $"{typeof(T).Name} {ruler} shape {Check(shape)}: dβ");
        }

        // An invalid call: one argument wrong, refused with ArgumentException, nothing written.
        var y2 = new T[count + (rng.Next(3) == 0 ? 1 : 0)];
        var mean2 = Enumerable.Repeat(-3.0, groups + (rng.Next(3) == 0 ? 1 : 0)).ToArray();
        var rstd2 = Enumerable.Repeat(-3.0, groups).ToArray();
        var gamma2 = withGamma && rng.Next(2) == 0 ? TestData.Convert<T>(new double[affineSize + 1]) : gamma;
        int[] shape2 = rng.Next(4) == 0 ? [.. shape.Take(rank - 1), shape[^1] + 1] : shape;
        bool bad = y2.Length != count || mean2.Length != groups || gamma2.Length != gamma.Length || !shape2.SequenceEqual(shape);
        if (!bad) return;
        Assert.ThrowsAny<ArgumentException>(() => RulerOps.Forward<T>(ruler, x, shape2, gamma2, beta, y2, mean2, rstd2));
        Assert.All(TestData.ToDouble(y2), v => Assert.Equal(0, v));
        Assert.All(mean2, v => Assert.Equal(-3, v));
        Assert.All(rstd2, v => Assert.Equal(-3, v));
    }

    /// <summary>A BatchNorm call refused (wrong channel count or length) leaves the running statistics and the output as they were.</summary>
    private static void RunningStatisticsSurviveARefusedCall(Random rng)
    {
        int c = rng.Next(1, 5), n = rng.Next(2, 6), l = rng.Next(1, 6);
        var bn = new BatchNorm<double>(c, momentum: rng.Next(2) == 0 ? 0.1 : null);
        bn.Forward(TestData.Normal(rng, n * c * l, 1, 2), [n, c, l], new double[n * c * l]);
        var runningMean = bn.Running!.Mean.ToArray();
        var runningVar = bn.Running.Variance.ToArray();
        var y = Enumerable.Repeat(7.0, n * (c + 1) * l).ToArray();
        Assert.ThrowsAny<ArgumentException>(() => bn.Forward(TestData.Normal(rng, n * (c + 1) * l), [n, c + 1, l], y));
        Assert.Throws<ArgumentException>(() => bn.Forward(new double[n * c * l - 1], [n, c, l], y.AsSpan(0, n * c * l)));
        Assert.Equal(runningMean, bn.Running.Mean);
        Assert.Equal(runningVar, bn.Running.Variance);
        Assert.All(y, v => Assert.Equal(7, v));
        Assert.Equal(1, bn.Running.BatchesTracked);
    }

    /// <summary>Every element within an absolute bound (a tolerance times the natural scale of the terms that make it).</summary>
    private static void Within(double[] expected, double[] actual, double bound, string what)
    {
        bound += 1e-300;   // subnormal results carry absolute, not relative, rounding

        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= bound,
                $"{what}: element {i} {actual[i]:R} vs oracle {expected[i]:R} (|error| {Math.Abs(actual[i] - expected[i]):G3} > {bound:G3})");
    }

    private static string Check(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
