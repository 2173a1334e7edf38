using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// The module API of issue 10 §2: fused add + norm modules with the other modules' conventions, one default eps per
/// concept, statistics sized for the functional API, non-null affine parameters, and the functional API's
/// overwrite semantics pinned.
/// </summary>
public class ModuleApiTests
{
    private static readonly int[] Shape = [6, 16];

    // ---------------------------------------------------------------- AddLayerNorm / AddRmsNorm

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AddNormForwardAndBackwardEqualAddingThenTheUnfusedModule(bool layerNorm)
    {
        // Oracle: h = x + u computed here, then LayerNorm<double>/RmsNorm<double> on h (an independent module path).
        var rng = new Random(5);
        int n = TestData.Count(Shape);
        double[] x = TestData.Normal(rng, n, 2, 3), u = TestData.Normal(rng, n, -1, 0.5);
        double[] dy = TestData.Normal(rng, n), dhIn = TestData.Normal(rng, n);
        var gamma = TestData.Normal(rng, 16, 1, 0.3);
        var beta = TestData.Normal(rng, 16);
        AddNormalizer<double> fused = layerNorm ? new AddLayerNorm<double>([16]) : new AddRmsNorm<double>([16]);
        Normalizer<double> plain = layerNorm ? new LayerNorm<double>([16]) : new RmsNorm<double>([16]);
        gamma.CopyTo(fused.Weight.Value, 0);
        gamma.CopyTo(((RulerNormalizer<double>)plain).Weight.Value, 0);
        if (layerNorm)
        {
            beta.CopyTo(fused.Bias.Value, 0);
            beta.CopyTo(((RulerNormalizer<double>)plain).Bias.Value, 0);
        }
        Assert.Equal(((RulerNormalizer<double>)plain).Eps, fused.Eps);

        double[] h = new double[n], y = new double[n], dsum = new double[n];
        fused.Forward(x, u, Shape, h, y);
        var hExpected = x.Zip(u, (a, b) => a + b).ToArray();
        Approx.Bitwise(hExpected, h, "h = x + u");
        var yExpected = new double[n];
        plain.Forward(hExpected, Shape, yExpected);
        Approx.Elementwise(yExpected, y, 1e-12, 1e-12, "y vs the unfused module on x + u");

        fused.Backward(h, Shape, dy, dhIn, dsum);
        var dxPlain = new double[n];
        plain.Backward(hExpected, Shape, dy, dxPlain);
        var dsumExpected = dxPlain.Zip(dhIn, (a, b) => a + b).ToArray();
        Approx.Elementwise(dsumExpected, dsum, 1e-12, 1e-12, "dsum vs dh + the unfused backward");
        for (int i = 0; i < fused.Parameters.Count; i++)
            Approx.Elementwise(plain.Parameters[i].Grad, fused.Parameters[i].Grad, 1e-12, 1e-12, $"{fused.Parameters[i].Name}.Grad");
    }

    [Fact]
    public void AddNormInHalfEqualsAddingInTheStorageTypeThenTheUnfusedModule()
    {
        // Oracle: h rounded to T once (x + u in float64, one rounding), then RmsNorm<T>/LayerNorm<T> on that h.
        // Same kernels on the same h, so y and dsum must agree to the storage type's last bit or so (1e-2 relative).
        var rng = new Random(6);
        int n = TestData.Count(Shape);
        var x = TestData.Normal(rng, n, 1, 2);
        var u = TestData.Normal(rng, n);
        var dy = TestData.Normal(rng, n);
        Check<Half>(new AddRmsNorm<Half>([16]), new RmsNorm<Half>([16]));
        Check<Half>(new AddLayerNorm<Half>([16]), new LayerNorm<Half>([16]));

        void Check<T>(AddNormalizer<T> fused, Normalizer<T> plain) where T : unmanaged
        {
            T[] xt = TestData.Convert<T>(x), ut = TestData.Convert<T>(u), dyt = TestData.Convert<T>(dy);
            T[] h = new T[n], y = new T[n], dsum = new T[n], yPlain = new T[n], dxPlain = new T[n];
            fused.Forward(xt, ut, Shape, h, y);
            var hExpected = TestData.Convert<T>(TestData.ToDouble(xt).Zip(TestData.ToDouble(ut), (a, b) => a + b).ToArray());
            Approx.Bitwise(TestData.ToDouble(hExpected), TestData.ToDouble(h), $"{typeof(T).Name} h");
            plain.Forward(hExpected, Shape, yPlain);
            Approx.Elementwise(TestData.ToDouble(yPlain), TestData.ToDouble(y), 1e-2, 1e-2, $"{typeof(T).Name} y");
            fused.Backward(h, Shape, dyt, default, dsum);
            plain.Backward(hExpected, Shape, dyt, dxPlain);
            Approx.Elementwise(TestData.ToDouble(dxPlain), TestData.ToDouble(dsum), 1e-2, 1e-2, $"{typeof(T).Name} dsum");
        }
    }

