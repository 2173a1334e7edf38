namespace Ruler;

/// <summary>Which channels of a sample share a ruler under a normalizer.</summary>
public enum ChannelSharing
{
    /// <summary>Each channel has its own ruler (BatchNorm, InstanceNorm).</summary>
    One,
    /// <summary>A group of adjacent channels shares one (GroupNorm).</summary>
    Group,
    /// <summary>Every channel of the sample shares one (LayerNorm, RMSNorm).</summary>
    All,
}

/// <summary>
/// One normalizer of the library, as everything that enumerates normalizers reads it (the engine's NormSlot, the
/// invariance table of <c>ruler explain</c> and the lab, the bench, the tests): its name, what shares a ruler, its
/// preset and how to build its module. The entries are <see cref="Normalizers.All"/>.
/// </summary>
public abstract class NormalizerInfo
{
    private protected NormalizerInfo(string name, Type module, bool centers, bool sharesAcrossSamples, ChannelSharing channels,
        bool hasRunningStatistics, string shares)
    {
        Name = name;
        ModuleType = module;
        Centers = centers;
        SharesAcrossSamples = sharesAcrossSamples;
        Channels = channels;
        HasRunningStatistics = hasRunningStatistics;
        Shares = shares;
    }

    /// <summary>The name (the module's type name without its type argument): "LayerNorm", "RmsNorm", ….</summary>
    public string Name { get; }

    /// <summary>The module's generic type definition, e.g. <c>typeof(LayerNorm&lt;&gt;)</c>.</summary>
    public Type ModuleType { get; }

    /// <summary>Whether it subtracts the mean (false: RMSNorm divides by the root mean square only).</summary>
    public bool Centers { get; }

    /// <summary>Whether a ruler spans the samples of the batch (BatchNorm), so the output of a sample depends on the others.</summary>
    public bool SharesAcrossSamples { get; }

    /// <summary>Which channels of a sample share a ruler.</summary>
    public ChannelSharing Channels { get; }

    /// <summary>Whether the module keeps running statistics for eval mode.</summary>
    public bool HasRunningStatistics { get; }

    /// <summary>Who shares a ruler, in words, for an (N, C, H, W) image: "per channel, over (N, H, W)", ….</summary>
    public string Shares { get; }

    /// <summary>Whether it has a form for token tensors (N, D); InstanceNorm has none (it needs a spatial extent).</summary>
    public bool HasTokenForm => Channels != ChannelSharing.One || SharesAcrossSamples;

    /// <summary>
    /// The ruler (preset) on a tensor of this shape, (N, C, …) or (N, …, C) by <paramref name="layout"/>, and the
    /// view it applies to (the shape, except GroupNorm's, which splits C into <paramref name="groups"/>). LayerNorm
    /// and RMSNorm normalize everything but the first axis.
    /// </summary>
    public abstract (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups = 1,
        ChannelLayout layout = ChannelLayout.ChannelsFirst);

    /// <summary>The module for (N, C, H, W) images with PyTorch's defaults, γ and β on (InstanceNorm included).</summary>
    public abstract RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups = 1) where T : unmanaged;

    /// <summary>The module for (N, D) tokens with PyTorch's defaults.</summary>
    /// <exception cref="NotSupportedException">It has no token form (<see cref="HasTokenForm"/> is false).</exception>
    public abstract RulerNormalizer<T> ForTokens<T>(int dim, int groups = 1) where T : unmanaged;

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>
/// The one list of the library's normalizers. Adding a normalizer means: its preset (<see cref="RulerSpec"/>), its
/// module (src/Ruler/Modules) and one entry here; the engine's slot, the invariance table, the bench and the tests
/// that enumerate normalizers read this list (docs/backends.md lists the rest).
/// </summary>
public static class Normalizers
{
    /// <summary>Every normalizer, in the order of the invariance table.</summary>
    public static IReadOnlyList<NormalizerInfo> All { get; } =
        [new BatchNormInfo(), new LayerNormInfo(), new GroupNormInfo(), new InstanceNormInfo(), new RmsNormInfo()];

