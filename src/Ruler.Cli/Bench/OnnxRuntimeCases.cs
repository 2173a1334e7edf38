using Ruler.Onnx;

namespace Ruler.Cli.Bench;

/// <summary>
/// ONNX Runtime (CPU execution provider) running the same op as a one-node model, bound once to the case's own
/// input and output arrays, so each run reads x and writes y in place like Ruler does.
/// </summary>
internal static class OnnxRuntimeCases
{
    /// <summary>A factory: thread count → run action; sessions and bindings are kept for the case's lifetime.</summary>
    public static Func<int, Action> Create(BenchCase owner, Func<OneNodeModel> model, OnnxTensor<float>[] inputs, OnnxTensor<float> output)
    {
        var cache = new Dictionary<int, Action>();
        return threads =>
        {
            if (cache.TryGetValue(threads, out var run)) return run;
            var runner = new OnnxRunner(model(), intraOpThreads: threads);
            var binding = runner.Bind(inputs, [output]);
            owner.Resources.Add(binding);
            owner.Resources.Add(runner);
            return cache[threads] = binding.Run;
        };
    }

    /// <summary>RMSNormalization-23 where this ONNX Runtime has it, else its contrib SimplifiedLayerNormalization (the same math).</summary>
    public static Func<OneNodeModel> RmsModel(int[] shape, float eps) => () =>
    {
        var standard = OneNodeModel.RmsNormalization(shape, epsilon: eps);
        try
        {
            using var probe = new OnnxRunner(standard, 1);
            return standard;
        }
        catch (Microsoft.ML.OnnxRuntime.OnnxRuntimeException)
        {
            return OneNodeModel.SimplifiedLayerNormalization(shape, epsilon: eps);
        }
    };
}
