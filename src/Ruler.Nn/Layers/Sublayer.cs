namespace Ruler.Nn;

/// <summary>
/// The F of a residual block x + F(·): a layer on a (batch, time, dim) activation that keeps its width, with an
/// optional dropout on its output that follows the layer's <see cref="Training"/> mode.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class Sublayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private Dropout<T>? _dropout;

    /// <summary>Width of the input and the output.</summary>
    public abstract int Dim { get; }

    /// <inheritdoc />
    public override bool Training
    {
        get => base.Training;
        set
        {
            base.Training = value;
            if (_dropout is not null) _dropout.Training = value;
        }
    }

    /// <summary>y = F(x) for x of shape (batch, time, dim).</summary>
    public abstract T[] Forward(T[] x, int batch, int time);

    /// <summary>dx from dy for the x of the last forward; accumulates parameter gradients.</summary>
    public abstract T[] Backward(T[] dy);

    /// <summary>Adds an output dropout with drop probability <paramref name="p"/> when p &gt; 0 (none otherwise).</summary>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="seed">Seed of the dropout's own random stream.</param>
    protected void UseDropout(double p, ulong seed)
    {
        if (p > 0) _dropout = new Dropout<T>(p, seed);
    }

    /// <summary>The output dropout's forward applied to <paramref name="y"/>, or y itself when there is none.</summary>
    /// <param name="y">The sublayer's output before dropout.</param>
    protected T[] DropoutForward(T[] y) => _dropout is null ? y : _dropout.Forward(y);

    /// <summary>The output dropout's backward applied to <paramref name="dy"/>, or dy itself when there is none.</summary>
    /// <param name="dy">The gradient with respect to the sublayer's output after dropout.</param>
    protected T[] DropoutBackward(T[] dy) => _dropout is null ? dy : _dropout.Backward(dy);
}
