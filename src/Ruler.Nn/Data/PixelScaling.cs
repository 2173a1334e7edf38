namespace Ruler.Nn.Data;

/// <summary>
/// How a byte pixel b becomes a float: x = (b/255 − <see cref="Mean"/>) / <see cref="Std"/>.
/// <see cref="Unit"/> gives [0, 1]; <see cref="MnistStandard"/> the mean/std normalization of PyTorch's MNIST example.
/// </summary>
public sealed record PixelScaling
{
    /// <summary>Creates a scaling.</summary>
    /// <param name="mean">Subtracted after dividing by 255 (finite).</param>
    /// <param name="std">Divides the centred value (finite, &gt; 0).</param>
    public PixelScaling(double mean, double std)
    {
        if (!double.IsFinite(mean))
            throw new ArgumentOutOfRangeException(nameof(mean), mean, $"mean: expected a finite value, got {mean:R}.");
        if (!double.IsFinite(std) || std <= 0)
            throw new ArgumentOutOfRangeException(nameof(std), std, $"std: expected a finite value > 0, got {std:R}.");
        Mean = mean;
        Std = std;
    }

    /// <summary>Pixels in [0, 1].</summary>
    public static PixelScaling Unit => new(0, 1);

    /// <summary>MNIST's training-set mean 0.1307 and std 0.3081 (as in PyTorch's examples).</summary>
    public static PixelScaling MnistStandard => new(0.1307, 0.3081);

    /// <summary>Subtracted after dividing by 255.</summary>
    public double Mean { get; }

    /// <summary>Divides the centred value.</summary>
    public double Std { get; }

    /// <summary>The float for byte pixel <paramref name="pixel"/>.</summary>
    /// <param name="pixel">0 (black background) to 255 (ink).</param>
    public float Apply(byte pixel) => (float)((pixel / 255.0 - Mean) / Std);
}
