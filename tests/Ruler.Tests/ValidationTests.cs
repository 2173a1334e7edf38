using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// Bad input is refused at every public entry point with one message shape — "{argument}: expected {what}, got {given}."
/// — and before anything is written: outputs are filled with a sentinel first and must come back untouched
/// (running statistics and parameter gradients too).
/// </summary>
public class ValidationTests
{
    private const double Sentinel = -777.25;

    /// <summary>Asserts an <see cref="ArgumentException"/> naming <paramref name="argument"/>, saying what was expected and what was given.</summary>
    private static ArgumentException Rejects(Action call, string argument, params string[] mentions)
    {
        var e = Assert.ThrowsAny<ArgumentException>(call);
        Assert.Equal(argument, e.ParamName);
        Assert.StartsWith($"{argument}: expected ", e.Message);
        Assert.Contains(", got ", e.Message);
        foreach (var m in mentions) Assert.Contains(m, e.Message);
        return e;
    }

    private static double[] Filled(int n) => Enumerable.Repeat(Sentinel, n).ToArray();

    private static void Untouched(double[] a, string what) =>
        Assert.True(a.All(v => v == Sentinel), $"{what} was written before the argument was refused");

    /// <summary>A call expected to be refused as <see cref="Rejects"/> describes, naming <paramref name="argument"/> and mentioning each of <paramref name="mentions"/>.</summary>
    private delegate void RefusalCheck(Action call, string argument, params string[] mentions);

    /// <summary>A <see cref="RefusalCheck"/> that also asserts each of <paramref name="outputs"/> <see cref="Untouched"/>, in order.</summary>
    private static RefusalCheck RejectsLeaving(params (double[] Values, string Name)[] outputs) => (call, argument, mentions) =>
    {
        Rejects(call, argument, mentions);
        foreach (var (values, name) in outputs) Untouched(values, name);
    };

    // ---------------------------------------------------------------- RulerSpec

    [Fact]
    public void RulerSpecRefusesNoAxesDuplicateAxesAndBadEps()
    {
        Rejects(() => new RulerSpec([]), "reducedAxes", "at least one axis", "none");
        Rejects(() => new RulerSpec([1, -1, 1]), "reducedAxes", "distinct", "[1, -1, 1]");
        Rejects(() => new RulerSpec([1], affineAxes: [0, 0]), "affineAxes", "distinct", "[0, 0]");
        foreach (double eps in new[] { -1e-5, double.NaN, double.PositiveInfinity })
        {
            Rejects(() => new RulerSpec([1], eps: eps), "eps", ">= 0");
            Rejects(() => RulerSpec.LayerNorm(eps: eps), "eps", ">= 0");
            Rejects(() => RulerSpec.LayerNorm().WithEps(eps), "eps", ">= 0");
        }
    }

    [Fact]
    public void RulerSpecPresetsRefuseRanksTheyCannotDescribe()
    {
        Rejects(() => RulerSpec.BatchNorm(1), "rank", ">= 2", "1");
        Rejects(() => RulerSpec.InstanceNorm(2), "rank", ">= 3", "2");
        Rejects(() => RulerSpec.LayerNorm(0), "normalizedRank", "positive", "0");
        Rejects(() => RulerSpec.RmsNorm(-1, 1e-5), "normalizedRank", "positive", "-1");
    }

    [Fact]
    public void GroupNormViewRefusesGroupsThatDoNotDivideTheChannels()
    {
        Rejects(() => RulerSpec.GroupNormView([2, 6, 3], 4), "groups", "divisor of the channel count 6", "4");
        Rejects(() => RulerSpec.GroupNormView([2, 3, 6], 4, ChannelLayout.ChannelsLast), "groups", "divisor of the channel count 6", "4");
        Rejects(() => RulerSpec.GroupNormView([2, 6, 3], 0), "groups", "positive", "0");
        Rejects(() => RulerSpec.GroupNormView([6], 2), "input", "rank >= 2", "[6]");
        Rejects(() => RulerSpec.GroupNormView([2, 0, 3], 1), "shape", "> 0", "[2, 0, 3]");
    }

