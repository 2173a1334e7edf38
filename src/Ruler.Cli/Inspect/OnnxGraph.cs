using Google.Protobuf;
using Onnx;

namespace Ruler.Cli.Inspect;

/// <summary>
/// An ONNX model read from a file and indexed for pattern matching: which node produces each value, which nodes
/// consume it, which values are constants (initializers and Constant nodes), and the rank of every value whose
/// rank follows from the graph (declared shapes, or a small set of rank rules for the common operators).
/// </summary>
internal sealed class OnnxGraph
{
    private readonly Dictionary<string, NodeProto> _producer = new();
    private readonly Dictionary<string, List<NodeProto>> _consumers = new();
    private readonly Dictionary<string, TensorProto> _constants = new();
    private readonly Dictionary<string, int> _rank = new();
    private readonly Dictionary<NodeProto, int> _order = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, double[]> _valueCache = new();

    private OnnxGraph(string path, ModelProto model)
    {
        Path = path;
        Model = model;
        Graph = model.Graph;
        Opset = (int)(model.OpsetImport.FirstOrDefault(o => o.Domain is "" or "ai.onnx")?.Version ?? 0);
        var known = new HashSet<string>(StringComparer.Ordinal) { "" };
        foreach (var t in Graph.Initializer) { _constants[t.Name] = t; known.Add(t.Name); }
        foreach (var v in Graph.Input) known.Add(v.Name);
        foreach (var v in Graph.Input.Concat(Graph.ValueInfo).Concat(Graph.Output))
            if (v.Type?.TensorType?.Shape is { } s) _rank[v.Name] = s.Dim.Count;
        foreach (var t in Graph.Initializer) _rank[t.Name] = t.Dims.Count;

        for (int i = 0; i < Graph.Node.Count; i++)
        {
            var node = Graph.Node[i];
            _order[node] = i;
            foreach (string input in node.Input)
            {
                if (!known.Contains(input))
                    throw new InspectException($"{path}: not a valid ONNX graph: node {Describe(node)} reads '{input}', which no earlier node, input or initializer defines (corrupted or not topologically sorted)");
                if (input.Length == 0) continue;
                if (!_consumers.TryGetValue(input, out var list)) _consumers[input] = list = [];
                list.Add(node);
            }
            foreach (string output in node.Output)
            {
                if (output.Length == 0) continue;
                _producer[output] = node;
                known.Add(output);
            }
            if (node.OpType == "Constant" && node.Domain is "" or "ai.onnx" && node.Output.Count == 1) AddConstantNode(node);
            InferRank(node);
        }
        foreach (var o in Graph.Output)
            if (!known.Contains(o.Name))
                throw new InspectException($"{path}: not a valid ONNX graph: output '{o.Name}' is produced by no node");
    }

    /// <summary>The file the model was read from.</summary>
    public string Path { get; }

    /// <summary>The model.</summary>
    public ModelProto Model { get; }

    /// <summary>Its main graph.</summary>
    public GraphProto Graph { get; }

    /// <summary>The default-domain opset the model imports.</summary>
    public int Opset { get; }

