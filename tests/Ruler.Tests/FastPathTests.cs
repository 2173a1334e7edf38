namespace Ruler.Tests;

/// <summary>
/// Fast kernels against the float64 reference for every fast layout, affine on and off, training and eval, forward
/// and backward, fused add. Tolerances (see <see cref="FastPathComparison"/>): float outputs 1e-5 and double outputs
/// 1e-12 relative to max(|element|, max |tensor|); saved statistics 1e-10 relative.
/// </summary>
public class FastPathTests
{
    /// <summary>Reduced sizes around every vector width (4, 8, 16 floats; 2, 4, 8 doubles) and their tails.</summary>
    /// <summary>Every backend (<see cref="TestBackends"/>) at each of these sizes.</summary>
    public static TheoryData<string, int> Sizes =>
        TestBackends.Cross([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16, 17, 23, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257]);

    public static TheoryData<string> Backends => TestBackends.Names();

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FloatLayoutsMatchTheReference(string backend, int n) =>
        AssertAll(FastPathComparison.Layouts(n).SelectMany(c => FastPathComparison.Compare<float>(TestBackends.Get(backend), c, n)));

    [Theory]
    [MemberData(nameof(Sizes))]
    public void DoubleLayoutsMatchTheReference(string backend, int n) =>
        AssertAll(FastPathComparison.Layouts(n).SelectMany(c => FastPathComparison.Compare<double>(TestBackends.Get(backend), c, n)));

    [Theory]
    [MemberData(nameof(Backends))]
    public void LayerNormAndRmsNormMatchTheReferenceForEveryRowLengthUpTo257(string backend)
    {
        var b = TestBackends.Get(backend);
        var failures = new List<string>();
        for (int n = 1; n <= 257; n++)
        {
            foreach (var c in new FastPathComparison.Case[] { new("LayerNorm", RulerSpec.LayerNorm(), [2, n]), new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [2, n]) })
            {
                failures.AddRange(FastPathComparison.Compare<float>(b, c, n));
                failures.AddRange(FastPathComparison.Compare<double>(b, c, n));
            }
        }
        AssertAll(failures);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void OneAndTwoThreadsGiveTheSameBits(string backend)
    {
        var b = TestBackends.Get(backend);
        var failures = new List<string>();
        foreach (var c in FastPathComparison.LargeLayouts())
        {
            failures.AddRange(FastPathComparison.CompareThreads<float>(b, c, 7));
            failures.AddRange(FastPathComparison.CompareThreads<double>(b, c, 7));
        }
        AssertAll(failures);
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void LargeLayoutsSplitIntoTasksMatchTheReference(string backend)
    {
        var failures = new List<string>();
        // BatchNorm on planes shorter than 64 (the row kernels' planes job, not the plane kernels) over 163,840
        // elements: its backward sums dγ, dβ and the group sums in two tasks, merged in task order.
        var shortPlanes = new FastPathComparison.Case("BatchNorm NCHW short planes", RulerSpec.BatchNorm(4), [1024, 4, 1, 40]);
        foreach (var c in FastPathComparison.LargeLayouts().Where(c => c.Name is "LayerNorm" or "BatchNorm NHWC" or "BatchNorm NCHW" or "GroupNorm NCHW").Append(shortPlanes))
            failures.AddRange(FastPathComparison.Compare<float>(TestBackends.Get(backend), c, 3));
        AssertAll(failures);
    }

    private static void AssertAll(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        Assert.True(list.Count == 0, $"{list.Count} mismatches:\n" + string.Join("\n", list.Take(20)));
    }
}
