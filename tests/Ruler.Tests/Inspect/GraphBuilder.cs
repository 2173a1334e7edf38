using Google.Protobuf;
using Onnx;

namespace Ruler.Tests.Inspect;

/// <summary>Builds small float32 ONNX models node by node for the inspect tests.</summary>
internal sealed class GraphBuilder
{
    private readonly GraphProto _graph = new() { Name = "test" };
    private readonly List<OperatorSetIdProto> _opsets = [];
    private int _next;

    public GraphBuilder(int opset = 17)
    {
        _opsets.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        Opset = opset;
    }

    public int Opset { get; }

    /// <summary>A float32 graph input; a null entry in <paramref name="shape"/> is a symbolic dimension named after its position.</summary>
    public string Input(string name, params long?[] shape) => Declare(_graph.Input, name, 1, shape);

    /// <summary>An int64 graph input.</summary>
    public string Int64Input(string name, params long?[] shape) => Declare(_graph.Input, name, 7, shape);

    /// <summary>Declares a graph output.</summary>
    public void Output(string name, params long?[] shape) => Declare(_graph.Output, name, 1, shape);

    /// <summary>A float32 initializer.</summary>
    public string Constant(string name, float[] values, params long[] dims)
    {
        var t = new TensorProto { Name = name, DataType = 1 };
        t.Dims.Add(dims);
        t.FloatData.Add(values);
        _graph.Initializer.Add(t);
        return name;
    }

    /// <summary>A float32 scalar initializer.</summary>
    public string Scalar(float value) => Constant($"c{_next++}", [value]);

    /// <summary>An int64 initializer (shapes, axes).</summary>
    public string Int64s(params long[] values)
    {
        var t = new TensorProto { Name = $"i{_next++}", DataType = 7 };
        t.Dims.Add(values.Length);
        t.Int64Data.Add(values);
        _graph.Initializer.Add(t);
        return t.Name;
    }

    /// <summary>Adds a node and returns its first output's name.</summary>
    public string Node(string op, string[] inputs, Action<NodeProto>? attributes = null, string domain = "", int outputs = 1, string? name = null)
    {
        var node = new NodeProto { OpType = op, Domain = domain, Name = name ?? $"{op}_{_next++}" };
        node.Input.Add(inputs);
        for (int i = 0; i < outputs; i++) node.Output.Add($"{node.Name}_out{i}");
        attributes?.Invoke(node);
        _graph.Node.Add(node);
        if (domain.Length != 0 && _opsets.All(o => o.Domain != domain)) _opsets.Add(new OperatorSetIdProto { Domain = domain, Version = 1 });
        return node.Output[0];
    }

    public string Node(string op, params string[] inputs) => Node(op, inputs, null);

    public static void Float(NodeProto n, string name, float v) => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = v });
    public static void Int(NodeProto n, string name, long v) => n.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = v });
    public static void Ints(NodeProto n, string name, params long[] v)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(v);
        n.Attribute.Add(a);
    }

    /// <summary>ReduceMean over <paramref name="axes"/>, keepdims 1 (axes as an attribute before opset 18, as an input from 18).</summary>
    public string ReduceMean(string x, params long[] axes) => Opset >= 18
        ? Node("ReduceMean", [x, Int64s(axes)], n => Int(n, "keepdims", 1))
        : Node("ReduceMean", [x], n => { Ints(n, "axes", axes); Int(n, "keepdims", 1); });

    /// <summary>
    /// A decomposed LayerNorm as PyTorch's exporter writes it: (x − mean) / √(mean((x − mean)²) + eps) · γ + β.
    /// </summary>
    public string DecomposedLayerNorm(string x, float[] gamma, float[] beta, float eps, long axis = -1, string prefix = "ln")
    {
        string mean = ReduceMean(x, axis);
        string d = Node("Sub", x, mean);
        string sq = Node("Pow", d, Scalar(2));
        string v = ReduceMean(sq, axis);
        string s = Node("Sqrt", Node("Add", v, Scalar(eps)));
        string n = Node("Div", d, s);
        string g = Node("Mul", n, Constant(prefix + ".weight", gamma, gamma.Length));
        return Node("Add", g, Constant(prefix + ".bias", beta, beta.Length));
    }

    /// <summary>A decomposed RMSNorm as LLaMA-style exports write it: x · 1/√(mean(x·x) + eps) · γ.</summary>
    public string DecomposedRmsNorm(string x, float[] gamma, float eps, long axis = -1)
    {
        string sq = Node("Mul", x, x);
        string v = ReduceMean(sq, axis);
        string r = Node("Reciprocal", Node("Sqrt", Node("Add", v, Scalar(eps))));
        string n = Node("Mul", x, r);
        return Node("Mul", Constant($"rms{_next++}.weight", gamma, gamma.Length), n);
    }

    public byte[] Build()
    {
        var model = new ModelProto { IrVersion = Opset >= 21 ? 10 : 8, ProducerName = "Ruler.Tests", Graph = _graph };
        model.OpsetImport.Add(_opsets);
        return model.ToByteArray();
    }

    /// <summary>Writes the model to a fresh temporary file and returns its path.</summary>
    public string Save(string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "ruler-inspect-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name);
        File.WriteAllBytes(path, Build());
        return path;
    }

    private static string Declare(Google.Protobuf.Collections.RepeatedField<ValueInfoProto> list, string name, int type, long?[] shape)
    {
        var s = new TensorShapeProto();
        for (int i = 0; i < shape.Length; i++)
            s.Dim.Add(shape[i] is long v ? new TensorShapeProto.Types.Dimension { DimValue = v } : new TensorShapeProto.Types.Dimension { DimParam = $"d{i}" });
        list.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = type, Shape = s } } });
        return name;
    }
}
