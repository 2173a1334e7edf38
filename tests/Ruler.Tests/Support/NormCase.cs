namespace Ruler.Tests.Support;

/// <summary>
/// One normalizer under test, described twice: as a library module, and independently by who shares a ruler
/// (a group function of the multi-index, numbered like the module's saved statistics) for the <see cref="Oracle"/>.
/// </summary>
internal sealed class NormCase
{
    private NormCase(string name, int[] shape, bool center, int groups, Func<int[], int> group, int affineSize, Func<int[], int> affine,
        bool hasBeta)
    {
        Name = name;
        Shape = shape;
        Center = center;
        Groups = groups;
        Group = group;
        AffineSize = affineSize;
        Affine = affine;
        HasBeta = hasBeta;
    }

    public string Name { get; }
    public int[] Shape { get; }
    public bool Center { get; }
    public int Groups { get; }
    public Func<int[], int> Group { get; }
    public int AffineSize { get; }
    public Func<int[], int> Affine { get; }
    public bool HasBeta { get; }
    public ChannelLayout Layout { get; private init; }
    public int NumGroups { get; private init; }
    public int Count => TestData.Count(Shape);

    public override string ToString() => Id;

    /// <summary>LayerNorm over the last <paramref name="normalizedRank"/> dims.</summary>
    public static NormCase LayerNorm(int[] shape, int normalizedRank = 1)
    {
        int k = shape.Length - normalizedRank;
        return new("LayerNorm", shape, true, TestData.Count(shape[..k]), i => Oracle.Flat(i, shape, 0, k),
            TestData.Count(shape[k..]), i => Oracle.Flat(i, shape, k, shape.Length), true);
    }

    public static NormCase RmsNorm(int[] shape, int normalizedRank = 1)
    {
        int k = shape.Length - normalizedRank;
        return new("RmsNorm", shape, false, TestData.Count(shape[..k]), i => Oracle.Flat(i, shape, 0, k),
            TestData.Count(shape[k..]), i => Oracle.Flat(i, shape, k, shape.Length), false);
    }

    public static NormCase BatchNorm(int[] shape, ChannelLayout layout = ChannelLayout.ChannelsFirst)
    {
        int c = layout == ChannelLayout.ChannelsFirst ? 1 : shape.Length - 1;
        return new(layout == ChannelLayout.ChannelsFirst ? "BatchNorm(NCHW)" : "BatchNorm(NHWC)", shape, true, shape[c], i => i[c],
            shape[c], i => i[c], true) { Layout = layout };
    }

    public static NormCase GroupNorm(int[] shape, int groups, ChannelLayout layout = ChannelLayout.ChannelsFirst)
    {
        int c = layout == ChannelLayout.ChannelsFirst ? 1 : shape.Length - 1;
        int perGroup = shape[c] / groups;
        return new(layout == ChannelLayout.ChannelsFirst ? $"GroupNorm(G={groups})" : $"GroupNorm(G={groups}, NHWC)", shape, true,
            shape[0] * groups, i => i[0] * groups + i[c] / perGroup, shape[c], i => i[c], true) { Layout = layout, NumGroups = groups };
    }

    public static NormCase InstanceNorm(int[] shape)
    {
        int channels = shape[1];
        return new("InstanceNorm", shape, true, shape[0] * channels, i => i[0] * channels + i[1], channels, i => i[1], true);
    }

    /// <summary>The module, in training mode, with the given affine parameters copied in.</summary>
    public RulerNormalizer<T> Create<T>(double eps, double[] gamma, double[]? beta) where T : unmanaged
    {
        int channelAxis = Layout == ChannelLayout.ChannelsFirst ? 1 : Shape.Length - 1;
        RulerNormalizer<T> m = Name switch
        {
            "LayerNorm" => new LayerNorm<T>(TrailingAffineShape(), eps),
            "RmsNorm" => new RmsNorm<T>(TrailingAffineShape(), eps),
            "InstanceNorm" => new InstanceNorm<T>(Shape[1], eps, affine: true),
            _ when Name.StartsWith("BatchNorm") => new BatchNorm<T>(Shape[channelAxis], eps, layout: Layout),
            _ when Name.StartsWith("GroupNorm") => new GroupNorm<T>(NumGroups, Shape[channelAxis], eps, layout: Layout),
            _ => throw new InvalidOperationException(Name),
        };
        TestData.Convert<T>(gamma).CopyTo(m.Weight.Value, 0);
        if (m.HasBias) TestData.Convert<T>(beta ?? new double[AffineSize]).CopyTo(m.Bias.Value, 0);
        return m;
    }