    [Fact]
    public void AddLayerNormGradientsMatchFiniteDifferences()
    {
        // L = Σ w·y + Σ v·h; dx = du = dsum; dγ, dβ from the parameters' Grad after one backward from zero.
        var rng = new Random(9);
        int[] shape = [3, 5];
        int n = 15;
        double[] x = TestData.Normal(rng, n), u = TestData.Normal(rng, n, 0.5, 0.7), w = TestData.Normal(rng, n), v = TestData.Normal(rng, n);
        var m = new AddLayerNorm<double>([5]);
        TestData.Normal(rng, 5, 1, 0.5).CopyTo(m.Weight.Value, 0);
        TestData.Normal(rng, 5).CopyTo(m.Bias.Value, 0);
        double[] h = new double[n], y = new double[n], dsum = new double[n];
        m.Forward(x, u, shape, h, y);
        m.Backward(h, shape, w, v, dsum);
        double Loss()
        {
            var hh = new double[n];
            var yy = new double[n];
            var probe = new AddLayerNorm<double>([5]);
            m.Weight.Value.CopyTo(probe.Weight.Value, 0);
            m.Bias.Value.CopyTo(probe.Bias.Value, 0);
            probe.Forward(x, u, shape, hh, yy);
            return GradientCheckTests.Dot(w, yy) + GradientCheckTests.Dot(v, hh);
        }
        GradientCheckTests.AssertGradient(dsum, Loss, x, "AddLayerNorm dx");
        GradientCheckTests.AssertGradient(dsum, Loss, u, "AddLayerNorm du");
        GradientCheckTests.AssertGradient(m.Weight.Grad.ToArray(), Loss, m.Weight.Value, "AddLayerNorm dgamma");
        GradientCheckTests.AssertGradient(m.Bias.Grad.ToArray(), Loss, m.Bias.Value, "AddLayerNorm dbeta");
    }

    [Fact]
    public void AddNormModulesAccumulateParameterGradientsWhileTheFunctionalApiOverwrites()
    {
        var rng = new Random(3);
        int n = TestData.Count(Shape);
        double[] x = TestData.Normal(rng, n), u = TestData.Normal(rng, n), dy = TestData.Normal(rng, n);
        var m = new AddLayerNorm<double>([16]);
        double[] h = new double[n], y = new double[n], dsum = new double[n];
        m.Forward(x, u, Shape, h, y);
        m.Backward(h, Shape, dy, default, dsum);
        var once = m.Weight.Grad.ToArray();
        var onceBias = m.Bias.Grad.ToArray();
        m.Backward(h, Shape, dy, default, dsum);
        Approx.Elementwise(once.Select(g => 2 * g).ToArray(), m.Weight.Grad, 1e-15, 1e-15, "dγ after two backwards = 2 × one");
        Approx.Elementwise(onceBias.Select(g => 2 * g).ToArray(), m.Bias.Grad, 1e-15, 1e-15, "dβ after two backwards = 2 × one");
        m.ZeroGrad();
        Assert.All(m.Weight.Grad, g => Assert.Equal(0.0, g));

        // RulerOps.AddBackward writes dgammaOut whatever it held: a prefilled buffer gives the same as a zero one.
        var ruler = m.RulerFor(Shape);
        var (mean, rstd) = ruler.AllocateStatistics(Shape);
        RulerOps.AddForward<double>(ruler, x, u, Shape, m.Weight.Value, m.Bias.Value, h, y, mean, rstd);
        double[] dgOut = Enumerable.Repeat(1e6, 16).ToArray(), dbOut = Enumerable.Repeat(-1e6, 16).ToArray();
        RulerOps.AddBackward<double>(ruler, h, Shape, mean, rstd, m.Weight.Value, dy, default, dsum, dgOut, dbOut);
        Approx.Elementwise(once, dgOut, 1e-15, 1e-15, "RulerOps.AddBackward overwrites dgammaOut");
        Approx.Elementwise(onceBias, dbOut, 1e-15, 1e-15, "RulerOps.AddBackward overwrites dbetaOut");
        // Every overload (with and without a backend) names its overwritten outputs so.
        var overloads = typeof(RulerOps).GetMethods().Where(mi => mi.Name is nameof(RulerOps.AddBackward) or nameof(RulerOps.Backward)).ToList();
        Assert.Equal(4, overloads.Count);
        foreach (var overload in overloads)
        {
            var names = overload.GetParameters().Select(p => p.Name).ToArray();
            Assert.Contains("dgammaOut", names);
            Assert.Contains("dbetaOut", names);
        }
    }

