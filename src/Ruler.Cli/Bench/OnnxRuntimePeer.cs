using Microsoft.ML.OnnxRuntime;
using Ruler.Onnx;

namespace Ruler.Cli.Bench;

/// <summary>
/// ONNX Runtime (CPU execution provider) running the same op as a one-node model, bound once to the case's own
/// arrays (I/O binding), so each run reads x and writes y in place like Ruler does. The session uses exactly the
/// thread count of the Ruler call it is compared with, and its worker threads do not spin after a run
/// (<c>session.intra_op.allow_spinning</c> = 0, inter-op too): a spinning pool would keep a core busy and slow
/// whatever the bench measures next.
/// </summary>
internal sealed class OnnxRuntimePeer : IDisposable
{
    private readonly InferenceSession _session;
    private readonly OrtIoBinding _binding;
    private readonly RunOptions _runOptions = new();
    private readonly List<OrtValue> _values = [];

    private OnnxRuntimePeer(byte[] model, int threads, float[][] inputs, int[][] inputShapes, float[] output, int[] outputShape)
    {
        using var options = new SessionOptions
        {
            IntraOpNumThreads = threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        options.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
        _session = new InferenceSession(model, options);
        _binding = _session.CreateIoBinding();
        var names = _session.InputNames.ToArray();
        for (int i = 0; i < inputs.Length; i++)
        {
            var v = OrtValue.CreateTensorValueFromMemory(inputs[i], Array.ConvertAll(inputShapes[i], d => (long)d));
            _values.Add(v);
            _binding.BindInput(names[i], v);
        }
        var y = OrtValue.CreateTensorValueFromMemory(output, Array.ConvertAll(outputShape, d => (long)d));
        _values.Add(y);
        _binding.BindOutput(_session.OutputNames[0], y);
    }

    /// <summary>The ONNX Runtime version in use.</summary>
    public static string Version => OrtEnv.Instance().GetVersionString();

    /// <summary>
    /// A factory: thread count → run action, sessions created on first use and disposed with <paramref name="owner"/>.
    /// Null when this ONNX Runtime rejects the model (the op or opset is missing).
    /// </summary>
    public static Func<int, Action>? Create(BenchCase owner, OneNodeModel model, float[][] inputs, int[][] inputShapes, float[] output, int[] outputShape)
    {
        byte[] bytes = model.ToBytes();
        try
        {
            using var probe = new OnnxRuntimePeer(bytes, 1, inputs, inputShapes, output, outputShape);
        }
        catch (OnnxRuntimeException)
        {
            return null;
        }
        var cache = new Dictionary<int, Action>();
        return threads =>
        {
            if (cache.TryGetValue(threads, out var run)) return run;
            var peer = new OnnxRuntimePeer(bytes, threads, inputs, inputShapes, output, outputShape);
            owner.Resources.Add(peer);
            return cache[threads] = peer.Run;
        };
    }

    public void Run() => _session.RunWithBinding(_runOptions, _binding);

    public void Dispose()
    {
        _binding.Dispose();
        foreach (var v in _values) v.Dispose();
        _runOptions.Dispose();
        _session.Dispose();
    }
}
