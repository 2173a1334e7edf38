using Ruler.Onnx;

namespace Ruler.Cli.Bench;

/// <summary>How big and how many: the full run, <c>--quick</c>, or <c>--tiny</c> (toy sizes: a smoke test of every section).</summary>
internal enum BenchProfile { Full, Quick, Tiny }

/// <summary>The ops and shapes `ruler bench` measures, with the issue's target for each (float32 unless named otherwise).</summary>
internal static class BenchSuite
{
    public const string Rows = "Rows: LayerNorm, RMSNorm, add + norm";
    public const string Latency = "Latency: one 4096-wide row";
    public const string Channels = "Channels: BatchNorm, GroupNorm, InstanceNorm";
    public const string Narrow = "16-bit: Half and BFloat16";

    public const double RowForwardTarget = 1.15, RowBackwardTarget = 1.33, SmallRowTarget = 2.0, LatencyTargetUs = 1.0;
    public const double BatchForwardTarget = 1.6, BatchBackwardTarget = 2.0, GroupForwardTarget = 1.3, GroupBackwardTarget = 2.0;
    public const double HalfForwardFraction = 0.6, HalfBackwardFraction = 0.7;

    /// <summary>One case: whether <c>--quick</c> runs it, and how to build it for a profile.</summary>
    public sealed record Entry(bool Quick, Func<BenchSizes, BenchCase?> Create);

    /// <summary>The sizes of a profile: rows for each hidden size, the image shape, the tensor beyond L3.</summary>
    public sealed record BenchSizes(int Rows1024, int Rows768, int Rows4096, int Rows16384, int Rows64, int[] Image, int LargeRows, string LargeNote)
    {
        public static BenchSizes For(BenchProfile profile, long l3Bytes, long availableBytes)
        {
            // The tensor beyond L3: rows of 4096 floats, 4× the L3 size; its backward holds three such tensors.
            long wanted = 4 * l3Bytes;
            long cap = availableBytes / 8;
            long bytes = Math.Min(wanted, cap);
            int largeRows = (int)Math.Max(1, bytes / (4096 * 4));
            string note = $"{(double)largeRows * 4096 * 4 / l3Bytes:0.0}x L3" + (bytes < wanted ? " (capped by free memory)" : "");
            return profile == BenchProfile.Tiny
                ? new BenchSizes(64, 64, 8, 4, 256, [2, 64, 6, 6], 8, "toy size (4x L3 in full runs)")
                : new BenchSizes(8192, 65536, 2048, 512, 4096, [32, 256, 28, 28], largeRows, note);
        }
    }

