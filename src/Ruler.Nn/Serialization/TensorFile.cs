using Ruler.Nn.Data;
using Ruler.Serialization;

namespace Ruler.Nn.Serialization;

/// <summary>
/// Saves and loads named float32 tensors in the safetensors layout: the engine's view of the library's
/// <see cref="SafeTensorsFile"/> (the one implementation of the format, its checks and its atomic save), restricted to
/// F32, with every fault reported as one <see cref="DataFileException"/> naming the file and, where it applies, the tensor.
/// </summary>
public static class TensorFile
{
    /// <summary>Writes <paramref name="tensors"/> to <paramref name="path"/>, replacing any previous file atomically.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="tensors">Tensors with unique, non-empty names and data matching their shapes.</param>
    public static void Save(string path, IEnumerable<NamedTensor> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        SafeTensorsFile.Save(path, tensors.Select(ToLibrary).ToArray());
    }

    /// <summary>Reads every tensor of <paramref name="path"/>, in file order.</summary>
    /// <param name="path">A file written by <see cref="Save"/> (or any safetensors file of F32 tensors).</param>
    public static IReadOnlyList<NamedTensor> Load(string path) =>
        Read(path).Select(t => new NamedTensor(t.Name, t.Shape, (float[])t.Data)).ToArray();

    /// <summary>
    /// Reads <paramref name="path"/> into existing tensors: the file must hold exactly these names with these shapes;
    /// each tensor's data array is overwritten. Nothing is written unless the whole file matches.
    /// </summary>
    /// <param name="path">The model file.</param>
    /// <param name="destinations">The tensors to fill, e.g. a model's parameters with their shapes.</param>
    public static void LoadInto(string path, IEnumerable<NamedTensor> destinations)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        NamedTensor[] targets = destinations.ToArray();
        foreach (var t in targets) ToLibrary(t);   // the same argument checks as a save, before the file is read
        var entries = Read(path);
        var byName = entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        foreach (var t in targets)
        {
            if (!byName.TryGetValue(t.Name, out var e))
                throw new DataFileException(path, $"a tensor \"{t.Name}\"", "none of that name");
            if (!e.Shape.AsSpan().SequenceEqual(t.Shape))
                throw new DataFileException(path, $"tensor \"{t.Name}\" of shape {ShapeText(t.Shape)}", $"shape {ShapeText(e.Shape)}");
        }
        var wanted = targets.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var extra = entries.FirstOrDefault(e => !wanted.Contains(e.Name));
        if (extra is not null)
            throw new DataFileException(path, $"only the {targets.Length} tensors of the model", $"an extra tensor \"{extra.Name}\"");
        foreach (var t in targets) ((float[])byName[t.Name].Data).CopyTo(t.Data, 0);
    }

    private static IReadOnlyList<SafeTensor> Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return SafeTensorsFile.Load(path, SafeTensorsDType.F32);
        }
        catch (SafeTensorsException e)
        {
            throw new DataFileException(e.FileName, e.Expected, e.Found, e);
        }
    }

    private static SafeTensor ToLibrary(NamedTensor t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var tensor = new SafeTensor(t.Name, t.Shape, t.Data);
        SafeTensorsFile.CheckTensor(tensor);
        return tensor;
    }

    private static string ShapeText(int[] shape) => "[" + string.Join(", ", shape) + "]";
}
