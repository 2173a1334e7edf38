using System.Numerics;

namespace Ruler.Nn.Optim;

/// <summary>
/// AdamW (Loshchilov &amp; Hutter 2019) with PyTorch's semantics (<c>torch.optim.AdamW</c>). At step t:
/// p ← p − lr·wd·p (decoupled decay, skipped for parameters marked <see cref="Parameter{T}.NoWeightDecay"/>);
/// m ← β1·m + (1 − β1)·g; v ← β2·v + (1 − β2)·g²;
/// p ← p − lr/(1 − β1ᵗ) · m / (√v / √(1 − β2ᵗ) + eps)  (bias-corrected, eps outside the square root).
/// </summary>
/// <typeparam name="T">Element type of the parameters.</typeparam>
public sealed class AdamW<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _m;
    private readonly T[][] _v;

    /// <summary>Creates the optimizer with PyTorch's defaults.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="beta1">Decay of the first-moment average, in [0, 1).</param>
    /// <param name="beta2">Decay of the second-moment average, in [0, 1).</param>
    /// <param name="eps">Added to the bias-corrected √v (finite, &gt; 0).</param>
    /// <param name="weightDecay">Decoupled weight decay coefficient (finite, ≥ 0).</param>
    public AdamW(IReadOnlyList<Parameter<T>> parameters, double learningRate = 1e-3, double beta1 = 0.9, double beta2 = 0.999,
        double eps = 1e-8, double weightDecay = 0.01) : base(parameters, learningRate)
    {
        Beta1 = Setting.Fraction(beta1, nameof(beta1), oneAllowed: false);
        Beta2 = Setting.Fraction(beta2, nameof(beta2), oneAllowed: false);
        Eps = Setting.Positive(eps, nameof(eps));
        WeightDecay = Setting.NonNegative(weightDecay, nameof(weightDecay));
        _m = Parameters.Select(p => new T[p.Value.Length]).ToArray();
        _v = Parameters.Select(p => new T[p.Value.Length]).ToArray();
    }

    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; }

    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; }

    /// <summary>Added to the bias-corrected √v.</summary>
    public double Eps { get; }

    /// <summary>Decoupled weight decay coefficient.</summary>
    public double WeightDecay { get; }

    /// <summary>First-moment estimate m of parameter <paramref name="index"/> (read-only view of the optimizer state).</summary>
    /// <param name="index">Position in <see cref="Optimizer{T}.Parameters"/>.</param>
    public ReadOnlySpan<T> FirstMoment(int index) => _m[index];

    /// <summary>Second-moment estimate v of parameter <paramref name="index"/> (read-only view of the optimizer state).</summary>
    /// <param name="index">Position in <see cref="Optimizer{T}.Parameters"/>.</param>
    public ReadOnlySpan<T> SecondMoment(int index) => _v[index];

    /// <inheritdoc />
    protected override void Update(int index, Parameter<T> parameter)
    {
        T[] p = parameter.Value, grad = parameter.Grad, m = _m[index], v = _v[index];
        double lr = LearningRate, b1 = Beta1, b2 = Beta2, eps = Eps;
        double decay = 1 - lr * (parameter.NoWeightDecay ? 0 : WeightDecay);
        double stepSize = lr / (1 - Math.Pow(b1, StepCount));
        double sqrtCorrection2 = Math.Sqrt(1 - Math.Pow(b2, StepCount));
        for (int i = 0; i < p.Length; i++)
        {
            double g = double.CreateTruncating(grad[i]);
            double mi = b1 * double.CreateTruncating(m[i]) + (1 - b1) * g;
            double vi = b2 * double.CreateTruncating(v[i]) + (1 - b2) * g * g;
            m[i] = T.CreateTruncating(mi);
            v[i] = T.CreateTruncating(vi);
            double pi = double.CreateTruncating(p[i]) * decay;
            p[i] = T.CreateTruncating(pi - stepSize * mi / (Math.Sqrt(vi) / sqrtCorrection2 + eps));
        }
    }
}
