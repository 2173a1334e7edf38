namespace Ruler.Onnx;

/// <summary>A dense row-major tensor: its elements and its shape.</summary>
/// <typeparam name="T">Element type (float or double).</typeparam>
/// <param name="Data">Elements in row-major order; the length is the product of <paramref name="Shape"/>.</param>
/// <param name="Shape">Dimensions.</param>
public readonly record struct OnnxTensor<T>(T[] Data, int[] Shape) where T : unmanaged
{
    /// <summary>The product of the dimensions.</summary>
    public long ElementCount => Shape.Aggregate(1L, (p, d) => p * d);

    internal long[] LongShape() => Array.ConvertAll(Shape, d => (long)d);

    internal void Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(Data, name);
        ArgumentNullException.ThrowIfNull(Shape, name);
        if (Data.Length != ElementCount)
            throw new ArgumentException(
                $"{name}: expected {ElementCount} elements for shape [{string.Join(", ", Shape)}], got {Data.Length}.", name);
    }
}
