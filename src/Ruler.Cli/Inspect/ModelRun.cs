using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Onnx;

namespace Ruler.Cli.Inspect;

/// <summary>A tensor read back from ONNX Runtime, widened to float64; <see cref="ElementType"/> is its ONNX type.</summary>
internal sealed record CapturedTensor(int[] Shape, double[] Values, int ElementType);

/// <summary>
/// Dynamic analysis's model run: the inputs (from .npy files or drawn at random from the declared shapes and
/// types), and one ONNX Runtime run of the model with extra graph outputs for the values to capture.
/// </summary>
internal static class ModelRun
{
    /// <summary>How the inputs are chosen.</summary>
    internal sealed record InputOptions(IReadOnlyDictionary<string, string> Files, bool Random, int Seed, IReadOnlyDictionary<string, long> Dims);

    /// <summary>One input tensor ready for ONNX Runtime.</summary>
    internal sealed record ModelInput(string Name, int ElementType, long[] Shape, byte[] Data, string Origin);

    /// <summary>The graph inputs ONNX Runtime expects (initializers listed as inputs by older exporters excluded).</summary>
    public static List<ValueInfoProto> GraphInputs(OnnxGraph graph) =>
        graph.Graph.Input.Where(i => !graph.IsConstant(i.Name)).ToList();

    /// <summary>Builds every input tensor, checking names, dtypes and shapes against the graph.</summary>
    public static List<ModelInput> Inputs(OnnxGraph graph, InputOptions options)
    {
        var declared = GraphInputs(graph);
        string names = string.Join(", ", declared.Select(d => $"'{d.Name}'"));
        foreach (string name in options.Files.Keys)
            if (declared.All(d => d.Name != name))
                throw new InspectException($"--input {name}: the model {graph.Path} has no input '{name}' (its inputs: {names})");
        var random = new Random(options.Seed);
        var inputs = new List<ModelInput>();
        foreach (var d in declared)
        {
            var tensorType = d.Type?.TensorType ?? throw new InspectException($"{graph.Path}: input '{d.Name}' is not a tensor; inspect feeds tensors only");
            int type = tensorType.ElemType;
            var dims = tensorType.Shape?.Dim.ToList() ?? throw new InspectException($"{graph.Path}: input '{d.Name}' declares no shape");
            if (options.Files.TryGetValue(d.Name, out string? file))
            {
                var array = NpyFile.Read(file);
                if (array.ElementType != type)
                    throw new InspectException($"{file}: dtype {OnnxTensors.TypeName(array.ElementType)} does not match input '{d.Name}' of {graph.Path}, which is {OnnxTensors.TypeName(type)}");
                string declaredShape = ShapeText(dims);
                if (array.Shape.Length != dims.Count)
                    throw new InspectException($"{file}: shape ({string.Join(", ", array.Shape)}) does not match input '{d.Name}' of shape {declaredShape}");
                for (int a = 0; a < dims.Count; a++)
                    if (dims[a].DimValue > 0 && dims[a].DimValue != array.Shape[a])
                        throw new InspectException($"{file}: shape ({string.Join(", ", array.Shape)}) does not match input '{d.Name}' of shape {declaredShape} (axis {a})");
                inputs.Add(new ModelInput(d.Name, type, array.Shape, array.Data, file));
            }
            else if (options.Random)
            {
                var shape = new long[dims.Count];
                for (int a = 0; a < dims.Count; a++)
                {
                    if (dims[a].DimValue > 0) { shape[a] = dims[a].DimValue; continue; }
                    string symbol = dims[a].DimParam.Length != 0 ? dims[a].DimParam : $"{d.Name}.{a}";
                    if (!options.Dims.TryGetValue(symbol, out long v))
                        throw new InspectException($"--random: axis {a} of input '{d.Name}' has the symbolic size '{symbol}'; give it a value with --dim {symbol}=N");
                    shape[a] = v;
                }
                inputs.Add(RandomInput(graph, d.Name, type, shape, random));
            }
            else throw new InspectException($"--input: no file for input '{d.Name}' of {graph.Path} (its inputs: {names}); give --input {d.Name}=FILE.npy or --random");
        }
        return inputs;
    }

