using Ruler.Tests.Support;

namespace Ruler.Tests.Mutation;

/// <summary>
/// Module behaviour the other suites reached only on one side of a boundary: inputs whose rank equals the normalized
/// shape (no batch dim), GroupNorm on (N, C), backwards without γ/β, zero-sized dims, argument checks whose mode made
/// them unreachable before, defaults (parameter names, NoWeightDecay, eps) and ZeroGrad on gradients that are not zero.
/// Numbers are compared with a float64 two-pass oracle written here (tolerance 1e-12).
/// </summary>
public class ModuleContractTests
{
    private const double Tolerance = 1e-12;

    /// <summary>y = (x − μ)/√(var + eps) per consecutive run of <paramref name="groupSize"/> elements (centre = false: x/√(ms + eps)).</summary>
    private static double[] NormalizeRuns(double[] x, int groupSize, double eps, bool center = true)
    {
        var y = new double[x.Length];
        for (int s = 0; s < x.Length; s += groupSize)
        {
            var run = x.AsSpan(s, groupSize);
            double mean = 0;
            if (center) { foreach (double v in run) mean += v; mean /= groupSize; }
            double ss = 0;
            foreach (double v in run) ss += (v - mean) * (v - mean);
            double rstd = 1 / Math.Sqrt(ss / groupSize + eps);
            for (int i = 0; i < groupSize; i++) y[s + i] = (run[i] - mean) * rstd;
        }
        return y;
    }

