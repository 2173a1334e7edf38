using Microsoft.ML.OnnxRuntime;

namespace Ruler.Onnx;

/// <summary>
/// Caller buffers bound once to a session's inputs and outputs (ONNX Runtime I/O binding over OrtValues that alias
/// the arrays): <see cref="Run"/> computes the outputs into the caller's output arrays with no copies, so a benchmark
/// times ONNX Runtime's kernel on the same buffers as its rival. Change input values by writing into the input arrays.
/// </summary>
public sealed class OnnxBinding : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions;
    private readonly OrtValue[] _values;

    private OnnxBinding(InferenceSession session, string[] inputNames, OrtValue[] inputs, string[] outputNames, OrtValue[] outputs)
    {
        _session = session;
        _values = [.. inputs, .. outputs];
        _runOptions = new RunOptions();
        _binding = session.CreateIoBinding();
        for (int i = 0; i < inputs.Length; i++) _binding.BindInput(inputNames[i], inputs[i]);
        for (int i = 0; i < outputs.Length; i++) _binding.BindOutput(outputNames[i], outputs[i]);
    }

    internal static OnnxBinding Create<T>(InferenceSession session, string[] inputNames, IReadOnlyList<OnnxTensor<T>> inputs,
        string[] outputNames, IReadOnlyList<OnnxTensor<T>> outputs) where T : unmanaged
    {
        var inValues = new OrtValue[inputs.Count];
        var outValues = new OrtValue[outputs.Count];
        try
        {
            for (int i = 0; i < inputs.Count; i++) inValues[i] = OrtValue.CreateTensorValueFromMemory(inputs[i].Data, inputs[i].LongShape());
            for (int i = 0; i < outputs.Count; i++) outValues[i] = OrtValue.CreateTensorValueFromMemory(outputs[i].Data, outputs[i].LongShape());
            return new OnnxBinding(session, inputNames, inValues, outputNames, outValues);
        }
        catch
        {
            foreach (var v in inValues) v?.Dispose();
            foreach (var v in outValues) v?.Dispose();
            throw;
        }
    }

    /// <summary>Runs the model: reads the bound input arrays, writes the bound output arrays.</summary>
    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    /// <summary>Releases the binding and unpins the arrays (the session stays usable).</summary>
    public void Dispose()
    {
        _binding.Dispose();
        foreach (var v in _values) v?.Dispose();
        _runOptions.Dispose();
    }
}
