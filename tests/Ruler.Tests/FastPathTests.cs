namespace Ruler.Tests;

/// <summary>
/// Fast kernels against the float64 reference for every fast layout, affine on and off, training and eval, forward
/// and backward, fused add. Tolerances (see <see cref="FastPathComparison"/>): float outputs 1e-5 and double outputs
/// 1e-12 relative to max(|element|, max |tensor|); saved statistics 1e-10 relative.
/// </summary>
public class FastPathTests
{
    /// <summary>Reduced sizes around every vector width (4, 8, 16 floats; 2, 4, 8 doubles) and their tails.</summary>
    public static TheoryData<int> Sizes => new([1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15, 16, 17, 23, 31, 32, 33, 47, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257]);

    [Theory]
    [MemberData(nameof(Sizes))]
    public void FloatLayoutsMatchTheReference(int n) => AssertAll(FastPathComparison.Layouts(n).SelectMany(c => FastPathComparison.Compare<float>(c, n)));

    [Theory]
    [MemberData(nameof(Sizes))]
    public void DoubleLayoutsMatchTheReference(int n) => AssertAll(FastPathComparison.Layouts(n).SelectMany(c => FastPathComparison.Compare<double>(c, n)));

    [Fact]
    public void LayerNormAndRmsNormMatchTheReferenceForEveryRowLengthUpTo257()
    {
        var failures = new List<string>();
        for (int n = 1; n <= 257; n++)
        {
            foreach (var c in new FastPathComparison.Case[] { new("LayerNorm", RulerSpec.LayerNorm(), [2, n]), new("RMSNorm", RulerSpec.RmsNorm(1, 1e-5), [2, n]) })
            {
                failures.AddRange(FastPathComparison.Compare<float>(c, n));
                failures.AddRange(FastPathComparison.Compare<double>(c, n));
            }
        }
        AssertAll(failures);
    }

    [Fact]
    public void OneAndTwoThreadsGiveTheSameBits()
    {
        var failures = new List<string>();
        foreach (var c in FastPathComparison.LargeLayouts())
        {
            failures.AddRange(FastPathComparison.CompareThreads<float>(c, 7));
            failures.AddRange(FastPathComparison.CompareThreads<double>(c, 7));
        }
        AssertAll(failures);
    }

    [Fact]
    public void LargeLayoutsSplitIntoTasksMatchTheReference()
    {
        var failures = new List<string>();
        foreach (var c in FastPathComparison.LargeLayouts().Where(c => c.Name is "LayerNorm" or "BatchNorm NHWC" or "GroupNorm NCHW"))
            failures.AddRange(FastPathComparison.Compare<float>(c, 3));
        AssertAll(failures);
    }

    private static void AssertAll(IEnumerable<string> failures)
    {
        var list = failures.ToList();
        Assert.True(list.Count == 0, $"{list.Count} mismatches:\n" + string.Join("\n", list.Take(20)));
    }
}
