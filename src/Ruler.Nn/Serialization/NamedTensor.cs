namespace Ruler.Nn.Serialization;

/// <summary>A float32 tensor with a name, as saved to and loaded from a <see cref="TensorFile"/>.</summary>
/// <param name="Name">Unique name within a file, e.g. "blocks.0.attn.weight".</param>
/// <param name="Shape">Dimensions, row-major; the product must equal the data length.</param>
/// <param name="Data">Elements in row-major order.</param>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data);
