using Ruler.Internal;

namespace Ruler;

/// <summary>
/// LayerNorm (Ba, Kiros &amp; Hinton 2016): one ruler per leading index (per token, per sample) over the trailing
/// dims given by the normalized shape; affine per normalized element. Independent of the batch, the same in
/// training and generation.
/// </summary>
/// <example>
/// <code>
/// var ln = new LayerNorm&lt;float&gt;([768]);               // nn.LayerNorm(768): eps 1e-5, gamma 1, beta 0
/// ln.Forward(x, [batch, tokens, 768], y);             // one mean and std per token
/// ln.Backward(x, [batch, tokens, 768], dy, dx);       // accumulates ln.Weight.Grad and ln.Bias.Grad
/// var state = ln.StateDict();                         // "weight", "bias"
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class LayerNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates a LayerNorm with PyTorch's defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over, e.g. [D].</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    /// <param name="bias">Learnable β (zeros) too, when <paramref name="elementwiseAffine"/> is on.</param>
    /// <exception cref="ArgumentException">The shape is invalid, or eps is negative or not finite.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public LayerNorm(int[] normalizedShape, double eps = 1e-5, bool elementwiseAffine = true, bool bias = true) : base(eps)
    {
        long d = Check.Shape(normalizedShape, nameof(normalizedShape));
        _normalizedShape = normalizedShape.ToArray();
        CreateAffine((int)d, elementwiseAffine, elementwiseAffine && bias);
    }

    /// <summary>The trailing dims normalized over.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        TrailingShape.Check(shape, _normalizedShape);
        return (RulerSpec.LayerNorm(_normalizedShape.Length, Eps), shape.ToArray());
    }
}

/// <summary>
/// RMSNorm (Zhang &amp; Sennrich 2019): LayerNorm without centering, y = x / √(mean(x²) + eps) · γ. Scale only.
/// As in PyTorch (<c>nn.RMSNorm(eps=None)</c>), eps defaults to the machine epsilon of the element type
/// (<see cref="RulerSpec.MachineEpsilon{T}"/>: 1.19e-7 for float), not LayerNorm's 1e-5; pass eps to match a model
/// trained with another value. The functional <see cref="RulerSpec.RmsNorm"/> has no default eps at all.
/// </summary>
/// <example>
/// <code>
/// var rms = new RmsNorm&lt;float&gt;([4096], eps: 1e-5);   // Llama's eps; the default is float's machine epsilon
/// rms.Forward(x, [tokens, 4096], y);                  // y = x / sqrt(mean(x^2) + eps) * gamma
/// rms.Backward(x, [tokens, 4096], dy, dx);            // accumulates rms.Weight.Grad (no bias)
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class RmsNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates an RMSNorm with PyTorch's defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over.</param>
    /// <param name="eps">Added to the mean square; null (the default) means the machine epsilon of T, <see cref="RulerSpec.MachineEpsilon{T}"/>.</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    /// <exception cref="ArgumentException">The shape is invalid, or eps is negative or not finite.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public RmsNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true) : base(eps ?? RulerSpec.MachineEpsilon<T>())
    {
        long d = Check.Shape(normalizedShape, nameof(normalizedShape));
        _normalizedShape = normalizedShape.ToArray();
        CreateAffine((int)d, elementwiseAffine, false);
    }

    /// <summary>The trailing dims normalized over.</summary>
    public IReadOnlyList<int> NormalizedShape => _normalizedShape;

    /// <inheritdoc />
    public override (RulerSpec Ruler, int[] View) RulerFor(ReadOnlySpan<int> shape)
    {
        TrailingShape.Check(shape, _normalizedShape);
        return (RulerSpec.RmsNorm(_normalizedShape.Length, Eps), shape.ToArray());
    }

}

internal static class TrailingShape
{
    public static void Check(ReadOnlySpan<int> shape, int[] normalizedShape)
    {
        Internal.Check.Shape(shape, "x");
        bool ok = shape.Length >= normalizedShape.Length && shape[^normalizedShape.Length..].SequenceEqual(normalizedShape);
        if (!ok)
            throw Internal.Check.Fail("x", $"trailing dims equal to normalizedShape {Internal.Check.ShapeText(normalizedShape)}",
                $"shape {Internal.Check.ShapeText(shape)}");
    }
}