    [Fact]
    public void ResolveRefusesOutOfRangeAxesAndEmptyShapes()
    {
        Rejects(() => new RulerSpec([3]).Resolve([2, 3]), "ruler.ReducedAxes", "[-2, 1]", "got 3");
        Rejects(() => new RulerSpec([-3]).Resolve([2, 3]), "ruler.ReducedAxes", "[-2, 1]", "got -3");
        Rejects(() => new RulerSpec([1], affineAxes: [2]).Resolve([2, 3]), "ruler.AffineAxes", "[-2, 1]", "got 2");
        Rejects(() => new RulerSpec([0]).Resolve([]), "shape", "rank >= 1", "rank 0");
        Rejects(() => new RulerSpec([0]).Resolve([4, 0]), "shape", "> 0", "[4, 0]");
        Rejects(() => new RulerSpec([0]).Resolve([-1, 2]), "shape", "> 0", "[-1, 2]");
    }

    // ---------------------------------------------------------------- RulerOps

    private static readonly RulerSpec Ln = RulerSpec.LayerNorm();
    private static readonly int[] Shape = [3, 4];

    [Fact]
    public void MomentsRefusesMismatchedLengthsAndWritesNothing()
    {
        var x = new double[12];
        var moments = Enumerable.Repeat(new GroupMoments(-1, Sentinel, Sentinel), 3).ToArray();
        Rejects(() => RulerOps.Moments<double>(Ln, x, Shape, moments.AsSpan(0, 2)), "moments", "length 3", "length 2");
        Rejects(() => RulerOps.Moments<double>(Ln, new double[11], Shape, moments), "x", "12 elements for shape [3, 4]", "11");
        Rejects(() => RulerOps.Moments<double>(new RulerSpec([2]), x, Shape, moments), "ruler.ReducedAxes");
        Assert.Throws<ArgumentNullException>("ruler", () => RulerOps.Moments<double>(null!, x, Shape, moments));
        Assert.All(moments, m => Assert.Equal(new GroupMoments(-1, Sentinel, Sentinel), m));
    }

    [Fact]
    public void StatisticsRefusesAnEmptyGroupBeforeWritingAnyGroup()
    {
        // Group 0 is valid and group 1 is empty: nothing may be written, not even group 0's statistics.
        var moments = new[] { new GroupMoments(4, 1.5, 2.0), new GroupMoments(0, 0, 0) };
        var mean = Filled(2);
        var rstd = Filled(2);
        Rejects(() => RulerOps.Statistics(Ln, moments, mean, rstd), "moments", "at least one value", "group 1 with count 0");
        Untouched(mean, "mean");
        Untouched(rstd, "rstd");
        Rejects(() => RulerOps.Statistics(Ln, moments, mean.AsSpan(1), rstd), "mean", "length 2", "length 1");
        Rejects(() => RulerOps.Statistics(Ln, moments, mean, rstd.AsSpan(1)), "rstd", "length 2", "length 1");
        Untouched(mean, "mean");
        Untouched(rstd, "rstd");
    }

    [Fact]
    public void ForwardAndNormalizeRefuseEveryMismatchAndWriteNothing()
    {
        var x = TestData.Normal(new Random(1), 12);
        var gamma = new double[4];
        var y = Filled(12);
        var mean = Filled(3);
        var rstd = Filled(3);
        var stats = new double[3];
        var check = RejectsLeaving((y, "y"), (mean, "mean"), (rstd, "rstd"));

        check(() => RulerOps.Forward<double>(Ln, x, Shape, new double[3], gamma, y, mean, rstd), "gamma", "length 4 (or empty to omit it)", "length 3");
        check(() => RulerOps.Forward<double>(Ln, x, Shape, gamma, new double[5], y, mean, rstd), "beta", "length 4", "length 5");
        check(() => RulerOps.Forward<double>(Ln, x, Shape, gamma, gamma, y.AsSpan(1), mean, rstd), "y", "length 12", "length 11");
        check(() => RulerOps.Forward<double>(Ln, x, Shape, gamma, gamma, y, mean.AsSpan(1), rstd), "mean", "length 3", "length 2");
        check(() => RulerOps.Forward<double>(Ln, x, Shape, gamma, gamma, y, mean, rstd.AsSpan(1)), "rstd", "length 3", "length 2");
        check(() => RulerOps.Forward<double>(Ln, x.AsSpan(1), Shape, gamma, gamma, y, mean, rstd), "x", "12 elements", "11");
        check(() => RulerOps.Forward<double>(Ln, x, [3, 0], gamma, gamma, y, mean, rstd), "shape", "> 0", "[3, 0]");
        check(() => RulerOps.Forward<double>(new RulerSpec([0, 2]), x, Shape, default, default, y, mean, rstd), "ruler.ReducedAxes", "[-2, 1]", "2");

        check(() => RulerOps.Normalize<double>(Ln, x, Shape, stats, stats, new double[2], gamma, y), "gamma", "length 4", "length 2");
        check(() => RulerOps.Normalize<double>(Ln, x, Shape, stats, stats, gamma, new double[1], y), "beta", "length 4", "length 1");
        check(() => RulerOps.Normalize<double>(Ln, x, Shape, stats.AsSpan(1), stats, gamma, gamma, y), "mean", "length 3", "length 2");
        check(() => RulerOps.Normalize<double>(Ln, x, Shape, stats, new double[4], gamma, gamma, y), "rstd", "length 3", "length 4");
        check(() => RulerOps.Normalize<double>(Ln, x, Shape, stats, stats, gamma, gamma, y.AsSpan(0, 4)), "y", "length 12", "length 4");
        check(() => RulerOps.Normalize<double>(Ln, x, [12], stats, stats, default, default, y), "mean", "length 1", "length 3");
    }

