namespace Ruler;

/// <summary>A learnable tensor and its gradient (accumulated by backward, like PyTorch's <c>.grad</c>).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Parameter<T> where T : unmanaged
{
    /// <summary>Creates a parameter with the given values and a zero gradient.</summary>
    /// <param name="name">Its name in a state dictionary, e.g. "weight" or "bias".</param>
    /// <param name="value">The values, kept (not copied): the parameter and the caller share the array.</param>
    /// <exception cref="NullReferenceException"><paramref name="value"/> is null.</exception>
    public Parameter(string name, T[] value)
    {
        Name = name;
        Value = value;
        Grad = new T[value.Length];
    }

    /// <summary>Name, e.g. "weight" or "bias".</summary>
    public string Name { get; }

    /// <summary>Values, updated in place by an optimizer.</summary>
    public T[] Value { get; }

    /// <summary>Accumulated gradient.</summary>
    public T[] Grad { get; }

    /// <summary>Whether weight decay should skip it (norm gains and biases: true).</summary>
    public bool NoWeightDecay { get; init; }

    /// <summary>Sets the gradient to zero.</summary>
    public void ZeroGrad() => Array.Clear(Grad);
}