    /// <summary>dx of y = (x − μ)·rstd without affine: rstd·(dy − mean(dy) − x̂·mean(dy·x̂)) per run (without centering no mean(dy) term).</summary>
    private static double[] BackwardRuns(double[] x, double[] dy, int groupSize, double eps, bool center = true)
    {
        var dx = new double[x.Length];
        var xhat = NormalizeRuns(x, groupSize, eps, center);
        for (int s = 0; s < x.Length; s += groupSize)
        {
            double mean = 0;
            if (center) { for (int i = 0; i < groupSize; i++) mean += x[s + i]; mean /= groupSize; }
            double ss = 0;
            for (int i = 0; i < groupSize; i++) ss += (x[s + i] - mean) * (x[s + i] - mean);
            double rstd = 1 / Math.Sqrt(ss / groupSize + eps);
            double mg = 0, mgx = 0;
            for (int i = 0; i < groupSize; i++) { mg += dy[s + i]; mgx += dy[s + i] * xhat[s + i]; }
            mg /= groupSize; mgx /= groupSize;
            for (int i = 0; i < groupSize; i++) dx[s + i] = rstd * (dy[s + i] - (center ? mg : 0) - xhat[s + i] * mgx);
        }
        return dx;
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance * Math.Max(1, Math.Abs(expected[i])),
                $"{what}[{i}]: expected {expected[i]:R}, got {actual[i]:R}");
    }

    [Fact]
    public void LayerNormRmsNormAndDyTAcceptAnInputWhoseRankIsTheNormalizedShapes()
    {
        var x = TestData.Normal(new Random(1), 12);
        int[] shape = [3, 4];

        var ln = new LayerNorm<double>([3, 4]);
        var y = new double[12];
        ln.Forward(x, shape, y);
        AssertClose(NormalizeRuns(x, 12, 1e-5), y, "LayerNorm on its normalized shape");
        Assert.Equal(1, ln.SavedMean.Length);

        var rms = new RmsNorm<double>([3, 4], eps: 1e-6);
        rms.Forward(x, shape, y);
        AssertClose(NormalizeRuns(x, 12, 1e-6, center: false), y, "RMSNorm on its normalized shape");

        var dyt = new DynamicTanh<double>([3, 4], alphaInit: 0.7);
        dyt.Forward(x, shape, y);
        AssertClose(x.Select(v => Math.Tanh(0.7 * v)).ToArray(), y, "DyT on its normalized shape");

        var add = new AddLayerNorm<double>([3, 4]);
        var h = new double[12];
        add.Forward(x, new double[12], shape, h, y);
        AssertClose(NormalizeRuns(x, 12, 1e-5), y, "AddLayerNorm on its normalized shape");

        // One dim fewer than the normalized shape is refused, naming x.
        var ex = Assert.Throws<ArgumentException>(() => new LayerNorm<double>([3, 4]).Forward(x.AsSpan(0, 4), [4], new double[4]));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("trailing dims equal to normalizedShape [3, 4]", ex.Message);
    }

    [Theory]
    [InlineData(ChannelLayout.ChannelsFirst)]
    [InlineData(ChannelLayout.ChannelsLast)]
    public void GroupNormOnNxCNormalizesEachGroupOfChannels(ChannelLayout layout)
    {
        // (N, C) = (3, 6), G = 3: each sample's channels {0,1}, {2,3}, {4,5} share a ruler (no spatial dims).
        var x = TestData.Normal(new Random(2), 18, 5, 2);
        var norm = new GroupNorm<double>(3, 6, layout: layout);
        var y = new double[18];
        norm.Forward(x, [3, 6], y);
        AssertClose(NormalizeRuns(x, 2, 1e-5), y, $"GroupNorm (N, C) {layout}");
        Assert.Equal(9, norm.SavedMean.Length);
        Assert.Equal([3, 3, 2, 1], RulerSpec.GroupNormView([3, 6], 3, ChannelLayout.ChannelsFirst));
        Assert.Equal([3, 1, 3, 2], RulerSpec.GroupNormView([3, 6], 3, ChannelLayout.ChannelsLast));

        // Rank 1 is refused, naming x and the layer.
        var ex = Assert.Throws<ArgumentException>(() => norm.Forward(x.AsSpan(0, 6), [6], new double[6]));
        Assert.Equal("x", ex.ParamName);
        Assert.Contains("GroupNorm (N, C, *) input of rank >= 2", ex.Message);
        var view = Assert.Throws<ArgumentException>(() => RulerSpec.GroupNormView([6], 3));
        Assert.Contains("rank >= 2", view.Message);
    }

    [Fact]
    public void RankErrorsNameTheLayer()
    {
        var x = new double[4];
        var bn = Assert.Throws<ArgumentException>(() => new BatchNorm<double>(4).Forward(x, [4], new double[4]));
        Assert.Contains("a BatchNorm (N, C, *) input of rank >= 2", bn.Message);
        Assert.Equal("x", bn.ParamName);
        var inorm = Assert.Throws<ArgumentException>(() => new InstanceNorm<double>(4).Forward(x, [4], new double[4]));
        Assert.Contains("InstanceNorm (C, L) or (N, C, spatial…) input of rank >= 2", inorm.Message);
        var channels = Assert.Throws<ArgumentException>(() => new BatchNorm<double>(3).Forward(new double[8], [2, 4], new double[8]));
        Assert.Contains("3 channels on axis 1 (ChannelsFirst)", channels.Message);
        var last = Assert.Throws<ArgumentException>(() => new BatchNorm<double>(3, layout: ChannelLayout.ChannelsLast).Forward(new double[8], [4, 2], new double[8]));
        Assert.Contains("3 channels on axis -1 (ChannelsLast)", last.Message);
        Assert.Contains("2 in shape [4, 2]", last.Message);
        var unbatched = Assert.Throws<ArgumentException>(() => new InstanceNorm<double>(3, layout: ChannelLayout.ChannelsLast).Forward(new double[6], [3, 2], new double[6]));
        Assert.Contains("3 channels on axis -1 of an unbatched (L, C) input", unbatched.Message);
        Assert.Contains("2 in shape [3, 2]", unbatched.Message);
        var empty = Assert.Throws<ArgumentException>(() => new InstanceNorm<double>(3).Forward([], [3, 0], []));
        Assert.Equal("x", empty.ParamName);
        Assert.Contains("every dimension > 0", empty.Message);
    }

    public static TheoryData<string> ModulesWithoutAffine() => new() { "layernorm", "rmsnorm", "groupnorm", "batchnorm", "instancenorm" };

    private static (Normalizer<double> Module, int[] Shape, int GroupSize, bool Center, double Eps) Without(string kind) => kind switch
    {
        "layernorm" => (new LayerNorm<double>([6], elementwiseAffine: false), [4, 6], 6, true, 1e-5),
        "rmsnorm" => (new RmsNorm<double>([6], eps: 1e-6, elementwiseAffine: false), [4, 6], 6, false, 1e-6),
        "groupnorm" => (new GroupNorm<double>(2, 4, affine: false), [2, 4, 3], 6, true, 1e-5),       // runs of 2 channels × 3 per (n, g)
        "batchnorm" => (new BatchNorm<double>(4, affine: false), [1, 4, 6], 6, true, 1e-5),          // N = 1: runs of 6 per channel
        _ => (new InstanceNorm<double>(1), [4, 1, 6], 6, true, 1e-5),                               // C = 1: runs of 6 per sample
    };

    [Theory]
    [MemberData(nameof(ModulesWithoutAffine))]
    public void BackwardWithoutGammaAndBetaIsTheGradientOfThePlainNormalization(string kind)
    {
        var (module, shape, groupSize, center, eps) = Without(kind);
        Assert.Empty(module.Parameters);
        var rng = new Random(3);
        var x = TestData.Normal(rng, 24, 1, 3);
        var dy = TestData.Normal(rng, 24);
        var y = new double[24];
        var dx = new double[24];
        module.Forward(x, shape, y);
        AssertClose(NormalizeRuns(x, groupSize, eps, center), y, $"{kind} y");
        module.Backward(x, shape, dy, dx);
        AssertClose(BackwardRuns(x, dy, groupSize, eps, center), dx, $"{kind} dx");
        module.ZeroGrad();    // nothing to zero: no throw
    }

    [Fact]
    public void AddNormBackwardWithoutGammaAndBetaIsTheGradientOfThePlainNormalization()
    {
        var rng = new Random(4);
        var x = TestData.Normal(rng, 24, 1, 3);
        var u = TestData.Normal(rng, 24);
        var dy = TestData.Normal(rng, 24);
        var sum = x.Zip(u, (a, b) => a + b).ToArray();
        foreach (bool layerNorm in new[] { true, false })
        {
            AddNormalizer<double> module = layerNorm ? new AddLayerNorm<double>([6], elementwiseAffine: false) : new AddRmsNorm<double>([6], eps: 1e-5, elementwiseAffine: false);
            Assert.Empty(module.Parameters);
            Assert.False(module.HasWeight || module.HasBias);
            var h = new double[24];
            var y = new double[24];
            var dsum = new double[24];
            module.Forward(x, u, [4, 6], h, y);
            AssertClose(sum, h, "h");
            AssertClose(NormalizeRuns(sum, 6, 1e-5, layerNorm), y, $"{(layerNorm ? "AddLayerNorm" : "AddRmsNorm")} y");
            module.Backward(h, [4, 6], dy, default, dsum);
            AssertClose(BackwardRuns(sum, dy, 6, 1e-5, layerNorm), dsum, "dsum");
        }
    }

    [Fact]
    public void DynamicTanhBackwardRefusesAnotherShapeAndLengthAndWritesNothing()
    {
        var dyt = new DynamicTanh<double>([4]);
        var x = TestData.Normal(new Random(5), 8);
        var dy = TestData.Normal(new Random(6), 8);
        dyt.Forward(x, [2, 4], new double[8]);
        var dx = Enumerable.Repeat(7.0, 8).ToArray();
        var shape = Assert.Throws<ArgumentException>(() => dyt.Backward(x, [4, 2], dy, dx));
        Assert.Equal("x", shape.ParamName);
        var length = Assert.Throws<ArgumentException>(() => dyt.Backward(x.AsSpan(0, 4), [1, 4], dy.AsSpan(0, 4), dx.AsSpan(0, 4)));
        Assert.Equal("x", length.ParamName);
        var dyLength = Assert.Throws<ArgumentException>(() => dyt.Backward(x, [2, 4], dy.AsSpan(0, 7), dx));
        Assert.Equal("dy", dyLength.ParamName);
        Assert.All(dx, v => Assert.Equal(7.0, v));
        Assert.All(dyt.Parameters, p => Assert.All(p.Grad, g => Assert.Equal(0.0, g)));

        // The right shape still works afterwards, and its dx is dy·γ·α·(1 − tanh²(αx)).
        dyt.Backward(x, [2, 4], dy, dx);
        AssertClose(x.Select((v, i) => dy[i] * 0.5 * (1 - Math.Tanh(0.5 * v) * Math.Tanh(0.5 * v))).ToArray(), dx, "DyT dx");
        Assert.Throws<ArgumentException>(() => dyt.Forward(new double[7], [2, 4], new double[7]));
    }

    public static TheoryData<string> AllModules() => new() { "layernorm", "rmsnorm", "groupnorm", "batchnorm", "instancenorm", "dyt" };

    private static Normalizer<double> Create(string kind) => kind switch
    {
        "layernorm" => new LayerNorm<double>([4]),
        "rmsnorm" => new RmsNorm<double>([4]),
        "groupnorm" => new GroupNorm<double>(2, 4),
        "batchnorm" => new BatchNorm<double>(4),
        "instancenorm" => new InstanceNorm<double>(4, affine: true),
        _ => new DynamicTanh<double>([4]),
    };

    [Theory]
    [MemberData(nameof(AllModules))]
    public void ZeroSizedDimsAreRefusedNamingX(string kind)
    {
        var module = Create(kind);
        int[][] shapes = kind is "layernorm" or "rmsnorm" or "dyt" ? [[0, 4], [2, 0, 4]] : [[0, 4, 3], [2, 4, 0]];
        foreach (var shape in shapes)
        {
            var ex = Assert.Throws<ArgumentException>(() => module.Forward([], shape, []));
            Assert.Contains("every dimension > 0", ex.Message);
            Assert.Contains(ex.ParamName, new[] { "x", "shape" });    // the input, or Forward's shape argument
        }
        // Negative dims too.
        Assert.Throws<ArgumentException>(() => module.Forward(new double[4], kind is "layernorm" or "rmsnorm" or "dyt" ? [-1, 4] : [-1, 4, 1], new double[4]));
    }

    [Theory]
    [InlineData(2.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void BadMomentumIsRefusedEvenWithoutRunningStatistics(double momentum)
    {
        var bn = Assert.Throws<ArgumentException>(() => new BatchNorm<float>(4, momentum: momentum, trackRunningStats: false));
        Assert.Equal("momentum", bn.ParamName);
        var inorm = Assert.Throws<ArgumentException>(() => new InstanceNorm<float>(4, momentum: momentum));
        Assert.Equal("momentum", inorm.ParamName);
        // The bounds themselves are accepted.
        Assert.Null(new BatchNorm<float>(4, momentum: 0, trackRunningStats: false).Running);
        Assert.Equal(1.0, new BatchNorm<float>(4, momentum: 1).Running!.Momentum);
    }

    [Fact]
    public void NormParametersSkipWeightDecayAndAreNamedAsInPyTorch()
    {
        Normalizer<float>[] modules =
        [
            new LayerNorm<float>([4]), new RmsNorm<float>([4]), new GroupNorm<float>(2, 4), new BatchNorm<float>(4),
            new InstanceNorm<float>(4, affine: true), new DynamicTanh<float>([4]),
        ];
        foreach (var module in modules)
        {
            Assert.NotEmpty(module.Parameters);
            Assert.All(module.Parameters, p => Assert.True(p.NoWeightDecay, $"{module.GetType().Name}.{p.Name}"));
        }
        Assert.Equal(["weight", "bias"], modules[0].Parameters.Select(p => p.Name));
        Assert.Equal(["weight"], modules[1].Parameters.Select(p => p.Name));
        Assert.Equal(["alpha", "weight", "bias"], modules[5].Parameters.Select(p => p.Name));
        var dyt = (DynamicTanh<float>)modules[5];
        Assert.Same(dyt.Alpha, dyt.Parameters[0]);
        Assert.Same(dyt.Weight, dyt.Parameters[1]);
        Assert.Same(dyt.Bias, dyt.Parameters[2]);
        Assert.True(dyt.HasWeight && dyt.HasBias);
        Assert.Equal(["alpha", "bias", "weight"], dyt.StateDict().Keys.Order(StringComparer.Ordinal));

        AddNormalizer<float>[] fused = [new AddLayerNorm<float>([4]), new AddRmsNorm<float>([4])];
        Assert.All(fused.SelectMany(m => m.Parameters), p => Assert.True(p.NoWeightDecay, p.Name));
        Assert.Equal(["weight", "bias"], fused[0].Parameters.Select(p => p.Name));

        // A parameter made by hand decays unless told otherwise.
        Assert.False(new Parameter<float>("w", new float[2]).NoWeightDecay);
    }

    [Fact]
    public void RmsNormDefaultEpsIsTheMachineEpsilonOfEachElementType()
    {
        Assert.Equal(0.0078125, new RmsNorm<BFloat16>([4]).Eps);
        Assert.Equal(0.0009765625, new RmsNorm<Half>([4]).Eps);
        Assert.Equal(1.1920928955078125e-07, new RmsNorm<float>([4]).Eps);
        Assert.Equal(2.220446049250313e-16, new RmsNorm<double>([4]).Eps);
        Assert.Equal(0.0078125, new AddRmsNorm<BFloat16>([4]).Eps);
        Assert.Equal(0.0009765625, new AddRmsNorm<Half>([4]).Eps);
        Assert.Equal(0.0078125, RulerSpec.MachineEpsilon<BFloat16>());
        Assert.Throws<NotSupportedException>(() => RulerSpec.MachineEpsilon<int>());
        Assert.Equal(1e-3, new RmsNorm<BFloat16>([4], eps: 1e-3).Eps);
    }

    [Theory]
    [MemberData(nameof(AllModules))]
    public void ZeroGradClearsGradientsThatBackwardAccumulated(string kind)
    {
        var module = Create(kind);
        var rng = new Random(7);
        var x = TestData.Normal(rng, 24);
        var dy = TestData.Normal(rng, 24);
        int[] shape = kind is "layernorm" or "rmsnorm" or "dyt" ? [6, 4] : [2, 4, 3];
        module.Forward(x, shape, new double[24]);
        module.Backward(x, shape, dy, new double[24]);
        Assert.All(module.Parameters, p => Assert.Contains(p.Grad, g => g != 0));
        module.ZeroGrad();
        Assert.All(module.Parameters, p => Assert.All(p.Grad, g => Assert.Equal(0.0, g)));
    }

    [Fact]
    public void AddNormZeroGradClearsGradientsThatBackwardAccumulated()
    {
        var rng = new Random(8);
        var x = TestData.Normal(rng, 24);
        var dy = TestData.Normal(rng, 24);
        var fused = new AddLayerNorm<double>([4]);
        var h = new double[24];
        fused.Forward(x, dy, [6, 4], h, new double[24]);
        fused.Backward(h, [6, 4], dy, default, new double[24]);
        Assert.All(fused.Parameters, p => Assert.Contains(p.Grad, g => g != 0));
        fused.ZeroGrad();
        Assert.All(fused.Parameters, p => Assert.All(p.Grad, g => Assert.Equal(0.0, g)));
    }
}
