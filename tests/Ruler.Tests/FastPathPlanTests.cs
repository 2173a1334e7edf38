using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// No silent slow path: every preset (BatchNorm, LayerNorm, RMSNorm, GroupNorm, InstanceNorm) in every layout and
/// element type is served by a fast plan (<see cref="Kernels.PlanOf{T}"/>), also with axes of size 1; a ruler no
/// plan covers runs <see cref="GeneralKernels"/>, which matches the float64 reference, builds its index maps once
/// per layout and allocates nothing per call after that.
/// </summary>
[Collection(SerialCollection.Name)]
public class FastPathPlanTests
{
    private static IEnumerable<(string Name, RulerSpec Ruler, int[] Shape)> Presets()
    {
        var first = ChannelLayout.ChannelsFirst;
        var last = ChannelLayout.ChannelsLast;
        int[][] spatial = [[], [7], [1], [5, 6], [1, 1], [4, 1], [3, 4, 5]];
        foreach (int n in new[] { 1, 3 })
            foreach (int c in new[] { 1, 8 })
                foreach (var s in spatial)
                {
                    int[] cf = [n, c, .. s], cl = [n, .. s, c];
                    int rank = cf.Length;
                    string dims = string.Join("x", cf);
                    yield return ($"BatchNorm NCHW {dims}", RulerSpec.BatchNorm(rank, first), cf);
                    yield return ($"BatchNorm NHWC {dims}", RulerSpec.BatchNorm(rank, last), cl);
                    if (rank >= 3)
                    {
                        yield return ($"InstanceNorm NCHW {dims}", RulerSpec.InstanceNorm(rank, first), cf);
                        yield return ($"InstanceNorm NHWC {dims}", RulerSpec.InstanceNorm(rank, last), cl);
                    }
                    foreach (int groups in new[] { 1, c })
                    {
                        yield return ($"GroupNorm NCHW G={groups} {dims}", RulerSpec.GroupNorm(first), RulerSpec.GroupNormView(cf, groups, first));
                        yield return ($"GroupNorm NHWC G={groups} {dims}", RulerSpec.GroupNorm(last), RulerSpec.GroupNormView(cl, groups, last));
                    }
                    for (int k = 1; k <= rank; k++)
                    {
                        yield return ($"LayerNorm({k}) {dims}", RulerSpec.LayerNorm(k), cf);
                        yield return ($"RMSNorm({k}) {dims}", RulerSpec.RmsNorm(k, 1e-6), cf);
                    }
                }
    }

    [Fact]
    public void EveryPresetLayoutAndElementTypeGetsAFastPlan()
    {
        var slow = new List<string>();
        int count = 0;
        foreach (var (name, ruler, shape) in Presets())
        {
            var layout = ruler.Resolve(shape);
            foreach (var (type, plan) in new[]
            {
                ("float", Kernels.PlanOf<float>(layout)), ("double", Kernels.PlanOf<double>(layout)),
                ("Half", Kernels.PlanOf<Half>(layout)), ("BFloat16", Kernels.PlanOf<BFloat16>(layout)),
            })
            {
                count++;
                if (plan == FastPlan.General) slow.Add($"{name} {type}");
            }
        }
        Assert.True(count > 500, $"only {count} cases enumerated");
        Assert.True(slow.Count == 0, "no fast plan for: " + string.Join("; ", slow));
    }

    [Fact]
    public void ChannelsFirstTakesPlanesAndChannelsLastTakesColumns()
    {
        Assert.Equal(FastPlan.Planes, Kernels.PlanOf<float>(RulerSpec.BatchNorm(4).Resolve([8, 16, 32, 32])));
        Assert.Equal(FastPlan.Planes, Kernels.PlanOf<float>(RulerSpec.InstanceNorm(4).Resolve([8, 16, 32, 32])));
        Assert.Equal(FastPlan.Planes, Kernels.PlanOf<float>(RulerSpec.GroupNorm().Resolve(RulerSpec.GroupNormView([8, 16, 32, 32], 4))));
        Assert.Equal(FastPlan.Columns, Kernels.PlanOf<float>(RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast).Resolve([8, 32, 32, 16])));
        Assert.Equal(FastPlan.Rows, Kernels.PlanOf<float>(RulerSpec.LayerNorm().Resolve([8, 256])));
    }

    /// <summary>Reduce axes 0 and 2 of four, affine on axis 1: neither rows nor columns.</summary>
    private static readonly RulerSpec General = new([0, 2], center: true, eps: 1e-5, affineAxes: [1]);

    [Fact]
    public void GeneralRulerMatchesTheReference()
    {
        var c = new FastPathComparison.Case("General", General, [3, 4, 5, 6]);
        Assert.Equal(FastPlan.General, Kernels.PlanOf<float>(General.Resolve(c.Shape)));
        var failures = FastPathComparison.Compare<float>(CpuBackend.Instance, c, 11);
        failures.AddRange(FastPathComparison.Compare<double>(CpuBackend.Instance, c, 12));
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void GeneralRulerBuildsItsMapsOnceAndAllocatesNothingPerCall()
    {
        int[] shape = [6, 16, 7, 33];
        var layout = General.Resolve(shape);
        int n = (int)layout.Count, p = layout.AffineSize, g = layout.GroupCount;
        var random = new Random(3);
        float[] x = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        float[] dy = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble()).ToArray();
        float[] gamma = Enumerable.Range(0, p).Select(i => 1 + 0.1f * i).ToArray(), beta = new float[p];
        float[] y = new float[n], dx = new float[n], dg = new float[p], db = new float[p];
        double[] mean = new double[g], rstd = new double[g];
        void Step()
        {
            RulerOps.Forward<float>(General, x, shape, gamma, beta, y, mean, rstd);
            RulerOps.Backward<float>(General, x, shape, mean, rstd, gamma, dy, dx, dg, db);
        }
        Step();
        Assert.True(GeneralKernels.HasMaps(layout), "the index maps are kept with the layout");
        for (int i = 0; i < 5; i++) Step();
        long fewest = long.MaxValue;
        for (int attempt = 0; attempt < 3 && fewest != 0; attempt++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++) Step();
            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        Assert.True(fewest == 0, $"{fewest} bytes in 20 forward+backward calls of a general ruler");
    }
}