    /// <summary>Reads and indexes a model file; every problem with the file becomes an <see cref="InspectException"/>.</summary>
    public static OnnxGraph Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new InspectException($"{path}: cannot read the model file: {e.Message}");
        }
        return Parse(path, bytes);
    }

    /// <summary>Parses and indexes model bytes (<paramref name="path"/> only names them in messages).</summary>
    public static OnnxGraph Parse(string path, byte[] bytes)
    {
        if (bytes.Length == 0) throw new InspectException($"{path}: not an ONNX model: the file is empty");
        ModelProto model;
        try { model = ModelProto.Parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException e)
        {
            throw new InspectException($"{path}: not an ONNX model, or a truncated or corrupted one: {e.Message.TrimEnd('.')}");
        }
        if (model.Graph is null || model.IrVersion <= 0 || model.OpsetImport.Count == 0)
            throw new InspectException($"{path}: not an ONNX model: no graph, IR version or opset import in the file");
        if (model.Graph.Node.Count == 0) throw new InspectException($"{path}: the ONNX model's graph has no nodes");
        return new OnnxGraph(path, model);
    }

    /// <summary>The nodes in graph order.</summary>
    public IReadOnlyList<NodeProto> Nodes => Graph.Node;

    /// <summary>The node's position in graph order.</summary>
    public int OrderOf(NodeProto node) => _order[node];

    /// <summary>The node that computes a value, or null for graph inputs and initializers.</summary>
    public NodeProto? Producer(string value) => _producer.GetValueOrDefault(value);

    /// <summary>The nodes that read a value, in graph order.</summary>
    public IReadOnlyList<NodeProto> Consumers(string value) => _consumers.TryGetValue(value, out var c) ? c : [];

    /// <summary>Whether a value is a graph output.</summary>
    public bool IsGraphOutput(string value) => Graph.Output.Any(o => o.Name == value);

    /// <summary>Whether a value is fixed by the model (an initializer or a Constant node's output).</summary>
    public bool IsConstant(string value) => _constants.ContainsKey(value);

    /// <summary>The tensor of a constant value, or null.</summary>
    public TensorProto? Constant(string value) => _constants.GetValueOrDefault(value);

    /// <summary>A constant's values as float64 (cached), or null when the value is not a constant.</summary>
    public double[]? ConstantValues(string value)
    {
        if (!_constants.TryGetValue(value, out var t)) return null;
        if (_valueCache.TryGetValue(value, out var cached)) return cached;
        try { return _valueCache[value] = OnnxTensors.Values(t); }
        catch (InvalidDataException e) { throw new InspectException($"{Path}: {e.Message}"); }
    }

    /// <summary>The single value of a one-element constant, or null.</summary>
    public double? Scalar(string value) => IsConstant(value) && ConstantValues(value) is [double v] ? v : null;

    /// <summary>The rank of a value when the graph determines it.</summary>
    public int? Rank(string value) => _rank.TryGetValue(value, out int r) ? r : null;

    /// <summary>The declared dims of a constant (initializer or Constant node).</summary>
    public long[]? ConstantDims(string value) => _constants.TryGetValue(value, out var t) ? t.Dims.ToArray() : null;

    /// <summary>Whether <paramref name="ancestor"/> is <paramref name="value"/> or one of the values it is computed from.</summary>
    /// <param name="value">The value whose inputs are searched.</param>
    /// <param name="ancestor">The value looked for.</param>
    /// <param name="barriers">Values whose own inputs are not searched (they can still be found themselves).</param>
    public bool DependsOn(string value, string ancestor, IReadOnlySet<string>? barriers = null)
    {
        if (value == ancestor) return true;
        var target = Producer(ancestor);
        int floor = target is null ? -1 : OrderOf(target);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<string>();
        stack.Push(value);
        while (stack.Count > 0)
        {
            string v = stack.Pop();
            if (!seen.Add(v)) continue;
            var node = Producer(v);
            if (node is null || OrderOf(node) < floor) continue;
            foreach (string input in node.Input)
            {
                if (input == ancestor) return true;
                if (input.Length != 0 && !IsConstant(input) && barriers?.Contains(input) != true) stack.Push(input);
            }
        }
        return false;
    }

    /// <summary>An integer attribute, or the default.</summary>
    public static long IntAttribute(NodeProto node, string name, long fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.I : fallback;

    /// <summary>A float attribute, or the default.</summary>
    public static double FloatAttribute(NodeProto node, string name, double fallback) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.F : fallback;

    /// <summary>An integer-list attribute, or null.</summary>
    public static long[]? IntsAttribute(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name) is { } a ? a.Ints.ToArray() : null;

    /// <summary>"OpType 'name'" for messages.</summary>
    public static string Describe(NodeProto node) => node.Name.Length != 0 ? $"{node.OpType} '{node.Name}'" : $"{node.OpType} -> '{node.Output.FirstOrDefault()}'";

    private void AddConstantNode(NodeProto node)
    {
        var a = node.Attribute.FirstOrDefault();
        if (a is null) return;
        TensorProto? t = a.Name switch
        {
            "value" => a.T,
            "value_float" => Tensor(OnnxTensors.Float, [], t => t.FloatData.Add(a.F)),
            "value_floats" => Tensor(OnnxTensors.Float, [a.Floats.Count], t => t.FloatData.Add(a.Floats)),
            "value_int" => Tensor(OnnxTensors.Int64, [], t => t.Int64Data.Add(a.I)),
            "value_ints" => Tensor(OnnxTensors.Int64, [a.Ints.Count], t => t.Int64Data.Add(a.Ints)),
            _ => null,
        };
        if (t is null) return;
        var copy = t.Clone();
        copy.Name = node.Output[0];
        _constants[node.Output[0]] = copy;
        _rank[node.Output[0]] = copy.Dims.Count;
    }

    private static TensorProto Tensor(int type, long[] dims, Action<TensorProto> fill)
    {
        var t = new TensorProto { DataType = type };
        t.Dims.Add(dims);
        fill(t);
        return t;
    }

    /// <summary>Rank propagation for the operators that carry normalizations' inputs in common exports.</summary>
    private void InferRank(NodeProto node)
    {
        if (node.Output.Count == 0 || node.Output[0].Length == 0 || _rank.ContainsKey(node.Output[0])) return;
        int? In(int i) => i < node.Input.Count && node.Input[i].Length != 0 ? Rank(node.Input[i]) : null;
        int? MaxIn()
        {
            int? r = null;
            foreach (string i in node.Input)
            {
                if (i.Length == 0) continue;
                if (Rank(i) is not int ri) return null;
                r = Math.Max(r ?? 0, ri);
            }
            return r;
        }
        int? rank = node.OpType switch
        {
            "Add" or "Sub" or "Mul" or "Div" or "Pow" or "Where" or "Max" or "Min" or "Sum" or "Equal" or "Greater" or "Less" => MaxIn(),
            "Relu" or "LeakyRelu" or "Sigmoid" or "Tanh" or "Erf" or "Gelu" or "Sqrt" or "Reciprocal" or "Neg" or "Exp" or "Log" or "Abs"
                or "Cast" or "Identity" or "Dropout" or "Softmax" or "Clip" or "HardSigmoid" or "HardSwish" or "Not"
                or "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool" or "GlobalAveragePool" or "GlobalMaxPool" or "BatchNormalization"
                or "LayerNormalization" or "InstanceNormalization" or "GroupNormalization" or "RMSNormalization" or "SimplifiedLayerNormalization"
                or "SkipLayerNormalization" or "SkipSimplifiedLayerNormalization" or "Transpose" or "Resize" or "Pad" or "Slice"
                or "Concat" or "Split" or "Upsample" or "LRN" => In(0),
            "MatMul" => MaxIn(),
            "Gemm" or "Flatten" => 2,
            "Gather" => In(0) is int d && In(1) is int ix ? d - 1 + ix : null,
            "Shape" => 1,
            "Reshape" => ConstantDims(node.Input[1]) is [long n] ? (int)n : null,
            "Unsqueeze" => In(0) is int u ? u + (IntsAttribute(node, "axes")?.Length ?? (node.Input.Count > 1 ? ConstantValues(node.Input[1])?.Length : null) ?? 0) : null,
            "Squeeze" => In(0) is int s && (IntsAttribute(node, "axes")?.Length ?? (node.Input.Count > 1 ? ConstantValues(node.Input[1])?.Length : null)) is int k ? s - k : null,
            "ReduceMean" or "ReduceSum" or "ReduceMax" or "ReduceMin" or "ReduceL2" => IntAttribute(node, "keepdims", 1) == 1 ? In(0) : null,
            _ => null,
        };
        if (rank is int value) _rank[node.Output[0]] = value;
    }
}
