using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;

namespace Ruler.Cli.Inspect;

/// <summary>A numeric array read from a NumPy .npy file: its dtype as an ONNX element type, its shape and its bytes (little-endian, C order).</summary>
internal sealed record NpyArray(int ElementType, long[] Shape, byte[] Data);

/// <summary>
/// Reads and writes NumPy's .npy format (versions 1–3): the magic "\x93NUMPY", a version, a header length and a
/// Python-dict header with 'descr', 'fortran_order' and 'shape', then the raw elements.
/// </summary>
internal static partial class NpyFile
{
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads a numeric array; every problem becomes an <see cref="InspectException"/> naming the file.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InspectException($"{path}: cannot read the .npy file: {e.Message}");
        }
        return Parse(path, bytes);
    }

    /// <summary>Parses .npy bytes (<paramref name="path"/> only names them in messages).</summary>
    public static NpyArray Parse(string path, byte[] bytes)
    {
        InspectException Bad(string what) => new($"{path}: not a valid .npy array: {what}");
        if (bytes.Length < 10 || !bytes.AsSpan(0, 6).SequenceEqual(Magic)) throw Bad("it does not start with the .npy magic bytes");
        int major = bytes[6];
        int headerStart, headerLength;
        if (major == 1) { headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes.AsSpan(8)); headerStart = 10; }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw Bad("the header is truncated");
            headerLength = (int)Math.Min(int.MaxValue, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8)));
            headerStart = 12;
        }
        else throw Bad($"format version {major} is not one of 1, 2, 3");
        if ((long)headerStart + headerLength > bytes.Length) throw Bad("the header is truncated");
        string header = (major == 3 ? Encoding.UTF8 : Encoding.Latin1).GetString(bytes, headerStart, headerLength);

        var descr = DescrPattern().Match(header);
        var fortran = FortranPattern().Match(header);
        var shapeMatch = ShapePattern().Match(header);
        if (!descr.Success || !fortran.Success || !shapeMatch.Success) throw Bad("the header lacks 'descr', 'fortran_order' or 'shape'");
        if (fortran.Groups[1].Value == "True") throw Bad("it is in Fortran order; save a C-ordered array (np.ascontiguousarray)");
        string d = descr.Groups[1].Value;
        if (d.Length < 2) throw Bad($"dtype '{d}' is not a numeric array type");
        if (d[0] == '>' && d[1..] is not ("i1" or "u1" or "b1")) throw Bad($"dtype '{d}' is big-endian; save it little-endian");
        int type = d[1..] switch
        {
            "f4" => OnnxTensors.Float, "f8" => OnnxTensors.Double, "f2" => OnnxTensors.Float16,
            "i8" => OnnxTensors.Int64, "i4" => OnnxTensors.Int32, "i2" => OnnxTensors.Int16, "i1" => OnnxTensors.Int8,
            "u8" => OnnxTensors.UInt64, "u4" => OnnxTensors.UInt32, "u2" => OnnxTensors.UInt16, "u1" => OnnxTensors.UInt8,
            "b1" => OnnxTensors.Bool,
            _ => throw Bad($"dtype '{d}' is not a numeric array type"),
        };
        var shape = new List<long>();
        foreach (string part in shapeMatch.Groups[1].Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!long.TryParse(part.TrimEnd('L'), out long dim) || dim < 0) throw Bad($"shape entry '{part}' is not a size");
            shape.Add(dim);
        }
        long count = 1;
        try { foreach (long dim in shape) count = checked(count * dim); }
        catch (OverflowException) { throw Bad("the shape is too large"); }
        int size = OnnxTensors.ElementSize(type, path);
        long dataStart = headerStart + headerLength;
        long expected = count * size;
        if (bytes.Length - dataStart != expected)
            throw Bad($"shape ({string.Join(", ", shape)}) of {OnnxTensors.TypeName(type)} needs {expected} bytes of data, the file has {bytes.Length - dataStart}");
        return new NpyArray(type, shape.ToArray(), bytes.AsSpan((int)dataStart).ToArray());
    }

    /// <summary>Writes a float32 array (used by tests and examples).</summary>
    public static void Write(string path, ReadOnlySpan<float> values, params long[] shape) =>
        Write(path, "<f4", System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), shape);

    /// <summary>Writes an int64 array.</summary>
    public static void Write(string path, ReadOnlySpan<long> values, params long[] shape) =>
        Write(path, "<i8", System.Runtime.InteropServices.MemoryMarshal.AsBytes(values), shape);

    private static void Write(string path, string descr, ReadOnlySpan<byte> data, long[] shape)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var file = File.Create(path);
        file.Write(Magic);
        file.Write([1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        file.Write(len);
        file.Write(Encoding.Latin1.GetBytes(header));
        file.Write(data);
    }

    [GeneratedRegex(@"'descr'\s*:\s*'([^']*)'")]
    private static partial Regex DescrPattern();

    [GeneratedRegex(@"'fortran_order'\s*:\s*(True|False)")]
    private static partial Regex FortranPattern();

    [GeneratedRegex(@"'shape'\s*:\s*\(([^)]*)\)")]
    private static partial Regex ShapePattern();
}
