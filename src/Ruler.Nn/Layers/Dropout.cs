namespace Ruler.Nn;

/// <summary>
/// Inverted dropout: in training each element is zeroed with probability p and the survivors scaled by 1/(1 − p);
/// in eval (or p = 0) the identity. The mask comes from the layer's own seeded <see cref="Rng"/>.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Dropout<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Rng _rng;
    private T[]? _mask, _y, _dx;
    private bool _active;
    private int _length = -1;

    /// <summary>Creates a dropout layer with drop probability p in [0, 1).</summary>
    public Dropout(double p, ulong seed)
    {
        if (!(p >= 0 && p < 1)) throw new ArgumentOutOfRangeException(nameof(p), p, "Dropout probability must be in [0, 1).");
        P = p;
        _rng = new Rng(seed);
    }

    /// <summary>Drop probability.</summary>
    public double P { get; }

    /// <summary>y = x·mask/(1 − p) in training, x otherwise (returned as is).</summary>
    public T[] Forward(T[] x)
    {
        _active = Training && P > 0;
        _length = x.Length;
        if (!_active) return x;
        var mask = Ensure(ref _mask, x.Length);
        var y = Ensure(ref _y, x.Length);
        T keep = Const(1 / (1 - P));
        for (int i = 0; i < x.Length; i++)
        {
            mask[i] = _rng.NextDouble() < P ? T.Zero : keep;
            y[i] = x[i] * mask[i];
        }
        return y;
    }

    /// <summary>dx = dy·mask/(1 − p) with the mask of the last forward.</summary>
    public T[] Backward(T[] dy)
    {
        if (_length < 0) throw new InvalidOperationException("Dropout.Backward before Forward.");
        CheckGradient("Dropout", dy, _length);
        if (!_active) return dy;
        var mask = _mask!;
        var dx = Ensure(ref _dx, dy.Length);
        for (int i = 0; i < dy.Length; i++) dx[i] = dy[i] * mask[i];
        return dx;
    }
}
