namespace Ruler.Serialization;

/// <summary>The element types a <see cref="SafeTensorsFile"/> holds, by their safetensors names.</summary>
public enum SafeTensorsDType
{
    /// <summary>IEEE binary64: <see cref="double"/>.</summary>
    F64,
    /// <summary>IEEE binary32: <see cref="float"/>.</summary>
    F32,
    /// <summary>IEEE binary16: <see cref="Half"/>.</summary>
    F16,
    /// <summary>bfloat16: <see cref="BFloat16"/>.</summary>
    BF16,
    /// <summary>Signed 64-bit integer: <see cref="long"/> (PyTorch's <c>num_batches_tracked</c>).</summary>
    I64,
}

/// <summary>A named tensor as saved to and loaded from a <see cref="SafeTensorsFile"/>.</summary>
/// <param name="Name">Unique, non-empty name within a file, e.g. <c>"bn1.running_mean"</c>.</param>
/// <param name="Shape">Dimensions, row-major; empty for a scalar (one element). Their product must equal the data length.</param>
/// <param name="Data">The elements in row-major order: a <c>double[]</c>, <c>float[]</c>, <c>Half[]</c>, <c>BFloat16[]</c> or <c>long[]</c>, which sets the dtype.</param>
public sealed record SafeTensor(string Name, int[] Shape, Array Data)
{
    /// <summary>The safetensors dtype of <see cref="Data"/>.</summary>
    /// <exception cref="ArgumentException">Data is not an array of one of the five element types.</exception>
    public SafeTensorsDType DType => DTypes.Of(Data, Name);
}

/// <summary>The element size and CLR type of each dtype.</summary>
internal static class DTypes
{
    public const string Names = "F64, F32, F16, BF16 or I64";

    public static SafeTensorsDType Of(Array? data, string? name) => data switch
    {
        double[] => SafeTensorsDType.F64,
        float[] => SafeTensorsDType.F32,
        Half[] => SafeTensorsDType.F16,
        BFloat16[] => SafeTensorsDType.BF16,
        long[] => SafeTensorsDType.I64,
        null => throw new ArgumentNullException(nameof(SafeTensor.Data), $"tensor \"{name}\": expected data, got null."),
        _ => throw new ArgumentException(
            $"tensor \"{name}\": expected data of type double[], float[], Half[], BFloat16[] or long[] (dtype {Names}), got {data.GetType().Name}.",
            nameof(SafeTensor.Data)),
    };

    public static int Size(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.F64 or SafeTensorsDType.I64 => 8,
        SafeTensorsDType.F32 => 4,
        _ => 2,
    };

    public static Array New(SafeTensorsDType dtype, int count) => dtype switch
    {
        SafeTensorsDType.F64 => new double[count],
        SafeTensorsDType.F32 => new float[count],
        SafeTensorsDType.F16 => new Half[count],
        SafeTensorsDType.BF16 => new BFloat16[count],
        _ => new long[count],
    };

    public static bool TryParse(string? text, out SafeTensorsDType dtype)
    {
        switch (text)
        {
            case "F64": dtype = SafeTensorsDType.F64; return true;
            case "F32": dtype = SafeTensorsDType.F32; return true;
            case "F16": dtype = SafeTensorsDType.F16; return true;
            case "BF16": dtype = SafeTensorsDType.BF16; return true;
            case "I64": dtype = SafeTensorsDType.I64; return true;
            default: dtype = default; return false;
        }
    }
}

/// <summary>A file that is not a valid safetensors file (or not one this call accepts): names the file, what was expected and what was found.</summary>
public sealed class SafeTensorsException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="fileName">The file at fault.</param>
    /// <param name="expected">What the reader expected.</param>
    /// <param name="found">What it found instead.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public SafeTensorsException(string fileName, string expected, string found, Exception? inner = null)
        : base($"{fileName}: expected {expected}, found {found}.", inner)
    {
        FileName = fileName;
        Expected = expected;
        Found = found;
    }

    /// <summary>The file at fault.</summary>
    public string FileName { get; }

    /// <summary>What the reader expected.</summary>
    public string Expected { get; }

    /// <summary>What it found instead.</summary>
    public string Found { get; }
}
