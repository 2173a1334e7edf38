using System.Numerics;

namespace Ruler.Nn.Optim;

/// <summary>
/// Stochastic gradient descent with PyTorch's semantics (<c>torch.optim.SGD</c>, default dampening 0):
/// g ← g + wd·p (coupled L2 decay, skipped for parameters marked <see cref="Parameter{T}.NoWeightDecay"/>);
/// with momentum μ &gt; 0: b ← g on the first step, else b ← μ·b + (1 − dampening)·g; then g ← g + μ·b (Nesterov)
/// or g ← b; finally p ← p − lr·g.
/// </summary>
/// <typeparam name="T">Element type of the parameters.</typeparam>
public sealed class Sgd<T> : Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[][] _momentumBuffers;

    /// <summary>Creates the optimizer.</summary>
    /// <param name="parameters">The parameters to update.</param>
    /// <param name="learningRate">Learning rate (finite, ≥ 0).</param>
    /// <param name="momentum">Momentum factor μ in [0, 1]; 0 disables the momentum buffer.</param>
    /// <param name="dampening">Dampening of the gradient entering the buffer, in [0, 1].</param>
    /// <param name="nesterov">Nesterov momentum; needs momentum &gt; 0 and dampening 0, as in PyTorch.</param>
    /// <param name="weightDecay">L2 penalty coefficient added to the gradient (finite, ≥ 0).</param>
    public Sgd(IReadOnlyList<Parameter<T>> parameters, double learningRate, double momentum = 0, double dampening = 0,
        bool nesterov = false, double weightDecay = 0) : base(parameters, learningRate)
    {
        Momentum = Setting.Fraction(momentum, nameof(momentum), oneAllowed: true);
        Dampening = Setting.Fraction(dampening, nameof(dampening), oneAllowed: true);
        WeightDecay = Setting.NonNegative(weightDecay, nameof(weightDecay));
        if (nesterov && (momentum == 0 || dampening != 0))
            throw new ArgumentException(
                $"nesterov: expected momentum > 0 and dampening 0, got momentum {momentum:R} and dampening {dampening:R}.", nameof(nesterov));
        Nesterov = nesterov;
        _momentumBuffers = momentum == 0 ? [] : Parameters.Select(p => new T[p.Value.Length]).ToArray();
    }

    /// <summary>Momentum factor μ.</summary>
    public double Momentum { get; }

    /// <summary>Dampening of the gradient entering the momentum buffer.</summary>
    public double Dampening { get; }

    /// <summary>Whether the step uses Nesterov momentum.</summary>
    public bool Nesterov { get; }

    /// <summary>L2 penalty coefficient.</summary>
    public double WeightDecay { get; }

    /// <inheritdoc />
    protected override void Update(int index, Parameter<T> parameter)
    {
        T[] p = parameter.Value, grad = parameter.Grad;
        double lr = LearningRate, mu = Momentum, keep = 1 - Dampening;
        double wd = parameter.NoWeightDecay ? 0 : WeightDecay;
        bool first = StepCount == 1;
        T[]? buf = mu == 0 ? null : _momentumBuffers[index];
        for (int i = 0; i < p.Length; i++)
        {
            double pi = double.CreateTruncating(p[i]);
            double g = double.CreateTruncating(grad[i]) + wd * pi;
            if (buf is not null)
            {
                double b = first ? g : mu * double.CreateTruncating(buf[i]) + keep * g;
                buf[i] = T.CreateTruncating(b);
                g = Nesterov ? g + mu * b : b;
            }
            p[i] = T.CreateTruncating(pi - lr * g);
        }
    }
}
