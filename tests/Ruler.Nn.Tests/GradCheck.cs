namespace Ruler.Nn.Tests;

/// <summary>
/// Central finite differences in float64: numeric = (L(v+h) − L(v−h))/2h with h = 1e-5 for every element of a
/// tensor, compared with the analytic gradient. Error measure: max_i |analytic_i − numeric_i| / max_i |numeric_i|
/// (relative to the gradient's own scale, so elements near zero do not blow it up); a gradient that is zero by
/// algebra must then be zero analytically within 1e-9. Truncation error is
/// O(h²) ≈ 1e-10 and round-off ≈ 1e-16·|L|/h ≈ 1e-11 for these losses, far below the 1e-6 bound.
/// </summary>
internal static class GradCheck
{
    public const double Tolerance = 1e-6;
    private const double H = 1e-5;

    /// <summary>Checks <paramref name="analytic"/> against finite differences of <paramref name="loss"/> over <paramref name="values"/> (perturbed in place, restored).</summary>
    public static void Check(string name, double[] values, ReadOnlySpan<double> analytic, Func<double> loss)
    {
        Assert.Equal(values.Length, analytic.Length);
        double maxErr = 0, maxRef = 0;
        int worst = -1;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            values[i] = v + H;
            double plus = loss();
            values[i] = v - H;
            double minus = loss();
            values[i] = v;
            double numeric = (plus - minus) / (2 * H);
            double err = Math.Abs(analytic[i] - numeric);
            if (err > maxErr) (maxErr, worst) = (err, i);
            maxRef = Math.Max(maxRef, Math.Abs(numeric));
        }
        if (maxRef <= 1e-9)
        {
            // A gradient that is zero by algebra (e.g. a bias right before BatchNorm): the analytic one must be ~0 too.
            Assert.True(maxErr <= 1e-9, $"{name}: numeric gradient ~0 but analytic differs by {maxErr:E2}.");
            return;
        }
        double rel = maxErr / maxRef;
        Assert.True(rel <= Tolerance, $"{name}: relative error {rel:E2} > {Tolerance:E0} (worst element {worst}, scale {maxRef:E2}).");
    }

    /// <summary>Σ w·y: a loss whose gradient with respect to y is w.</summary>
    public static double Dot(ReadOnlySpan<double> w, ReadOnlySpan<double> y)
    {
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += w[i] * y[i];
        return s;
    }

    public static double[] Gaussian(Rng rng, int n, double scale = 1)
    {
        var a = new double[n];
        for (int i = 0; i < n; i++) a[i] = scale * rng.NextGaussian();
        return a;
    }
}
