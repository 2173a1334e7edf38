using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Every backward against central finite differences in float64 of a random scalar loss L = Σ w·y (+ Σ v·h for the
/// fused add): ∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h with h = 1e-6. Truncation error is O(h²) ≈ 1e-12 and rounding
/// error ≈ 1e-16·|L|/h ≈ 1e-9 for |L| ~ 10, so the tolerance is a norm-wise relative error
/// max|analytic − numeric| / max|numeric| ≤ 1e-6: three orders above the expected noise, far below any real mistake
/// (a dropped term of the backward changes gradients by O(1/n) ≥ 1e-2 here).
/// </summary>
public class GradientCheckTests
{
    private const double H = 1e-6;
    private const double Tolerance = 1e-6;

    internal static double[] NumericGradient(Func<double> loss, double[] theta)
    {
        var g = new double[theta.Length];
        for (int i = 0; i < theta.Length; i++)
        {
            double v = theta[i];
            theta[i] = v + H;
            double plus = loss();
            theta[i] = v - H;
            double minus = loss();
            theta[i] = v;
            g[i] = (plus - minus) / (2 * H);
        }
        return g;
    }

    internal static void AssertGradient(double[] analytic, Func<double> loss, double[] theta, string what)
    {
        var numeric = NumericGradient(loss, theta);
        double scale = numeric.Max(Math.Abs);
        Assert.True(scale > 1e-3, $"{what}: the numeric gradient is ~0 (max {scale}); the check would be vacuous");
        Approx.NormwiseRelative(numeric, analytic, Tolerance, $"{what} (analytic vs central differences)");
    }

    internal static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>Checks dx, dγ and dβ of a module against finite differences of L = Σ w·module(x).</summary>
    private static void CheckModule(Normalizer<double> m, int[] shape, int seed, string what)
    {
        var rng = new Random(seed);
        int n = TestData.Count(shape);
        var x = TestData.Normal(rng, n, 0.3, 1.7);
        var w = TestData.Normal(rng, n);
        foreach (var p in m.Parameters) TestData.Normal(rng, p.Value.Length, p.Name == "weight" ? 1 : 0, 0.5).CopyTo(p.Value, 0);

        var y = new double[n];
        var dx = new double[n];
        m.ZeroGrad();
        m.Forward(x, shape, y);
        m.Backward(x, shape, w, dx);
        var grads = m.Parameters.Select(p => (double[])p.Grad.Clone()).ToArray();

        double Loss()
        {
            m.Forward(x, shape, y);
            return Dot(w, y);
        }
        AssertGradient(dx, Loss, x, $"{what} dx");
        for (int k = 0; k < grads.Length; k++)
            AssertGradient(grads[k], Loss, m.Parameters[k].Value, $"{what} d{m.Parameters[k].Name}");
    }

    [Fact]
    public void BatchNormTrainingBackwardMatchesFiniteDifferences()
    {
        CheckModule(new BatchNorm<double>(3), [4, 3, 2, 3], 1, "BatchNorm train NCHW");
        CheckModule(new BatchNorm<double>(3, layout: ChannelLayout.ChannelsLast), [4, 2, 3, 3], 2, "BatchNorm train NHWC");
        CheckModule(new BatchNorm<double>(5), [6, 5], 3, "BatchNorm1d train");
    }

    [Fact]
    public void BatchNormEvalBackwardMatchesFiniteDifferences()
    {
        var bn = new BatchNorm<double>(3);
        var rng = new Random(4);
        TestData.Normal(rng, 3).CopyTo(bn.Running!.Mean, 0);
        TestData.Uniform(rng, 3, 0.5, 2).CopyTo(bn.Running.Variance, 0);
        bn.Training = false;
        CheckModule(bn, [4, 3, 2, 3], 5, "BatchNorm eval");
    }

    [Fact]
    public void LayerNormWithRankTwoNormalizedShapeBackwardMatchesFiniteDifferences()
    {
        CheckModule(new LayerNorm<double>([3, 4]), [2, 3, 3, 4], 6, "LayerNorm [3,4]");
        CheckModule(new LayerNorm<double>([7], bias: false), [5, 7], 7, "LayerNorm [7] without bias");
    }

    [Fact]
    public void GroupNormBackwardMatchesFiniteDifferences()
    {
        CheckModule(new GroupNorm<double>(2, 6), [2, 6, 3, 2], 8, "GroupNorm G=2 NCHW");
        CheckModule(new GroupNorm<double>(3, 6, layout: ChannelLayout.ChannelsLast), [2, 3, 2, 6], 9, "GroupNorm G=3 NHWC");
    }

    [Fact]
    public void InstanceNormWithoutRunningStatisticsBackwardMatchesFiniteDifferences()
    {
        CheckModule(new InstanceNorm<double>(3, affine: true), [2, 3, 5], 10, "InstanceNorm train");
        var eval = new InstanceNorm<double>(3, affine: true) { Training = false };
        CheckModule(eval, [2, 3, 2, 3], 11, "InstanceNorm eval (no running stats: input statistics)");
    }

    [Fact]
    public void InstanceNormWithRunningStatisticsBackwardMatchesFiniteDifferences()
    {
        CheckModule(new InstanceNorm<double>(3, affine: true, trackRunningStats: true), [2, 3, 5], 12, "InstanceNorm train, tracked");
        var eval = new InstanceNorm<double>(3, affine: true, trackRunningStats: true);
        var rng = new Random(13);
        TestData.Normal(rng, 3).CopyTo(eval.Running!.Mean, 0);
        TestData.Uniform(rng, 3, 0.5, 2).CopyTo(eval.Running.Variance, 0);
        eval.Training = false;
        CheckModule(eval, [2, 3, 5], 14, "InstanceNorm eval, running statistics");
    }

    [Fact]
    public void RmsNormBackwardMatchesFiniteDifferences()
    {
        CheckModule(new RmsNorm<double>([8]), [4, 8], 15, "RmsNorm [8]");
        CheckModule(new RmsNorm<double>([2, 3], eps: 1e-5), [3, 2, 3], 16, "RmsNorm [2,3]");
    }

    [Fact]
    public void DynamicTanhModuleBackwardMatchesFiniteDifferences() =>
        CheckModule(new DynamicTanh<double>([5], alphaInit: 0.7), [3, 5], 17, "DynamicTanh module");

    [Fact]
    public void DynamicTanhOpsGradientsOfXAlphaGammaBetaMatchFiniteDifferences()
    {
        var rng = new Random(18);
        int features = 4, n = 12;
        var x = TestData.Normal(rng, n, 0, 2);
        var w = TestData.Normal(rng, n);
        var gamma = TestData.Normal(rng, features, 1, 0.5);
        var beta = TestData.Normal(rng, features);
        var alpha = new[] { 0.6 };
        var y = new double[n];
        var dx = new double[n];
        var dgamma = new double[features];
        var dbeta = new double[features];
        double dalpha = DynamicTanhOps.Backward<double>(x, features, alpha[0], gamma, w, dx, dgamma, dbeta);

        double Loss()
        {
            DynamicTanhOps.Forward<double>(x, features, alpha[0], gamma, beta, y);
            return Dot(w, y);
        }
        AssertGradient(dx, Loss, x, "DyT dx");
        AssertGradient([dalpha], Loss, alpha, "DyT dalpha");
        AssertGradient(dgamma, Loss, gamma, "DyT dgamma");
        AssertGradient(dbeta, Loss, beta, "DyT dbeta");
    }

    public static TheoryData<string> AddRulers() => ["LayerNorm", "RmsNorm", "BatchNorm"];

    private static RulerSpec RulerNamed(string name) => name switch
    {
        "LayerNorm" => RulerSpec.LayerNorm(),
        "RmsNorm" => RulerSpec.RmsNorm(1, 1e-5),
        _ => RulerSpec.BatchNorm(3),
    };

    [Theory, MemberData(nameof(AddRulers))]
    public void FusedAddNormBackwardWithResidualGradientMatchesFiniteDifferences(string name)
    {
        // L = Σ w·y + Σ v·h with h = x + u, y = norm(h): dx = du = v + norm_backward(w).
        var ruler = RulerNamed(name);
        int[] shape = [3, 4, 5];
        var layout = ruler.Resolve(shape);
        var rng = new Random(19);
        int n = TestData.Count(shape);
        var x = TestData.Normal(rng, n);
        var u = TestData.Normal(rng, n, 0.5, 0.7);
        var w = TestData.Normal(rng, n);
        var v = TestData.Normal(rng, n);
        var gamma = TestData.Normal(rng, layout.AffineSize, 1, 0.5);
        var beta = TestData.Normal(rng, layout.AffineSize);
        var h = new double[n];
        var y = new double[n];
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.AddForward<double>(ruler, x, u, shape, gamma, beta, h, y, mean, rstd);
        var dsum = new double[n];
        var dgamma = new double[layout.AffineSize];
        var dbeta = new double[layout.AffineSize];
        RulerOps.AddBackward<double>(ruler, h, shape, mean, rstd, gamma, w, v, dsum, dgamma, dbeta);

        double Loss()
        {
            RulerOps.AddForward<double>(ruler, x, u, shape, gamma, beta, h, y, mean, rstd);
            return Dot(w, y) + Dot(v, h);
        }
        AssertGradient(dsum, Loss, x, $"{name} add+norm dx");
        AssertGradient(dsum, Loss, u, $"{name} add+norm du");
        AssertGradient(dgamma, Loss, gamma, $"{name} add+norm dgamma");
        AssertGradient(dbeta, Loss, beta, $"{name} add+norm dbeta");
    }

    public static TheoryData<int[], int[], bool, int[]> GeneralRulers() => new()
    {
        // shape, reduced axes, center, affine axes
        { [3, 2, 4, 5], [0, 2], true, [3] },
        { [3, 2, 4, 5], [0, 2], false, [3] },
        { [2, 3, 4, 2], [1, -1], true, [1, 3] },
        { [4, 3, 5], [-1, 0], true, [] },
    };

    [Theory, MemberData(nameof(GeneralRulers))]
    public void GeneralRulerWithUnusualAxesBackwardMatchesFiniteDifferences(int[] shape, int[] reduced, bool center, int[] affine)
    {
        var ruler = new RulerSpec(reduced, center, 1e-5, affine);
        var layout = ruler.Resolve(shape);
        var rng = new Random(20);
        int n = TestData.Count(shape);
        var x = TestData.Normal(rng, n, 0.4, 1.3);
        var w = TestData.Normal(rng, n);
        var gamma = TestData.Normal(rng, layout.AffineSize, 1, 0.5);
        var beta = TestData.Normal(rng, layout.AffineSize);
        var y = new double[n];
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Forward<double>(ruler, x, shape, gamma, beta, y, mean, rstd);
        var dx = new double[n];
        var dgamma = new double[layout.AffineSize];
        var dbeta = new double[layout.AffineSize];
        RulerOps.Backward<double>(ruler, x, shape, mean, rstd, gamma, w, dx, dgamma, dbeta);

        double Loss()
        {
            RulerOps.Forward<double>(ruler, x, shape, gamma, beta, y, mean, rstd);
            return Dot(w, y);
        }
        string what = ruler.ToString();
        AssertGradient(dx, Loss, x, $"{what} dx");
        AssertGradient(dgamma, Loss, gamma, $"{what} dgamma");
        AssertGradient(dbeta, Loss, beta, $"{what} dbeta");
    }

    [Theory]
    [InlineData("LayerNorm[3,7]")]
    [InlineData("RmsNorm[4,6]")]
    [InlineData("BatchNorm(NHWC)[3,2,2,3]")]
    [InlineData("GroupNorm(G=2)[2,4,3]")]
    public void TestOracleBackwardMatchesFiniteDifferences(string id)
    {
        // The tests' own backward (used below at sizes finite differences cannot reach) is itself checked here.
        var c = SmallCase(id);
        var rng = new Random(22);
        var x = TestData.Normal(rng, c.Count, 0.2, 1.5);
        var w = TestData.Normal(rng, c.Count);
        var gamma = TestData.Normal(rng, c.AffineSize, 1, 0.5);
        var beta = TestData.Normal(rng, c.AffineSize);
        var grads = Oracle.Backward(x, c.Shape, c.Group, c.Groups, c.Affine, c.AffineSize, c.Center, 1e-5, gamma, w);
        double Loss() => Dot(w, c.Reference(x, 1e-5, gamma, beta).Y);
        AssertGradient(grads.Dx, Loss, x, $"oracle {id} dx");
        AssertGradient(grads.Dgamma, Loss, gamma, $"oracle {id} dgamma");
        if (c.HasBeta) AssertGradient(grads.Dbeta, Loss, beta, $"oracle {id} dbeta");
    }

    private static NormCase SmallCase(string id) => id switch
    {
        "LayerNorm[3,7]" => NormCase.LayerNorm([3, 7]),
        "RmsNorm[4,6]" => NormCase.RmsNorm([4, 6]),
        "BatchNorm(NHWC)[3,2,2,3]" => NormCase.BatchNorm([3, 2, 2, 3], ChannelLayout.ChannelsLast),
        _ => NormCase.GroupNorm([2, 4, 3], 2),
    };

    public static TheoryData<string> LargeCases => NormCase.LargeNames();

    [Theory, MemberData(nameof(LargeCases))]
    public void BackwardOnLargeTensorsMatchesTheFiniteDifferenceCheckedOracle(string id)
    {
        // Sizes where fast paths vectorize and split work. Norm-wise relative tolerance: 1e-10 in float64,
        // 1e-5 in float32 (inputs are the same float values; the oracle runs in float64).
        var c = NormCase.ById(id);
        var rng = new Random(23);
        var x = TestData.ToDouble(TestData.ToFloat(TestData.Normal(rng, c.Count, 0.3, 1.7)));
        var dy = TestData.ToDouble(TestData.ToFloat(TestData.Normal(rng, c.Count)));
        var gamma = TestData.ToDouble(TestData.ToFloat(TestData.Normal(rng, c.AffineSize, 1, 0.5)));
        var beta = TestData.ToDouble(TestData.ToFloat(TestData.Normal(rng, c.AffineSize)));
        var expected = Oracle.Backward(x, c.Shape, c.Group, c.Groups, c.Affine, c.AffineSize, c.Center, 1e-5, gamma, dy);
        CheckLarge<double>(c, x, dy, gamma, beta, expected, 1e-10);
        CheckLarge<float>(c, x, dy, gamma, beta, expected, 1e-5);
    }

    private static void CheckLarge<T>(NormCase c, double[] x, double[] dy, double[] gamma, double[] beta, Oracle.Gradients expected,
        double tolerance) where T : unmanaged
    {
        var m = c.Create<T>(1e-5, gamma, beta);
        var xt = TestData.Convert<T>(x);
        var dx = new T[x.Length];
        m.ZeroGrad();
        m.Forward(xt, c.Shape, new T[x.Length]);
        m.Backward(xt, c.Shape, TestData.Convert<T>(dy), dx);
        string what = $"{c.Id} {typeof(T).Name}";
        Approx.NormwiseRelative(expected.Dx, TestData.ToDouble(dx), tolerance, $"{what} dx");
        Approx.NormwiseRelative(expected.Dgamma, TestData.ToDouble(m.Weight.Grad), tolerance, $"{what} dgamma");
        if (m.HasBias) Approx.NormwiseRelative(expected.Dbeta, TestData.ToDouble(m.Bias.Grad), tolerance, $"{what} dbeta");
    }

    [Fact]
    public void GeneralRulerWithFixedStatisticsBackwardMatchesFiniteDifferences()
    {
        // Statistics merged elsewhere (or running): constants of the loss, so dx = rstd·γ·dy.
        var ruler = new RulerSpec([0, 2], true, 1e-5, [3]);
        int[] shape = [3, 2, 4, 5];
        var layout = ruler.Resolve(shape);
        var rng = new Random(21);
        int n = TestData.Count(shape);
        var x = TestData.Normal(rng, n);
        var w = TestData.Normal(rng, n);
        var gamma = TestData.Normal(rng, layout.AffineSize, 1, 0.5);
        var beta = TestData.Normal(rng, layout.AffineSize);
        var mean = TestData.Normal(rng, layout.GroupCount);
        var rstd = TestData.Uniform(rng, layout.GroupCount, 0.5, 2);
        var y = new double[n];
        var dx = new double[n];
        var dgamma = new double[layout.AffineSize];
        var dbeta = new double[layout.AffineSize];
        RulerOps.Backward<double>(ruler, x, shape, mean, rstd, gamma, w, dx, dgamma, dbeta, statisticsFromInput: false);

        double Loss()
        {
            RulerOps.Normalize<double>(ruler, x, shape, mean, rstd, gamma, beta, y);
            return Dot(w, y);
        }
        AssertGradient(dx, Loss, x, "fixed statistics dx");
        AssertGradient(dgamma, Loss, gamma, "fixed statistics dgamma");
        AssertGradient(dbeta, Loss, beta, "fixed statistics dbeta");
    }
}
