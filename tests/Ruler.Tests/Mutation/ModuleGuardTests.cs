using System.Collections;
using System.Diagnostics.CodeAnalysis;
using Ruler.Internal;

namespace Ruler.Tests.Mutation;

/// <summary>
/// The survivors of the core mutation run (tools/mutation-scores.md): the one-caller guard of every public call
/// (held for real by a LoadStateDict blocked inside the state dictionary, not simulated), the fused modules' own
/// argument checks and their names, messages users act on, eval-mode normalization with running statistics far
/// from zero in float64, and the float64 reference's centre remainder. Numbers are compared with float64 arithmetic
/// written here (tolerance 1e-12 relative unless stated).
/// </summary>
public class ModuleGuardTests
{
    /// <summary>A state dictionary whose first use blocks until released, so a LoadStateDict holds its module meanwhile.</summary>
    private sealed class BlockingState(IReadOnlyDictionary<string, Array> inner) : IReadOnlyDictionary<string, Array>
    {
        public readonly ManualResetEventSlim Entered = new(), Release = new();

        private IReadOnlyDictionary<string, Array> Inner
        {
            get
            {
                Entered.Set();
                Assert.True(Release.Wait(TimeSpan.FromSeconds(30)), "the test never released the blocked LoadStateDict");
                return inner;
            }
        }

        public Array this[string key] => Inner[key];
        public IEnumerable<string> Keys => Inner.Keys;
        public IEnumerable<Array> Values => Inner.Values;
        public int Count => Inner.Count;
        public bool ContainsKey(string key) => Inner.ContainsKey(key);
        public bool TryGetValue(string key, [MaybeNullWhen(false)] out Array value) => Inner.TryGetValue(key, out value);
        public IEnumerator<KeyValuePair<string, Array>> GetEnumerator() => Inner.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    /// <summary>Runs <paramref name="load"/> on another thread until it blocks inside the state, runs <paramref name="whileHeld"/>, releases, joins.</summary>
    private static void WhileLoadStateDictHolds(BlockingState state, Action load, Action whileHeld)
    {
        var loader = Task.Run(load);
        Assert.True(state.Entered.Wait(TimeSpan.FromSeconds(30)), "LoadStateDict never reached the state");
        try { whileHeld(); }
        finally { state.Release.Set(); }
        loader.GetAwaiter().GetResult();
    }

    private static void AssertRefusedAsBusy(string method, Action call)
    {
        var e = Assert.Throws<InvalidOperationException>(call);
        Assert.Contains($".{method}: another call on this instance is running", e.Message);
        Assert.Contains("use one instance per thread", e.Message);
    }

    [Fact]
    public void EveryCallOfANormalizerIsRefusedWhileAnotherHoldsItAndAcceptedAfter()
    {
        var module = new LayerNorm<float>([4]);
        int[] shape = [2, 4];
        float[] x = [1, 2, 3, 5, -1, 0, 2, 7], y = new float[8], dy = [1, 0, 0, 0, 0, 1, 0, 0], dx = new float[8];
        module.Forward(x, shape, y);
        var state = new BlockingState(module.StateDict());
        WhileLoadStateDictHolds(state, () => module.LoadStateDict(state), () =>
        {
            AssertRefusedAsBusy("Forward", () => module.Forward(x, shape, y));
            AssertRefusedAsBusy("Backward", () => module.Backward(x, shape, dy, dx));
            AssertRefusedAsBusy("LoadStateDict", () => module.LoadStateDict(module.StateDict()));
        });
        // Released: the guard is free again, and the loaded state (the same values) changed nothing.
        var again = new float[8];
        module.Forward(x, shape, again);
        Assert.Equal(y, again);
        module.Backward(x, shape, dy, dx);
        Assert.NotEqual(new float[8], dx);
    }

    [Fact]
    public void EveryCallOfAFusedModuleIsRefusedWhileAnotherHoldsItAndAcceptedAfter()
    {
        var module = new AddLayerNorm<float>([4]);
        int[] shape = [2, 4];
        float[] x = [1, 2, 3, 5, -1, 0, 2, 7], u = [0, 1, 0, 1, 0, 1, 0, 1], h = new float[8], y = new float[8];
        float[] dy = [1, 0, 0, 0, 0, 1, 0, 0], dsum = new float[8];
        module.Forward(x, u, shape, h, y);
        var state = new BlockingState(module.StateDict());
        WhileLoadStateDictHolds(state, () => module.LoadStateDict(state), () =>
        {
            AssertRefusedAsBusy("Forward", () => module.Forward(x, u, shape, new float[8], new float[8]));
            AssertRefusedAsBusy("Backward", () => module.Backward(h, shape, dy, default, dsum));
            AssertRefusedAsBusy("LoadStateDict", () => module.LoadStateDict(module.StateDict()));
        });
        Assert.Equal(new float[8], dsum);   // the refused Backward wrote nothing
        module.Backward(h, shape, dy, default, dsum);
        Assert.NotEqual(new float[8], dsum);
    }

