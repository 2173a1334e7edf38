namespace Ruler.Tests.Support;

/// <summary>
/// The tests' own float64 normalizer, written from the definitions and sharing no code with the library: each
/// element's group and affine index come from a function of its multi-index; the mean is a compensated (Neumaier)
/// sum, the variance a second compensated pass over (x − mean)². Slow and plain on purpose.
/// </summary>
internal static class Oracle
{
    public sealed record Result(double[] Y, double[] Mean, double[] Rstd);

    /// <param name="x">Input in row-major order.</param>
    /// <param name="shape">Its shape.</param>
    /// <param name="group">Group index of an element, from its multi-index (numbered like the library's saved statistics).</param>
    /// <param name="groups">Number of groups.</param>
    /// <param name="affine">Affine index of an element (ignored when gamma and beta are null).</param>
    /// <param name="center">Subtract the mean (LayerNorm family) or not (RMSNorm family: mean 0, divide by the RMS).</param>
    /// <param name="eps">Added to the variance or mean square.</param>
    /// <param name="gamma">Scale, or null.</param>
    /// <param name="beta">Shift, or null.</param>
    public static Result Normalize(double[] x, int[] shape, Func<int[], int> group, int groups, Func<int[], int> affine,
        bool center, double eps, double[]? gamma = null, double[]? beta = null)
    {
        int[] g = new int[x.Length], a = new int[x.Length];
        ForEachIndex(shape, (i, idx) => { g[i] = group(idx); a[i] = affine(idx); });

        var members = Buckets(g, groups);

        var mean = new double[groups];
        var rstd = new double[groups];
        for (int k = 0; k < groups; k++)
        {
            var idx = members[k];
            double m = center ? CompensatedSum(idx.Select(i => x[i])) / idx.Length : 0;
            double var = CompensatedSum(idx.Select(i => (x[i] - m) * (x[i] - m))) / idx.Length;
            mean[k] = m;
            rstd[k] = 1 / Math.Sqrt(var + eps);
        }

        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = (x[i] - mean[g[i]]) * rstd[g[i]];
            if (gamma is not null) v *= gamma[a[i]];
            if (beta is not null) v += beta[a[i]];
            y[i] = v;
        }
        return new Result(y, mean, rstd);
    }

    public sealed record Gradients(double[] Dx, double[] Dgamma, double[] Dbeta);

    /// <summary>
    /// Gradients of <see cref="Normalize"/> (statistics from the input) written from the chain rule in its plainest
    /// form: with x̂ = (x − μ)·r and g = dy·γ, dx = r·(g − mean(g) − x̂·mean(g·x̂)) (no mean(g) term without centering);
    /// dγ = Σ dy·x̂, dβ = Σ dy. Checked against finite differences in GradientCheckTests.
    /// </summary>
    public static Gradients Backward(double[] x, int[] shape, Func<int[], int> group, int groups, Func<int[], int> affine, int affineSize,
        bool center, double eps, double[]? gamma, double[] dy)
    {
        var stats = Normalize(x, shape, group, groups, affine, center, eps);
        int[] g = new int[x.Length], a = new int[x.Length];
        ForEachIndex(shape, (i, idx) => { g[i] = group(idx); a[i] = affine(idx); });
        var xhat = new double[x.Length];
        var gi = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            xhat[i] = (x[i] - stats.Mean[g[i]]) * stats.Rstd[g[i]];
            gi[i] = dy[i] * (gamma is null ? 1 : gamma[a[i]]);
        }
        var byGroup = Buckets(g, groups);
        var byAffine = Buckets(a, affineSize);
        var meanG = new double[groups];
        var meanGx = new double[groups];
        for (int k = 0; k < groups; k++)
        {
            var members = byGroup[k];
            meanG[k] = CompensatedSum(members.Select(i => gi[i])) / members.Length;
            meanGx[k] = CompensatedSum(members.Select(i => gi[i] * xhat[i])) / members.Length;
        }
        var dx = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
            dx[i] = stats.Rstd[g[i]] * (gi[i] - (center ? meanG[g[i]] : 0) - xhat[i] * meanGx[g[i]]);
        var dgamma = new double[affineSize];
        var dbeta = new double[affineSize];
        for (int p = 0; p < affineSize; p++)
        {
            var members = byAffine[p];
            dgamma[p] = CompensatedSum(members.Select(i => dy[i] * xhat[i]));
            dbeta[p] = CompensatedSum(members.Select(i => dy[i]));
        }
        return new Gradients(dx, dgamma, dbeta);
    }

    /// <summary>The element indices of every bucket 0 … count − 1, given each element's bucket.</summary>
    private static int[][] Buckets(int[] of, int count)
    {
        var lists = new List<int>[count];
        for (int k = 0; k < count; k++) lists[k] = [];
        for (int i = 0; i < of.Length; i++) lists[of[i]].Add(i);
        return lists.Select(l => l.ToArray()).ToArray();
    }

    /// <summary>Neumaier's compensated sum: error independent of the count to first order.</summary>
    public static double CompensatedSum(IEnumerable<double> values)
    {
        double sum = 0, c = 0;
        foreach (double v in values)
        {
            double t = sum + v;
            c += Math.Abs(sum) >= Math.Abs(v) ? (sum - t) + v : (v - t) + sum;
            sum = t;
        }
        return sum + c;
    }

    /// <summary>Calls <paramref name="visit"/> with the flat index and the multi-index of every element, row-major.</summary>
    public static void ForEachIndex(int[] shape, Action<int, int[]> visit)
    {
        int count = TestData.Count(shape);
        var idx = new int[shape.Length];
        for (int i = 0; i < count; i++)
        {
            visit(i, idx);
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
    }

    /// <summary>Row-major flat index of idx[from..to) within shape[from..to).</summary>
    public static int Flat(int[] idx, int[] shape, int from, int to)
    {
        int f = 0;
        for (int d = from; d < to; d++) f = f * shape[d] + idx[d];
        return f;
    }
}
