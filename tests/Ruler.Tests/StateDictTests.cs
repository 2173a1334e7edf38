using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>StateDict/LoadStateDict: PyTorch's names, exact resume (num_batches_tracked included), strict refusals that write nothing.</summary>
public class StateDictTests
{
    private static readonly int[] Shape = [4, 3, 5];

    private static float[] Batch(int seed, double offset) => TestData.ToFloat(TestData.Normal(new Random(seed), 60, offset, 2));

    private static float[] Train(BatchNorm<float> bn, int seed)
    {
        var y = new float[60];
        bn.Forward(Batch(seed, seed), Shape, y);
        return y;
    }

    [Fact]
    public void BatchNormStateHasPyTorchsNamesAndIsACopy()
    {
        var bn = new BatchNorm<float>(3);
        Train(bn, 1);
        var state = bn.StateDict();
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], state.Keys);
        Assert.Equal(bn.Running!.Mean, (float[])state["running_mean"]);
        Assert.Equal(bn.Running.Variance, (float[])state["running_var"]);
        Assert.Equal([1L], (long[])state["num_batches_tracked"]);
        ((float[])state["running_mean"])[0] = 1234;
        ((float[])state["weight"])[0] = 1234;
        Assert.NotEqual(1234f, bn.Running.Mean[0]);
        Assert.NotEqual(1234f, bn.Weight.Value[0]);

        Assert.Equal(["weight", "bias"], new BatchNorm<float>(3, trackRunningStats: false).StateDict().Keys);
        Assert.Empty(new InstanceNorm<float>(3).StateDict());
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], new InstanceNorm<float>(3, trackRunningStats: true).StateDict().Keys);
        Assert.Equal(["weight"], new RmsNorm<float>([8]).StateDict().Keys);
        Assert.Empty(new LayerNorm<float>([8], elementwiseAffine: false).StateDict());
        Assert.Equal(["alpha", "weight", "bias"], new DynamicTanh<float>([8]).StateDict().Keys);
        Assert.Equal(["weight", "bias"], new AddLayerNorm<float>([8]).StateDict().Keys);
        Assert.Equal(["weight"], new AddRmsNorm<float>([8]).StateDict().Keys);
    }

    [Theory]
    [InlineData(null)]
    [InlineData(0.1)]
    public void ABatchNormResumedFromItsStateContinuesWithTheSameBits(double? momentum)
    {
        var a = new BatchNorm<float>(3, momentum: momentum);
        for (int s = 0; s < 3; s++) Train(a, s);
        a.Weight.Value[1] = 1.5f;
        a.Bias.Value[2] = -0.25f;
        var b = new BatchNorm<float>(3, momentum: momentum);
        b.LoadStateDict(a.StateDict());
        Assert.Equal(3, b.Running!.BatchesTracked);

        for (int s = 3; s < 5; s++) Assert.Equal(Train(a, s), Train(b, s));
        Assert.Equal(a.Running!.Mean, b.Running.Mean);
        Assert.Equal(a.Running.Variance, b.Running.Variance);
        Assert.Equal(5, b.Running.BatchesTracked);
        a.Training = b.Training = false;
        Assert.Equal(Train(a, 9), Train(b, 9));

        if (momentum is null)
        {
            // Without num_batches_tracked the cumulative average would weigh the next batch 1/1, not 1/4: the count matters.
            var c = new BatchNorm<float>(3, momentum: null);
            var state = new BatchNorm<float>(3, momentum: null).StateDict();
            foreach (var key in new[] { "weight", "bias", "running_mean", "running_var" }) state[key] = a.StateDict()[key];
            c.LoadStateDict(state);
            var d = new BatchNorm<float>(3, momentum: null);
            d.LoadStateDict(a.StateDict());
            Train(c, 20);
            Train(d, 20);
            Assert.NotEqual(c.Running!.Mean, d.Running!.Mean);
        }
    }

    [Fact]
    public void LoadStateDictRefusesMissingUnexpectedMistypedAndMissizedEntriesAndWritesNothing()
    {
        var bn = new BatchNorm<float>(3);
        Train(bn, 1);
        var before = bn.StateDict();
        var good = new BatchNorm<float>(3).StateDict();

        void Refused(Action<Dictionary<string, Array>> corrupt, string param, string expected, string given)
        {
            var state = new Dictionary<string, Array>(good);
            corrupt(state);
            var e = Assert.Throws<ArgumentException>(() => bn.LoadStateDict(state));
            Assert.Equal(param, e.ParamName);
            Assert.Contains(expected, e.Message);
            Assert.Contains(given, e.Message);
            var after = bn.StateDict();
            foreach (var (key, value) in before) Assert.Equal(value, after[key]);
        }

        Refused(s => s.Remove("running_var"), "state", "running_var", "no key \"running_var\"");
        Refused(s => s["extra"] = new float[3], "state", "only the keys", "unexpected key \"extra\"");
        Refused(s => s["weight"] = new double[3], "state[\"weight\"]", "Single[3]", "Double[3]");
        Refused(s => s["bias"] = new float[4], "state[\"bias\"]", "Single[3]", "Single[4]");
        Refused(s => s["num_batches_tracked"] = new[] { -1L }, "state[\"num_batches_tracked\"]", "Int64[1]", "holding -1");
        Refused(s => s["num_batches_tracked"] = new[] { 1, 2 }, "state[\"num_batches_tracked\"]", "Int64[1]", "Int32[2]");
        Assert.Throws<ArgumentNullException>(() => bn.LoadStateDict(null!));
    }

    [Fact]
    public void FusedAndDyTStatesRoundTrip()
    {
        var a = new AddLayerNorm<double>([4]);
        a.Weight.Value[2] = 3;
        a.Bias.Value[1] = -2;
        var b = new AddLayerNorm<double>([4]);
        b.LoadStateDict(a.StateDict());
        Assert.Equal(a.Weight.Value, b.Weight.Value);
        Assert.Equal(a.Bias.Value, b.Bias.Value);

        var d = new DynamicTanh<float>([4]);
        d.Alpha.Value[0] = 0.75f;
        var e = new DynamicTanh<float>([4]);
        e.LoadStateDict(d.StateDict());
        Assert.Equal(0.75f, e.Alpha.Value[0]);
    }
}
