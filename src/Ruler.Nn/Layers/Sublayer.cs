namespace Ruler.Nn;

/// <summary>The F of a residual block x + F(·): a layer on a (batch, time, dim) activation that keeps its width.</summary>
/// <typeparam name="T">Element type.</typeparam>
public abstract class Sublayer<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Width of the input and the output.</summary>
    public abstract int Dim { get; }

    /// <summary>y = F(x) for x of shape (batch, time, dim).</summary>
    public abstract T[] Forward(T[] x, int batch, int time);

    /// <summary>dx from dy for the x of the last forward; accumulates parameter gradients.</summary>
    public abstract T[] Backward(T[] dy);
}