    [Fact]
    public void AddNormBackwardRefusesAnotherChangedOrOverwrittenHAndWritesNothing()
    {
        var rng = new Random(4);
        int n = TestData.Count(Shape);
        double[] x = TestData.Normal(rng, n), u = TestData.Normal(rng, n), dy = TestData.Normal(rng, n);
        var m = new AddRmsNorm<double>([16]);
        var dsum = Enumerable.Repeat(7.0, n).ToArray();

        var none = Assert.Throws<InvalidOperationException>(() => m.Backward(x, Shape, dy, default, dsum));
        Assert.Contains("Forward", none.Message);

        double[] h = new double[n], y = new double[n];
        m.Forward(x, u, Shape, h, y);
        var changed = h.ToArray();
        changed[3] += 0.5;
        var e = Assert.Throws<ArgumentException>(() => m.Backward(changed, Shape, dy, default, dsum));
        Assert.Equal("h", e.ParamName);
        Assert.Contains("changed since the Forward", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Backward(h.AsSpan(0, 80), [5, 16], dy.AsSpan(0, 80), default, dsum.AsSpan(0, 80)));
        Assert.Equal("h", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => m.Backward(h, Shape, dy, default, dsum.AsSpan(1)));
        Assert.Equal("dsum", e.ParamName);
        Assert.All(dsum, v => Assert.Equal(7.0, v));
        Assert.All(m.Weight.Grad, g => Assert.Equal(0.0, g));

        // y written over h: the values the gradient needs are gone.
        var buffer = new double[n];
        m.Forward(x, u, Shape, buffer, buffer);
        e = Assert.Throws<ArgumentException>(() => m.Backward(buffer, Shape, dy, default, dsum));
        Assert.Equal("h", e.ParamName);
        Assert.Contains("in place", e.Message);

        // A copy of h is accepted; h may be the residual stream x itself (updated in place).
        var stream = x.ToArray();
        m.Forward(stream, u, Shape, stream, y);
        m.Backward(stream.ToArray(), Shape, dy, default, dsum);
        Assert.Contains(dsum, v => v != 7.0);
    }

    [Fact]
    public void AddNormForwardRefusesBadShapesAndLengthsNamingTheArgument()
    {
        var m = new AddLayerNorm<float>([8]);
        var a = new float[16];
        var e = Assert.Throws<ArgumentException>(() => m.Forward(a, a, [4, 4], new float[16], new float[16]));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("normalizedShape [8]", e.Message);
        e = Assert.Throws<ArgumentException>(() => m.Forward(a, new float[15], [2, 8], new float[16], new float[16]));
        Assert.Equal("u", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => m.Forward(a, a, [2, 8], new float[16], new float[17]));
        Assert.Equal("y", e.ParamName);
        Assert.Throws<ArgumentException>(() => new AddLayerNorm<float>([8], eps: -1));
    }

    // ---------------------------------------------------------------- one default per concept: RMSNorm's eps

