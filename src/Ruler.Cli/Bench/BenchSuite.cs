using Ruler.Onnx;

namespace Ruler.Cli.Bench;

/// <summary>The ops and shapes `ruler bench` measures: issue targets, float32 unless named otherwise.</summary>
internal static class BenchSuite
{
    public sealed record Entry(string Op, string Shape, bool Quick, Func<BenchCase> Create);

    public static IReadOnlyList<Entry> All { get; } =
    [
        new("LayerNorm.forward", "8192x1024", true, () => RowForward("LayerNorm.forward", 8192, 1024, center: true)),
        new("LayerNorm.forward", "65536x768", false, () => RowForward("LayerNorm.forward", 65536, 768, center: true)),
        new("RMSNorm.forward", "8192x1024", true, () => RowForward("RMSNorm.forward", 8192, 1024, center: false)),
        new("RMSNorm.forward", "65536x768", false, () => RowForward("RMSNorm.forward", 65536, 768, center: false)),
        new("LayerNorm.backward", "8192x1024", true, () => RowBackward("LayerNorm.backward", 8192, 1024, center: true)),
        new("LayerNorm.backward", "65536x768", false, () => RowBackward("LayerNorm.backward", 65536, 768, center: true)),
        new("RMSNorm.backward", "8192x1024", false, () => RowBackward("RMSNorm.backward", 8192, 1024, center: false)),
        new("RMSNorm.backward", "65536x768", false, () => RowBackward("RMSNorm.backward", 65536, 768, center: false)),
        new("AddLayerNorm.forward", "8192x1024", false, () => AddForward("AddLayerNorm.forward", 8192, 1024, center: true)),
        new("AddRMSNorm.forward", "65536x768", false, () => AddForward("AddRMSNorm.forward", 65536, 768, center: false)),
        new("BatchNorm.train.forward", "NCHW 32x256x28x28", true, () => Module("BatchNorm.train.forward", [32, 256, 28, 28], new BatchNorm<float>(256), onnx: null)),
        new("BatchNorm.train.forward", "NHWC 32x28x28x256", false, () => Module("BatchNorm.train.forward", [32, 28, 28, 256], new BatchNorm<float>(256, layout: ChannelLayout.ChannelsLast), onnx: null)),
        new("BatchNorm.eval.forward", "NCHW 32x256x28x28", true, () => { var bn = EvalBatchNorm(); return Module("BatchNorm.eval.forward", [32, 256, 28, 28], bn, BatchNormEval(bn)); }),
        new("GroupNorm32.forward", "NCHW 32x256x28x28", false, () => { var gn = new GroupNorm<float>(32, 256); return Module("GroupNorm32.forward", [32, 256, 28, 28], gn, GroupNormOnnx(gn)); }),
        new("InstanceNorm.forward", "NCHW 32x256x28x28", false, () => { var n = new InstanceNorm<float>(256); return Module("InstanceNorm.forward", [32, 256, 28, 28], n, InstanceNormOnnx(n)); }),
        new("LayerNorm.forward", "8192x1024", true, () => RowForwardNarrow<Half>("LayerNorm.forward", 8192, 1024, center: true, "float16")),
        new("LayerNorm.forward", "8192x1024", false, () => RowForwardNarrow<BFloat16>("LayerNorm.forward", 8192, 1024, center: true, "bfloat16")),
        new("RMSNorm.forward", "65536x768", false, () => RowForwardNarrow<Half>("RMSNorm.forward", 65536, 768, center: false, "float16")),
        new("RMSNorm.forward", "65536x768", false, () => RowForwardNarrow<BFloat16>("RMSNorm.forward", 65536, 768, center: false, "bfloat16")),
        new("LayerNorm.backward", "8192x1024", false, () => RowBackwardNarrow<Half>("LayerNorm.backward", 8192, 1024, "float16")),
        new("LayerNorm.backward", "8192x1024", false, () => RowBackwardNarrow<BFloat16>("LayerNorm.backward", 8192, 1024, "bfloat16")),
        new("LayerNorm.forward", "4096x64", false, () => RowForward("LayerNorm.forward", 4096, 64, center: true)),
        new("LayerNorm.forward", "64x64", true, () => RowForward("LayerNorm.forward", 64, 64, center: true)),
    ];

    /// <summary>A BatchNorm in eval mode whose running statistics are not the defaults.</summary>
    private static BatchNorm<float> EvalBatchNorm()
    {
        var bn = new BatchNorm<float>(256) { Training = false };
        var random = new Random(7);
        for (int c = 0; c < 256; c++)
        {
            bn.Running!.Mean[c] = (float)random.NextDouble();
            bn.Running.Variance[c] = 0.5f + (float)random.NextDouble();
        }
        return bn;
    }

    private static float[] Random(long count, int seed, float offset = 0)
    {
        var random = new Random(seed);
        var a = GC.AllocateUninitializedArray<float>(checked((int)count));
        for (int i = 0; i < a.Length; i++) a[i] = offset + (float)(random.NextDouble() * 2 - 1);
        return a;
    }

