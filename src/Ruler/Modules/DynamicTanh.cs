using Ruler.Internal;

namespace Ruler;

/// <summary>
/// DyT as a layer: y = γ·tanh(α·x) + β over the trailing dims given by the normalized shape; α is a learnable
/// scalar (initial 0.5, as in the paper), γ ones and β zeros per normalized element. The control in experiments
/// that ask what a ruler buys: it bounds values without measuring anything.
/// </summary>
/// <example>
/// <code>
/// var dyt = new DynamicTanh&lt;float&gt;([768]);            // alpha 0.5, gamma 1, beta 0
/// dyt.Forward(x, [tokens, 768], y);                   // y = gamma * tanh(alpha * x) + beta
/// dyt.Backward(x, [tokens, 768], dy, dx);             // accumulates dyt.Alpha.Grad, dyt.Weight.Grad, dyt.Bias.Grad
/// </code>
/// </example>
/// <typeparam name="T">Element type.</typeparam>
public sealed class DynamicTanh<T> : Normalizer<T> where T : unmanaged
{
    private readonly Parameter<T>[] _parameters;
    private readonly int _features;
    private readonly int[] _normalizedShape;
    private T[] _dgamma;
    private T[] _dbeta;

    /// <summary>Creates a DyT layer.</summary>
    /// <param name="normalizedShape">Trailing dims γ and β are indexed by.</param>
    /// <param name="alphaInit">Initial α, finite.</param>
    /// <exception cref="ArgumentException">The shape is invalid, or <paramref name="alphaInit"/> is not finite.</exception>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is not float, double, Half or <see cref="BFloat16"/>.</exception>
    public DynamicTanh(int[] normalizedShape, double alphaInit = 0.5)
    {
        _features = (int)Check.Shape(normalizedShape, nameof(normalizedShape));
        if (!double.IsFinite(alphaInit)) throw Check.Fail(nameof(alphaInit), "a finite value", Check.Fmt(alphaInit));
        _normalizedShape = normalizedShape.ToArray();
        Alpha = new Parameter<T>("alpha", Filled(1, alphaInit)) { NoWeightDecay = true };
        Weight = new Parameter<T>("weight", Filled(_features, 1)) { NoWeightDecay = true };
        Bias = new Parameter<T>("bias", Filled(_features, 0)) { NoWeightDecay = true };
        _parameters = [Alpha, Weight, Bias];
        _dgamma = new T[_features];
        _dbeta = new T[_features];
    }

    /// <summary>α, one value.</summary>
    public Parameter<T> Alpha { get; }

    /// <summary>γ per normalized element.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>β per normalized element.</summary>
    public Parameter<T> Bias { get; }

    /// <summary>Always true: DyT always has γ (for the same checks as the normalizers').</summary>
    public bool HasWeight => true;

    /// <summary>Always true: DyT always has β.</summary>
    public bool HasBias => true;

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    private protected override void ForwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y)
    {
        CheckInput(x.Length, shape);
        DynamicTanhOps.Forward(x, _features, Num.ToDouble(Alpha.Value[0]), Weight.Value, Bias.Value, y);
    }

    private protected override void BackwardCore(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx)
    {
        CheckInput(x.Length, shape);
        double dalpha = DynamicTanhOps.Backward(x, _features, Num.ToDouble(Alpha.Value[0]), Weight.Value, dy, dx, _dgamma, _dbeta);
        Alpha.Grad[0] = Num.FromDouble<T>(Num.ToDouble(Alpha.Grad[0]) + dalpha);
        Accumulate(Weight.Grad, _dgamma);
        Accumulate(Bias.Grad, _dbeta);
    }

    private void CheckInput(int length, ReadOnlySpan<int> shape)
    {
        TrailingShape.Check(shape, _normalizedShape);
        long count = Check.Shape(shape, "shape");
        if (length != count) throw Check.Fail("x", $"{count} elements for shape {Check.ShapeText(shape)}", length.ToString());
    }
}