    [Fact]
    public void FusedModuleConstructorsRefuseBadElementTypesShapesAndNull()
    {
        // Without affine parameters nothing else would notice (the parameters' fill is what converts values).
        Assert.Throws<NotSupportedException>(() => new AddLayerNorm<int>([4], elementwiseAffine: false));
        Assert.Throws<NotSupportedException>(() => new AddRmsNorm<long>([4], eps: 1e-5, elementwiseAffine: false));
        Assert.Equal("normalizedShape", Assert.Throws<ArgumentNullException>(() => new AddLayerNorm<float>(null!)).ParamName);
        foreach (int[] bad in new[] { new[] { 0 }, [], [4, -2] })
        {
            var e = Assert.Throws<ArgumentException>(() => new AddLayerNorm<float>(bad, elementwiseAffine: false));
            Assert.Equal("normalizedShape", e.ParamName);
            e = Assert.Throws<ArgumentException>(() => new AddRmsNorm<float>(bad));
            Assert.Equal("normalizedShape", e.ParamName);
        }
    }

    [Fact]
    public void FusedModuleChecksNameTheArgumentAndWriteNothing()
    {
        var module = new AddLayerNorm<float>([4]);
        int[] shape = [2, 4];
        float[] x = [1, 2, 3, 5, -1, 0, 2, 7], u = new float[8];
        float[] h = Enumerable.Repeat(-9f, 8).ToArray(), y = Enumerable.Repeat(-9f, 8).ToArray();
        Assert.Equal("x", Assert.Throws<ArgumentException>(() => module.Forward(x.AsSpan(0, 7), u.AsSpan(0, 7), shape, h.AsSpan(0, 7), y.AsSpan(0, 7))).ParamName);
        Assert.Equal("h", Assert.Throws<ArgumentException>(() => module.Forward(x, u, shape, h.AsSpan(0, 7), y)).ParamName);
        Assert.Equal(Enumerable.Repeat(-9f, 8), h);
        Assert.Equal(Enumerable.Repeat(-9f, 8), y);

        module.Forward(x, u, shape, h, y);
        float[] dy = [1, 2, 0, 0, 0, 1, 0, 0], dsum = Enumerable.Repeat(-9f, 8).ToArray();
        Assert.Equal("h", Assert.Throws<ArgumentException>(() => module.Backward(h, [8], dy, default, dsum)).ParamName);
        Assert.Equal("dy", Assert.Throws<ArgumentException>(() => module.Backward(h, shape, dy.AsSpan(0, 7), default, dsum)).ParamName);
        Assert.Equal("dh", Assert.Throws<ArgumentException>(() => module.Backward(h, shape, dy, new float[3], dsum)).ParamName);
        Assert.Equal(Enumerable.Repeat(-9f, 8), dsum);
    }

    [Fact]
    public void FusedModuleBackwardAfterAFailedForwardIsRefused()
    {
        // The last Forward must have succeeded: a failed one (here: y of the wrong length) leaves nothing to differentiate.
        var module = new AddRmsNorm<double>([3]);
        int[] shape = [2, 3];
        double[] x = [1, 2, 4, -1, 0, 3], u = new double[6], h = new double[6], y = new double[6];
        module.Forward(x, u, shape, h, y);
        Assert.Throws<ArgumentException>(() => module.Forward(x, u, shape, new double[6], new double[5]));
        var e = Assert.Throws<InvalidOperationException>(() => module.Backward(h, shape, new double[6], default, new double[6]));
        Assert.Contains("expected a successful Forward", e.Message);
    }

