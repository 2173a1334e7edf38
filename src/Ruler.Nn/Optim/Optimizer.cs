using System.Numerics;

namespace Ruler.Nn.Optim;

/// <summary>
/// An optimizer over a fixed list of parameters: <see cref="Step"/> reads each <see cref="Parameter{T}.Grad"/>
/// and updates <see cref="Parameter{T}.Value"/> in place. Arithmetic is done in float64 and rounded to T on store.
/// </summary>
/// <typeparam name="T">Element type of the parameters (float, double or Half).</typeparam>
public abstract class Optimizer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private double _learningRate;

    /// <summary>Validates the shared settings and takes the parameter list.</summary>
    /// <param name="parameters">The parameters to update; each at most once.</param>
    /// <param name="learningRate">Initial learning rate (finite, ≥ 0); a schedule may change it between steps.</param>
    protected Optimizer(IReadOnlyList<Parameter<T>> parameters, double learningRate)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var seen = new HashSet<Parameter<T>>(ReferenceEqualityComparer.Instance);
        foreach (var p in parameters)
        {
            ArgumentNullException.ThrowIfNull(p, nameof(parameters));
            if (!seen.Add(p))
                throw new ArgumentException($"parameters: expected each parameter once, got \"{p.Name}\" twice.", nameof(parameters));
        }
        _parameters = parameters.ToArray();
        LearningRate = learningRate;
    }

    /// <summary>The parameters this optimizer updates, in the order given.</summary>
    public IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>Learning rate used by the next <see cref="Step"/> (finite, ≥ 0).</summary>
    public double LearningRate
    {
        get => _learningRate;
        set => _learningRate = Setting.NonNegative(value, nameof(LearningRate));
    }

    /// <summary>Number of completed steps.</summary>
    public int StepCount { get; private set; }

    /// <summary>Applies one update to every parameter from its current gradient.</summary>
    public void Step()
    {
        StepCount++;
        for (int i = 0; i < _parameters.Length; i++) Update(i, _parameters[i]);
    }

    /// <summary>Sets every parameter's gradient to zero.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _parameters) p.ZeroGrad();
    }

    /// <summary>Updates parameter <paramref name="index"/> (its position in <see cref="Parameters"/>) for step <see cref="StepCount"/>.</summary>
    /// <param name="index">Position of the parameter, for per-parameter state.</param>
    /// <param name="parameter">The parameter.</param>
    protected abstract void Update(int index, Parameter<T> parameter);
}