    private static BenchCase RowForward(string op, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1, 0.5f);
        var y = new float[x.Length];
        var gamma = Random(d, 2);
        var beta = center ? Random(d, 3) : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        var c = new BenchCase
        {
            Op = op, Shape = $"{rows}x{d}", Dtype = "float32",
            Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
        };
        var output = new OnnxTensor<float>(y, shape);
        c.OnnxRuntime = center
            ? OnnxRuntimeCases.Create(c, () => OneNodeModel.LayerNormalization(shape), [new(x, shape), new(gamma, [d]), new(beta, [d])], output)
            : OnnxRuntimeCases.Create(c, OnnxRuntimeCases.RmsModel(shape, (float)ruler.Eps), [new(x, shape), new(gamma, [d])], output);
        return c;
    }

    private static T[] Narrow<T>(float[] values) where T : unmanaged =>
        typeof(T) == typeof(Half) ? (T[])(object)values.Select(v => (Half)v).ToArray() : (T[])(object)values.Select(v => (BFloat16)v).ToArray();

    /// <summary>Half or BFloat16 storage (2 bytes per element) with float32 accumulation inside the kernel.</summary>
    private static BenchCase RowForwardNarrow<T>(string op, int rows, int d, bool center, string dtype) where T : unmanaged
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Narrow<T>(Random((long)rows * d, 1, 0.5f));
        var y = new T[x.Length];
        var gamma = Narrow<T>(Random(d, 2));
        var beta = center ? Narrow<T>(Random(d, 3)) : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        return new BenchCase
        {
            Op = op, Shape = $"{rows}x{d}", Dtype = dtype,
            Bytes = 4L * x.Length, CopyBytes = 4L * x.Length,
            Ruler = () => RulerOps.Forward<T>(ruler, x, shape, gamma, beta, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
        };
    }

    private static BenchCase RowBackwardNarrow<T>(string op, int rows, int d, string dtype) where T : unmanaged
    {
        var ruler = RulerSpec.LayerNorm();
        var x = Narrow<T>(Random((long)rows * d, 1, 0.5f));
        var dy = Narrow<T>(Random(x.Length, 4));
        var dx = new T[x.Length];
        var y = new T[x.Length];
        var gamma = Narrow<T>(Random(d, 2));
        var dgamma = new T[d];
        var dbeta = new T[d];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        RulerOps.Forward<T>(ruler, x, shape, gamma, default, y, mean, rstd);
        return new BenchCase
        {
            Op = op, Shape = $"{rows}x{d}", Dtype = dtype,
            Bytes = 6L * x.Length, CopyBytes = 4L * x.Length,
            Ruler = () => RulerOps.Backward<T>(ruler, x, shape, mean, rstd, gamma, dy, dx, dgamma, dbeta),
            Copy = t => CopyBaseline.Copy(x, dx, t),
        };
    }

    private static BenchCase RowBackward(string op, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1, 0.5f);
        var dy = Random(x.Length, 4);
        var dx = new float[x.Length];
        var y = new float[x.Length];
        var gamma = Random(d, 2);
        var dgamma = new float[d];
        var dbeta = center ? new float[d] : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        RulerOps.Forward<float>(ruler, x, shape, gamma, default, y, mean, rstd);
        return new BenchCase
        {
            Op = op, Shape = $"{rows}x{d}", Dtype = "float32",
            Bytes = 12L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, dx, dgamma, dbeta),
            Copy = t => CopyBaseline.Copy(x, dx, t),
        };
    }

    private static BenchCase AddForward(string op, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1);
        var u = Random(x.Length, 5);
        var h = new float[x.Length];
        var y = new float[x.Length];
        var gamma = Random(d, 2);
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        return new BenchCase
        {
            Op = op, Shape = $"{rows}x{d}", Dtype = "float32",
            Bytes = 16L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.AddForward<float>(ruler, x, u, shape, gamma, default, h, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
        };
    }

    private delegate Func<int, Action> OnnxFactory(BenchCase owner, float[] x, float[] y, int[] shape);

    private static OnnxFactory BatchNormEval(BatchNorm<float> bn) => (owner, x, y, shape) =>
        OnnxRuntimeCases.Create(owner, () => OneNodeModel.BatchNormalization(shape, (float)bn.Eps),
            [new(x, shape), Channel(bn.Weight.Value), Channel(bn.Bias.Value), Channel(bn.Running!.Mean), Channel(bn.Running.Variance)],
            new(y, shape));

    private static OnnxFactory GroupNormOnnx(GroupNorm<float> gn) => (owner, x, y, shape) =>
        OnnxRuntimeCases.Create(owner, () => OneNodeModel.GroupNormalization(shape, gn.NumGroups, (float)gn.Eps),
            [new(x, shape), Channel(gn.Weight.Value), Channel(gn.Bias.Value)], new(y, shape));

    private static OnnxFactory InstanceNormOnnx(InstanceNorm<float> norm) => (owner, x, y, shape) =>
        OnnxRuntimeCases.Create(owner, () => OneNodeModel.InstanceNormalization(shape, (float)norm.Eps),
            [new(x, shape), Channel(Enumerable.Repeat(1f, norm.NumFeatures).ToArray()), Channel(new float[norm.NumFeatures])], new(y, shape));

    private static OnnxTensor<float> Channel(float[] values) => new(values, [values.Length]);

    private static BenchCase Module(string op, int[] shape, Normalizer<float> module, OnnxFactory? onnx)
    {
        long count = shape.Aggregate(1L, (p, v) => p * v);
        var x = Random(count, 1, 0.5f);
        var y = new float[x.Length];
        string layout = module is BatchNorm<float> { Layout: ChannelLayout.ChannelsLast } ? "NHWC" : "NCHW";
        var c = new BenchCase
        {
            Op = op, Shape = $"{layout} {string.Join("x", shape)}", Dtype = "float32",
            Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => module.Forward(x, shape, y),
            Copy = t => CopyBaseline.Copy(x, y, t),
        };
        c.OnnxRuntime = onnx?.Invoke(c, x, y, shape);
        return c;
    }
}
