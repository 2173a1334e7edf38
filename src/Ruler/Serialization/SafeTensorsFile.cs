using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Ruler.Serialization;

/// <summary>
/// Saves and loads named tensors in the safetensors layout, the format of Hugging Face's <c>safetensors</c>:
/// <list type="number">
/// <item>8 bytes: N, the header length, unsigned 64-bit little-endian;</item>
/// <item>N bytes: a UTF-8 JSON object mapping each name to
/// <c>{"dtype":"F32","shape":[...],"data_offsets":[begin,end]}</c>, and optionally <c>"__metadata__"</c> to an object
/// of string values; padded with spaces so the data starts at a multiple of 8 bytes;</item>
/// <item>the data: each tensor's elements little-endian, row-major, at [begin, end) counted from the end of the
/// header, with no gaps, no overlaps and nothing after the last.</item>
/// </list>
/// Dtypes F64, F32, F16, BF16 and I64 (<see cref="SafeTensorsDType"/>). Saving is atomic (a temporary file renamed
/// over the target: a failure leaves any previous file intact). Loading trusts nothing in the file: the header
/// length, the JSON, every dtype, shape and offset are checked, and any fault raises one
/// <see cref="SafeTensorsException"/> naming the file, the tensor where it applies, what was expected and what was found.
/// </summary>
public static class SafeTensorsFile
{
    /// <summary>The key of the optional string-to-string metadata in the header.</summary>
    public const string MetadataKey = "__metadata__";

    /// <summary>The longest header accepted when loading (100 MB, the limit of the reference implementation).</summary>
    public const int MaxHeaderLength = 100_000_000;

    /// <summary>Writes <paramref name="tensors"/> (in this order) to <paramref name="path"/>, replacing any previous file atomically.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="tensors">Tensors with unique, non-empty names and data matching their shapes.</param>
    /// <param name="metadata">Optional string pairs stored under <see cref="MetadataKey"/>.</param>
    /// <exception cref="ArgumentException">A tensor is invalid (nothing is written; any previous file is left as it was).</exception>
    /// <exception cref="IOException">The file cannot be written (any previous file is left as it was).</exception>
    public static void Save(string path, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(tensors);
        SafeTensor[] list = tensors.ToArray();
        byte[] header = Header(list, metadata);
        AtomicFile.Write(path, stream => WriteBody(stream, header, list));
    }

    /// <summary>Writes the file's bytes to <paramref name="stream"/> (not atomic: for memory or network streams).</summary>
    /// <param name="stream">A writable stream.</param>
    /// <param name="tensors">Tensors with unique, non-empty names and data matching their shapes.</param>
    /// <param name="metadata">Optional string pairs stored under <see cref="MetadataKey"/>.</param>
    /// <exception cref="ArgumentException">A tensor is invalid (nothing is written).</exception>
    public static void Write(Stream stream, IEnumerable<SafeTensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(tensors);
        SafeTensor[] list = tensors.ToArray();
        WriteBody(stream, Header(list, metadata), list);
    }

    /// <summary>Reads every tensor of <paramref name="path"/>, in the order the header lists them.</summary>
    /// <param name="path">A safetensors file.</param>
    /// <param name="only">When given, every tensor must have this dtype (checked as the header is read).</param>
    /// <returns>The tensors, each with a new array of its dtype's element type.</returns>
    /// <exception cref="SafeTensorsException">The file cannot be read or is not a valid safetensors file of the supported dtypes.</exception>
    public static IReadOnlyList<SafeTensor> Load(string path, SafeTensorsDType? only = null) => Load(path, out _, only);

