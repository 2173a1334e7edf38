namespace Ruler.Nn;

/// <summary>
/// Parameter initializers with PyTorch's formulas. Linear and Conv2d default to Kaiming-uniform with a = √5, which
/// works out to U(−1/√fan_in, 1/√fan_in) for the weight and the same bound for the bias.
/// </summary>
public static class Init
{
    /// <summary>Fills with U(low, high).</summary>
    public static void Uniform<T>(Span<T> values, double low, double high, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++) values[i] = T.CreateTruncating(rng.NextUniform(low, high));
    }

    /// <summary>Fills with N(mean, std²).</summary>
    public static void Normal<T>(Span<T> values, double mean, double std, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = 0; i < values.Length; i++) values[i] = T.CreateTruncating(mean + std * rng.NextGaussian());
    }

    /// <summary>PyTorch's default for Linear/Conv weights and biases: U(−1/√fan_in, 1/√fan_in).</summary>
    public static void PyTorchDefault<T>(Span<T> values, int fanIn, Rng rng) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double bound = fanIn > 0 ? 1.0 / Math.Sqrt(fanIn) : 0;
        Uniform(values, -bound, bound, rng);
    }

    /// <summary>Kaiming (He) uniform: U(−b, b) with b = gain·√(3/fan_in), gain = √(2/(1+a²)); a = 0 suits ReLU.</summary>
    public static void KaimingUniform<T>(Span<T> values, int fanIn, Rng rng, double a = 0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double bound = Math.Sqrt(2.0 / (1 + a * a)) * Math.Sqrt(3.0 / fanIn);
        Uniform(values, -bound, bound, rng);
    }

    /// <summary>Xavier (Glorot) uniform: U(−b, b) with b = gain·√(6/(fan_in + fan_out)).</summary>
    public static void XavierUniform<T>(Span<T> values, int fanIn, int fanOut, Rng rng, double gain = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        double bound = gain * Math.Sqrt(6.0 / (fanIn + fanOut));
        Uniform(values, -bound, bound, rng);
    }

    /// <summary>Xavier (Glorot) normal: N(0, σ²) with σ = gain·√(2/(fan_in + fan_out)).</summary>
    public static void XavierNormal<T>(Span<T> values, int fanIn, int fanOut, Rng rng, double gain = 1) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Normal(values, 0, gain * Math.Sqrt(2.0 / (fanIn + fanOut)), rng);
    }
}