    [Fact]
    public void RmsNormEpsHasOneMeaningModulesDefaultToMachineEpsilonAndTheRulerHasNoDefault()
    {
        Assert.Equal(MathF.BitIncrement(1f) - 1f, RulerSpec.MachineEpsilon<float>());
        Assert.Equal(Math.BitIncrement(1.0) - 1.0, RulerSpec.MachineEpsilon<double>());
        Assert.Equal((double)(Half.BitIncrement(Half.One) - Half.One), RulerSpec.MachineEpsilon<Half>());
        Assert.Equal(0.0078125, RulerSpec.MachineEpsilon<BFloat16>());
        Assert.Throws<NotSupportedException>(() => RulerSpec.MachineEpsilon<int>());

        Assert.Equal(RulerSpec.MachineEpsilon<float>(), new RmsNorm<float>([8]).Eps);
        Assert.Equal(RulerSpec.MachineEpsilon<float>(), new AddRmsNorm<float>([8]).Eps);
        Assert.Equal(RulerSpec.MachineEpsilon<double>(), new AddRmsNorm<double>([8]).Eps);
        Assert.Equal(RulerSpec.MachineEpsilon<float>(), new RmsNorm<float>([8]).RulerFor([2, 8]).Ruler.Eps);
        Assert.Equal(1e-6, new AddRmsNorm<float>([8], eps: 1e-6).RulerFor([2, 8]).Eps);

        // The functional preset cannot silently disagree: eps is a required parameter (no default to differ).
        var eps = typeof(RulerSpec).GetMethod(nameof(RulerSpec.RmsNorm))!.GetParameters().Single(p => p.Name == "eps");
        Assert.False(eps.HasDefaultValue);
        Assert.Equal(1e-6, RulerSpec.RmsNorm(1, 1e-6).Eps);
        // LayerNorm's eps is 1e-5 in both APIs.
        Assert.Equal(1e-5, RulerSpec.LayerNorm().Eps);
        Assert.Equal(1e-5, new AddLayerNorm<float>([8]).Eps);
    }

    // ---------------------------------------------------------------- statistics sized for you

    [Fact]
    public void AllocateStatisticsSizesMeanAndRstdForTheRulerAndShape()
    {
        var (mean, rstd) = RulerSpec.BatchNorm(4).AllocateStatistics([2, 3, 5, 5]);
        Assert.Equal(3, mean.Length);
        Assert.Equal(3, rstd.Length);
        (mean, rstd) = RulerSpec.LayerNorm(2).AllocateStatistics([4, 6, 8]);
        Assert.Equal(4, mean.Length);
        var gnView = RulerSpec.GroupNormView([2, 8, 3], 4);
        Assert.Equal(8, RulerSpec.GroupNorm().AllocateStatistics(gnView).Mean.Length);

        var x = TestData.Normal(new Random(1), 24);
        var ruler = RulerSpec.LayerNorm();
        var stats = ruler.AllocateStatistics([4, 6]);
        RulerOps.Forward<double>(ruler, x, [4, 6], default, default, new double[24], stats.Mean, stats.Rstd);
        Assert.All(stats.Rstd, r => Assert.True(r > 0));

        var e = Assert.Throws<ArgumentException>(() => RulerSpec.BatchNorm(4).AllocateStatistics([2, 3]));
        Assert.Contains("ruler.ReducedAxes", e.ParamName);
    }

    // ---------------------------------------------------------------- non-null Weight / Bias