    /// <summary>
    /// Random values for an input: floats from N(0, 1); integers that index a constant table (Gather's indices, as
    /// token ids do) uniform over the table's rows; other integers (masks) 1; booleans true.
    /// </summary>
    private static ModelInput RandomInput(OnnxGraph graph, string name, int type, long[] shape, Random random)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        if (count > 1L << 28) throw new InspectException($"--random: input '{name}' would have {count} elements; choose smaller --dim values");
        string origin = $"random (shape {string.Join("x", shape)})";
        switch (type)
        {
            case OnnxTensors.Float:
            case OnnxTensors.Double:
            {
                var v = new double[count];
                for (long i = 0; i < count; i += 2)
                {
                    double u1 = 1 - random.NextDouble(), u2 = random.NextDouble(), r = Math.Sqrt(-2 * Math.Log(u1));
                    v[i] = r * Math.Cos(2 * Math.PI * u2);
                    if (i + 1 < count) v[i + 1] = r * Math.Sin(2 * Math.PI * u2);
                }
                byte[] data = type == OnnxTensors.Float
                    ? MemoryMarshal.AsBytes(v.Select(x => (float)x).ToArray().AsSpan()).ToArray()
                    : MemoryMarshal.AsBytes(v.AsSpan()).ToArray();
                return new ModelInput(name, type, shape, data, origin + " N(0,1)");
            }
            case OnnxTensors.Int64:
            case OnnxTensors.Int32:
            {
                long rows = graph.Consumers(name).Where(c => c.OpType == "Gather" && c.Input.Count == 2 && c.Input[1] == name)
                    .Select(c => graph.ConstantDims(c.Input[0]) is { Length: > 0 } dims ? dims[0] : 0).FirstOrDefault(r => r > 0);
                var v = new long[count];
                for (long i = 0; i < count; i++) v[i] = rows > 0 ? random.NextInt64(rows) : 1;
                byte[] data = type == OnnxTensors.Int64
                    ? MemoryMarshal.AsBytes(v.AsSpan()).ToArray()
                    : MemoryMarshal.AsBytes(v.Select(x => (int)x).ToArray().AsSpan()).ToArray();
                return new ModelInput(name, type, shape, data, origin + (rows > 0 ? $" ids in [0, {rows})" : " all 1"));
            }
            case OnnxTensors.Bool:
                return new ModelInput(name, type, shape, Enumerable.Repeat((byte)1, (int)count).ToArray(), origin + " all true");
            default:
                throw new InspectException($"--random: input '{name}' has element type {OnnxTensors.TypeName(type)}, which inspect cannot draw");
        }
    }

    /// <summary>Runs the model once with <paramref name="capture"/> added as graph outputs and returns those values.</summary>
    public static Dictionary<string, CapturedTensor> Run(OnnxGraph graph, IReadOnlyList<ModelInput> inputs, IEnumerable<string> capture)
    {
        var model = graph.Model.Clone();
        var outputs = model.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var names = new List<string>();
        foreach (string name in capture.Distinct())
        {
            if (graph.IsConstant(name) || graph.Graph.Input.Any(i => i.Name == name && !graph.IsConstant(name))) continue;
            if (outputs.Add(name)) model.Graph.Output.Add(new ValueInfoProto { Name = name });
            names.Add(name);
        }
        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL, InterOpNumThreads = 1 };
        InferenceSession session;
        try { session = new InferenceSession(model.ToByteArray(), options); }
        catch (OnnxRuntimeException e)
        {
            throw new InspectException($"{graph.Path}: ONNX Runtime cannot load the model: {FirstLine(e.Message)}");
        }
        using (session)
        {
            var values = new List<OrtValue>();
            try
            {
                foreach (var input in inputs) values.Add(ToOrtValue(input));
                var result = new Dictionary<string, CapturedTensor>(StringComparer.Ordinal);
                // Graph inputs that are normalization inputs are captured from the fed values directly.
                foreach (var input in inputs)
                    result[input.Name] = FromOrt(values[inputs.ToList().IndexOf(input)]);
                using var run = new RunOptions();
                IDisposableReadOnlyCollection<OrtValue> outs;
                try { outs = session.Run(run, inputs.Select(i => i.Name).ToArray(), values, names.ToArray()); }
                catch (OnnxRuntimeException e)
                {
                    string origins = string.Join(", ", inputs.Select(i => $"{i.Name} from {i.Origin}"));
                    throw new InspectException($"{graph.Path}: ONNX Runtime rejected the inputs ({origins}): {FirstLine(e.Message)}");
                }
                using (outs)
                    for (int i = 0; i < names.Count; i++) result[names[i]] = FromOrt(outs[i]);
                return result;
            }
            finally
            {
                foreach (var v in values) v.Dispose();
            }
        }
    }

    private static string FirstLine(string message)
    {
        string line = message.Split('\n')[0].Trim();
        return line.StartsWith('[') && line.IndexOf(']') is int end and > 0 ? line[(end + 1)..].Trim() : line;
    }

    private static OrtValue ToOrtValue(ModelInput input) => input.ElementType switch
    {
        OnnxTensors.Float => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, float>(input.Data).ToArray(), input.Shape),
        OnnxTensors.Double => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, double>(input.Data).ToArray(), input.Shape),
        OnnxTensors.Int64 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, long>(input.Data).ToArray(), input.Shape),
        OnnxTensors.Int32 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, int>(input.Data).ToArray(), input.Shape),
        OnnxTensors.Float16 => OrtValue.CreateTensorValueFromMemory(MemoryMarshal.Cast<byte, Float16>(input.Data).ToArray(), input.Shape),
        OnnxTensors.Bool => OrtValue.CreateTensorValueFromMemory(input.Data.Select(b => b != 0).ToArray(), input.Shape),
        _ => throw new InspectException($"{input.Origin}: input '{input.Name}' has element type {OnnxTensors.TypeName(input.ElementType)}, which inspect cannot feed"),
    };

    private static CapturedTensor FromOrt(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        int[] shape = info.Shape.Select(d => checked((int)d)).ToArray();
        double[] v = info.ElementDataType switch
        {
            TensorElementType.Float => Widen(value.GetTensorDataAsSpan<float>(), x => x),
            TensorElementType.Double => value.GetTensorDataAsSpan<double>().ToArray(),
            TensorElementType.Float16 => Widen(value.GetTensorDataAsSpan<Float16>(), x => (double)x.ToFloat()),
            TensorElementType.BFloat16 => Widen(value.GetTensorDataAsSpan<Microsoft.ML.OnnxRuntime.BFloat16>(), x => (double)(float)x),
            TensorElementType.Int64 => Widen(value.GetTensorDataAsSpan<long>(), x => x),
            TensorElementType.Int32 => Widen(value.GetTensorDataAsSpan<int>(), x => x),
            TensorElementType.Bool => Widen(value.GetTensorDataAsSpan<bool>(), x => x ? 1 : 0),
            _ => new double[0],
        };
        int type = info.ElementDataType switch
        {
            TensorElementType.Float => OnnxTensors.Float,
            TensorElementType.Double => OnnxTensors.Double,
            TensorElementType.Float16 => OnnxTensors.Float16,
            TensorElementType.BFloat16 => OnnxTensors.BFloat16,
            TensorElementType.Int64 => OnnxTensors.Int64,
            TensorElementType.Int32 => OnnxTensors.Int32,
            TensorElementType.Bool => OnnxTensors.Bool,
            _ => 0,
        };
        return new CapturedTensor(shape, v, type);
    }

    private static double[] Widen<T>(ReadOnlySpan<T> span, Func<T, double> convert)
    {
        var v = new double[span.Length];
        for (int i = 0; i < v.Length; i++) v[i] = convert(span[i]);
        return v;
    }

    private static string ShapeText(IList<TensorShapeProto.Types.Dimension> dims) =>
        "(" + string.Join(", ", dims.Select(d => d.DimValue > 0 ? d.DimValue.ToString() : d.DimParam.Length != 0 ? d.DimParam : "?")) + ")";
}
