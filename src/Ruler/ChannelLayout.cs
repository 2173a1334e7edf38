namespace Ruler;

/// <summary>Where the channel axis sits in a (N, C, spatial…) tensor.</summary>
public enum ChannelLayout
{
    /// <summary>(N, C, spatial…): PyTorch's default, "NCHW".</summary>
    ChannelsFirst,

    /// <summary>(N, spatial…, C): "NHWC", TensorFlow's default and PyTorch's channels_last memory format.</summary>
    ChannelsLast,
}
