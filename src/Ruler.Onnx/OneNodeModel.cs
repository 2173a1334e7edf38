using Google.Protobuf;
using Onnx;

namespace Ruler.Onnx;

/// <summary>
/// An ONNX model whose graph is a single node, built in memory: every node input is a graph input (parameters
/// and statistics included, so one model serves any values) and every node output a graph output. The factories
/// name ports after the operator specification (X, Scale, B, …) and fix shapes, so ONNX Runtime can check them.
/// </summary>
public sealed class OneNodeModel
{
    /// <summary>The domain of Microsoft's contrib operators in ONNX Runtime.</summary>
    public const string MicrosoftDomain = "com.microsoft";

    private OneNodeModel(ModelProto proto, string opType, string domain, int opset, OnnxElementType type,
        IReadOnlyList<OnnxPort> inputs, IReadOnlyList<OnnxPort> outputs)
    {
        Proto = proto;
        OpType = opType;
        Domain = domain;
        Opset = opset;
        ElementType = type;
        Inputs = inputs;
        Outputs = outputs;
    }

    /// <summary>The operator, e.g. "LayerNormalization".</summary>
    public string OpType { get; }

    /// <summary>The operator's domain: "" for the default ONNX domain.</summary>
    public string Domain { get; }

    /// <summary>The version of the default ONNX domain the model imports (the operator's opset when its domain is "").</summary>
    public int Opset { get; }

    /// <summary>The element type of every input and output.</summary>
    public OnnxElementType ElementType { get; }

    /// <summary>The graph inputs in node-input order (omitted optional inputs are not listed).</summary>
    public IReadOnlyList<OnnxPort> Inputs { get; }

    /// <summary>The graph outputs in node-output order (omitted optional outputs are not listed).</summary>
    public IReadOnlyList<OnnxPort> Outputs { get; }

    /// <summary>The model as an OnnxSharp protobuf message (e.g. to write it to a file for inspection).</summary>
    public ModelProto Proto { get; }

    /// <summary>The serialized model, what <see cref="OnnxRunner"/> (or any ONNX tool) loads.</summary>
    public byte[] ToBytes() => Proto.ToByteArray();

