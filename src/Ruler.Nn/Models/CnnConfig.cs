namespace Ruler.Nn;

/// <summary>Shape and choices of a <see cref="Cnn{T}"/>.</summary>
/// <param name="Channels">Output channels of each 3×3 conv layer (stride 1, padding 1), in order.</param>
public sealed record CnnConfig(int[] Channels)
{
    /// <summary>Input channels (1 for MNIST).</summary>
    public int InputChannels { get; init; } = 1;

    /// <summary>Input height.</summary>
    public int Height { get; init; } = 28;

    /// <summary>Input width.</summary>
    public int Width { get; init; } = 28;

    /// <summary>Output classes.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>What fills the norm slot after every conv.</summary>
    public NormKind Norm { get; init; } = NormKind.None;

    /// <summary>GroupNorm's group count.</summary>
    public int NormGroups { get; init; } = 8;

    /// <summary>Indices of the conv layers followed by a 2×2 max pool.</summary>
    public int[] PoolAfter { get; init; } = [];

    /// <summary>How the last feature map reaches the Linear head.</summary>
    public CnnHead Head { get; init; } = CnnHead.GlobalAveragePool;

    /// <summary>Biases in the convolutions (PyTorch's default; usually dropped before BatchNorm).</summary>
    public bool ConvBias { get; init; } = true;
}

/// <summary>How a <see cref="Cnn{T}"/> turns its last feature map into the head's input.</summary>
public enum CnnHead
{
    /// <summary>Mean of each channel: the head sees C features (translation-invariant, few parameters).</summary>
    GlobalAveragePool,
    /// <summary>The whole map (C·H·W features per image, NCHW order), as in the classic small MNIST nets.</summary>
    Flatten,
}
