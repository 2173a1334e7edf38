using System.Buffers.Binary;
using Onnx;

namespace Ruler.Cli.Inspect;

/// <summary>ONNX element type codes (TensorProto.DataType) and reading a TensorProto's values.</summary>
internal static class OnnxTensors
{
    public const int Float = 1, UInt8 = 2, Int8 = 3, UInt16 = 4, Int16 = 5, Int32 = 6, Int64 = 7, Bool = 9,
        Float16 = 10, Double = 11, UInt32 = 12, UInt64 = 13, BFloat16 = 16;

    public static string TypeName(int type) => type switch
    {
        Float => "float32", UInt8 => "uint8", Int8 => "int8", UInt16 => "uint16", Int16 => "int16", Int32 => "int32",
        Int64 => "int64", Bool => "bool", Float16 => "float16", Double => "float64", UInt32 => "uint32", UInt64 => "uint64",
        BFloat16 => "bfloat16", 8 => "string", _ => $"type {type}",
    };

    /// <summary>The values of a tensor as float64, in row-major order.</summary>
    /// <exception cref="InvalidDataException">The tensor's data is missing, external, or does not match its dims.</exception>
    public static double[] Values(TensorProto t)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External) throw new InvalidDataException($"tensor '{t.Name}' keeps its data in an external file, which inspect does not read");
        long count = 1;
        foreach (long d in t.Dims)
        {
            if (d < 0) throw new InvalidDataException($"tensor '{t.Name}' has a negative dimension {d}");
            count = checked(count * d);
        }
        if (count > int.MaxValue) throw new InvalidDataException($"tensor '{t.Name}' has {count} elements, too many");
        var values = new double[count];
        if (!t.RawData.IsEmpty)
        {
            ReadOnlySpan<byte> raw = t.RawData.Span;
            int size = ElementSize(t.DataType, t.Name);
            if (raw.Length != count * size)
                throw new InvalidDataException($"tensor '{t.Name}' holds {raw.Length} bytes of data, expected {count} × {size}");
            for (int i = 0; i < values.Length; i++) values[i] = ReadRaw(raw.Slice(i * size, size), t.DataType);
            return values;
        }
        int n = t.DataType switch
        {
            Float => Fill(values, t.FloatData, v => v),
            Double => Fill(values, t.DoubleData, v => v),
            Int64 => Fill(values, t.Int64Data, v => v),
            UInt32 or UInt64 => Fill(values, t.Uint64Data, v => v),
            Float16 => Fill(values, t.Int32Data, v => (double)BitConverter.UInt16BitsToHalf((ushort)v)),
            BFloat16 => Fill(values, t.Int32Data, v => (double)BitConverter.Int32BitsToSingle(v << 16)),
            Int32 or Int16 or Int8 or UInt16 or UInt8 or Bool => Fill(values, t.Int32Data, v => v),
            _ => throw new InvalidDataException($"tensor '{t.Name}' has element type {TypeName(t.DataType)}, which inspect does not read"),
        };
        if (n != count) throw new InvalidDataException($"tensor '{t.Name}' holds {n} values, its dims say {count}");
        return values;
    }

    private static int Fill<T>(double[] values, IList<T> data, Func<T, double> convert)
    {
        if (data.Count != values.Length) return data.Count;
        for (int i = 0; i < values.Length; i++) values[i] = convert(data[i]);
        return values.Length;
    }

    public static int ElementSize(int type, string name) => type switch
    {
        Float or Int32 or UInt32 => 4,
        Double or Int64 or UInt64 => 8,
        Float16 or BFloat16 or Int16 or UInt16 => 2,
        Int8 or UInt8 or Bool => 1,
        _ => throw new InvalidDataException($"tensor '{name}' has element type {TypeName(type)}, which inspect does not read"),
    };

    private static double ReadRaw(ReadOnlySpan<byte> b, int type) => type switch
    {
        Float => BinaryPrimitives.ReadSingleLittleEndian(b),
        Double => BinaryPrimitives.ReadDoubleLittleEndian(b),
        Float16 => (double)BinaryPrimitives.ReadHalfLittleEndian(b),
        BFloat16 => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b) << 16),
        Int64 => BinaryPrimitives.ReadInt64LittleEndian(b),
        UInt64 => BinaryPrimitives.ReadUInt64LittleEndian(b),
        Int32 => BinaryPrimitives.ReadInt32LittleEndian(b),
        UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(b),
        Int16 => BinaryPrimitives.ReadInt16LittleEndian(b),
        UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(b),
        Int8 => (sbyte)b[0],
        _ => b[0],
    };
}
