namespace Ruler.Tests;

/// <summary>
/// Steady state allocates nothing: after warm-up, 100 calls of each op (RulerOps and the modules) allocate 0 bytes on
/// the calling thread. The shapes are large enough to be split into tasks, so the thread pool is part of the path.
/// </summary>
[Collection(SerialCollection.Name)]
public class FastPathAllocationTests
{
    /// <summary>Every backend (<see cref="TestBackends"/>) on each of these layouts.</summary>
    public static TheoryData<string, string> Layouts =>
        TestBackends.Cross(["LayerNorm", "RMSNorm", "BatchNorm NCHW", "BatchNorm NHWC", "GroupNorm NCHW", "InstanceNorm NHWC"]);

    public static TheoryData<string> Backends => TestBackends.Names();

    [Theory]
    [MemberData(nameof(Layouts))]
    public void RulerOpsAllocateNothingPerCall(string backend, string name)
    {
        AssertNoAllocation<float>(TestBackends.Get(backend), name);
        AssertNoAllocation<double>(TestBackends.Get(backend), name);
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void NarrowStorageAllocatesNothingPerCall(string backend, string name)
    {
        AssertNoAllocation<Half>(TestBackends.Get(backend), name);
        AssertNoAllocation<BFloat16>(TestBackends.Get(backend), name);
    }

    [Fact]
    public void TheOverloadsWithoutABackendRunOnTheCpuAndAllocateNothing()
    {
        var x = Random(512 * 256, 1);
        var y = new float[x.Length];
        double[] mean = new double[512], rstd = new double[512];
        var ruler = RulerSpec.LayerNorm();
        long bytes = Allocated(() => RulerOps.Forward<float>(ruler, x, [512, 256], [], [], y, mean, rstd));
        Assert.True(bytes == 0, $"RulerOps.Forward without a backend: {bytes} bytes in 100 calls");
        var viaCpu = new float[x.Length];
        RulerOps.Forward<float>(CpuBackend.Instance, ruler, x, [512, 256], [], [], viaCpu, mean, rstd);
        Assert.Equal(viaCpu, y);
        Assert.Same(CpuBackend.Instance, new LayerNorm<float>([4]).Backend);
        Assert.Same(CpuBackend.Instance, new AddRmsNorm<float>([4]).Backend);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ModulesAllocateNothingPerCall(string backend)
    {
        var modules = new (RulerNormalizer<float> Module, int[] Shape)[]
        {
            (new LayerNorm<float>([256]), [512, 256]),
            (new RmsNorm<float>([256]), [512, 256]),
            (new BatchNorm<float>(16), [8, 16, 32, 32]),
            (new BatchNorm<float>(16, layout: ChannelLayout.ChannelsLast), [8, 32, 32, 16]),
            (new GroupNorm<float>(4, 16), [8, 16, 32, 32]),
            (new InstanceNorm<float>(16, affine: true, trackRunningStats: true), [8, 16, 32, 32]),
        };
        foreach (var (module, shape) in modules)
        {
            module.Backend = TestBackends.Get(backend);
            int n = shape.Aggregate(1, (a, b) => a * b);
            var x = Random(n, 1);
            var dy = Random(n, 2);
            var y = new float[n];
            var dx = new float[n];
            foreach (bool training in new[] { true, false })
            {
                module.Training = training;
                long bytes = Allocated(() =>
                {
                    module.Forward(x, shape, y);
                    module.Backward(x, shape, dy, dx);
                });
                Assert.True(bytes == 0, $"{module.GetType().Name} training={training}: {bytes} bytes in 100 forward+backward calls");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void FusedModulesAllocateNothingPerCall(string backend)
    {
        var modules = new AddNormalizer<float>[] { new AddLayerNorm<float>([256]), new AddRmsNorm<float>([256]) };
        int[] shape = [512, 256];
        int n = 512 * 256;
        float[] x = Random(n, 1), u = Random(n, 2), dy = Random(n, 3), h = new float[n], y = new float[n], dsum = new float[n];
        foreach (var module in modules)
        {
            module.Backend = TestBackends.Get(backend);
            long bytes = Allocated(() =>
            {
                module.Forward(x, u, shape, h, y);
                module.Backward(h, shape, dy, default, dsum);
            });
            Assert.True(bytes == 0, $"{module.GetType().Name}: {bytes} bytes in 100 forward+backward calls");
        }
    }

    private static void AssertNoAllocation<T>(IRulerBackend backend, string name) where T : unmanaged
    {
        var (ruler, shape) = name switch
        {
            "LayerNorm" => (RulerSpec.LayerNorm(), new[] { 512, 256 }),
            "RMSNorm" => (RulerSpec.RmsNorm(1, 1e-5), new[] { 512, 256 }),
            "BatchNorm NCHW" => (RulerSpec.BatchNorm(4), new[] { 8, 16, 32, 32 }),
            "BatchNorm NHWC" => (RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast), new[] { 8, 32, 32, 16 }),
            "GroupNorm NCHW" => (RulerSpec.GroupNorm(), RulerSpec.GroupNormView([8, 16, 32, 32], 4)),
            _ => (RulerSpec.InstanceNorm(4, ChannelLayout.ChannelsLast), new[] { 8, 32, 32, 16 }),
        };
        var layout = ruler.Resolve(shape);
        int n = (int)layout.Count, p = layout.AffineSize, g = layout.GroupCount;
        T[] x = Convert<T>(Random(n, 1)), u = Convert<T>(Random(n, 2)), dy = Convert<T>(Random(n, 3));
        T[] gamma = Convert<T>(Random(p, 4)), beta = Convert<T>(Random(p, 5));
        T[] y = new T[n], h = new T[n], dx = new T[n], dg = new T[p], db = new T[p];
        var mean = new double[g];
        var rstd = new double[g];
        var moments = new GroupMoments[g];
        var ops = new (string Op, Action Run)[]
        {
            ("Moments", () => RulerOps.Moments<T>(backend, ruler, x, shape, moments)),
            ("Forward", () => RulerOps.Forward<T>(backend, ruler, x, shape, gamma, beta, y, mean, rstd)),
            ("Normalize", () => RulerOps.Normalize<T>(backend, ruler, x, shape, mean, rstd, gamma, beta, y)),
            ("Backward", () => RulerOps.Backward<T>(backend, ruler, x, shape, mean, rstd, gamma, dy, dx, dg, db)),
            ("Backward eval", () => RulerOps.Backward<T>(backend, ruler, x, shape, mean, rstd, gamma, dy, dx, dg, db, statisticsFromInput: false)),
            ("AddForward", () => RulerOps.AddForward<T>(backend, ruler, x, u, shape, gamma, beta, h, y, mean, rstd)),
            ("AddBackward", () => RulerOps.AddBackward<T>(backend, ruler, h, shape, mean, rstd, gamma, dy, u, dx, dg, db)),
        };
        foreach (var (op, run) in ops)
        {
            long bytes = Allocated(run);
            Assert.True(bytes == 0, $"{name} {op} {typeof(T).Name}: {bytes} bytes in 100 calls");
        }
    }

    /// <summary>
    /// Bytes allocated on this thread by 100 calls, after 20 warm-up calls: the fewest of three tries. A call that
    /// allocates shows in every try; the runtime's own one-off work (tiering up a method) may land in one try. The
    /// class runs alone (<see cref="SerialCollection"/>): run in parallel with tests that change the thread count, it
    /// saw the pool start workers on its thread and failed about one full run in three.
    /// </summary>
    private static long Allocated(Action run)
    {
        for (int i = 0; i < 20; i++) run();
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3 && fewest != 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 100; i++) run();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        return fewest;
    }

    private static float[] Random(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(2 * random.NextDouble() - 0.5)).ToArray();
    }

    private static T[] Convert<T>(float[] v) where T : unmanaged =>
        v.Select(f => Ruler.Internal.Num.FromDouble<T>(f)).ToArray();
}