    /// <summary>Builds a one-node model for any operator.</summary>
    /// <param name="opType">The operator name.</param>
    /// <param name="opset">The default-domain opset to import (the operator's version when <paramref name="domain"/> is "").</param>
    /// <param name="type">Element type of every port.</param>
    /// <param name="inputs">Node inputs in order; <see cref="OnnxPort.Omitted"/> skips an optional one.</param>
    /// <param name="outputs">Node outputs in order; <see cref="OnnxPort.Omitted"/> skips an optional one.</param>
    /// <param name="attributes">Node attributes (absent ones take the specification's defaults).</param>
    /// <param name="domain">The operator's domain ("" for ONNX, <see cref="MicrosoftDomain"/> for contrib operators).</param>
    /// <param name="domainVersion">The opset imported for <paramref name="domain"/> when it is not "".</param>
    public static OneNodeModel Create(string opType, int opset, OnnxElementType type, IReadOnlyList<OnnxPort> inputs,
        IReadOnlyList<OnnxPort> outputs, IEnumerable<OnnxAttribute>? attributes = null, string domain = "", int domainVersion = 1)
    {
        ArgumentException.ThrowIfNullOrEmpty(opType);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (opset < 1) throw new ArgumentOutOfRangeException(nameof(opset), opset, "expected an opset >= 1");
        int elemType = OnnxElementTypes.ToProto(type);

        var node = new NodeProto { OpType = opType, Domain = domain, Name = opType + "_0" };
        foreach (var p in inputs) node.Input.Add(p.Name);
        foreach (var p in outputs) node.Output.Add(p.Name);
        while (node.Input.Count > 0 && node.Input[^1].Length == 0) node.Input.RemoveAt(node.Input.Count - 1);
        while (node.Output.Count > 0 && node.Output[^1].Length == 0) node.Output.RemoveAt(node.Output.Count - 1);
        if (attributes is not null) foreach (var a in attributes) node.Attribute.Add(a.Proto);

        var graph = new GraphProto { Name = opType };
        graph.Node.Add(node);
        var graphInputs = inputs.Where(p => !p.IsOmitted).ToArray();
        var graphOutputs = outputs.Where(p => !p.IsOmitted).ToArray();
        foreach (var p in graphInputs) graph.Input.Add(ValueInfo(p, elemType));
        foreach (var p in graphOutputs) graph.Output.Add(ValueInfo(p, elemType));

        var model = new ModelProto
        {
            IrVersion = IrVersionFor(opset),
            ProducerName = "Ruler.Onnx",
            Graph = graph,
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        if (domain.Length != 0) model.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = domainVersion });
        return new OneNodeModel(model, opType, domain, opset, type, graphInputs, graphOutputs);
    }

    /// <summary>
    /// LayerNormalization (opset 17): Y = (X − mean)/√(var + epsilon)·Scale + B over the axes from <paramref name="axis"/>
    /// to the last; Scale and B have X's trailing shape. Inputs X, Scale, B (optional); output Y.
    /// </summary>
    /// <param name="xShape">Shape of X.</param>
    /// <param name="axis">First normalized axis (negative counts from the end).</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="type">Element type.</param>
    /// <param name="bias">Whether the model has the optional B input.</param>
    /// <param name="opset">Default-domain opset (LayerNormalization exists since 17).</param>
    public static OneNodeModel LayerNormalization(int[] xShape, int axis = -1, float epsilon = 1e-5f,
        OnnxElementType type = OnnxElementType.Float, bool bias = true, int opset = 17)
    {
        int[] affine = xShape[ResolveAxis(axis, xShape.Length, nameof(axis))..];
        return Create("LayerNormalization", opset, type,
            [new("X", xShape), new("Scale", affine), bias ? new("B", affine) : OnnxPort.Omitted],
            [new("Y", xShape)],
            [OnnxAttribute.Int("axis", axis), OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("stash_type", StashType(type))]);
    }

    /// <summary>
    /// RMSNormalization (opset 23): Y = X/√(mean(X²) + epsilon)·scale over the axes from <paramref name="axis"/> to the last.
    /// Inputs X, scale; output Y.
    /// </summary>
    /// <param name="xShape">Shape of X.</param>
    /// <param name="axis">First normalized axis.</param>
    /// <param name="epsilon">Added to the mean square.</param>
    /// <param name="type">Element type.</param>
    /// <param name="opset">Default-domain opset (RMSNormalization exists since 23).</param>
    public static OneNodeModel RmsNormalization(int[] xShape, int axis = -1, float epsilon = 1e-5f,
        OnnxElementType type = OnnxElementType.Float, int opset = 23)
    {
        int[] affine = xShape[ResolveAxis(axis, xShape.Length, nameof(axis))..];
        return Create("RMSNormalization", opset, type,
            [new("X", xShape), new("scale", affine)],
            [new("Y", xShape)],
            [OnnxAttribute.Int("axis", axis), OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("stash_type", StashType(type))]);
    }

    /// <summary>
    /// ONNX Runtime's SimplifiedLayerNormalization (RMSNorm before ONNX had one; registered by ONNX Runtime in the default
    /// domain, version 1): Y = X/√(mean(X²) + epsilon)·scale. Inputs X, scale; output Y.
    /// </summary>
    /// <param name="xShape">Shape of X.</param>
    /// <param name="axis">First normalized axis.</param>
    /// <param name="epsilon">Added to the mean square.</param>
    /// <param name="type">Element type.</param>
    /// <param name="opset">Default-domain opset to import.</param>
    public static OneNodeModel SimplifiedLayerNormalization(int[] xShape, int axis = -1, float epsilon = 1e-5f,
        OnnxElementType type = OnnxElementType.Float, int opset = 17)
    {
        int[] affine = xShape[ResolveAxis(axis, xShape.Length, nameof(axis))..];
        return Create("SimplifiedLayerNormalization", opset, type,
            [new("X", xShape), new("scale", affine)],
            [new("Y", xShape)],
            [OnnxAttribute.Int("axis", axis), OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("stash_type", StashType(type))]);
    }

    /// <summary>
    /// BatchNormalization (opset 15) in inference mode: Y = (X − input_mean)/√(input_var + epsilon)·scale + B per channel
    /// (axis 1 of X = (N, C, …)). Inputs X, scale, B, input_mean, input_var (each of length C); output Y.
    /// </summary>
    /// <param name="xShape">Shape of X, (N, C, …).</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="type">Element type.</param>
    /// <param name="opset">Default-domain opset.</param>
    public static OneNodeModel BatchNormalization(int[] xShape, float epsilon = 1e-5f, OnnxElementType type = OnnxElementType.Float,
        int opset = 15)
    {
        int[] c = [Channels(xShape)];
        return Create("BatchNormalization", opset, type,
            [new("X", xShape), new("scale", c), new("B", c), new("input_mean", c), new("input_var", c)],
            [new("Y", xShape)],
            [OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("training_mode", 0)]);
    }

    /// <summary>
    /// GroupNormalization (opset 21): statistics per (sample, group of C/num_groups channels), then scale and bias
    /// per channel (opset 21 semantics; opset 18 indexed them per group). Inputs X (N, C, …), scale (C), bias (C); output Y.
    /// </summary>
    /// <param name="xShape">Shape of X, (N, C, …).</param>
    /// <param name="numGroups">G, a divisor of C.</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="type">Element type.</param>
    /// <param name="opset">Default-domain opset.</param>
    public static OneNodeModel GroupNormalization(int[] xShape, int numGroups, float epsilon = 1e-5f,
        OnnxElementType type = OnnxElementType.Float, int opset = 21)
    {
        int[] c = [Channels(xShape)];
        return Create("GroupNormalization", opset, type,
            [new("X", xShape), new("scale", c), new("bias", c)],
            [new("Y", xShape)],
            [OnnxAttribute.Float("epsilon", epsilon), OnnxAttribute.Int("num_groups", numGroups), OnnxAttribute.Int("stash_type", StashType(type))]);
    }

    /// <summary>
    /// InstanceNormalization: statistics per (sample, channel) over the spatial positions; scale and B per channel.
    /// Inputs input (N, C, spatial…), scale (C), B (C); output output.
    /// </summary>
    /// <param name="xShape">Shape of the input, (N, C, spatial…).</param>
    /// <param name="epsilon">Added to the variance.</param>
    /// <param name="type">Element type.</param>
    /// <param name="opset">Default-domain opset.</param>
    public static OneNodeModel InstanceNormalization(int[] xShape, float epsilon = 1e-5f, OnnxElementType type = OnnxElementType.Float,
        int opset = 17)
    {
        int[] c = [Channels(xShape)];
        return Create("InstanceNormalization", opset, type,
            [new("input", xShape), new("scale", c), new("B", c)],
            [new("output", xShape)],
            [OnnxAttribute.Float("epsilon", epsilon)]);
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{(Domain.Length == 0 ? "" : Domain + ".")}{OpType} (opset {Opset}, {ElementType}): " +
        $"{string.Join(", ", Inputs.Select(p => $"{p.Name}[{string.Join(",", p.Shape)}]"))} -> {string.Join(", ", Outputs.Select(p => p.Name))}";

    private static ValueInfoProto ValueInfo(OnnxPort port, int elemType)
    {
        var shape = new TensorShapeProto();
        foreach (int d in port.Shape) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto
        {
            Name = port.Name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = elemType, Shape = shape } },
        };
    }

    /// <summary>The IR version of the ONNX release that introduced the opset (IR 8: opsets 15–18, 9: 19–20, 10: 21–22, 11: 23+).</summary>
    private static long IrVersionFor(int opset) => opset switch
    {
        <= 18 => 8,
        <= 20 => 9,
        <= 22 => 10,
        _ => 11,
    };

    /// <summary>Accumulate in float32 for float inputs and in float64 for double inputs.</summary>
    private static long StashType(OnnxElementType type) => OnnxElementTypes.ToProto(type);

    private static int ResolveAxis(int axis, int rank, string argument)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentOutOfRangeException(argument, axis, $"expected an axis in [-{rank}, {rank - 1}]");
        return a;
    }

    private static int Channels(int[] xShape)
    {
        ArgumentNullException.ThrowIfNull(xShape);
        if (xShape.Length < 2) throw new ArgumentException($"xShape: expected (N, C, …) of rank >= 2, got rank {xShape.Length}.", nameof(xShape));
        return xShape[1];
    }
}
