using Ruler.Internal;

namespace Ruler;

/// <summary>
/// A layer that can fill a normalization slot: the five normalizers and the normalization-free control (DyT).
/// Forward keeps what backward needs (llm.c style): call <see cref="Backward"/> with the same input after
/// <see cref="Forward"/>. Gradients of parameters are accumulated into <see cref="Parameter{T}.Grad"/>.
/// </summary>
/// <typeparam name="T">Element type: float, double, Half or <see cref="BFloat16"/>.</typeparam>
public abstract class Normalizer<T> where T : unmanaged
{
    private protected Normalizer() => Check.ElementType<T>();

    /// <summary>Training mode (batch statistics, running statistics updated) or eval mode. Default true, like PyTorch.</summary>
    public bool Training { get; set; } = true;

    /// <summary>The learnable parameters (empty when the layer has none).</summary>
    public abstract IReadOnlyList<Parameter<T>> Parameters { get; }

    /// <summary>y = layer(x) for a contiguous tensor of the given shape.</summary>
    public abstract void Forward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, Span<T> y);

    /// <summary>dx from dy, for the input of the last <see cref="Forward"/>; accumulates parameter gradients.</summary>
    public abstract void Backward(ReadOnlySpan<T> x, ReadOnlySpan<int> shape, ReadOnlySpan<T> dy, Span<T> dx);

    /// <summary>Zeroes every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    private protected static T[] Filled(int length, double value)
    {
        var a = new T[length];
        Array.Fill(a, Num.FromDouble<T>(value));
        return a;
    }

    private protected static void Accumulate(T[] into, ReadOnlySpan<T> add)
    {
        for (int i = 0; i < into.Length; i++) into[i] = Num.FromDouble<T>(Num.ToDouble(into[i]) + Num.ToDouble(add[i]));
    }
}