    public static IReadOnlyList<Entry> All { get; } =
    [
        new(true, s => RowForward("LayerNorm.forward", s.Rows1024, 1024, center: true)),
        new(false, s => RowForward("LayerNorm.forward", s.Rows768, 768, center: true)),
        new(false, s => RowForward("LayerNorm.forward", s.Rows4096, 4096, center: true)),
        new(false, s => RowForward("LayerNorm.forward", s.Rows16384, 16384, center: true)),
        new(false, s => RowForward("LayerNorm.forward", s.LargeRows, 4096, center: true, s.LargeNote)),
        new(true, s => RowForward("LayerNorm.forward", s.Rows64, 64, center: true)),
        new(true, s => RowForward("RMSNorm.forward", s.Rows1024, 1024, center: false)),
        new(false, s => RowForward("RMSNorm.forward", s.Rows768, 768, center: false)),
        new(false, s => RowForward("RMSNorm.forward", s.Rows16384, 16384, center: false)),
        new(false, s => RowForward("RMSNorm.forward", s.Rows64, 64, center: false)),
        new(false, s => AddForward("AddLayerNorm.forward", s.Rows1024, 1024, center: true)),
        new(false, s => AddForward("AddRMSNorm.forward", s.Rows768, 768, center: false)),
        new(true, s => RowBackward("LayerNorm.backward", s.Rows1024, 1024, center: true)),
        new(false, s => RowBackward("LayerNorm.backward", s.Rows768, 768, center: true)),
        new(false, s => RowBackward("LayerNorm.backward", s.Rows4096, 4096, center: true)),
        new(false, s => RowBackward("LayerNorm.backward", s.Rows16384, 16384, center: true)),
        new(false, s => RowBackward("LayerNorm.backward", s.LargeRows, 4096, center: true, s.LargeNote)),
        new(false, s => RowBackward("LayerNorm.backward", s.Rows64, 64, center: true)),
        new(false, s => RowBackward("RMSNorm.backward", s.Rows1024, 1024, center: false)),
        new(false, s => RowBackward("RMSNorm.backward", s.Rows768, 768, center: false)),
        new(false, s => RowBackward("RMSNorm.backward", s.Rows16384, 16384, center: false)),
        new(true, _ => ModuleBackward(8, 2048, verify: true)),
        new(false, _ => ModuleBackward(8, 2048, verify: false)),
        new(false, s => AddBackward("AddLayerNorm.backward", s.Rows1024, 1024, center: true)),
        new(false, s => AddBackward("AddRMSNorm.backward", s.Rows768, 768, center: false)),
        new(true, _ => RowForward("LayerNorm.forward", 1, 4096, center: true, latency: true)),
        new(false, _ => RowForward("RMSNorm.forward", 1, 4096, center: false, latency: true)),
        new(true, s => BatchTrain(s.Image, channelsLast: false, backward: false)),
        new(false, s => BatchTrain(s.Image, channelsLast: true, backward: false)),
        new(true, s => BatchTrain(s.Image, channelsLast: false, backward: true)),
        new(false, s => BatchTrain(s.Image, channelsLast: true, backward: true)),
        new(false, s => BatchEval(s.Image)),
        new(true, s => Grouped(s.Image, groups: 32, backward: false)),
        new(true, s => Grouped(s.Image, groups: 32, backward: true)),
        new(false, s => Grouped(s.Image, groups: s.Image[1], backward: false)),
        new(false, s => Grouped(s.Image, groups: s.Image[1], backward: true)),
        new(true, s => RowForwardNarrow<Half>("LayerNorm.forward", s.Rows1024, 1024, center: true)),
        new(false, s => RowForwardNarrow<BFloat16>("LayerNorm.forward", s.Rows1024, 1024, center: true)),
        new(false, s => RowForwardNarrow<Half>("RMSNorm.forward", s.Rows768, 768, center: false)),
        new(false, s => RowForwardNarrow<BFloat16>("RMSNorm.forward", s.Rows768, 768, center: false)),
        new(true, s => RowBackwardNarrow<Half>("LayerNorm.backward", s.Rows1024, 1024)),
        new(false, s => RowBackwardNarrow<BFloat16>("LayerNorm.backward", s.Rows1024, 1024)),
    ];

