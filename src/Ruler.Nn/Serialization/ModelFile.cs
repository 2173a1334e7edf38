namespace Ruler.Nn.Serialization;

/// <summary>
/// A model's state (its named parameters and running-statistics buffers) in a <see cref="TensorFile"/>: saved
/// atomically, loaded only when the file holds exactly the model's names and lengths. Tensors are stored 1-D
/// (a <see cref="Parameter{T}"/> has no shape of its own; the model's configuration gives it back).
/// </summary>
public static class ModelFile
{
    /// <summary>Writes the state to <paramref name="path"/>, replacing any previous file atomically.</summary>
    /// <param name="path">The model file.</param>
    /// <param name="parameters">The model's <c>NamedParameters</c>.</param>
    /// <param name="buffers">The model's <c>NamedBuffers</c>.</param>
    public static void Save(string path, IEnumerable<NamedParameter<float>> parameters, IEnumerable<NamedBuffer<float>> buffers) =>
        TensorFile.Save(path, Tensors(parameters, buffers));

    /// <summary>Reads <paramref name="path"/> into the model's parameters and buffers, all or nothing.</summary>
    /// <param name="path">A file written by <see cref="Save"/> for a model of the same configuration.</param>
    /// <param name="parameters">The model's <c>NamedParameters</c>.</param>
    /// <param name="buffers">The model's <c>NamedBuffers</c>.</param>
    public static void Load(string path, IEnumerable<NamedParameter<float>> parameters, IEnumerable<NamedBuffer<float>> buffers) =>
        TensorFile.LoadInto(path, Tensors(parameters, buffers));

    private static IEnumerable<NamedTensor> Tensors(IEnumerable<NamedParameter<float>> parameters, IEnumerable<NamedBuffer<float>> buffers)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(buffers);
        return parameters.Select(p => new NamedTensor(p.Name, [p.Parameter.Value.Length], p.Parameter.Value))
            .Concat(buffers.Select(b => new NamedTensor(b.Name, [b.Values.Length], b.Values)));
    }
}