    [Fact]
    public void WeightAndBiasAreNonNullAndThrowAClearErrorWhenTheLayerHasNone()
    {
        var ln = new LayerNorm<float>([8]);
        Assert.True(ln.HasWeight);
        Assert.True(ln.HasBias);
        Assert.Equal(8, ln.Weight.Value.Length);

        var noBias = new LayerNorm<float>([8], bias: false);
        Assert.True(noBias.HasWeight);
        Assert.False(noBias.HasBias);
        var e = Assert.Throws<InvalidOperationException>(() => noBias.Bias);
        Assert.Contains("LayerNorm<Single>.Bias", e.Message);
        Assert.Contains("HasBias", e.Message);

        var rms = new RmsNorm<float>([8]);
        Assert.False(rms.HasBias);
        Assert.Throws<InvalidOperationException>(() => rms.Bias);
        var inorm = new InstanceNorm<float>(4);
        Assert.False(inorm.HasWeight);
        e = Assert.Throws<InvalidOperationException>(() => inorm.Weight);
        Assert.Contains("InstanceNorm<Single>.Weight", e.Message);
        Assert.Contains("HasWeight", e.Message);
        Assert.True(new BatchNorm<float>(4).HasWeight);
        Assert.False(new BatchNorm<float>(4, affine: false).HasBias);
        Assert.True(new GroupNorm<float>(2, 4).HasBias);
        Assert.True(new DynamicTanh<float>([4]).HasWeight);

        var addRms = new AddRmsNorm<float>([8]);
        Assert.True(addRms.HasWeight);
        Assert.False(addRms.HasBias);
        e = Assert.Throws<InvalidOperationException>(() => addRms.Bias);
        Assert.Contains("AddRmsNorm<Single>.Bias", e.Message);
        var addLn = new AddLayerNorm<float>([8], elementwiseAffine: false);
        Assert.Empty(addLn.Parameters);
        Assert.Throws<InvalidOperationException>(() => addLn.Weight);
    }
}

/// <summary>PyTorch's unbatched inputs: InstanceNorm1d on (C, L) is the batched module on (1, C, L).</summary>
public class UnbatchedInputTests
{
    [Theory]
    [InlineData(ChannelLayout.ChannelsFirst)]
    [InlineData(ChannelLayout.ChannelsLast)]
    public void InstanceNormOnCxLEqualsTheBatchOfOne(ChannelLayout layout)
    {
        int[] unbatched = layout == ChannelLayout.ChannelsFirst ? [3, 7] : [7, 3];
        int[] batched = [1, .. unbatched];
        var rng = new Random(12);
        var x = TestData.Normal(rng, 21, 1, 2);
        var dy = TestData.Normal(rng, 21);
        var a = new InstanceNorm<double>(3, affine: true, trackRunningStats: true, layout: layout);
        var b = new InstanceNorm<double>(3, affine: true, trackRunningStats: true, layout: layout);
        double[] ya = new double[21], yb = new double[21], dxa = new double[21], dxb = new double[21];
        a.Forward(x, unbatched, ya);
        b.Forward(x, batched, yb);
        Approx.Bitwise(yb, ya, "y of (C, L) vs (1, C, L)");
        a.Backward(x, unbatched, dy, dxa);
        b.Backward(x, batched, dy, dxb);
        Approx.Bitwise(dxb, dxa, "dx of (C, L) vs (1, C, L)");
        Approx.Bitwise(b.Weight.Grad, a.Weight.Grad, "dγ");
        Assert.Equal(b.Running!.Mean, a.Running!.Mean);
        Assert.Equal(b.Running.Variance, a.Running.Variance);

        // Oracle: each channel of (C, L) normalized over its L values with the biased variance.
        for (int c = 0; c < 3; c++)
        {
            var idx = Enumerable.Range(0, 7).Select(l => layout == ChannelLayout.ChannelsFirst ? c * 7 + l : l * 3 + c).ToArray();
            double mean = idx.Average(i => x[i]);
            double variance = idx.Average(i => (x[i] - mean) * (x[i] - mean));
            foreach (int i in idx) Assert.Equal((x[i] - mean) / Math.Sqrt(variance + 1e-5), ya[i], 1e-12);
        }

        var e = Assert.Throws<ArgumentException>(() => a.Forward(x, layout == ChannelLayout.ChannelsFirst ? [7, 3] : [3, 7], ya));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("3 channels", e.Message);
        e = Assert.Throws<ArgumentException>(() => a.Forward(x.AsSpan(0, 3), [3], ya.AsSpan(0, 3)));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("rank >= 2", e.Message);
    }
}

