using Onnx;

namespace Ruler.Onnx;

/// <summary>The element types the one-node models use (a subset of ONNX's <c>TensorProto.DataType</c>).</summary>
public enum OnnxElementType
{
    /// <summary>float32 (ONNX <c>FLOAT</c> = 1).</summary>
    Float = 1,

    /// <summary>float64 (ONNX <c>DOUBLE</c> = 11).</summary>
    Double = 11,
}

/// <summary>Mapping between CLR element types and <see cref="OnnxElementType"/>.</summary>
public static class OnnxElementTypes
{
    /// <summary>The ONNX element type of <typeparamref name="T"/> (float or double).</summary>
    /// <exception cref="NotSupportedException"><typeparamref name="T"/> is neither float nor double.</exception>
    public static OnnxElementType Of<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? OnnxElementType.Float
        : typeof(T) == typeof(double) ? OnnxElementType.Double
        : throw new NotSupportedException($"element type: expected float or double, got {typeof(T).Name}.");

    internal static int ToProto(OnnxElementType type) => type switch
    {
        OnnxElementType.Float => (int)TensorProto.Types.DataType.Float,
        OnnxElementType.Double => (int)TensorProto.Types.DataType.Double,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "expected Float or Double"),
    };
}
