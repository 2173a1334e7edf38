namespace Ruler.Tests.Support;

/// <summary>
/// Normalization and its gradients in exact rational arithmetic (<see cref="Rational"/>): mean, variance, x̂, y, dx,
/// dγ, dβ carry no rounding except rstd = 1/√(var + eps), approximated to 2^-200. The independent oracle for the
/// float64 exactness claims, on small cases. Groups and affine indices are given per element.
/// </summary>
internal static class ExactOracle
{
    public sealed record Result(double[] Y, double[] Dx, double[] Dgamma, double[] Dbeta, double[] Mean, double[] Variance);

    /// <param name="x">Input.</param>
    /// <param name="group">Group of each element.</param>
    /// <param name="affine">Affine index of each element.</param>
    /// <param name="groups">Group count.</param>
    /// <param name="affineSize">γ, β length.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="gamma">γ (length affineSize).</param>
    /// <param name="beta">β (length affineSize).</param>
    /// <param name="dy">Upstream gradient.</param>
    public static Result LayerNormFamily(double[] x, int[] group, int[] affine, int groups, int affineSize, double eps,
        double[] gamma, double[] beta, double[] dy)
    {
        int count = x.Length;
        var xs = x.Select(Rational.From).ToArray();
        var dys = dy.Select(Rational.From).ToArray();
        var gs = gamma.Select(Rational.From).ToArray();
        var bs = beta.Select(Rational.From).ToArray();
        var n = new int[groups];
        var sum = Enumerable.Repeat(Rational.Zero, groups).ToArray();
        for (int i = 0; i < count; i++) { n[group[i]]++; sum[group[i]] += xs[i]; }
        var mean = sum.Select((s, g) => s / new Rational(n[g], 1)).ToArray();                   // μ = Σx/n
        var m2 = Enumerable.Repeat(Rational.Zero, groups).ToArray();
        for (int i = 0; i < count; i++) { var d = xs[i] - mean[group[i]]; m2[group[i]] += d * d; }
        var variance = m2.Select((v, g) => v / new Rational(n[g], 1)).ToArray();                // var = Σ(x − μ)²/n
        var epsR = Rational.From(eps);
        var rstd = variance.Select(v => new Rational(1, 1) / Rational.Sqrt(v + epsR)).ToArray(); // 1/√(var + eps)
        var xhat = new Rational[count];
        var gi = new Rational[count];
        var sumG = Enumerable.Repeat(Rational.Zero, groups).ToArray();
        var sumGx = Enumerable.Repeat(Rational.Zero, groups).ToArray();
        var dg = Enumerable.Repeat(Rational.Zero, affineSize).ToArray();
        var db = Enumerable.Repeat(Rational.Zero, affineSize).ToArray();
        var y = new double[count];
        for (int i = 0; i < count; i++)
        {
            int g = group[i], a = affine[i];
            xhat[i] = (xs[i] - mean[g]) * rstd[g];                                                // x̂ = (x − μ)·rstd
            y[i] = (xhat[i] * gs[a] + bs[a]).ToDouble();                                           // y = x̂·γ + β
            gi[i] = dys[i] * gs[a];                                                                // g = dy·γ
            sumG[g] += gi[i];
            sumGx[g] += gi[i] * xhat[i];
            dg[a] += dys[i] * xhat[i];                                                             // dγ = Σ dy·x̂
            db[a] += dys[i];                                                                       // dβ = Σ dy
        }
        var dx = new double[count];
        for (int i = 0; i < count; i++)
        {
            int g = group[i];
            var size = new Rational(n[g], 1);
            dx[i] = (rstd[g] * (gi[i] - sumG[g] / size - xhat[i] * sumGx[g] / size)).ToDouble(); // rstd·(g − mean(g) − x̂·mean(g·x̂))
        }
        return new Result(y, dx, dg.Select(v => v.ToDouble()).ToArray(), db.Select(v => v.ToDouble()).ToArray(),
            mean.Select(v => v.ToDouble()).ToArray(), variance.Select(v => v.ToDouble()).ToArray());
    }

    /// <summary>The unbiased variance Σ(x − μ)²/(n − 1) of some numbers, exactly, then rounded.</summary>
    public static double UnbiasedVariance(IEnumerable<double> values)
    {
        var xs = values.Select(Rational.From).ToArray();
        var mean = xs.Aggregate(Rational.Zero, (s, v) => s + v) / new Rational(xs.Length, 1);
        var m2 = xs.Aggregate(Rational.Zero, (s, v) => s + (v - mean) * (v - mean));
        return (m2 / new Rational(xs.Length - 1, 1)).ToDouble();
    }

    /// <summary>Every element: |actual − exact| ≤ tolerance·max(1, |exact|).</summary>
    public static void AssertClose(double[] exact, double[] actual, double tolerance, string what)
    {
        Assert.Equal(exact.Length, actual.Length);
        for (int i = 0; i < exact.Length; i++)
        {
            double err = Math.Abs(actual[i] - exact[i]);
            if (!(err <= tolerance * Math.Max(1, Math.Abs(exact[i]))))
                Assert.Fail($"{what}: element {i} exact {exact[i]:R}, got {actual[i]:R} (|error| {err:G3} > {tolerance:G3}·max(1, |exact|))");
        }
    }
}