    /// <summary>The normalizer with this <see cref="NormalizerInfo.Name"/>.</summary>
    /// <exception cref="ArgumentException">No normalizer has this name.</exception>
    public static NormalizerInfo Get(string name) =>
        All.FirstOrDefault(n => n.Name == name)
        ?? throw new ArgumentException($"Normalizers.Get: expected one of {string.Join(", ", All)}; got \"{name}\".", nameof(name));

    /// <summary>The entry of a module (a LayerNorm&lt;T&gt; gives LayerNorm's), or null when it is none of the list's.</summary>
    public static NormalizerInfo? Of(object module)
    {
        ArgumentNullException.ThrowIfNull(module);
        var type = module.GetType();
        if (!type.IsGenericType) return null;
        var definition = type.GetGenericTypeDefinition();
        return All.FirstOrDefault(n => n.ModuleType == definition);
    }

    private sealed class BatchNormInfo() : NormalizerInfo("BatchNorm", typeof(BatchNorm<>), true, true, ChannelSharing.One, true,
        "per channel, over (N, H, W)")
    {
        public override (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups, ChannelLayout layout) =>
            (RulerSpec.BatchNorm(shape.Length, layout, eps), shape.ToArray());

        public override RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups) => new BatchNorm<T>(channels);

        public override RulerNormalizer<T> ForTokens<T>(int dim, int groups) => new BatchNorm<T>(dim);
    }

    private sealed class LayerNormInfo() : NormalizerInfo("LayerNorm", typeof(LayerNorm<>), true, false, ChannelSharing.All, false,
        "per sample, over (C, H, W)")
    {
        public override (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups, ChannelLayout layout) =>
            (RulerSpec.LayerNorm(shape.Length - 1, eps), shape.ToArray());

        public override RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups) => new LayerNorm<T>([channels, height, width]);

        public override RulerNormalizer<T> ForTokens<T>(int dim, int groups) => new LayerNorm<T>([dim]);
    }

    private sealed class GroupNormInfo() : NormalizerInfo("GroupNorm", typeof(GroupNorm<>), true, false, ChannelSharing.Group, false,
        "per sample and group of channels, over (C/G, H, W)")
    {
        public override (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups, ChannelLayout layout) =>
            (RulerSpec.GroupNorm(layout, eps), RulerSpec.GroupNormView(shape, groups, layout));

        public override RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups) => new GroupNorm<T>(groups, channels);

        public override RulerNormalizer<T> ForTokens<T>(int dim, int groups) => new GroupNorm<T>(groups, dim);
    }

    private sealed class InstanceNormInfo() : NormalizerInfo("InstanceNorm", typeof(InstanceNorm<>), true, false, ChannelSharing.One, true,
        "per sample and channel, over (H, W)")
    {
        public override (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups, ChannelLayout layout) =>
            (RulerSpec.InstanceNorm(shape.Length, layout, eps), shape.ToArray());

        public override RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups) => new InstanceNorm<T>(channels, affine: true);

        public override RulerNormalizer<T> ForTokens<T>(int dim, int groups) =>
            throw new NotSupportedException("InstanceNorm has no token form: a (sample, channel) of a token is one value.");
    }

    private sealed class RmsNormInfo() : NormalizerInfo("RmsNorm", typeof(RmsNorm<>), false, false, ChannelSharing.All, false,
        "per sample, over (C, H, W), without centering")
    {
        public override (RulerSpec Ruler, int[] View) Preset(ReadOnlySpan<int> shape, double eps, int groups, ChannelLayout layout) =>
            (RulerSpec.RmsNorm(shape.Length - 1, eps), shape.ToArray());

        public override RulerNormalizer<T> ForImages<T>(int channels, int height, int width, int groups) => new RmsNorm<T>([channels, height, width]);

        public override RulerNormalizer<T> ForTokens<T>(int dim, int groups) => new RmsNorm<T>([dim]);
    }
}
