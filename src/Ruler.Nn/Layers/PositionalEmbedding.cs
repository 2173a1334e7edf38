namespace Ruler.Nn;

/// <summary>Learned positional embedding: y[b, t] = x[b, t] + P[t] for a context×dim table P. Init N(0, 1).</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class PositionalEmbedding<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private int _batch, _time;
    private T[]? _y;

    /// <summary>Creates a table named "name.weight" with one row per position.</summary>
    public PositionalEmbedding(string name, int context, int dim, Rng rng)
    {
        if (context < 1 || dim < 1) throw new ArgumentOutOfRangeException(nameof(context), $"PositionalEmbedding {name}: sizes must be >= 1, got {context}×{dim}.");
        Context = context;
        Dim = dim;
        Weight = new Parameter<T>(name + ".weight", new T[context * dim]);
        Init.Normal<T>(Weight.Value, 0, 1, rng);
        _parameters = [Weight];
    }

    /// <summary>Longest sequence.</summary>
    public int Context { get; }

    /// <summary>Embedding width.</summary>
    public int Dim { get; }

    /// <summary>The context×dim table.</summary>
    public Parameter<T> Weight { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>y = x + P[t] for x of shape (batch, time, dim), time ≤ context.</summary>
    public T[] Forward(T[] x, int batch, int time)
    {
        if (time < 1 || time > Context) throw new ArgumentOutOfRangeException(nameof(time), $"PositionalEmbedding {Weight.Name}: time must be in [1, {Context}], got {time}.");
        if (x.Length != batch * time * Dim) throw new ArgumentException($"PositionalEmbedding {Weight.Name}: x needs {batch}×{time}×{Dim} elements, got {x.Length}.", nameof(x));
        _batch = batch;
        _time = time;
        var y = Ensure(ref _y, x.Length);
        var p = Weight.Value;
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < time * Dim; i++) y[b * time * Dim + i] = x[b * time * Dim + i] + p[i];
        return y;
    }

    /// <summary>Accumulates dP[t] += Σ_b dy[b, t]; the input gradient is dy itself, returned as is.</summary>
    public T[] Backward(T[] dy)
    {
        if (_y is null) throw new InvalidOperationException("PositionalEmbedding.Backward before Forward.");
        CheckGradient("PositionalEmbedding", dy, _batch * _time * Dim);
        var g = Weight.Grad;
        for (int b = 0; b < _batch; b++)
            for (int i = 0; i < _time * Dim; i++) g[i] += dy[b * _time * Dim + i];
        return dy;
    }
}