/// <summary>eps = 0, accepted as PyTorch accepts it: exact for groups with spread, NaN (as PyTorch) for a constant group.</summary>
public class ZeroEpsTests
{
    [Fact]
    public void ZeroEpsNormalizesByTheExactStdAndAConstantGroupGivesNaNAsInPyTorch()
    {
        // Row 0 has spread; row 1 is constant (variance 0, rstd = +∞, 0·∞ = NaN); RMSNorm's row 2 is all zeros.
        double[] x = [1, 2, 4, 7, 3, 3, 3, 3, 0, 0, 0, 0];
        int[] shape = [3, 4];
        var ln = new LayerNorm<double>([4], eps: 0);
        var y = new double[12];
        ln.Forward(x, shape, y);
        double mean = 3.5, std = Math.Sqrt((6.25 + 2.25 + 0.25 + 12.25) / 4);
        for (int i = 0; i < 4; i++) Assert.Equal((x[i] - mean) / std, y[i], 1e-14);
        for (int i = 4; i < 8; i++) Assert.True(double.IsNaN(y[i]), $"constant group, eps 0: y[{i}] = {y[i]}, expected NaN");
        Assert.Equal(double.PositiveInfinity, ln.SavedRstd[1]);

        var rms = new RmsNorm<float>([4], eps: 0);
        var yf = new float[12];
        rms.Forward(TestData.ToFloat(x), shape, yf);
        double rmsRow0 = Math.Sqrt((1 + 4 + 16 + 49) / 4.0);
        for (int i = 0; i < 4; i++) Assert.Equal(x[i] / rmsRow0, yf[i], 1e-6);
        for (int i = 4; i < 8; i++) Assert.Equal(1f, yf[i], 1e-6);
        for (int i = 8; i < 12; i++) Assert.True(float.IsNaN(yf[i]), $"all-zero group, eps 0: y[{i}] = {yf[i]}, expected NaN");

        // Every constructor and the functional API accept 0; negative is still refused.
        Assert.Equal(0, new BatchNorm<float>(3, eps: 0).Eps);
        Assert.Equal(0, new GroupNorm<float>(1, 3, eps: 0).Eps);
        Assert.Equal(0, new InstanceNorm<float>(3, eps: 0).Eps);
        Assert.Equal(0, new AddLayerNorm<float>([3], eps: 0).Eps);
        Assert.Equal(0, RulerSpec.RmsNorm(1, 0).Eps);
        var e = Assert.Throws<ArgumentException>(() => new LayerNorm<float>([3], eps: -1e-9));
        Assert.Equal("eps", e.ParamName);
        Assert.Contains(">= 0", e.Message);
    }

    [Fact]
    public void ZeroEpsBackwardMatchesFiniteDifferencesOnGroupsWithSpread()
    {
        var rng = new Random(21);
        int[] shape = [3, 5];
        var x = TestData.Normal(rng, 15);
        var w = TestData.Normal(rng, 15);
        var ruler = RulerSpec.LayerNorm(eps: 0);
        var (mean, rstd) = ruler.AllocateStatistics(shape);
        var y = new double[15];
        RulerOps.Forward<double>(ruler, x, shape, default, default, y, mean, rstd);
        var dx = new double[15];
        RulerOps.Backward<double>(ruler, x, shape, mean, rstd, default, w, dx, default, default);
        GradientCheckTests.AssertGradient(dx, () =>
        {
            RulerOps.Forward<double>(ruler, x, shape, default, default, y, mean, rstd);
            return GradientCheckTests.Dot(w, y);
        }, x, "LayerNorm eps 0 dx");
    }
}

/// <summary>The fused modules keep the one-caller-at-a-time contract of the other modules.</summary>
public class AddNormConcurrencyTests
{
    [Fact]
    public void OneAddLayerNormHammeredFromSeveralThreadsGivesCorrectResultsOrRefuses()
    {
        int[] shape = [64, 64];
        var rng = new Random(8);
        var x = TestData.ToFloat(TestData.Normal(rng, 4096, 1, 2));
        var u = TestData.ToFloat(TestData.Normal(rng, 4096));
        var reference = new AddLayerNorm<float>([64]);
        float[] hRef = new float[4096], yRef = new float[4096];
        reference.Forward(x, u, shape, hRef, yRef);

        var m = new AddLayerNorm<float>([64]);
        Hammer.AssertCorrectOrRefused(4, TimeSpan.FromSeconds(1), _ =>
        {
            float[] h = new float[4096], y = new float[4096];
            return () =>
            {
                m.Forward(x, u, shape, h, y);
                return y.AsSpan().SequenceEqual(yRef) && h.AsSpan().SequenceEqual(hRef);
            };
        }, "AddLayerNorm<Single>.Forward", "one caller at a time");
    }
}
