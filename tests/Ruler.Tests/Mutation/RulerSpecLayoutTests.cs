using Ruler.Internal;

namespace Ruler.Tests.Mutation;

/// <summary>
/// What the presets, the layout and the argument checks promise, at their boundaries: the axes each preset
/// reduces and indexes γ, β by, axes at both ends of the valid range, the layout cache, the text of the ruler, and
/// the largest tensor a shape may describe.
/// </summary>
public class RulerSpecLayoutTests
{
    [Fact]
    public void PresetsReduceAndIndexTheDocumentedAxes()
    {
        AssertAxes(RulerSpec.BatchNorm(2), [0], [1], center: true);
        AssertAxes(RulerSpec.BatchNorm(4), [0, 2, 3], [1], center: true);
        AssertAxes(RulerSpec.BatchNorm(3, ChannelLayout.ChannelsLast), [0, 1], [2], center: true);
        AssertAxes(RulerSpec.InstanceNorm(3), [2], [1], center: true);
        AssertAxes(RulerSpec.InstanceNorm(4, ChannelLayout.ChannelsLast), [1, 2], [3], center: true);
        AssertAxes(RulerSpec.GroupNorm(), [2, 3], [1, 2], center: true);
        AssertAxes(RulerSpec.GroupNorm(ChannelLayout.ChannelsLast), [1, 3], [2, 3], center: true);
        AssertAxes(RulerSpec.LayerNorm(), [-1], [-1], center: true);
        AssertAxes(RulerSpec.LayerNorm(2), [-2, -1], [-2, -1], center: true);
        AssertAxes(RulerSpec.RmsNorm(1, 1e-6), [-1], [-1], center: false);
        Assert.Equal(1e-6, RulerSpec.RmsNorm(1, 1e-6).Eps);
        Assert.Equal(1e-5, RulerSpec.LayerNorm().Eps);
        Assert.Equal(1e-3, RulerSpec.BatchNorm(2, eps: 1e-3).Eps);
        Assert.Equal(1e-3, RulerSpec.InstanceNorm(3, eps: 1e-3).Eps);
        Assert.Equal(1e-3, RulerSpec.GroupNorm(eps: 1e-3).Eps);
        Assert.Equal(0, new RulerSpec([0], eps: 0).Eps);

        var spec = new RulerSpec([0, 2], center: false, eps: 1e-3, affineAxes: [1]);
        var other = spec.WithEps(0.5);
        AssertAxes(other, [0, 2], [1], center: false);
        Assert.Equal(0.5, other.Eps);
        Assert.Equal(1e-3, spec.Eps);
    }

    private static void AssertAxes(RulerSpec ruler, int[] reduced, int[] affine, bool center)
    {
        Assert.Equal(reduced, ruler.ReducedAxes);
        Assert.Equal(affine, ruler.AffineAxes);
        Assert.Equal(center, ruler.Center);
    }

    [Fact]
    public void GroupNormViewFlattensTheSpatialDims()
    {
        Assert.Equal([2, 3, 2, 15], RulerSpec.GroupNormView([2, 6, 3, 5], 3));
        Assert.Equal([2, 15, 3, 2], RulerSpec.GroupNormView([2, 3, 5, 6], 3, ChannelLayout.ChannelsLast));
        Assert.Equal([2, 1, 6, 7], RulerSpec.GroupNormView([2, 6, 7], 1));
        Assert.Equal([2, 6, 1, 7], RulerSpec.GroupNormView([2, 6, 7], 6));
    }

    [Fact]
    public void ToStringNamesAxesCenteringEpsAndAffine()
    {
        Assert.Equal("Ruler(reduce [-1], center, eps 1E-05, affine [-1])", RulerSpec.LayerNorm().ToString());
        Assert.Equal("Ruler(reduce [0, 2], no centering, eps 0.25, affine [])", new RulerSpec([0, 2], center: false, eps: 0.25).ToString());
    }

    [Fact]
    public void AxesAtBothEndsOfTheRangeResolve()
    {
        int[] shape = [2, 3, 5];
        var last = new RulerSpec([2], affineAxes: [-3]).Resolve(shape);
        Assert.Equal((6, 5, 2), (last.GroupCount, last.GroupSize, last.AffineSize));
        var first = new RulerSpec([-3], affineAxes: [2]).Resolve(shape);
        Assert.Equal((15, 2, 5), (first.GroupCount, first.GroupSize, first.AffineSize));
        var ex = Assert.Throws<ArgumentException>(() => new RulerSpec([0], affineAxes: [-4]).Resolve(shape));
        Assert.Equal("ruler.AffineAxes", ex.ParamName);
        Assert.Contains("axes in [-3, 2] for shape [2, 3, 5]", ex.Message);
        Assert.Contains("got -4", ex.Message);
    }

