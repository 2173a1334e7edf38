namespace Ruler.Nn;

/// <summary>
/// What fills a normalization slot. Every normalizer is the Ruler library's and is built from its entry in
/// <see cref="Normalizers"/> (a member here is named as the entry); None, DyT and CenterOnly are the controls.
/// </summary>
public enum NormKind
{
    /// <summary>The identity (no normalization).</summary>
    None,
    /// <summary><see cref="LayerNorm{T}"/>: over the features of a token, or over (C, H, W) of an image.</summary>
    LayerNorm,
    /// <summary><see cref="RmsNorm{T}"/>: LayerNorm's grouping without centering.</summary>
    RmsNorm,
    /// <summary><see cref="GroupNorm{T}"/> with the slot's group count.</summary>
    GroupNorm,
    /// <summary><see cref="InstanceNorm{T}"/> (images only), with affine γ, β.</summary>
    InstanceNorm,
    /// <summary><see cref="BatchNorm{T}"/>: per channel over (N, H, W) for images, over (batch·time) for tokens.</summary>
    BatchNorm,
    /// <summary><see cref="DynamicTanh{T}"/>: γ·tanh(αx)+β, no statistics.</summary>
    DyT,
    /// <summary><see cref="CenterOnly{T}"/>: subtract the mean, no scale (a control, not a normalizer).</summary>
    CenterOnly,
}
