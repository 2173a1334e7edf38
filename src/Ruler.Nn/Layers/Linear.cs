namespace Ruler.Nn;

/// <summary>
/// y = x·Wᵀ + b for rows of x (PyTorch's Linear: weight is out×in). Init: U(−1/√in, 1/√in) for weight and bias.
/// Backward: dx = dy·W, dW += dyᵀ·x, db += Σ_rows dy.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Linear<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private T[]? _x, _y, _dx;
    private int _rows;

    /// <summary>Creates a layer named <paramref name="name"/> (its parameters are "name.weight", "name.bias").</summary>
    public Linear(string name, int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        if (inFeatures < 1 || outFeatures < 1) throw new ArgumentOutOfRangeException(nameof(inFeatures), $"Linear {name}: feature counts must be >= 1, got {inFeatures}→{outFeatures}.");
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        Weight = new Parameter<T>(name + ".weight", new T[outFeatures * inFeatures]);
        Init.PyTorchDefault<T>(Weight.Value, inFeatures, rng);
        if (bias)
        {
            Bias = new Parameter<T>(name + ".bias", new T[outFeatures]) { NoWeightDecay = true };
            Init.PyTorchDefault<T>(Bias.Value, inFeatures, rng);
            _parameters = [Weight, Bias];
        }
        else _parameters = [Weight];
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>W, out×in row-major.</summary>
    public Parameter<T> Weight { get; }

    /// <summary>b, or null without bias.</summary>
    public Parameter<T>? Bias { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>y (rows×out) for x (rows×in); keeps a reference to x for backward.</summary>
    public T[] Forward(T[] x, int rows)
    {
        if (x.Length != rows * InFeatures) throw new ArgumentException($"Linear {Weight.Name}: x needs {rows}×{InFeatures} elements, got {x.Length}.", nameof(x));
        _x = x;
        _rows = rows;
        var y = Ensure(ref _y, rows * OutFeatures);
        MatMul.Multiply<T>(x, Weight.Value, y, rows, OutFeatures, InFeatures, transB: true);
        if (Bias is not null)
        {
            var b = Bias.Value;
            for (int r = 0; r < rows; r++)
            {
                var row = y.AsSpan(r * OutFeatures, OutFeatures);
                VectorOps.Add<T>(row, b, row);
            }
        }
        return y;
    }

    /// <summary>dx (rows×in) from dy (rows×out); accumulates dW and db.</summary>
    public T[] Backward(T[] dy)
    {
        var x = _x ?? throw new InvalidOperationException("Linear.Backward before Forward.");
        if (dy.Length != _rows * OutFeatures) throw new ArgumentException($"Linear {Weight.Name}: dy needs {_rows}×{OutFeatures} elements, got {dy.Length}.", nameof(dy));
        MatMul.Multiply<T>(dy, x, Weight.Grad, OutFeatures, InFeatures, _rows, transA: true, accumulate: true);
        if (Bias is not null)
        {
            var db = Bias.Grad;
            for (int r = 0; r < _rows; r++)
            {
                VectorOps.Add<T>(db, dy.AsSpan(r * OutFeatures, OutFeatures), db);
            }
        }
        var dx = Ensure(ref _dx, _rows * InFeatures);
        MatMul.Multiply<T>(dy, Weight.Value, dx, _rows, InFeatures, OutFeatures);
        return dx;
    }
}
