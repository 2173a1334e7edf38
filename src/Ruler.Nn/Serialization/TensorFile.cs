using System.Buffers.Binary;
using System.Text.Json;
using Ruler.Nn.Data;

namespace Ruler.Nn.Serialization;

/// <summary>
/// Saves and loads named float32 tensors in the safetensors layout:
/// <list type="number">
/// <item>8 bytes: N, the header length, unsigned 64-bit little-endian;</item>
/// <item>N bytes: a UTF-8 JSON object mapping each name to
/// <c>{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}</c>, padded with spaces so the data starts at a
/// multiple of 8 bytes;</item>
/// <item>the data: each tensor's elements as little-endian float32, row-major, at [begin, end) counted from the
/// end of the header, in the order saved, with no gaps and nothing after the last.</item>
/// </list>
/// Saving is atomic (<see cref="AtomicFile"/>). Loading checks every field, and any fault raises one
/// <see cref="DataFileException"/> naming the file and, where it applies, the tensor.
/// </summary>
public static class TensorFile
{
    private const string DType = "F32";
    private const string MetadataKey = "__metadata__";

    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/>, replacing any previous file atomically.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="tensors">Tensors with unique, non-empty names and data matching their shapes.</param>
    public static void Save(string path, IEnumerable<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        NamedTensor[] list = tensors.ToArray();
        byte[] header = Header(list);
        AtomicFile.Write(path, stream =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            stream.Write(length);
            stream.Write(header);
            foreach (var t in list)
            {
                var bytes = new byte[t.Data.Length * sizeof(float)];
                for (int i = 0; i < t.Data.Length; i++)
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), t.Data[i]);
                stream.Write(bytes);
            }
        });
    }

    /// <summary>Reads every tensor of <paramref name="path"/>, in file order.</summary>
    /// <param name="path">A file written by <see cref="Save"/> (or any safetensors file of F32 tensors).</param>
    public static IReadOnlyList<NamedTensor> Load(string path)
    {
        byte[] file = DataFile.ReadAllBytes(path);
        var (entries, dataStart) = ReadHeader(file, path);
        return entries.Select(e =>
        {
            var data = new float[e.Count];
            ReadData(file, dataStart + e.Begin, data);
            return new NamedTensor(e.Name, e.Shape, data);
        }).ToArray();
    }

    /// <summary>
    /// Reads <paramref name="path"/> into existing tensors: the file must hold exactly these names with these shapes;
    /// each tensor's data array is overwritten. Nothing is written unless the whole file matches.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="destinations">The tensors to fill, e.g. a model's parameters with their shapes.</param>
    public static void LoadInto(string path, IEnumerable<NamedTensor> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        byte[] file = DataFile.ReadAllBytes(path);
        var (entries, dataStart) = ReadHeader(file, path);
        var byName = entries.ToDictionary(e => e.Name);
        NamedTensor[] targets = destinations.ToArray();
        foreach (var t in targets)
        {
            CheckTensor(t);
            if (!byName.TryGetValue(t.Name, out var e))
                throw new DataFileException(path, $"a tensor \"{t.Name}\"", "none of that name");
            if (!e.Shape.AsSpan().SequenceEqual(t.Shape))
                throw new DataFileException(path, $"tensor \"{t.Name}\" of shape {ShapeText(t.Shape)}", $"shape {ShapeText(e.Shape)}");
        }
        var wanted = targets.Select(t => t.Name).ToHashSet();
        var extra = entries.FirstOrDefault(e => !wanted.Contains(e.Name));
        if (extra is not null)
            throw new DataFileException(path, $"only the {targets.Length} tensors of the model", $"an extra tensor \"{extra.Name}\"");
        foreach (var t in targets) ReadData(file, dataStart + byName[t.Name].Begin, t.Data);
    }

    private sealed record Entry(string Name, int[] Shape, long Count, long Begin, long End);

    private static byte[] Header(NamedTensor[] tensors)
    {
        var names = new HashSet<string>();
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            long offset = 0;
            foreach (var t in tensors)
            {
                CheckTensor(t);
                if (t.Name == MetadataKey)
                    throw new ArgumentException($"tensors: expected names other than the reserved \"{MetadataKey}\".", nameof(tensors));
                if (!names.Add(t.Name))
                    throw new ArgumentException($"tensors: expected unique names, got \"{t.Name}\" twice.", nameof(tensors));
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", DType);
                writer.WriteStartArray("shape");
                foreach (int d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += (long)t.Data.Length * sizeof(float);
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        int padded = (int)((8 + json.Length + 7) / 8 * 8 - 8);
        byte[] header = new byte[padded];
        json.ToArray().CopyTo(header, 0);
        header.AsSpan((int)json.Length).Fill((byte)' ');
        return header;
    }

    private static void CheckTensor(NamedTensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentException.ThrowIfNullOrEmpty(t.Name, nameof(NamedTensor.Name));
        int lone = LoneSurrogate(t.Name);
        if (lone >= 0)
            throw new ArgumentException(
                $"tensor name: expected valid Unicode text (names are stored as UTF-8), got a lone surrogate U+{(int)t.Name[lone]:X4} at index {lone}.",
                nameof(NamedTensor.Name));
        ArgumentNullException.ThrowIfNull(t.Shape, nameof(NamedTensor.Shape));
        ArgumentNullException.ThrowIfNull(t.Data, nameof(NamedTensor.Data));
        long count = 1;
        foreach (int d in t.Shape)
        {
            if (d < 0) throw new ArgumentException($"tensor \"{t.Name}\": expected dimensions >= 0, got shape {ShapeText(t.Shape)}.", nameof(NamedTensor.Shape));
            count *= d;
        }
        if (count != t.Data.Length)
            throw new ArgumentException(
                $"tensor \"{t.Name}\": expected {count} elements for shape {ShapeText(t.Shape)}, got {t.Data.Length}.", nameof(NamedTensor.Data));
    }

    private static (Entry[] Entries, long DataStart) ReadHeader(byte[] file, string path)
    {
        if (file.Length < 8)
            throw new DataFileException(path, "at least 8 bytes (the header length)", $"{file.Length} bytes");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
            throw new DataFileException(path, $"a header of {headerLength} bytes", $"only {file.Length - 8} bytes after the length (truncated or not a tensor file)");
        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;
        if (!System.Text.Unicode.Utf8.IsValid(file.AsSpan(8, (int)headerLength)))
            throw new DataFileException(path, "a UTF-8 JSON header", "invalid UTF-8");
        var entries = new List<Entry>();
        try
        {
            using var doc = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DataFileException(path, "a JSON object as header", doc.RootElement.ValueKind.ToString());
            var names = new HashSet<string>();
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == MetadataKey) continue;
                if (!names.Add(property.Name))
                    throw new DataFileException(path, "unique tensor names", $"\"{property.Name}\" twice");
                entries.Add(ReadEntry(property, path));
            }
        }
        catch (JsonException e)
        {
            throw new DataFileException(path, "a JSON header", $"invalid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json raises this for a string it cannot transcode, e.g. a name escaping a lone surrogate ("\ud800").
            throw new DataFileException(path, "a JSON header of valid Unicode strings", $"a string that is not ({e.Message})", e);
        }
        long expectedBegin = 0;
        // By begin, then end: a zero-size tensor at the offset where a non-empty one starts comes first, whatever the listing order.
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != expectedBegin)
                throw new DataFileException(path, $"tensor \"{e.Name}\" to start at data byte {expectedBegin} (no gaps or overlaps)", $"{e.Begin}");
            if (e.End > dataLength)
                throw new DataFileException(path, $"tensor \"{e.Name}\" to end within the {dataLength} data bytes", $"end {e.End} (truncated file)");
            expectedBegin = e.End;
        }
        if (expectedBegin != dataLength)
            throw new DataFileException(path, $"{expectedBegin} data bytes after the header", $"{dataLength} (trailing bytes)");
        return (entries.ToArray(), dataStart);
    }

    private static Entry ReadEntry(JsonProperty property, string path)
    {
        string name = property.Name;
        DataFileException Bad(string expected, string found) => new(path, $"tensor \"{name}\" with {expected}", found);
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object) throw Bad("an object of dtype, shape and data_offsets", value.ValueKind.ToString());
        if (!value.TryGetProperty("dtype", out var dtype) || dtype.ValueKind != JsonValueKind.String || dtype.GetString() != DType)
            throw Bad($"dtype \"{DType}\"", dtype.ValueKind == JsonValueKind.Undefined ? "no dtype" : dtype.GetRawText());
        if (!value.TryGetProperty("shape", out var shapeJson) || shapeJson.ValueKind != JsonValueKind.Array
            || shapeJson.EnumerateArray().Any(d => d.ValueKind != JsonValueKind.Number || !d.TryGetInt32(out int v) || v < 0))
            throw Bad("a shape of integers >= 0", shapeJson.ValueKind == JsonValueKind.Undefined ? "no shape" : shapeJson.GetRawText());
        int[] shape = shapeJson.EnumerateArray().Select(d => d.GetInt32()).ToArray();
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > Array.MaxLength) throw Bad($"at most {Array.MaxLength} elements", $"shape {ShapeText(shape)}");
        }
        if (!value.TryGetProperty("data_offsets", out var offsets) || offsets.ValueKind != JsonValueKind.Array
            || offsets.GetArrayLength() != 2 || offsets[0].ValueKind != JsonValueKind.Number || offsets[1].ValueKind != JsonValueKind.Number
            || !offsets[0].TryGetInt64(out long begin) || !offsets[1].TryGetInt64(out long end))
            throw Bad("data_offsets [begin, end]", offsets.ValueKind == JsonValueKind.Undefined ? "no data_offsets" : offsets.GetRawText());
        if (begin < 0 || end - begin != count * sizeof(float))
            throw Bad($"{count * sizeof(float)} data bytes for shape {ShapeText(shape)}", $"data_offsets [{begin}, {end}]");
        return new Entry(name, shape, count, begin, end);
    }

    private static void ReadData(byte[] file, long start, float[] destination)
    {
        var bytes = file.AsSpan(checked((int)start), destination.Length * sizeof(float));
        for (int i = 0; i < destination.Length; i++)
            destination[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
    }

    /// <summary>The index of the first surrogate that is not part of a pair (such text cannot survive UTF-8), or −1.</summary>
    private static int LoneSurrogate(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return i;
        }
        return -1;
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