    /// <summary>Reads every tensor of <paramref name="path"/>, in the order the header lists them, and the header's metadata.</summary>
    /// <param name="path">A safetensors file.</param>
    /// <param name="metadata">Receives the <see cref="MetadataKey"/> pairs (empty when the file has none).</param>
    /// <param name="only">When given, every tensor must have this dtype (checked as the header is read).</param>
    /// <returns>The tensors, each with a new array of its dtype's element type.</returns>
    /// <exception cref="SafeTensorsException">The file cannot be read or is not a valid safetensors file of the supported dtypes.</exception>
    public static IReadOnlyList<SafeTensor> Load(string path, out IReadOnlyDictionary<string, string> metadata, SafeTensorsDType? only = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] file;
        try
        {
            file = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SafeTensorsException(path, "a readable file", e.Message, e);
        }
        return Read(file, path, out metadata, only);
    }

    /// <summary>Reads the tensors of a safetensors file held in memory.</summary>
    /// <param name="bytes">The whole file.</param>
    /// <param name="source">The name errors give for it (a path, a resource name).</param>
    /// <param name="metadata">Receives the <see cref="MetadataKey"/> pairs (empty when the file has none).</param>
    /// <param name="only">When given, every tensor must have this dtype.</param>
    /// <returns>The tensors, in the order the header lists them.</returns>
    /// <exception cref="SafeTensorsException">The bytes are not a valid safetensors file of the supported dtypes.</exception>
    public static IReadOnlyList<SafeTensor> Read(ReadOnlySpan<byte> bytes, string source, out IReadOnlyDictionary<string, string> metadata,
        SafeTensorsDType? only = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var (entries, dataStart, meta) = ReadHeader(bytes, source, only);
        metadata = meta;
        var tensors = new SafeTensor[entries.Length];
        for (int i = 0; i < entries.Length; i++)
        {
            var e = entries[i];
            Array data = DTypes.New(e.DType, checked((int)e.Count));
            CopyLittleEndian(bytes.Slice(checked((int)(dataStart + e.Begin)), checked((int)(e.End - e.Begin))), data, DTypes.Size(e.DType));
            tensors[i] = new SafeTensor(e.Name, e.Shape, data);
        }
        return tensors;
    }

    /// <summary>
    /// Saves a module's <c>StateDict()</c> (name → values) as PyTorch's <c>torch.save</c>-free equivalent,
    /// <c>safetensors.torch.save_file(model.state_dict())</c>: each array 1-D, except <c>num_batches_tracked</c>,
    /// which PyTorch keeps as a 0-d I64 tensor (shape []).
    /// </summary>
    /// <param name="path">The file to create or replace (atomically).</param>
    /// <param name="state">Name → a <c>double[]</c>, <c>float[]</c>, <c>Half[]</c>, <c>BFloat16[]</c> or <c>long[]</c>.</param>
    /// <param name="prefix">Prepended to every name, e.g. <c>"bn1."</c> for a layer of a larger model (default none).</param>
    /// <exception cref="ArgumentException">A name or value is invalid (nothing is written).</exception>
    public static void SaveStateDict(string path, IReadOnlyDictionary<string, Array> state, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(prefix);
        Save(path, state.Select(kv => new SafeTensor(prefix + kv.Key,
            kv.Key == Internal.ModuleState.BatchesTracked && kv.Value is long[] { Length: 1 } ? [] : [kv.Value?.Length ?? 0], kv.Value!)));
    }

    /// <summary>
    /// Reads a state dict (name → values, every tensor flattened to a 1-D array) for <c>LoadStateDict</c>: the
    /// tensors whose names start with <paramref name="prefix"/>, with the prefix removed.
    /// </summary>
    /// <param name="path">A safetensors file, e.g. written by <see cref="SaveStateDict"/> or by PyTorch's <c>safetensors.torch.save_file</c>.</param>
    /// <param name="prefix">Only names starting with this are returned, without it (default: every tensor).</param>
    /// <returns>Name → a new array of the tensor's element type.</returns>
    /// <exception cref="SafeTensorsException">The file cannot be read or is not a valid safetensors file of the supported dtypes.</exception>
    public static Dictionary<string, Array> LoadStateDict(string path, string prefix = "")
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var state = new Dictionary<string, Array>(StringComparer.Ordinal);
        foreach (var t in Load(path))
            if (t.Name.StartsWith(prefix, StringComparison.Ordinal)) state[t.Name[prefix.Length..]] = t.Data;
        return state;
    }

    private sealed record Entry(string Name, SafeTensorsDType DType, int[] Shape, long Count, long Begin, long End);

    private static byte[] Header(SafeTensor[] tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        using var json = new MemoryStream();
        using (var writer = new Utf8JsonWriter(json))
        {
            writer.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                writer.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata)
                {
                    CheckText(key, "metadata key");
                    CheckText(value ?? throw new ArgumentNullException(nameof(metadata), $"metadata: expected a string for key \"{key}\", got null."),
                        "metadata value");
                    writer.WriteString(key, value);
                }
                writer.WriteEndObject();
            }
            long offset = 0;
            foreach (var t in tensors)
            {
                var dtype = CheckTensor(t);
                if (t.Name == MetadataKey)
                    throw new ArgumentException($"tensors: expected names other than the reserved \"{MetadataKey}\".", nameof(tensors));
                if (!names.Add(t.Name))
                    throw new ArgumentException($"tensors: expected unique names, got \"{t.Name}\" twice.", nameof(tensors));
                writer.WriteStartObject(t.Name);
                writer.WriteString("dtype", dtype.ToString());
                writer.WriteStartArray("shape");
                foreach (int d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                offset += (long)t.Data.Length * DTypes.Size(dtype);
                writer.WriteNumberValue(offset);
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        int padded = checked((int)((8 + json.Length + 7) / 8 * 8 - 8));
        byte[] header = new byte[padded];
        json.ToArray().CopyTo(header, 0);
        header.AsSpan((int)json.Length).Fill((byte)' ');
        return header;
    }

    private static void WriteBody(Stream stream, byte[] header, SafeTensor[] tensors)
    {
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
        stream.Write(length);
        stream.Write(header);
        foreach (var t in tensors)
        {
            int size = DTypes.Size(t.DType);
            var bytes = new byte[checked(t.Data.Length * size)];
            var source = MemoryMarshal.CreateReadOnlySpan(ref MemoryMarshal.GetArrayDataReference(t.Data), bytes.Length);
            source.CopyTo(bytes);
            if (!BitConverter.IsLittleEndian) ReverseEach(bytes, size);
            stream.Write(bytes);
        }
    }

    /// <summary>The argument checks of a save: name, shape, data type and length.</summary>
    internal static SafeTensorsDType CheckTensor(SafeTensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentException.ThrowIfNullOrEmpty(t.Name, nameof(SafeTensor.Name));
        CheckText(t.Name, "tensor name");
        ArgumentNullException.ThrowIfNull(t.Shape, nameof(SafeTensor.Shape));
        var dtype = DTypes.Of(t.Data, t.Name);
        long count = 1;
        foreach (int d in t.Shape)
        {
            if (d < 0) throw new ArgumentException($"tensor \"{t.Name}\": expected dimensions >= 0, got shape {ShapeText(t.Shape)}.", nameof(SafeTensor.Shape));
            count *= d;
            if (count > Array.MaxLength) break;
        }
        if (count != t.Data.Length)
            throw new ArgumentException(
                $"tensor \"{t.Name}\": expected {count} elements for shape {ShapeText(t.Shape)}, got {t.Data.Length}.", nameof(SafeTensor.Data));
        return dtype;
    }

    /// <summary>Refuses text with a surrogate that is not part of a pair (such text cannot survive UTF-8).</summary>
    private static void CheckText(string text, string what)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i]))
                throw new ArgumentException(
                    $"{what}: expected valid Unicode text (stored as UTF-8), got a lone surrogate U+{(int)text[i]:X4} at index {i}.",
                    what.StartsWith("tensor", StringComparison.Ordinal) ? nameof(SafeTensor.Name) : "metadata");
        }
    }

    private static (Entry[] Entries, long DataStart, IReadOnlyDictionary<string, string> Metadata) ReadHeader(ReadOnlySpan<byte> file,
        string path, SafeTensorsDType? only)
    {
        if (file.Length < 8)
            throw new SafeTensorsException(path, "at least 8 bytes (the header length)", $"{file.Length} bytes");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
            throw new SafeTensorsException(path, $"a header of {headerLength} bytes",
                $"only {file.Length - 8} bytes after the length (truncated or not a tensor file)");
        if (headerLength > MaxHeaderLength)
            throw new SafeTensorsException(path, $"a header of at most {MaxHeaderLength} bytes", $"{headerLength}");
        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;
        var headerBytes = file.Slice(8, (int)headerLength);
        if (!System.Text.Unicode.Utf8.IsValid(headerBytes))
            throw new SafeTensorsException(path, "a UTF-8 JSON header", "invalid UTF-8");
        var entries = new List<Entry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(headerBytes, new JsonReaderOptions { MaxDepth = 8 });
            using var doc = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
                throw new SafeTensorsException(path, "one JSON object as header", "more after it");
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new SafeTensorsException(path, "a JSON object as header", doc.RootElement.ValueKind.ToString());
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (!names.Add(property.Name))
                    throw new SafeTensorsException(path, "unique tensor names", $"\"{property.Name}\" twice");
                if (property.Name == MetadataKey) ReadMetadata(property.Value, path, metadata);
                else entries.Add(ReadEntry(property, path, only));
            }
        }
        catch (JsonException e)
        {
            throw new SafeTensorsException(path, "a JSON header", $"invalid JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // System.Text.Json raises this for a string it cannot transcode, e.g. a name escaping a lone surrogate ("\ud800").
            throw new SafeTensorsException(path, "a JSON header of valid Unicode strings", $"a string that is not ({e.Message})", e);
        }
        long expectedBegin = 0;
        // By begin, then end: a zero-size tensor at the offset where a non-empty one starts comes first, whatever the listing order.
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            if (e.Begin != expectedBegin)
                throw new SafeTensorsException(path, $"tensor \"{e.Name}\" to start at data byte {expectedBegin} (no gaps or overlaps)", $"{e.Begin}");
            if (e.End > dataLength)
                throw new SafeTensorsException(path, $"tensor \"{e.Name}\" to end within the {dataLength} data bytes", $"end {e.End} (truncated file)");
            expectedBegin = e.End;
        }
        if (expectedBegin != dataLength)
            throw new SafeTensorsException(path, $"{expectedBegin} data bytes after the header", $"{dataLength} (trailing bytes)");
        return (entries.ToArray(), dataStart, metadata);
    }

    private static void ReadMetadata(JsonElement value, string path, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new SafeTensorsException(path, $"\"{MetadataKey}\" as an object of strings", value.ValueKind.ToString());
        foreach (var item in value.EnumerateObject())
        {
            if (item.Value.ValueKind != JsonValueKind.String)
                throw new SafeTensorsException(path, $"\"{MetadataKey}\" as an object of strings", $"\"{item.Name}\": {item.Value.ValueKind}");
            if (!metadata.TryAdd(item.Name, item.Value.GetString()!))
                throw new SafeTensorsException(path, $"unique \"{MetadataKey}\" keys", $"\"{item.Name}\" twice");
        }
    }

    private static Entry ReadEntry(JsonProperty property, string path, SafeTensorsDType? only)
    {
        string name = property.Name;
        SafeTensorsException Bad(string expected, string found) => new(path, $"tensor \"{name}\" with {expected}", found);
        var value = property.Value;
        if (value.ValueKind != JsonValueKind.Object) throw Bad("an object of dtype, shape and data_offsets", value.ValueKind.ToString());
        bool hasDType = value.TryGetProperty("dtype", out var dtypeJson);
        string dtypeFound = hasDType ? dtypeJson.GetRawText() : "no dtype";
        string? dtypeText = hasDType && dtypeJson.ValueKind == JsonValueKind.String ? dtypeJson.GetString() : null;
        if (only is { } required && dtypeText != required.ToString())
            throw Bad($"dtype \"{required}\"", dtypeFound);
        if (!DTypes.TryParse(dtypeText, out var dtype))
            throw Bad($"a dtype of {DTypes.Names}", dtypeFound);
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
        long bytes = count * DTypes.Size(dtype);
        if (begin < 0 || end - begin != bytes)
            throw Bad($"{bytes} data bytes for shape {ShapeText(shape)}", $"data_offsets [{begin}, {end}]");
        return new Entry(name, dtype, shape, count, begin, end);
    }

    private static void CopyLittleEndian(ReadOnlySpan<byte> source, Array destination, int size)
    {
        var target = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(destination), source.Length);
        source.CopyTo(target);
        if (!BitConverter.IsLittleEndian) ReverseEach(target, size);
    }

    private static void ReverseEach(Span<byte> bytes, int size)
    {
        for (int i = 0; i < bytes.Length; i += size) bytes.Slice(i, size).Reverse();
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
