using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Float64 statistics are exact: for offsets up to 1e8 and spreads down to 1e-4, y, dx, dγ and dβ from every kernel
/// family (rows, planes, columns, the reference ruler; through modules and through RulerOps) are within 1e-12 of an
/// exact rational computation (<see cref="ExactOracle"/>), relative to max(1, |exact|). The saved mean is one double,
/// so without keeping the centre's remainder an offset of 1e6 with spread 1e-2 was already off by 1e-9.
/// </summary>
public class ExactStatisticsTests
{
    private const double Tolerance = 1e-12;

    public static TheoryData<string, double, double> Cases()
    {
        var data = new TheoryData<string, double, double>();
        foreach (string kind in new[] { "layernorm", "batchnorm-planes", "batchnorm-columns", "groupnorm", "instancenorm", "ruler-reference", "ruler-rows" })
            foreach (double offset in new[] { 0, 1e4, 1e6, -1e8, 1e8 })
                foreach (double spread in new[] { 1, 1e-2, 1e-4 })
                    data.Add(kind, offset, spread);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64ForwardAndBackwardMatchExactArithmetic(string kind, double offset, double spread)
    {
        var (shape, group, affine, groups, affineSize) = Describe(kind);
        int count = shape.Aggregate(1, (a, b) => a * b);
        var rng = new Random(HashCode.Combine(kind, offset, spread) & 0xFFFF);
        var x = TestData.Normal(rng, count, offset, spread);
        var dy = TestData.Normal(rng, count);
        var gamma = TestData.Uniform(rng, affineSize, 0.5, 1.5);
        var beta = TestData.Uniform(rng, affineSize, -1, 1);
        const double eps = 1e-5;

        var (y, dx, dgamma, dbeta) = Run(kind, x, shape, gamma, beta, dy, eps);
        var exact = ExactOracle.LayerNormFamily(x, group, affine, groups, affineSize, eps, gamma, beta, dy);
        ExactOracle.AssertClose(exact.Y, y, Tolerance, $"{kind} y");
        ExactOracle.AssertClose(exact.Dx, dx, Tolerance, $"{kind} dx");
        ExactOracle.AssertClose(exact.Dgamma, dgamma, Tolerance, $"{kind} dγ");
        ExactOracle.AssertClose(exact.Dbeta, dbeta, Tolerance, $"{kind} dβ");
    }

    /// <summary>Shape, each element's group and affine index, group count and affine size of a case.</summary>
    private static (int[] Shape, int[] Group, int[] Affine, int Groups, int AffineSize) Describe(string kind)
    {
        (int[] shape, Func<int[], int> group, Func<int[], int> affine, int groups, int affineSize) = kind switch
        {
            "layernorm" or "ruler-rows" => ([3, 16], i => i[0], i => i[1], 3, 16),
            "batchnorm-planes" => ([4, 3, 5], i => i[1], i => i[1], 3, 3),
            "batchnorm-columns" => ([6, 3], i => i[1], i => i[1], 3, 3),
            "groupnorm" => ([2, 4, 3], i => i[0] * 2 + i[1] / 2, i => i[1], 4, 4),
            "instancenorm" => ([2, 3, 5], i => i[0] * 3 + i[1], i => i[1], 6, 3),
            "ruler-reference" => ((int[])[2, 3, 2, 3], (Func<int[], int>)(i => i[1] * 3 + i[3]), (Func<int[], int>)(i => i[1]), 9, 3),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        int count = shape.Aggregate(1, (a, b) => a * b);
        int[] g = new int[count], a = new int[count];
        Oracle.ForEachIndex(shape, (i, idx) => { g[i] = group(idx); a[i] = affine(idx); });
        return (shape, g, a, groups, affineSize);
    }

    private static (double[] Y, double[] Dx, double[] Dgamma, double[] Dbeta) Run(string kind, double[] x, int[] shape, double[] gamma,
        double[] beta, double[] dy, double eps)
    {
        var y = new double[x.Length];
        var dx = new double[x.Length];
        if (kind.StartsWith("ruler-", StringComparison.Ordinal))
        {
            var ruler = kind == "ruler-rows" ? RulerSpec.LayerNorm(1, eps) : new RulerSpec([0, 2], true, eps, [1]);
            var layout = ruler.Resolve(shape);
            var mean = new double[layout.GroupCount];
            var rstd = new double[layout.GroupCount];
            var dgamma = new double[gamma.Length];
            var dbeta = new double[gamma.Length];
            RulerOps.Forward<double>(ruler, x, shape, gamma, beta, y, mean, rstd);
            RulerOps.Backward<double>(ruler, x, shape, mean, rstd, gamma, dy, dx, dgamma, dbeta);
            return (y, dx, dgamma, dbeta);
        }
        RulerNormalizer<double> m = kind switch
        {
            "layernorm" => new LayerNorm<double>([16], eps),
            "batchnorm-planes" or "batchnorm-columns" => new BatchNorm<double>(3, eps),
            "groupnorm" => new GroupNorm<double>(2, 4, eps),
            _ => new InstanceNorm<double>(3, eps, affine: true, trackRunningStats: true),
        };
        gamma.CopyTo(m.Weight.Value, 0);
        beta.CopyTo(m.Bias.Value, 0);
        m.Forward(x, shape, y);
        m.Backward(x, shape, dy, dx);
        return (y, dx, m.Weight.Grad, m.Bias.Grad);
    }
}
