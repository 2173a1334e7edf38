namespace Ruler.Nn;

/// <summary>
/// The shift-without-scale control: y = x − mean(x) over each group of <see cref="Features"/> contiguous values
/// (the last dim of a token). No statistics are learned or saved; backward is dx = dy − mean(dy), the same
/// projection. It is not a ruler — nothing sets the unit — which is what experiment E7 wants to show.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class CenterOnly<T>(int features) : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private T[]? _y, _dx;

    /// <summary>Values per group.</summary>
    public int Features { get; } = features >= 1 ? features : throw new ArgumentOutOfRangeException(nameof(features), features, "CenterOnly needs >= 1 feature.");

    /// <summary>y = x − mean per group.</summary>
    public T[] Forward(T[] x) => Center(x, ref _y);

    /// <summary>dx = dy − mean(dy) per group (centering is a symmetric projection).</summary>
    public T[] Backward(T[] dy) => Center(dy, ref _dx);

    private T[] Center(T[] x, ref T[]? buffer)
    {
        if (x.Length % Features != 0) throw new ArgumentException($"CenterOnly: length {x.Length} is not a multiple of {Features}.", nameof(x));
        var y = Ensure(ref buffer, x.Length);
        T inv = Const(1.0 / Features);
        for (int g = 0; g < x.Length; g += Features)
        {
            T sum = T.Zero;
            for (int i = 0; i < Features; i++) sum += x[g + i];
            T mean = sum * inv;
            for (int i = 0; i < Features; i++) y[g + i] = x[g + i] - mean;
        }
        return y;
    }
}