    [Fact]
    public void MissingAffineParametersSayWhichAndWhatToCheck()
    {
        var plain = new LayerNorm<float>([4], elementwiseAffine: false);
        var fused = new AddLayerNorm<float>([4], elementwiseAffine: false);
        foreach (var weight in new Action[] { () => _ = plain.Weight, () => _ = fused.Weight })
        {
            var e = Assert.Throws<InvalidOperationException>(weight);
            Assert.Contains(".Weight: this layer has no γ", e.Message);
            Assert.Contains("check HasWeight before using Weight", e.Message);
        }
        foreach (var bias in new Action[] { () => _ = plain.Bias, () => _ = fused.Bias })
        {
            var e = Assert.Throws<InvalidOperationException>(bias);
            Assert.Contains(".Bias: this layer has no β", e.Message);
            Assert.Contains("check HasBias before using Bias", e.Message);
        }
    }

    [Fact]
    public void ANullBackendIsRefusedSayingWhatToPass()
    {
        foreach (var set in new Action[] { () => new LayerNorm<float>([4]).Backend = null!, () => new AddRmsNorm<float>([4]).Backend = null! })
        {
            var e = Assert.Throws<ArgumentNullException>(set);
            Assert.Equal("value", e.ParamName);
            Assert.Contains("Backend: expected a backend, e.g. CpuBackend.Instance", e.Message);
        }
    }

    [Fact]
    public void ANonPositiveDimIsReportedAsSuchBeforeTheTrailingDimsAreCompared()
    {
        // [0, 3] also fails the trailing-dims test against [4]; the error must name the empty dim, which is the cause.
        var e = Assert.Throws<ArgumentException>(() => new LayerNorm<float>([4]).Forward(new float[0], [0, 3], new float[0]));
        Assert.Equal("x", e.ParamName);
        Assert.Contains("every dimension > 0", e.Message);
    }

    [Fact]
    public void EvalBatchNormInFloat64CentresOnTheRunningMeanFarFromZero()
    {
        // |running mean|·rstd > 1024 makes float64 kernels refine the centre; the refinement must use the running mean,
        // not the batch's own mean (which differs from it here by 0.25 and −0.5).
        var bn = new BatchNorm<double>(2, eps: 1e-5) { Training = false };
        double[] runningMean = [5000, -3000], runningVar = [1, 4];
        runningMean.CopyTo(bn.Running!.Mean, 0);
        runningVar.CopyTo(bn.Running.Variance, 0);
        int[] shape = [3, 2, 2];   // N, C, L
        var x = new double[12];
        double[] batchShift = [0.25, -0.5];
        for (int n = 0; n < 3; n++)
            for (int c = 0; c < 2; c++)
                for (int l = 0; l < 2; l++)
                    x[(n * 2 + c) * 2 + l] = runningMean[c] + batchShift[c] + (n - 1) * 0.5 + (l - 0.5) * 0.125;
        var y = new double[12];
        bn.Forward(x, shape, y);
        for (int i = 0; i < 12; i++)
        {
            int c = i / 2 % 2;
            double expected = (x[i] - runningMean[c]) / Math.Sqrt(runningVar[c] + 1e-5);
            Assert.True(Math.Abs(y[i] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"y[{i}] = {y[i]}, expected {expected}");
        }
    }

    [Fact]
    public void ReferenceNormalizeSubtractsTheCentresRemainder()
    {
        // The float64 oracle's centre is mean + lo (lo: what the saved mean's last bit cannot hold): x − mean − lo, not + lo.
        var layout = RulerOps.Resolve(RulerSpec.LayerNorm(), 6, [2, 3], "x");
        double[] x = [1e9 + 1, 1e9 + 2, 1e9 + 3.5, -7, -8, -9.25];
        double[] mean = [1e9, -8], lo = [0.75, -0.125], rstd = [2, 0.5];
        var y = new double[6];
        ReferenceKernels.Normalize<double>(layout, x, mean, rstd, default, default, y, lo);
        for (int i = 0; i < 6; i++)
        {
            int g = i / 3;
            double expected = (x[i] - mean[g] - lo[g]) * rstd[g];
            Assert.True(Math.Abs(y[i] - expected) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"y[{i}] = {y[i]}, expected {expected}");
        }
    }

    [Fact]
    public void TheUnbiasedVarianceOfOneValueIsUndefinedWhateverItsM2()
    {
        Assert.True(double.IsNaN(new GroupMoments(1, 3, 0.5).UnbiasedVariance));
        Assert.True(double.IsNaN(new GroupMoments(0, 0, 0).UnbiasedVariance));
        Assert.Equal(0.5, new GroupMoments(2, 3, 0.5).UnbiasedVariance);
    }
}
