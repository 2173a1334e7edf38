namespace Ruler.Nn;

/// <summary>Token embedding: row tokens[i] of a vocab×dim table. Init N(0, 1) (PyTorch's default). Backward scatters dy into the table's gradient.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Embedding<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private int[]? _tokens;
    private T[]? _y;

    /// <summary>Creates a table named "name.weight".</summary>
    public Embedding(string name, int vocabSize, int dim, Rng rng)
    {
        if (vocabSize < 1 || dim < 1) throw new ArgumentOutOfRangeException(nameof(vocabSize), $"Embedding {name}: sizes must be >= 1, got {vocabSize}×{dim}.");
        VocabSize = vocabSize;
        Dim = dim;
        Weight = new Parameter<T>(name + ".weight", new T[vocabSize * dim]);
        Init.Normal<T>(Weight.Value, 0, 1, rng);
        _parameters = [Weight];
    }

    /// <summary>Number of rows.</summary>
    public int VocabSize { get; }

    /// <summary>Embedding width.</summary>
    public int Dim { get; }

    /// <summary>The vocab×dim table.</summary>
    public Parameter<T> Weight { get; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <summary>y (tokens×dim).</summary>
    public T[] Forward(int[] tokens)
    {
        var y = Ensure(ref _y, tokens.Length * Dim);
        for (int i = 0; i < tokens.Length; i++)
        {
            int t = tokens[i];
            if ((uint)t >= (uint)VocabSize) throw new ArgumentOutOfRangeException(nameof(tokens), $"Embedding {Weight.Name}: token {t} at {i} is outside [0, {VocabSize}).");
            Weight.Value.AsSpan(t * Dim, Dim).CopyTo(y.AsSpan(i * Dim, Dim));
        }
        _tokens = tokens;
        return y;
    }

    /// <summary>Accumulates dy into the rows that were looked up (tokens have no gradient).</summary>
    public void Backward(T[] dy)
    {
        var tokens = _tokens ?? throw new InvalidOperationException("Embedding.Backward before Forward.");
        CheckGradient("Embedding", dy, tokens.Length * Dim);
        var g = Weight.Grad;
        for (int i = 0; i < tokens.Length; i++)
        {
            int o = tokens[i] * Dim;
            for (int j = 0; j < Dim; j++) g[o + j] += dy[i * Dim + j];
        }
    }
}