    [Fact]
    public void LayoutCountsGroupsAndAffineParameters()
    {
        var layout = new RulerSpec([1, 3], affineAxes: [0, 2]).Resolve([2, 3, 4, 5]);
        Assert.Equal(120, layout.Count);
        Assert.Equal(8, layout.GroupCount);
        Assert.Equal(15, layout.GroupSize);
        Assert.Equal(8, layout.AffineSize);
        Assert.Equal(1, new RulerSpec([0]).Resolve([7]).AffineSize);     // no affine axes: one scalar
        Assert.Equal(1, new RulerSpec([0]).Resolve([7]).GroupCount);

        // Group and affine index of each element, row-major over the kept / affine axes.
        var (group, affine) = new RulerSpec([0], affineAxes: [0]).Resolve([2, 3]).IndexMaps();
        Assert.Equal([0, 1, 2, 0, 1, 2], group);
        Assert.Equal([0, 0, 0, 1, 1, 1], affine);
        var (g2, a2) = new RulerSpec([1], affineAxes: [1]).Resolve([2, 3]).IndexMaps();
        Assert.Equal([0, 0, 0, 1, 1, 1], g2);
        Assert.Equal([0, 1, 2, 0, 1, 2], a2);
    }

    [Fact]
    public void ResolveReturnsTheCachedLayoutForTheSameShapeOnly()
    {
        var ruler = RulerSpec.LayerNorm();
        var a = ruler.Resolve([2, 3]);
        Assert.Same(a, ruler.Resolve([2, 3]));
        var b = ruler.Resolve([3, 3]);
        Assert.NotSame(a, b);
        Assert.Equal(3, b.GroupCount);
        Assert.Equal([3, 3], b.Shape);
        var c = ruler.Resolve([2, 3]);
        Assert.Equal(2, c.GroupCount);
        Assert.Same(ruler, c.Ruler);

        // Shape is a copy.
        var shape = c.Shape;
        shape[0] = 99;
        Assert.Equal([2, 3], c.Shape);
    }

    [Fact]
    public void ShapesUpToIntMaxValueElementsAreAccepted()
    {
        Assert.Equal(int.MaxValue, Check.Shape([int.MaxValue]));
        Assert.Equal(6, Check.Shape([2, 3]));
        var ex = Assert.Throws<ArgumentException>(() => Check.Shape([65536, 32768], "input"));
        Assert.Equal("input", ex.ParamName);
        Assert.Equal("input: expected at most 2147483647 elements, got [65536, 32768]. (Parameter 'input')", ex.Message);
        var rank0 = Assert.Throws<ArgumentException>(() => Check.Shape([]));
        Assert.Equal("shape", rank0.ParamName);
    }

    [Fact]
    public void ChecksAcceptTheirBoundsAndStateExpectedAndGiven()
    {
        Check.Eps(0);
        Check.Momentum(0);
        Check.Momentum(1);
        Check.Momentum(null);
        Check.Positive(1, "n");
        Check.Length(3, 3, "a");
        Check.OptionalLength(0, 3, "a");
        Check.OptionalLength(3, 3, "a");
        Assert.Equal("n: expected a positive integer, got 0. (Parameter 'n')", Assert.Throws<ArgumentException>(() => Check.Positive(0, "n")).Message);
        Assert.Equal("a: expected length 3, got length 2. (Parameter 'a')", Assert.Throws<ArgumentException>(() => Check.Length(2, 3, "a")).Message);
        Assert.Equal("a: expected length 3 (or empty to omit it), got length 2. (Parameter 'a')",
            Assert.Throws<ArgumentException>(() => Check.OptionalLength(2, 3, "a")).Message);
        Assert.Equal("eps: expected a finite value >= 0, got -0.5. (Parameter 'eps')", Assert.Throws<ArgumentException>(() => Check.Eps(-0.5)).Message);
        Assert.Equal("momentum", Assert.Throws<ArgumentException>(() => Check.Momentum(1.0000001)).ParamName);
        Assert.Equal("momentum", Assert.Throws<ArgumentException>(() => Check.Momentum(double.PositiveInfinity)).ParamName);
        Assert.Equal("beta", Assert.Throws<ArgumentException>(() => Check.Momentum(-1e-9, "beta")).ParamName);
        Assert.Equal("[]", Check.ShapeText([]));
        Assert.Equal("0.1", Check.Fmt(0.1));
        var type = Assert.Throws<NotSupportedException>(() => Check.ElementType<int>());
        Assert.Equal("element type: expected float, double, Half or BFloat16, got Int32.", type.Message);
        Check.ElementType<BFloat16>();
        Check.ElementType<Half>();
    }

    [Fact]
    public void StatisticsTurnMomentsIntoMeanAndRstd()
    {
        var moments = new[] { new GroupMoments(4, 2, 12), new GroupMoments(1, -3, 0) };
        var mean = new double[2];
        var rstd = new double[2];
        RulerOps.Statistics(new RulerSpec([0], eps: 1), moments, mean, rstd);
        Assert.Equal([2, -3], mean);
        Assert.Equal(1 / Math.Sqrt(3 + 1), rstd[0], 1e-15);
        Assert.Equal(1 / Math.Sqrt(0 + 1), rstd[1], 1e-15);
        RulerOps.Statistics(new RulerSpec([0], center: false, eps: 1), moments, mean, rstd);
        Assert.Equal([0, 0], mean);
        Assert.Equal(1 / Math.Sqrt(3 + 4 + 1), rstd[0], 1e-15);
        Assert.Equal(1 / Math.Sqrt(9 + 1), rstd[1], 1e-15);
        Assert.Throws<ArgumentNullException>("ruler", () => RulerOps.Statistics(null!, moments, mean, rstd));
        var negative = Assert.Throws<ArgumentException>(() => RulerOps.Statistics(RulerSpec.LayerNorm(), [new GroupMoments(-1, 0, 0)], new double[1], new double[1]));
        Assert.Contains("group 0 with count -1", negative.Message);
    }
}
