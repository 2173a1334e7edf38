using Ruler.Internal;

namespace Ruler;

/// <summary>
/// GroupNorm (Wu &amp; He 2018): one ruler per (sample, group of C/G channels), over those channels and every
/// spatial position; affine per channel. Independent of the batch. G = 1 is LayerNorm over (C, spatial…),
/// G = C is InstanceNorm.
/// </summary>
/// <example>
/// <code>
/// var gn = new GroupNorm&lt;float&gt;(numGroups: 8, numChannels: 64);   // nn.GroupNorm(8, 64)
/// gn.Forward(x, [batch, 64, 32, 32], y);              // one ruler per (sample, group of 8 channels)
/// gn.Backward(x, [batch, 64, 32, 32], dy, dx);        // accumulates gn.Weight.Grad and gn.Bias.Grad
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class GroupNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    /// <summary>Creates a GroupNorm with PyTorch's defaults.</summary>
    /// <param name="numGroups">G; must divide <paramref name="numChannels"/>.</param>
    /// <param name="numChannels">C.</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="affine">Learnable γ (ones) and β (zeros) per channel.</param>
    /// <param name="layout">Where the channel axis is.</param>
    /// <exception cref="ArgumentException">G or C is not positive, G does not divide C, or eps is negative or not finite.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public GroupNorm(int numGroups, int numChannels, double eps = 1e-5, bool affine = true,
        ChannelLayout layout = ChannelLayout.ChannelsFirst) : base(eps)
    {
        Check.Positive(numGroups, nameof(numGroups));
        Check.Positive(numChannels, nameof(numChannels));
        if (numChannels % numGroups != 0)
            throw Check.Fail(nameof(numGroups), $"a divisor of numChannels = {numChannels}", numGroups.ToString());
        NumGroups = numGroups;
        NumChannels = numChannels;
        Layout = layout;
        CreateAffine(numChannels, affine, affine);
    }

    /// <summary>G.</summary>
    public int NumGroups { get; }

    /// <summary>C.</summary>
    public int NumChannels { get; }

    /// <summary>Where the channel axis is.</summary>
    public ChannelLayout Layout { get; }

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        Check.Shape(shape, "x");
        CheckChannels(shape, Layout, NumChannels, 2, "GroupNorm (N, C, *)");
        return (RulerSpec.GroupNorm(Layout, Eps), RulerSpec.GroupNormView(shape, NumGroups, Layout));
    }
}
