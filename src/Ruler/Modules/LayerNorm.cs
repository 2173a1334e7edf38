using Ruler.Internal;

namespace Ruler;

/// <summary>
/// LayerNorm (Ba, Kiros &amp; Hinton 2016): one ruler per leading index (per token, per sample) over the trailing
/// dims given by the normalized shape; affine per normalized element. Independent of the batch, the same in
/// training and generation.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class LayerNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates a LayerNorm with PyTorch's defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over, e.g. [D].</param>
    /// <param name="eps">Added to the variance.</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    /// <param name="bias">Learnable β (zeros) too, when <paramref name="elementwiseAffine"/> is on.</param>
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
/// As in PyTorch, eps defaults to the machine epsilon of the element type.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class RmsNorm<T> : RulerNormalizer<T> where T : unmanaged
{
    private readonly int[] _normalizedShape;

    /// <summary>Creates an RMSNorm with PyTorch's defaults.</summary>
    /// <param name="normalizedShape">The trailing dims to normalize over.</param>
    /// <param name="eps">Added to the mean square; null means the machine epsilon of T.</param>
    /// <param name="elementwiseAffine">Learnable γ (ones) per normalized element.</param>
    public RmsNorm(int[] normalizedShape, double? eps = null, bool elementwiseAffine = true) : base(eps ?? MachineEpsilon())
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

    private static double MachineEpsilon() =>
        typeof(T) == typeof(float) ? 1.1920928955078125e-07
        : typeof(T) == typeof(Half) ? 0.0009765625
        : typeof(T) == typeof(BFloat16) ? 0.0078125
        : 2.220446049250313e-16;
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