    public Oracle.Result Reference(double[] x, double eps, double[] gamma, double[]? beta) =>
        Oracle.Normalize(x, Shape, Group, Groups, Affine, Center, eps, gamma, HasBeta ? beta : null);

    /// <summary>The group of every element (row-major).</summary>
    public int[] GroupOfElements()
    {
        var g = new int[Count];
        Oracle.ForEachIndex(Shape, (i, idx) => g[i] = Group(idx));
        return g;
    }

    /// <summary>The trailing dims whose product is the affine size (LayerNorm / RmsNorm).</summary>
    private int[] TrailingAffineShape()
    {
        int p = 1;
        for (int k = Shape.Length - 1; k >= 0; k--)
        {
            p *= Shape[k];
            if (p == AffineSize) return Shape[k..];
        }
        throw new InvalidOperationException("no trailing dims match the affine size");
    }

    /// <summary>A few representatives of every normalizer, channels-first and channels-last where it applies.</summary>
    public static IEnumerable<NormCase> All()
    {
        yield return LayerNorm([5, 16]);
        yield return LayerNorm([2, 3, 4, 5], normalizedRank: 2);
        yield return RmsNorm([5, 16]);
        yield return BatchNorm([4, 3, 5, 2]);
        yield return BatchNorm([4, 5, 2, 3], ChannelLayout.ChannelsLast);
        yield return BatchNorm([6, 4]);
        yield return GroupNorm([3, 6, 4, 2], 3);
        yield return GroupNorm([3, 4, 2, 6], 2, ChannelLayout.ChannelsLast);
        yield return InstanceNorm([3, 4, 6]);
    }

    /// <summary>
    /// Tensors of 130k–200k elements with dims that are not multiples of any vector width: large enough for fast
    /// paths to take their SIMD bodies, remainders and several threads, small enough for the oracle.
    /// </summary>
    public static IEnumerable<NormCase> Large()
    {
        yield return LayerNorm([256, 771]);
        yield return RmsNorm([129, 1031]);
        yield return BatchNorm([16, 12, 29, 31]);
        yield return BatchNorm([16, 29, 31, 12], ChannelLayout.ChannelsLast);
        yield return BatchNorm([4099, 40]);
        yield return GroupNorm([8, 32, 25, 27], 8);
        yield return GroupNorm([8, 25, 27, 32], 4, ChannelLayout.ChannelsLast);
        yield return InstanceNorm([8, 16, 1031]);
    }

    public static TheoryData<string> Names() => new(All().Select(c => c.Id));

    public static TheoryData<string> LargeNames() => new(Large().Select(c => c.Id));

    public static NormCase ById(string id) => All().Concat(Large()).Single(c => c.Id == id);

    public string Id => $"{Name}[{string.Join(",", Shape)}]";
}

/// <summary>Runs a <see cref="NormCase"/> module forward in a given element type and returns everything in float64.</summary>
internal static class NormRun
{
    public sealed record Output(double[] Y, double[] Mean, double[] Rstd, object Module);

    public static Output Forward<T>(NormCase c, double[] x, double eps, double[] gamma, double[]? beta) where T : unmanaged
    {
        var m = c.Create<T>(eps, gamma, beta);
        var y = new T[x.Length];
        m.Forward(TestData.Convert<T>(x), c.Shape, y);
        return new Output(TestData.ToDouble(y), m.SavedMean.ToArray(), m.SavedRstd.ToArray(), m);
    }
}
