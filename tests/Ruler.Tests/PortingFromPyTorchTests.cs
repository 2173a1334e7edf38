using System.Numerics.Tensors;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// The README's "Porting from PyTorch" table, each Ruler call as written there, run on a tiny tensor and compared with
/// the tests' own float64 oracle (<see cref="Oracle"/>, written from PyTorch's definitions): if a cell of the table
/// stops compiling or stops meaning what its PyTorch cell means, this fails. Tolerance: float32 against float64,
/// |Δ| ≤ 1e-5 + 1e-4·|expected|.
/// </summary>
public sealed class PortingFromPyTorchTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ruler-porting-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const double Abs = 1e-5, Rel = 1e-4;

    private static float[] Input(int count, int seed = 1) => TestData.ToFloat(TestData.Normal(new Random(seed), count, 0.5, 2));

    private static void Near(double[] expected, float[] actual, string what) => Approx.Elementwise(expected, TestData.ToDouble(actual), Abs, Rel, what);

    private static float[] Flat(Tensor<float> t)
    {
        var a = new float[t.FlattenedLength];
        t.AsReadOnlyTensorSpan().FlattenTo(a);
        return a;
    }

    private static double[] D(float[] a) => TestData.ToDouble(a);

    [Fact]
    public void BatchNorm1dAnd2dTrainEvalAndRunningStatistics()
    {
        int n = 4, c = 3, l = 5, h = 2, w = 3;
        float[] x = Input(n * c * l);
        var y = new float[x.Length];

        // nn.BatchNorm1d(C) on (N, C, L)
        var bn = new BatchNorm<float>(c);
        bn.Forward(x, [n, c, l], y);
        var r = Oracle.Normalize(D(x), [n, c, l], i => i[1], c, i => i[1], center: true, eps: 1e-5);
        Near(r.Y, y, "BatchNorm1d");

        // bn.running_mean / bn.running_var / bn.num_batches_tracked (momentum 0.1, unbiased running variance)
        int m = n * l;
        for (int k = 0; k < c; k++)
        {
            double variance = 1 / (r.Rstd[k] * r.Rstd[k]) - 1e-5;
            Assert.Equal(0.1 * r.Mean[k], bn.Running!.Mean[k], 1e-6);
            Assert.Equal(0.9 + 0.1 * variance * m / (m - 1), bn.Running.Variance[k], 1e-5);
        }
        Assert.Equal(1, bn.Running!.BatchesTracked);

        // bn.eval(): normalize with the running statistics
        bn.Training = false;
        bn.Forward(x, [n, c, l], y);
        var evalRef = new double[x.Length];
        Oracle.ForEachIndex([n, c, l], (i, idx) =>
            evalRef[i] = (x[i] - bn.Running.Mean[idx[1]]) / Math.Sqrt(bn.Running.Variance[idx[1]] + 1e-5));
        Near(evalRef, y, "BatchNorm eval");
        bn.Training = true;   // bn.train()

        // nn.BatchNorm2d(C) on (N, C, H, W): the same module, any rank >= 2
        float[] x2 = Input(n * c * h * w, 2);
        var y2 = new float[x2.Length];
        var bn2d = new BatchNorm<float>(c);
        bn2d.Forward(x2, [n, c, h, w], y2);
        Near(Oracle.Normalize(D(x2), [n, c, h, w], i => i[1], c, i => i[1], true, 1e-5).Y, y2, "BatchNorm2d");

        // nn.BatchNorm2d(C, momentum=None): cumulative average over every batch seen
        var cumulative = new BatchNorm<float>(c, momentum: null);
        float[] xa = Input(x2.Length, 3), xb = Input(x2.Length, 4);
        cumulative.Forward(xa, [n, c, h, w], y2);
        cumulative.Forward(xb, [n, c, h, w], y2);
        var ra = Oracle.Normalize(D(xa), [n, c, h, w], i => i[1], c, i => i[1], true, 1e-5);
        var rb = Oracle.Normalize(D(xb), [n, c, h, w], i => i[1], c, i => i[1], true, 1e-5);
        for (int k = 0; k < c; k++) Assert.Equal((ra.Mean[k] + rb.Mean[k]) / 2, cumulative.Running!.Mean[k], 1e-5);
        Assert.Equal(2, cumulative.Running!.BatchesTracked);

        // nn.BatchNorm2d(C, affine=False, track_running_stats=False)
        var plain = new BatchNorm<float>(c, affine: false, trackRunningStats: false);
        Assert.False(plain.HasWeight);
        Assert.Null(plain.Running);
    }

    [Fact]
    public void ChannelsLast()
    {
        // PyTorch's channels_last memory format: the data lies as (N, H, W, C)
        int n = 2, hw = 6, c = 3;
        float[] x = Input(n * hw * c);
        var y = new float[x.Length];
        var bn = new BatchNorm<float>(c, layout: ChannelLayout.ChannelsLast);
        bn.Forward(x, [n, 2, 3, c], y);
        Near(Oracle.Normalize(D(x), [n, 2, 3, c], i => i[3], c, i => i[3], true, 1e-5).Y, y, "BatchNorm channels-last");

        var gn = new GroupNorm<float>(3, 6, layout: ChannelLayout.ChannelsLast);
        float[] xg = Input(2 * 4 * 6, 5);
        var yg = new float[xg.Length];
        gn.Forward(xg, [2, 4, 6], yg);
        Near(Oracle.Normalize(D(xg), [2, 4, 6], i => i[0] * 3 + i[2] / 2, 6, i => i[2], true, 1e-5).Y, yg, "GroupNorm channels-last");
    }

    [Fact]
    public void LayerNormGroupNormInstanceNormRmsNormDyT()
    {
        float[] x = Input(3 * 8);
        var y = new float[x.Length];

        // nn.LayerNorm(D)
        var ln = new LayerNorm<float>([8]);
        ln.Forward(x, [3, 8], y);
        Near(Oracle.Normalize(D(x), [3, 8], i => i[0], 3, i => i[1], true, 1e-5).Y, y, "LayerNorm");

        // nn.LayerNorm([H, W], elementwise_affine=False) and nn.LayerNorm(D, bias=False)
        var ln2 = new LayerNorm<float>([2, 4], elementwiseAffine: false);
        ln2.Forward(x, [3, 2, 4], y);
        Near(Oracle.Normalize(D(x), [3, 2, 4], i => i[0], 3, i => 0, true, 1e-5).Y, y, "LayerNorm 2-d, no affine");
        Assert.False(new LayerNorm<float>([8], bias: false).HasBias);

        // nn.GroupNorm(G, C) on (N, C, L)
        var gn = new GroupNorm<float>(2, 4);
        gn.Forward(x, [3, 4, 2], y);
        Near(Oracle.Normalize(D(x), [3, 4, 2], i => i[0] * 2 + i[1] / 2, 6, i => i[1], true, 1e-5).Y, y, "GroupNorm");

        // nn.InstanceNorm1d(C) on (N, C, L), and unbatched (C, L)
        var inorm = new InstanceNorm<float>(4);
        inorm.Forward(x, [3, 4, 2], y);
        Near(Oracle.Normalize(D(x), [3, 4, 2], i => i[0] * 4 + i[1], 12, i => 0, true, 1e-5).Y, y, "InstanceNorm1d");
        var y1 = new float[8];
        inorm.Forward(x.AsSpan(0, 8), [4, 2], y1);
        Near(Oracle.Normalize(D(x[..8]), [4, 2], i => i[0], 4, i => 0, true, 1e-5).Y, y1, "InstanceNorm1d unbatched");

        // nn.InstanceNorm2d(C, affine=True, track_running_stats=True)
        var in2 = new InstanceNorm<float>(2, affine: true, trackRunningStats: true);
        in2.Forward(x, [3, 2, 2, 2], y);
        Near(Oracle.Normalize(D(x), [3, 2, 2, 2], i => i[0] * 2 + i[1], 6, i => i[1], true, 1e-5).Y, y, "InstanceNorm2d");
        Assert.NotNull(in2.Running);

        // nn.RMSNorm(D) (eps = torch.finfo(float32).eps) and nn.RMSNorm(D, eps=1e-6)
        var rms = new RmsNorm<float>([8]);
        Assert.Equal(RulerSpec.MachineEpsilon<float>(), rms.Eps);
        rms.Forward(x, [3, 8], y);
        Near(Oracle.Normalize(D(x), [3, 8], i => i[0], 3, i => i[1], false, RulerSpec.MachineEpsilon<float>()).Y, y, "RMSNorm");
        var rms6 = new RmsNorm<float>([8], eps: 1e-6);
        rms6.Forward(x, [3, 8], y);
        Near(Oracle.Normalize(D(x), [3, 8], i => i[0], 3, i => i[1], false, 1e-6).Y, y, "RMSNorm eps 1e-6");

        // DyT (Zhu et al. 2025): DynamicTanh(D, alpha_init_value=0.5)
        var dyt = new DynamicTanh<float>([8], alphaInit: 0.5);
        dyt.Forward(x, [3, 8], y);
        Near(x.Select(v => Math.Tanh(0.5 * v)).ToArray(), y, "DyT");
    }

    [Fact]
    public void FusedAddNorm()
    {
        float[] x = Input(3 * 8, 1), u = Input(3 * 8, 2);
        float[] h = new float[24], y = new float[24];
        double[] sum = x.Zip(u, (a, b) => (double)(a + b)).ToArray();

        // h = x + u; y = ln(h)
        var add = new AddLayerNorm<float>([8]);
        add.Forward(x, u, [3, 8], h, y);
        Near(sum, h, "AddLayerNorm h");
        Near(Oracle.Normalize(sum, [3, 8], i => i[0], 3, i => i[1], true, 1e-5).Y, y, "AddLayerNorm y");

        // h = x + u; y = rms(h)
        var addRms = new AddRmsNorm<float>([8]);
        addRms.Forward(x, u, [3, 8], h, y);
        Near(Oracle.Normalize(sum, [3, 8], i => i[0], 3, i => i[1], false, RulerSpec.MachineEpsilon<float>()).Y, y, "AddRmsNorm y");
    }

    [Fact]
    public void BackwardGradientsAndZeroGrad()
    {
        float[] x = Input(3 * 8), dy = Input(3 * 8, 9);
        var y = new float[24];
        var dx = new float[24];
        var ln = new LayerNorm<float>([8]);

        // y = ln(x); y.backward(dy); x.grad, ln.weight.grad
        ln.Forward(x, [3, 8], y);
        ln.Backward(x, [3, 8], dy, dx);
        var g = Oracle.Backward(D(x), [3, 8], i => i[0], 3, i => i[1], 8, true, 1e-5, Enumerable.Repeat(1.0, 8).ToArray(), D(dy));
        Near(g.Dx, dx, "dx");
        Near(g.Dgamma, ln.Weight.Grad, "weight.grad");
        Near(g.Dbeta, ln.Bias.Grad, "bias.grad");

        // ln.zero_grad()
        ln.ZeroGrad();
        Assert.All(ln.Weight.Grad, v => Assert.Equal(0f, v));
    }

    [Fact]
    public void StateDictAndSafetensors()
    {
        var bn = new BatchNorm<float>(3);
        bn.Forward(Input(30), [2, 3, 5], new float[30]);
        string path = Path.Combine(_dir, "bn.safetensors");

        // bn.state_dict() / bn2.load_state_dict(sd)
        var sd = bn.StateDict();
        var bn2 = new BatchNorm<float>(3);
        bn2.LoadStateDict(sd);
        Assert.Equal(bn.Running!.Mean, bn2.Running!.Mean);

        // safetensors.torch.save_file(bn.state_dict(), path) / load_model(bn3, path)
        bn.SaveState(path);
        var bn3 = new BatchNorm<float>(3);
        bn3.LoadState(path);
        Assert.Equal(bn.Running.Variance, bn3.Running!.Variance);
        Assert.Equal(1, bn3.Running.BatchesTracked);

        // one layer of a larger model's file: the "bn1." entries of model.state_dict()
        bn.SaveState(path, prefix: "bn1.");
        var bn4 = new BatchNorm<float>(3);
        bn4.LoadState(path, prefix: "bn1.");
        Assert.Equal(bn.Running.Mean, bn4.Running!.Mean);

        // safetensors.torch.load_file(path): every tensor by name
        Dictionary<string, Array> tensors = Ruler.Serialization.SafeTensorsFile.LoadStateDict(path);
        Assert.Equal(new[] { 1L }, (long[])tensors["bn1.num_batches_tracked"]);
    }

    [Fact]
    public void Functional()
    {
        int[] shape = [2, 4, 3];
        float[] x = Input(24);
        var y = new float[24];
        float[] w = Input(4, 7), b = Input(4, 8);
        float[] w3 = Input(3, 7), b3 = Input(3, 8);

        // F.layer_norm(x, (D,), w, b, eps=1e-5)
        var (mean, rstd) = RulerSpec.LayerNorm().AllocateStatistics(shape);
        RulerOps.Forward<float>(RulerSpec.LayerNorm(1, 1e-5), x, shape, w3, b3, y, mean, rstd);
        Near(Oracle.Normalize(D(x), shape, i => i[0] * 4 + i[1], 8, i => i[2], true, 1e-5, D(w3), D(b3)).Y, y, "F.layer_norm");

        // F.rms_norm(x, (D,), w, eps=1e-6)
        RulerOps.Forward<float>(RulerSpec.RmsNorm(1, 1e-6), x, shape, w3, default, y, mean, rstd);
        Near(Oracle.Normalize(D(x), shape, i => i[0] * 4 + i[1], 8, i => i[2], false, 1e-6, D(w3)).Y, y, "F.rms_norm");

        // F.group_norm(x, G, w, b, eps=1e-5)
        int[] view = RulerSpec.GroupNormView(shape, 2);
        var (gm, gr) = RulerSpec.GroupNorm().AllocateStatistics(view);
        RulerOps.Forward<float>(RulerSpec.GroupNorm(), x, view, w, b, y, gm, gr);
        Near(Oracle.Normalize(D(x), shape, i => i[0] * 2 + i[1] / 2, 4, i => i[1], true, 1e-5, D(w), D(b)).Y, y, "F.group_norm");

        // F.batch_norm(x, None, None, w, b, training=True)
        var (bm, br) = RulerSpec.BatchNorm(3).AllocateStatistics(shape);
        RulerOps.Forward<float>(RulerSpec.BatchNorm(3), x, shape, w, b, y, bm, br);
        Near(Oracle.Normalize(D(x), shape, i => i[1], 4, i => i[1], true, 1e-5, D(w), D(b)).Y, y, "F.batch_norm training");

        // F.batch_norm(x, running_mean, running_var, w, b, training=False): rstd = 1/sqrt(running_var + eps)
        double[] runMean = [0.1, -0.2, 0.3, 0], runVar = [1, 2, 0.5, 4];
        double[] runRstd = runVar.Select(v => 1 / Math.Sqrt(v + 1e-5)).ToArray();
        RulerOps.Normalize<float>(RulerSpec.BatchNorm(3), x, shape, runMean, runRstd, w, b, y);
        var evalRef = new double[24];
        Oracle.ForEachIndex(shape, (i, idx) => evalRef[i] = (x[i] - runMean[idx[1]]) * runRstd[idx[1]] * w[idx[1]] + b[idx[1]]);
        Near(evalRef, y, "F.batch_norm eval");

        // F.instance_norm(x, eps=1e-5)
        var (im, ir) = RulerSpec.InstanceNorm(3).AllocateStatistics(shape);
        RulerOps.Forward<float>(RulerSpec.InstanceNorm(3), x, shape, default, default, y, im, ir);
        Near(Oracle.Normalize(D(x), shape, i => i[0] * 4 + i[1], 8, i => 0, true, 1e-5).Y, y, "F.instance_norm");
    }

    [Fact]
    public void SystemNumericsTensors()
    {
        float[] data = Input(24);
        var ln = new LayerNorm<float>([8]);

        // y = ln(x) with x a Tensor<float>
        Tensor<float> x = Tensor.Create(data, [3, 8]);
        Tensor<float> y = ln.Forward(x);
        Near(Oracle.Normalize(D(data), [3, 8], i => i[0], 3, i => i[1], true, 1e-5).Y, Flat(y), "tensor");

        // into an existing tensor (no allocation)
        var yInto = Tensor.CreateFromShape<float>([3, 8]);
        ln.Forward(x, yInto);
        Assert.Equal(Flat(y), Flat(yInto));
    }
}