    [Fact]
    public void BackwardRefusesEveryMismatchAndWritesNothing()
    {
        var x = TestData.Normal(new Random(2), 12);
        var stats = new double[3];
        var gamma = new double[4];
        var dy = new double[12];
        var dx = Filled(12);
        var dgamma = Filled(4);
        var dbeta = Filled(4);
        var check = RejectsLeaving((dx, "dx"), (dgamma, "dgammaOut"), (dbeta, "dbetaOut"));

        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats.AsSpan(1), stats, gamma, dy, dx, dgamma, dbeta), "mean", "length 3", "length 2");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats.AsSpan(1), gamma, dy, dx, dgamma, dbeta), "rstd", "length 3", "length 2");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats, new double[3], dy, dx, dgamma, dbeta), "gamma", "length 4", "length 3");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats, gamma, dy.AsSpan(1), dx, dgamma, dbeta), "dy", "length 12", "length 11");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats, gamma, dy, dx.AsSpan(1), dgamma, dbeta), "dx", "length 12", "length 11");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats, gamma, dy, dx, dgamma.AsSpan(1), dbeta), "dgammaOut", "length 4", "length 3");
        check(() => RulerOps.Backward<double>(Ln, x, Shape, stats, stats, gamma, dy, dx, dgamma, dbeta.AsSpan(2)), "dbetaOut", "length 4", "length 2");
        check(() => RulerOps.Backward<double>(Ln, x.AsSpan(2), Shape, stats, stats, gamma, dy, dx, dgamma, dbeta), "x", "12 elements", "10");
    }

    [Fact]
    public void FusedAddForwardAndBackwardRefuseEveryMismatchAndWriteNothing()
    {
        var x = TestData.Normal(new Random(3), 12);
        var gamma = new double[4];
        var h = Filled(12);
        var y = Filled(12);
        var mean = Filled(3);
        var rstd = Filled(3);
        var checkForward = RejectsLeaving((h, "h"), (y, "y"), (mean, "mean"), (rstd, "rstd"));
        checkForward(() => RulerOps.AddForward<double>(Ln, x, x.AsSpan(1), Shape, gamma, gamma, h, y, mean, rstd), "u", "length 12", "length 11");
        checkForward(() => RulerOps.AddForward<double>(Ln, x, x, Shape, gamma, gamma, h.AsSpan(1), y, mean, rstd), "h", "length 12", "length 11");
        checkForward(() => RulerOps.AddForward<double>(Ln, x, x, Shape, gamma, gamma, h, y.AsSpan(1), mean, rstd), "y", "length 12", "length 11");
        checkForward(() => RulerOps.AddForward<double>(Ln, x, x, Shape, gamma.AsSpan(1), gamma, h, y, mean, rstd), "gamma", "length 4", "length 3");
        checkForward(() => RulerOps.AddForward<double>(Ln, x, x, Shape, gamma, gamma, h, y, mean, rstd.AsSpan(2)), "rstd", "length 3", "length 1");

        var stats = new double[3];
        var dsum = Filled(12);
        var dgamma = Filled(4);
        var dbeta = Filled(4);
        var checkBackward = RejectsLeaving((dsum, "dsum"), (dgamma, "dgammaOut"), (dbeta, "dbetaOut"));
        checkBackward(() => RulerOps.AddBackward<double>(Ln, x, Shape, stats, stats, gamma, x, x.AsSpan(1), dsum, dgamma, dbeta), "dh", "length 12 (or empty to omit it)", "length 11");
        checkBackward(() => RulerOps.AddBackward<double>(Ln, x, Shape, stats, stats, gamma, x.AsSpan(1), x, dsum, dgamma, dbeta), "dy", "length 12", "length 11");
        checkBackward(() => RulerOps.AddBackward<double>(Ln, x, Shape, stats, stats, gamma, x, x, dsum.AsSpan(1), dgamma, dbeta), "dsum", "length 12", "length 11");
        checkBackward(() => RulerOps.AddBackward<double>(Ln, x, Shape, stats, stats, gamma, x, x, dsum, dgamma.AsSpan(1), dbeta), "dgammaOut", "length 4", "length 3");
        checkBackward(() => RulerOps.AddBackward<double>(Ln, x, Shape, stats, stats.AsSpan(1), gamma, x, x, dsum, dgamma, dbeta), "rstd", "length 3", "length 2");
    }

    // ---------------------------------------------------------------- DyT

    [Fact]
    public void DynamicTanhOpsRefusesBadFeaturesLengthsAndAlphaAndWritesNothing()
    {
        var x = TestData.Normal(new Random(4), 12);
        var y = Filled(12);
        var dgamma = Filled(4);
        var dbeta = Filled(4);
        var gamma = new double[4];
        var check = RejectsLeaving((y, "y/dx"), (dgamma, "dgamma"), (dbeta, "dbeta"));
        check(() => DynamicTanhOps.Forward<double>(x, 0, 0.5, default, default, y), "features", "positive", "0");
        check(() => DynamicTanhOps.Forward<double>(x, 5, 0.5, default, default, y), "x", "divisible by features = 5", "12");
        check(() => DynamicTanhOps.Forward<double>(ReadOnlySpan<double>.Empty, 4, 0.5, default, default, y.AsSpan(0, 0)), "x", "non-empty", "0 elements");
        check(() => DynamicTanhOps.Forward<double>(x, 4, 0.5, new double[3], default, y), "gamma", "length 4", "length 3");
        check(() => DynamicTanhOps.Forward<double>(x, 4, 0.5, gamma, new double[2], y), "beta", "length 4", "length 2");
        check(() => DynamicTanhOps.Forward<double>(x, 4, double.NaN, gamma, gamma, y), "alpha", "finite", "NaN");
        check(() => DynamicTanhOps.Forward<double>(x, 4, 0.5, gamma, gamma, y.AsSpan(1)), "y", "length 12", "length 11");
        check(() => DynamicTanhOps.Backward<double>(x, 4, 0.5, gamma, x.AsSpan(1), y, dgamma, dbeta), "dy", "length 12", "length 11");
        check(() => DynamicTanhOps.Backward<double>(x, 4, 0.5, gamma, x, y.AsSpan(1), dgamma, dbeta), "dx", "length 12", "length 11");
        check(() => DynamicTanhOps.Backward<double>(x, 4, 0.5, gamma, x, y, dgamma.AsSpan(1), dbeta), "dgamma", "length 4", "length 3");
        check(() => DynamicTanhOps.Backward<double>(x, 4, double.PositiveInfinity, gamma, x, y, dgamma, dbeta), "alpha", "finite");
    }

    // ---------------------------------------------------------------- modules: construction

    [Fact]
    public void ModuleConstructorsRefuseBadCountsEpsAndMomentum()
    {
        Rejects(() => new BatchNorm<float>(0), "numFeatures", "positive", "0");
        Rejects(() => new InstanceNorm<float>(-2), "numFeatures", "positive", "-2");
        foreach (double eps in new[] { -1.0, double.NaN })
        {
            Rejects(() => new BatchNorm<float>(3, eps), "eps", ">= 0");
            Rejects(() => new InstanceNorm<float>(3, eps), "eps", ">= 0");
            Rejects(() => new GroupNorm<float>(1, 3, eps), "eps", ">= 0");
            Rejects(() => new LayerNorm<float>([3], eps), "eps", ">= 0");
            Rejects(() => new RmsNorm<float>([3], eps), "eps", ">= 0");
        }
        foreach (double momentum in new[] { -0.1, 1.5, double.NaN, double.PositiveInfinity })
        {
            Rejects(() => new BatchNorm<float>(3, momentum: momentum), "momentum", "[0, 1]");
            Rejects(() => new InstanceNorm<float>(3, momentum: momentum, trackRunningStats: true), "momentum", "[0, 1]");
        }
        _ = new BatchNorm<float>(3, momentum: 0);
        _ = new BatchNorm<float>(3, momentum: 1);
        _ = new BatchNorm<float>(3, momentum: null);
        Rejects(() => new GroupNorm<float>(4, 6), "numGroups", "divisor of numChannels = 6", "4");
        Rejects(() => new GroupNorm<float>(0, 6), "numGroups", "positive", "0");
        Rejects(() => new GroupNorm<float>(2, 0), "numChannels", "positive", "0");
        Rejects(() => new LayerNorm<float>([]), "normalizedShape", "rank >= 1");
        Rejects(() => new LayerNorm<float>([4, 0]), "normalizedShape", "> 0", "[4, 0]");
        Rejects(() => new RmsNorm<float>([0]), "normalizedShape", "> 0");
        Rejects(() => new DynamicTanh<float>([]), "normalizedShape", "rank >= 1");
        Rejects(() => new DynamicTanh<float>([3], double.NaN), "alphaInit", "finite", "NaN");
    }

    // ---------------------------------------------------------------- modules: forward and backward

    private sealed record Snapshot(double[] Mean, double[] Var, long Batches);

    private static Snapshot? Running(Normalizer<double> m) => m switch
    {
        BatchNorm<double> { Running: { } r } => new(r.Mean.ToArray(), r.Variance.ToArray(), r.BatchesTracked),
        InstanceNorm<double> { Running: { } r } => new(r.Mean.ToArray(), r.Variance.ToArray(), r.BatchesTracked),
        _ => null,
    };

    /// <summary>A bad forward leaves y, the running statistics and the saved statistics exactly as they were.</summary>
    private static void ForwardRejects(Normalizer<double> m, int[] shape, int length, int yLength, string argument, params string[] mentions)
    {
        var before = Running(m);
        var saved = m is RulerNormalizer<double> r ? (r.SavedMean.ToArray(), r.SavedRstd.ToArray()) : default;
        var y = Filled(yLength);
        Rejects(() => m.Forward(new double[length], shape, y), argument, mentions);
        Untouched(y, "y");
        var after = Running(m);
        if (before is not null)
        {
            Assert.Equal(before.Mean, after!.Mean);
            Assert.Equal(before.Var, after.Var);
            Assert.Equal(before.Batches, after.Batches);
        }
        if (m is RulerNormalizer<double> rn)
        {
            Assert.Equal(saved.Item1, rn.SavedMean.ToArray());
            Assert.Equal(saved.Item2, rn.SavedRstd.ToArray());
        }
    }

    [Fact]
    public void BatchNormTrainingWithOneValuePerChannelIsRefusedLikePyTorch()
    {
        var bn = new BatchNorm<double>(3);
        foreach (int[] shape in new[] { new[] { 1, 3 }, new[] { 1, 3, 1, 1 }, new[] { 1, 3, 1 } })
        {
            var e = Assert.ThrowsAny<ArgumentException>(() => bn.Forward(new double[3], shape, new double[3]));
            Assert.Contains("more than 1 value per channel when training", e.Message);
            Assert.Contains(string.Join(", ", shape), e.Message);
            ForwardRejects(bn, shape, 3, 3, "x", "more than 1 value per channel when training");
        }
        var last = new BatchNorm<double>(3, layout: ChannelLayout.ChannelsLast);
        ForwardRejects(last, [1, 1, 3], 3, 3, "x", "more than 1 value per channel when training");

        // Eval mode uses the running statistics: a single value per channel is fine there.
        bn.Training = false;
        var y = new double[3];
        bn.Forward([1, 2, 3], [1, 3], y);
        Assert.All(y, v => Assert.True(double.IsFinite(v)));
    }

    [Fact]
    public void ModuleForwardRefusesWrongShapesAndLengthsAndWritesNothing()
    {
        var bn = new BatchNorm<double>(3);
        bn.Forward(TestData.Normal(new Random(5), 12), [4, 3], new double[12]); // running statistics now differ from their initial values
        ForwardRejects(bn, [2, 4, 3], 24, 24, "x", "3 channels on axis 1", "4 in shape [2, 4, 3]");
        ForwardRejects(bn, [6], 6, 6, "x", "rank >= 2", "[6]");
        ForwardRejects(bn, [2, 3], 6, 5, "y", "length 6", "length 5");
        ForwardRejects(bn, [2, 3], 5, 6, "x", "6 elements for shape [2, 3]", "5");
        ForwardRejects(bn, [0, 3], 0, 0, "shape", "> 0", "[0, 3]");

        var bnLast = new BatchNorm<double>(3, layout: ChannelLayout.ChannelsLast);
        ForwardRejects(bnLast, [2, 3, 4], 24, 24, "x", "3 channels on axis -1", "4 in shape [2, 3, 4]");

        var inorm = new InstanceNorm<double>(3, trackRunningStats: true);
        ForwardRejects(inorm, [6], 6, 6, "x", "rank >= 2", "[6]");
        ForwardRejects(inorm, [2, 3], 6, 6, "x", "3 channels on axis 0 of an unbatched (C, L) input", "2 in shape [2, 3]");
        ForwardRejects(inorm, [3, 1], 3, 3, "x", "more than 1 spatial element when training");
        ForwardRejects(inorm, [2, 3, 1], 6, 6, "x", "more than 1 spatial element when training");
        ForwardRejects(inorm, [2, 2, 5], 20, 20, "x", "3 channels", "2 in shape [2, 2, 5]");

        var gn = new GroupNorm<double>(2, 4);
        ForwardRejects(gn, [2, 6, 3], 36, 36, "x", "4 channels", "6 in shape [2, 6, 3]");
        ForwardRejects(gn, [2, 4, 3], 24, 23, "y", "length 24", "length 23");
        ForwardRejects(gn, [2, 4, 0], 0, 0, "x", "> 0", "[2, 4, 0]");

        var ln = new LayerNorm<double>([3, 4]);
        ForwardRejects(ln, [2, 4, 3], 24, 24, "x", "trailing dims equal to normalizedShape [3, 4]", "shape [2, 4, 3]");
        ForwardRejects(ln, [4], 4, 4, "x", "normalizedShape [3, 4]", "shape [4]");
        ForwardRejects(ln, [2, 3, 4], 23, 24, "x", "24 elements", "23");

        var rms = new RmsNorm<double>([5]);
        ForwardRejects(rms, [2, 4], 8, 8, "x", "normalizedShape [5]", "shape [2, 4]");
        ForwardRejects(rms, [2, 5], 10, 9, "y", "length 10", "length 9");

        var dyt = new DynamicTanh<double>([4]);
        ForwardRejects(dyt, [2, 5], 10, 10, "x", "normalizedShape [4]", "[2, 5]");
        ForwardRejects(dyt, [2, 4], 7, 8, "x", "8 elements", "7");
        ForwardRejects(dyt, [2, 4], 8, 7, "y", "length 8", "length 7");
    }

    [Fact]
    public void ModuleBackwardRefusesMismatchesAndLeavesGradientsUntouched()
    {
        var modules = new Normalizer<double>[]
        {
            new BatchNorm<double>(3), new LayerNorm<double>([6]), new GroupNorm<double>(3, 3), new RmsNorm<double>([6]),
            new InstanceNorm<double>(3, affine: true), new DynamicTanh<double>([6]),
        };
        int[] shape = [2, 3, 6];
        var x = TestData.Normal(new Random(6), 36);
        foreach (var m in modules)
        {
            int[] s = m is LayerNorm<double> or RmsNorm<double> or DynamicTanh<double> ? [6, 6] : shape;
            foreach (var p in m.Parameters) Array.Fill(p.Grad, Sentinel);
            var dx = Filled(36);
            if (m is RulerNormalizer<double>)
            {
                var e = Assert.Throws<InvalidOperationException>(() => m.Backward(x, s, new double[36], dx));
                Assert.Contains("Forward", e.Message);
                Untouched(dx, $"{m.GetType().Name} dx before any forward");
            }
            m.Forward(x, s, new double[36]);
            Rejects(() => m.Backward(x, s, new double[35], dx), "dy", "length 36", "length 35");
            Rejects(() => m.Backward(x, s, new double[36], dx.AsSpan(1)), "dx", "length 36", "length 35");
            Untouched(dx, $"{m.GetType().Name} dx");
            foreach (var p in m.Parameters) Untouched(p.Grad, $"{m.GetType().Name} {p.Name}.Grad");
        }
    }
}
