using Microsoft.ML.OnnxRuntime;

namespace Ruler.Onnx;

/// <summary>
/// An ONNX Runtime session (CPU) over a model, with two ways to run it: <see cref="Run{T}"/> copies inputs in and
/// outputs out (simple, allocates), <see cref="Bind{T}"/> wraps caller buffers once in OrtValues so that each
/// <see cref="OnnxBinding.Run"/> reads and writes those buffers in place (for benchmarks).
/// </summary>
public sealed class OnnxRunner : IDisposable
{
    private readonly InferenceSession _session;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;

    /// <summary>Creates a session for a one-node model.</summary>
    /// <param name="model">The model.</param>
    /// <param name="intraOpThreads">ONNX Runtime's intra-op thread count; 0 lets it choose (one per physical core).</param>
    public OnnxRunner(OneNodeModel model, int intraOpThreads = 0) : this(Serialize(model), intraOpThreads) { }

    /// <summary>Creates a session for a serialized ONNX model.</summary>
    /// <param name="model">The model bytes.</param>
    /// <param name="intraOpThreads">ONNX Runtime's intra-op thread count; 0 lets it choose (one per physical core).</param>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects the model (unknown operator or opset, bad shapes, …).</exception>
    public OnnxRunner(byte[] model, int intraOpThreads = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfNegative(intraOpThreads);
        using var options = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            // Failures surface as OnnxRuntimeException with the same text; keep ONNX Runtime from also printing them.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        _session = new InferenceSession(model, options);
        _inputNames = _session.InputNames.ToArray();
        _outputNames = _session.OutputNames.ToArray();
    }

    /// <summary>The graph inputs, in order.</summary>
    public IReadOnlyList<string> InputNames => _inputNames;

    /// <summary>The graph outputs, in order.</summary>
    public IReadOnlyList<string> OutputNames => _outputNames;

    /// <summary>The version string of the ONNX Runtime native library in use.</summary>
    public static string RuntimeVersion => OrtEnv.Instance().GetVersionString();

    /// <summary>Runs the model on copies of the inputs and returns copies of every output.</summary>
    /// <param name="inputs">One tensor per graph input, in <see cref="InputNames"/> order.</param>
    /// <returns>One tensor per graph output, in <see cref="OutputNames"/> order.</returns>
    public OnnxTensor<T>[] Run<T>(params OnnxTensor<T>[] inputs) where T : unmanaged
    {
        CheckInputs(inputs);
        var values = new OrtValue[inputs.Length];
        try
        {
            for (int i = 0; i < inputs.Length; i++)
                values[i] = OrtValue.CreateTensorValueFromMemory((T[])inputs[i].Data.Clone(), inputs[i].LongShape());
            using var runOptions = new RunOptions();
            using var results = _session.Run(runOptions, _inputNames, values, _outputNames);
            var outputs = new OnnxTensor<T>[results.Count];
            int k = 0;
            foreach (var r in results)
            {
                var info = r.GetTensorTypeAndShape();
                if (info.ElementDataType != ElementTypeOf<T>())
                    throw new InvalidOperationException($"output {_outputNames[k]}: expected {typeof(T).Name} elements, got {info.ElementDataType}.");
                outputs[k++] = new OnnxTensor<T>(r.GetTensorDataAsSpan<T>().ToArray(), Array.ConvertAll(info.Shape, d => checked((int)d)));
            }
            return outputs;
        }
        finally
        {
            foreach (var v in values) v?.Dispose();
        }
    }

    /// <summary>
    /// Wraps caller buffers in OrtValues bound to the session's inputs and outputs, once: every
    /// <see cref="OnnxBinding.Run"/> then reads the input arrays and writes the output arrays in place, with no copies.
    /// The arrays stay pinned until the binding is disposed.
    /// </summary>
    /// <param name="inputs">One tensor per graph input, in <see cref="InputNames"/> order.</param>
    /// <param name="outputs">One preallocated tensor per graph output, in <see cref="OutputNames"/> order, with the output's shape.</param>
    public OnnxBinding Bind<T>(IReadOnlyList<OnnxTensor<T>> inputs, IReadOnlyList<OnnxTensor<T>> outputs) where T : unmanaged
    {
        CheckInputs(inputs);
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count != _outputNames.Length)
            throw new ArgumentException($"outputs: expected {_outputNames.Length} tensors ({string.Join(", ", _outputNames)}), got {outputs.Count}.", nameof(outputs));
        for (int i = 0; i < outputs.Count; i++) outputs[i].Validate(_outputNames[i]);
        return OnnxBinding.Create(_session, _inputNames, inputs, _outputNames, outputs);
    }

    /// <summary>Releases the session.</summary>
    public void Dispose() => _session.Dispose();

    private void CheckInputs<T>(IReadOnlyList<OnnxTensor<T>> inputs) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count != _inputNames.Length)
            throw new ArgumentException($"inputs: expected {_inputNames.Length} tensors ({string.Join(", ", _inputNames)}), got {inputs.Count}.", nameof(inputs));
        for (int i = 0; i < inputs.Count; i++) inputs[i].Validate(_inputNames[i]);
    }

    internal static Microsoft.ML.OnnxRuntime.Tensors.TensorElementType ElementTypeOf<T>() where T : unmanaged =>
        OnnxElementTypes.Of<T>() == OnnxElementType.Float
            ? Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float
            : Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Double;

    private static byte[] Serialize(OneNodeModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return model.ToBytes();
    }
}