    /// <summary>Values in [offset − 1, offset + 1) from a fixed seed (xorshift: fast enough for tensors of a GB).</summary>
    public static float[] Random(long count, int seed, float offset = 0)
    {
        var a = GC.AllocateUninitializedArray<float>(checked((int)count));
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)(seed + 1);
        for (int i = 0; i < a.Length; i++)
        {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            a[i] = offset + (float)((state >> 40) * (2.0 / (1UL << 24)) - 1);
        }
        return a;
    }

    private static Func<int, Action> Tp(int width, Action<TensorPrimitivesPeer> call) => threads =>
    {
        var peer = new TensorPrimitivesPeer(threads, width);
        return () => call(peer);
    };

    private static void AddOnnx(BenchCase c, string name, Func<OneNodeModel> model, float[][] inputs, int[][] shapes, float[] y, int[] yShape)
    {
        var run = OnnxRuntimePeer.Create(c, model(), inputs, shapes, y, yShape);
        if (run is null) c.OnnxNote = $"{name}: not in this ONNX Runtime";
        else
        {
            c.Peers.Add(("onnxruntime", run));
            c.OnnxNote = name;
        }
    }

    private static double RowTarget(int d, bool backward) => d <= 64 ? SmallRowTarget : backward ? RowBackwardTarget : RowForwardTarget;

    private static BenchCase RowForward(string op, int rows, int d, bool center, string? note = null, bool latency = false)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1, 0.5f);
        var y = new float[x.Length];
        var gamma = Random(d, 2);
        var beta = center ? Random(d, 3) : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        var meanF = new float[rows];
        var rstdF = new float[rows];
        int[] shape = [rows, d];
        var c = new BenchCase
        {
            Section = latency ? Latency : Rows,
            Op = op, Shape = $"{rows}x{d}" + (note is null ? "" : $" ({note})"),
            Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
            CopyTarget = latency ? null : RowTarget(d, backward: false),
            LatencyTargetMicroseconds = latency ? LatencyTargetUs : null,
        };
        c.Peers.Add(("tensorprimitives", Tp(d, p => p.RowForward(x, rows, d, gamma, beta, y, meanF, rstdF, center, 1e-5f))));
        if (center)
            AddOnnx(c, "LayerNormalization-17", () => OneNodeModel.LayerNormalization(shape), [x, gamma, beta], [shape, [d], [d]], y, shape);
        else
        {
            AddOnnx(c, "RMSNormalization-23", () => OneNodeModel.RmsNormalization(shape, epsilon: 1e-5f), [x, gamma], [shape, [d]], y, shape);
            if (c.Peers.Count == 1)
                AddOnnx(c, "SimplifiedLayerNormalization (contrib; RMSNormalization-23 missing)",
                    () => OneNodeModel.SimplifiedLayerNormalization(shape, epsilon: 1e-5f), [x, gamma], [shape, [d]], y, shape);
        }
        return c;
    }

    private static BenchCase RowBackward(string op, int rows, int d, bool center, string? note = null)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1, 0.5f);
        var dy = Random(x.Length, 4);
        var dx = new float[x.Length];
        var gamma = Random(d, 2);
        var beta = center ? Random(d, 3) : [];
        var dgamma = new float[d];
        var dbeta = center ? new float[d] : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        var meanF = new float[rows];
        var rstdF = new float[rows];
        int[] shape = [rows, d];
        RulerOps.Forward<float>(ruler, x, shape, gamma, beta, dx, mean, rstd);   // dx as scratch y: statistics only
        new TensorPrimitivesPeer(1, d).RowForward(x, rows, d, gamma, beta, dx, meanF, rstdF, center, 1e-5f);
        var c = new BenchCase
        {
            Section = Rows, Op = op, Shape = $"{rows}x{d}" + (note is null ? "" : $" ({note})"),
            Bytes = 12L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, dx, dgamma, dbeta),
            Copy = t => CopyBaseline.Copy(x, dx, t),
            CopyTarget = RowTarget(d, backward: true),
            OnnxNote = "no backward in ONNX Runtime inference",
        };
        c.Peers.Add(("tensorprimitives", Tp(d, p => p.RowBackward(x, rows, d, meanF, rstdF, gamma, dy, dx, dgamma, dbeta, center))));
        return c;
    }

    private static BenchCase AddForward(string op, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = Random((long)rows * d, 1);
        var u = Random(x.Length, 5);
        var h = new float[x.Length];
        var y = new float[x.Length];
        var gamma = Random(d, 2);
        var beta = center ? Random(d, 3) : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        var meanF = new float[rows];
        var rstdF = new float[rows];
        int[] shape = [rows, d];
        var c = new BenchCase
        {
            Section = Rows, Op = op, Shape = $"{rows}x{d}",
            Bytes = 16L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.AddForward<float>(ruler, x, u, shape, gamma, beta, h, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
            CopyTarget = RowTarget(d, backward: false),
            OnnxNote = "no standard ONNX op (SkipLayerNormalization is contrib, not measured)",
        };
        c.Peers.Add(("tensorprimitives", Tp(d, p => p.AddRowForward(x, u, rows, d, gamma, beta, h, y, meanF, rstdF, center, 1e-5f))));
        return c;
    }

    /// <summary>
    /// The module path users call: <see cref="LayerNorm{T}.Backward"/> (input verified against the forward, dγ and dβ
    /// accumulated into <see cref="Parameter{T}.Grad"/>) after one forward, on a small tensor where its fixed costs show.
    /// With <paramref name="verify"/> false the module skips the input check (<see cref="Normalizer{T}.VerifyBackwardInput"/>),
    /// one extra read of x: the second row shows what that check costs.
    /// </summary>
    private static BenchCase ModuleBackward(int rows, int d, bool verify)
    {
        var module = new LayerNorm<float>([d]) { VerifyBackwardInput = verify };
        int[] shape = [rows, d];
        var x = Random((long)rows * d, 1, 0.5f);
        var dy = Random(x.Length, 4);
        var dx = new float[x.Length];
        module.Forward(x, shape, dx);
        var gamma = module.Weight.Value;
        var meanF = new float[rows];
        var rstdF = new float[rows];
        var dgamma = new float[d];
        var dbeta = new float[d];
        new TensorPrimitivesPeer(1, d).RowForward(x, rows, d, gamma, module.Bias.Value, dx, meanF, rstdF, center: true, 1e-5f);
        var c = new BenchCase
        {
            Section = Rows, Op = verify ? "LayerNorm.module.backward" : "LayerNorm.module.unchecked.backward", Shape = $"{rows}x{d}",
            Bytes = 12L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => module.Backward(x, shape, dy, dx),
            Copy = t => CopyBaseline.Copy(x, dx, t),
            CopyTarget = RowTarget(d, backward: true),
            OnnxNote = "no backward in ONNX Runtime inference",
        };
        c.Peers.Add(("tensorprimitives", Tp(d, p => p.RowBackward(x, rows, d, meanF, rstdF, gamma, dy, dx, dgamma, dbeta, center: true))));
        return c;
    }

    /// <summary>Backward of the fused add + norm with no gradient arriving at h directly: dsum = norm backward of h.</summary>
    private static BenchCase AddBackward(string op, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var h = Random((long)rows * d, 1, 0.5f);
        var dy = Random(h.Length, 4);
        var dsum = new float[h.Length];
        var gamma = Random(d, 2);
        var dgamma = new float[d];
        var dbeta = center ? new float[d] : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        var meanF = new float[rows];
        var rstdF = new float[rows];
        int[] shape = [rows, d];
        RulerOps.Forward<float>(ruler, h, shape, gamma, default, dsum, mean, rstd);
        new TensorPrimitivesPeer(1, d).RowForward(h, rows, d, gamma, [], dsum, meanF, rstdF, center, 1e-5f);
        var c = new BenchCase
        {
            Section = Rows, Op = op, Shape = $"{rows}x{d}",
            Bytes = 12L * h.Length, CopyBytes = 8L * h.Length,
            Ruler = () => RulerOps.AddBackward<float>(ruler, h, shape, mean, rstd, gamma, dy, default, dsum, dgamma, dbeta),
            Copy = t => CopyBaseline.Copy(h, dsum, t),
            CopyTarget = RowTarget(d, backward: true),
            OnnxNote = "no backward in ONNX Runtime inference",
        };
        c.Peers.Add(("tensorprimitives", Tp(d, p => p.RowBackward(h, rows, d, meanF, rstdF, gamma, dy, dsum, dgamma, dbeta, center))));
        return c;
    }

    private static string ImageShape(int[] nchw, bool channelsLast) =>
        channelsLast ? $"NHWC {nchw[0]}x{nchw[2]}x{nchw[3]}x{nchw[1]}" : $"NCHW {string.Join("x", nchw)}";

    /// <summary>BatchNorm in training mode (statistics from the batch): forward, or backward through them.</summary>
    private static BenchCase BatchTrain(int[] nchw, bool channelsLast, bool backward)
    {
        int n = nchw[0], ch = nchw[1], s = nchw[2] * nchw[3];
        int[] shape = channelsLast ? [n, nchw[2], nchw[3], ch] : nchw;
        var ruler = RulerSpec.BatchNorm(4, channelsLast ? ChannelLayout.ChannelsLast : ChannelLayout.ChannelsFirst);
        var x = Random((long)n * ch * s, 1, 0.5f);
        var y = new float[x.Length];
        var gamma = Random(ch, 2);
        var beta = Random(ch, 3);
        var mean = new double[ch];
        var rstd = new double[ch];
        var meanF = new float[ch];
        var rstdF = new float[ch];
        string op = backward ? "BatchNorm.train.backward" : "BatchNorm.train.forward";
        string shapeText = ImageShape(nchw, channelsLast);
        int width = Math.Max(ch, 64);
        BenchCase c;
        if (!backward)
        {
            c = new BenchCase
            {
                Section = Channels, Op = op, Shape = shapeText, Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
                Ruler = () => RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd),
                Copy = t => CopyBaseline.Copy(x, y, t),
                CopyTarget = BatchForwardTarget,
            };
            c.Peers.Add(("tensorprimitives", channelsLast
                ? Tp(width, p => p.BatchForwardNhwc(x, n * s, ch, gamma, beta, y, meanF, rstdF, 1e-5f))
                : Tp(width, p => p.BatchForwardNchw(x, n, ch, s, gamma, beta, y, meanF, rstdF, 1e-5f))));
        }
        else
        {
            var dy = Random(x.Length, 4);
            var dgamma = new float[ch];
            var dbeta = new float[ch];
            RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd);
            var peer = new TensorPrimitivesPeer(1, width);
            if (channelsLast) peer.BatchForwardNhwc(x, n * s, ch, gamma, beta, y, meanF, rstdF, 1e-5f);
            else peer.BatchForwardNchw(x, n, ch, s, gamma, beta, y, meanF, rstdF, 1e-5f);
            c = new BenchCase
            {
                Section = Channels, Op = op, Shape = shapeText, Bytes = 12L * x.Length, CopyBytes = 8L * x.Length,
                Ruler = () => RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, y, dgamma, dbeta),
                Copy = t => CopyBaseline.Copy(x, y, t),
                CopyTarget = BatchBackwardTarget,
            };
            c.Peers.Add(("tensorprimitives", channelsLast
                ? Tp(width, p => p.BatchBackwardNhwc(x, n * s, ch, meanF, rstdF, gamma, dy, y, dgamma, dbeta))
                : Tp(width, p => p.BatchBackwardNchw(x, n, ch, s, meanF, rstdF, gamma, dy, y, dgamma, dbeta))));
        }
        c.OnnxNote = backward ? "no backward in ONNX Runtime inference" : "ONNX Runtime's BatchNormalization is inference-only (training_mode needs a training build)";
        return c;
    }

    /// <summary>BatchNorm in eval mode (running statistics) against ONNX Runtime's inference BatchNormalization; no target of its own.</summary>
    private static BenchCase BatchEval(int[] nchw)
    {
        int ch = nchw[1];
        var ruler = RulerSpec.BatchNorm(4);
        var x = Random((long)nchw[0] * ch * nchw[2] * nchw[3], 1, 0.5f);
        var y = new float[x.Length];
        var gamma = Random(ch, 2);
        var beta = Random(ch, 3);
        var runMean = Random(ch, 6, 0.5f);
        var runVar = Random(ch, 7, 1.5f);
        var mean = runMean.Select(v => (double)v).ToArray();
        var rstd = runVar.Select(v => 1 / Math.Sqrt(v + 1e-5)).ToArray();
        var c = new BenchCase
        {
            Section = Channels, Op = "BatchNorm.eval.forward", Shape = ImageShape(nchw, false), Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
            Ruler = () => RulerOps.Normalize<float>(ruler, x, nchw, mean, rstd, gamma, beta, y),
            Copy = t => CopyBaseline.Copy(x, y, t),
        };
        AddOnnx(c, "BatchNormalization-15 (inference)", () => OneNodeModel.BatchNormalization(nchw), [x, gamma, beta, runMean, runVar],
            [nchw, [ch], [ch], [ch], [ch]], y, nchw);
        return c;
    }

    /// <summary>GroupNorm (groups &lt; C) or InstanceNorm (groups = C), channels-first, through the ruler on the group view.</summary>
    private static BenchCase Grouped(int[] nchw, int groups, bool backward)
    {
        int n = nchw[0], ch = nchw[1], s = nchw[2] * nchw[3];
        bool instance = groups == ch;
        var ruler = instance ? RulerSpec.InstanceNorm(4) : RulerSpec.GroupNorm();
        int[] shape = instance ? nchw : RulerSpec.GroupNormView(nchw, groups);
        var x = Random((long)n * ch * s, 1, 0.5f);
        var y = new float[x.Length];
        var gamma = Random(ch, 2);
        var beta = Random(ch, 3);
        var mean = new double[n * groups];
        var rstd = new double[n * groups];
        var meanF = new float[n * groups];
        var rstdF = new float[n * groups];
        string name = instance ? "InstanceNorm" : $"GroupNorm{groups}";
        int width = Math.Max(ch, 64);
        BenchCase c;
        if (!backward)
        {
            c = new BenchCase
            {
                Section = Channels, Op = name + ".forward", Shape = ImageShape(nchw, false), Bytes = 8L * x.Length, CopyBytes = 8L * x.Length,
                Ruler = () => RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd),
                Copy = t => CopyBaseline.Copy(x, y, t),
                CopyTarget = GroupForwardTarget,
            };
            c.Peers.Add(("tensorprimitives", Tp(width, p => p.GroupForward(x, n, ch, s, groups, gamma, beta, y, meanF, rstdF, 1e-5f))));
            if (instance)
                AddOnnx(c, "InstanceNormalization-17", () => OneNodeModel.InstanceNormalization(nchw), [x, gamma, beta], [nchw, [ch], [ch]], y, nchw);
            else
                AddOnnx(c, "GroupNormalization-21", () => OneNodeModel.GroupNormalization(nchw, groups), [x, gamma, beta], [nchw, [ch], [ch]], y, nchw);
        }
        else
        {
            var dy = Random(x.Length, 4);
            var dgamma = new float[ch];
            var dbeta = new float[ch];
            RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y, mean, rstd);
            new TensorPrimitivesPeer(1, width).GroupForward(x, n, ch, s, groups, gamma, beta, y, meanF, rstdF, 1e-5f);
            c = new BenchCase
            {
                Section = Channels, Op = name + ".backward", Shape = ImageShape(nchw, false), Bytes = 12L * x.Length, CopyBytes = 8L * x.Length,
                Ruler = () => RulerOps.Backward<float>(ruler, x, shape, mean, rstd, gamma, dy, y, dgamma, dbeta),
                Copy = t => CopyBaseline.Copy(x, y, t),
                CopyTarget = GroupBackwardTarget,
                OnnxNote = "no backward in ONNX Runtime inference",
            };
            c.Peers.Add(("tensorprimitives", Tp(width, p => p.GroupBackward(x, n, ch, s, groups, meanF, rstdF, gamma, dy, y, dgamma, dbeta))));
        }
        return c;
    }

    private static string DtypeName<T>() => typeof(T) == typeof(Half) ? "float16" : "bfloat16";

    private static T[] ToNarrow<T>(float[] values) where T : unmanaged =>
        typeof(T) == typeof(Half) ? (T[])(object)Array.ConvertAll(values, v => (Half)v) : (T[])(object)Array.ConvertAll(values, v => (BFloat16)v);

    /// <summary>Half or BFloat16 storage (2 bytes per element); the target is a fraction of the float32 case's time.</summary>
    private static BenchCase RowForwardNarrow<T>(string op, int rows, int d, bool center) where T : unmanaged
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        var x = ToNarrow<T>(Random((long)rows * d, 1, 0.5f));
        var y = new T[x.Length];
        var gamma = ToNarrow<T>(Random(d, 2));
        var beta = center ? ToNarrow<T>(Random(d, 3)) : [];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        return new BenchCase
        {
            Section = Narrow, Op = op, Shape = $"{rows}x{d}", Dtype = DtypeName<T>(),
            Bytes = 4L * x.Length, CopyBytes = 4L * x.Length,
            Ruler = () => RulerOps.Forward<T>(ruler, x, shape, gamma, beta, y, mean, rstd),
            Copy = t => CopyBaseline.Copy(x, y, t),
            Float32Twin = (op, $"{rows}x{d}", HalfForwardFraction),
            OnnxNote = "float32 peers only",
        };
    }

    private static BenchCase RowBackwardNarrow<T>(string op, int rows, int d) where T : unmanaged
    {
        var ruler = RulerSpec.LayerNorm();
        var x = ToNarrow<T>(Random((long)rows * d, 1, 0.5f));
        var dy = ToNarrow<T>(Random(x.Length, 4));
        var dx = new T[x.Length];
        var gamma = ToNarrow<T>(Random(d, 2));
        var beta = ToNarrow<T>(Random(d, 3));
        var dgamma = new T[d];
        var dbeta = new T[d];
        var mean = new double[rows];
        var rstd = new double[rows];
        int[] shape = [rows, d];
        RulerOps.Forward<T>(ruler, x, shape, gamma, beta, dx, mean, rstd);
        return new BenchCase
        {
            Section = Narrow, Op = op, Shape = $"{rows}x{d}", Dtype = DtypeName<T>(),
            Bytes = 6L * x.Length, CopyBytes = 4L * x.Length,
            Ruler = () => RulerOps.Backward<T>(ruler, x, shape, mean, rstd, gamma, dy, dx, dgamma, dbeta),
            Copy = t => CopyBaseline.Copy(x, dx, t),
            Float32Twin = (op, $"{rows}x{d}", HalfBackwardFraction),
            OnnxNote = "float32 peers only",
        };
    }
}
