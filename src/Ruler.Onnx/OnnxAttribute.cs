using Onnx;

namespace Ruler.Onnx;

/// <summary>An attribute of an ONNX node: an int or a float, named as in the operator's specification.</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(AttributeProto proto) => Proto = proto;

    /// <summary>The attribute's name.</summary>
    public string Name => Proto.Name;

    internal AttributeProto Proto { get; }

    /// <summary>An integer attribute (ONNX <c>INT</c>), e.g. <c>axis</c> or <c>num_groups</c>.</summary>
    public static OnnxAttribute Int(string name, long value) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });

    /// <summary>A float attribute (ONNX <c>FLOAT</c>, i.e. float32), e.g. <c>epsilon</c>.</summary>
    public static OnnxAttribute Float(string name, float value) =>
        new(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value });

    /// <inheritdoc />
    public override string ToString() => Proto.Type == AttributeProto.Types.AttributeType.Int ? $"{Name}={Proto.I}" : $"{Name}={Proto.F}";
}
