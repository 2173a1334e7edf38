using Ruler.Nn.Optim;

namespace Ruler.Nn.Tests;

public class OptimAdamWTests
{
    // Textbook AdamW in float64 (Loshchilov & Hutter, in PyTorch's order): decay, moments, bias-corrected m̂ and v̂,
    // p ← p − lr·m̂/(√v̂ + eps). Written from the equations, independently of the optimizer's loop.
    private sealed class Reference(double[] p, double lr, double b1, double b2, double eps, double wd)
    {
        public readonly double[] P = (double[])p.Clone();
        public readonly double[] M = new double[p.Length];
        public readonly double[] V = new double[p.Length];
        private int _t;

        public void Step(double[] g)
        {
            _t++;
            for (int i = 0; i < P.Length; i++)
            {
                P[i] -= lr * wd * P[i];
                M[i] = b1 * M[i] + (1 - b1) * g[i];
                V[i] = b2 * V[i] + (1 - b2) * g[i] * g[i];
                double mHat = M[i] / (1 - Math.Pow(b1, _t));
                double vHat = V[i] / (1 - Math.Pow(b2, _t));
                P[i] -= lr * mHat / (Math.Sqrt(vHat) + eps);
            }
        }
    }

    // Gradients vary by step and element; the second parameter's are tiny (~1e-7), where putting eps inside or
    // outside the square root makes a large difference.
    private static double Grad(int param, int i, int step) =>
        (param == 0 ? 1.0 : 1e-7) * Math.Sin(1.3 * i + 0.7 * step + param) + (param == 0 ? 0.05 * step : 0);

    private static void RunAgainstReference<T>(double tolerance) where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        double[][] init = [[0.5, -1.25, 2.0, 0.0, -0.3], [1e-3, -2e-3, 3e-3]];
        const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0.1;
        var parameters = new[]
        {
            new Parameter<T>("w", init[0].Select(T.CreateTruncating).ToArray()),
            new Parameter<T>("b", init[1].Select(T.CreateTruncating).ToArray()) { NoWeightDecay = true },
        };
        var refs = new[] { new Reference(init[0], lr, b1, b2, eps, wd), new Reference(init[1], lr, b1, b2, eps, 0) };
        var opt = new AdamW<T>(parameters, lr, b1, b2, eps, wd);
        for (int step = 1; step <= 6; step++)
        {
            for (int k = 0; k < 2; k++)
            {
                double[] g = Enumerable.Range(0, init[k].Length).Select(i => Grad(k, i, step)).ToArray();
                for (int i = 0; i < g.Length; i++) parameters[k].Grad[i] = T.CreateTruncating(g[i]);
                refs[k].Step(g.Select(x => double.CreateTruncating(T.CreateTruncating(x))).ToArray());
            }
            opt.Step();
            for (int k = 0; k < 2; k++)
            {
                AssertClose(refs[k].P, parameters[k].Value, tolerance, $"p{k} step {step}");
                AssertClose(refs[k].M, opt.FirstMoment(k).ToArray(), tolerance, $"m{k} step {step}");
                AssertClose(refs[k].V, opt.SecondMoment(k).ToArray(), tolerance, $"v{k} step {step}");
            }
        }
        Assert.Equal(6, opt.StepCount);
    }

    // Relative tolerance against max(|reference|, smallest magnitude in the vector) so tiny values are judged fairly.
    private static void AssertClose<T>(double[] expected, T[] actual, double tolerance, string what)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        for (int i = 0; i < expected.Length; i++)
        {
            double a = double.CreateTruncating(actual[i]);
            double err = Math.Abs(a - expected[i]) / Math.Max(Math.Abs(expected[i]), 1e-30);
            Assert.True(err <= tolerance, $"{what}[{i}]: expected {expected[i]:R}, got {a:R} (relative error {err:E2} > {tolerance:E0})");
        }
    }

    [Fact]
    public void DoubleStepsMatchTheFloat64ReferenceToRoundoff() => RunAgainstReference<double>(1e-12);

    [Fact]
    public void FloatStepsMatchTheFloat64ReferenceToSinglePrecision() => RunAgainstReference<float>(2e-6);

    [Fact]
    public void FirstStepMovesEachWeightByAboutTheLearningRateAgainstItsGradient()
    {
        var p = new Parameter<double>("w", [1.0, 1.0, 1.0]);
        p.Grad[0] = 3; p.Grad[1] = -0.02; p.Grad[2] = 0;
        new AdamW<double>([p], learningRate: 0.1, weightDecay: 0).Step();
        // m̂ = g and v̂ = g² after one step, so Δp = −lr·g/(|g| + eps): −lr·sign(g), or 0 for g = 0.
        Assert.Equal(0.9, p.Value[0], 1e-8);
        Assert.Equal(1.1, p.Value[1], 1e-6);
        Assert.Equal(1.0, p.Value[2]);
    }

    [Fact]
    public void WeightDecayIsDecoupledAndSkippedForNoWeightDecayParameters()
    {
        var w = new Parameter<double>("w", [2.0, -4.0]);
        var gain = new Parameter<double>("gain", [2.0, -4.0]) { NoWeightDecay = true };
        var opt = new AdamW<double>([w, gain], learningRate: 0.1, weightDecay: 0.5);
        for (int i = 0; i < 3; i++) opt.Step(); // zero gradients: only the decay acts
        double shrink = Math.Pow(1 - 0.1 * 0.5, 3);
        Assert.Equal(2.0 * shrink, w.Value[0], 1e-14);
        Assert.Equal(-4.0 * shrink, w.Value[1], 1e-14);
        Assert.Equal([2.0, -4.0], gain.Value);
    }

    [Fact]
    public void InvalidSettingsAreRefused()
    {
        var p = new Parameter<float>("w", [1f]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW<float>([p], beta1: 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW<float>([p], beta2: -0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW<float>([p], eps: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW<float>([p], weightDecay: double.NaN));
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdamW<float>([p], learningRate: -1e-3));
        var e = Assert.Throws<ArgumentException>(() => new AdamW<float>([p, p]));
        Assert.Contains("\"w\" twice", e.Message);
    }

    [Fact]
    public void ZeroGradClearsEveryGradient()
    {
        var a = new Parameter<float>("a", [1f, 2f]);
        var b = new Parameter<float>("b", [3f]);
        a.Grad[1] = 5f; b.Grad[0] = -1f;
        new AdamW<float>([a, b]).ZeroGrad();
        Assert.Equal([0f, 0f], a.Grad);
        Assert.Equal([0f], b.Grad);
    }
}
