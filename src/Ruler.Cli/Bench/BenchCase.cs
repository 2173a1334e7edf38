namespace Ruler.Cli.Bench;

/// <summary>
/// One op at one shape and dtype, with its buffers allocated: Ruler's call, the copy baseline over the same input
/// and output buffers, and the peers (TensorPrimitives, ONNX Runtime) that have the op, each run on the same buffers.
/// </summary>
internal sealed class BenchCase : IDisposable
{
    public required string Section { get; init; }
    public required string Op { get; init; }
    public required string Shape { get; init; }
    public string Dtype { get; init; } = "float32";

    /// <summary>Bytes Ruler's call must move (every tensor read and written once).</summary>
    public required long Bytes { get; init; }

    /// <summary>Bytes the copy baseline moves (read + write).</summary>
    public required long CopyBytes { get; init; }

    /// <summary>Ruler's call (the thread count is set through <see cref="RulerParallelism"/>).</summary>
    public required Action Ruler { get; init; }

    /// <summary>The copy baseline for a thread count.</summary>
    public required Action<int> Copy { get; init; }

    /// <summary>The limit on Ruler time ÷ copy time (same bytes), or null where it sets none.</summary>
    public double? CopyTarget { get; init; }

    /// <summary>The limit on one call's median time in microseconds (single-row latency), or null.</summary>
    public double? LatencyTargetMicroseconds { get; init; }

    /// <summary>For Half/BFloat16: the float32 case (op, shape) this one's time is compared with, and the limit on the fraction.</summary>
    public (string Op, string Shape, double MaxFraction)? Float32Twin { get; init; }

    /// <summary>Peers by name ("tensorprimitives", "onnxruntime"): a factory from thread count to a run action.</summary>
    public List<(string Name, Func<int, Action> Create)> Peers { get; } = [];

    /// <summary>What the ONNX Runtime column is (which op), or why it is absent.</summary>
    public string? OnnxNote { get; set; }

    public List<IDisposable> Resources { get; } = [];

    public string Key => $"{Op} {Shape} {Dtype}";

    /// <summary>
    /// The normalizer of the library's list (<see cref="Normalizers.All"/>, by <see cref="NormalizerInfo.Name"/>) this
    /// case measures, read from the op name ("AddRMSNorm.backward" → "RmsNorm", "GroupNorm32.forward" → "GroupNorm").
    /// </summary>
    public string Normalizer
    {
        get
        {
            string name = Op[..Op.IndexOf('.')];
            if (name.StartsWith("Add", StringComparison.Ordinal)) name = name[3..];
            name = name.TrimEnd("0123456789".ToCharArray());
            return name == "RMSNorm" ? "RmsNorm" : name;
        }
    }

    /// <summary>Whether the case measures a backward.</summary>
    public bool IsBackward => Op.EndsWith(".backward", StringComparison.Ordinal);

    public void Dispose()
    {
        foreach (var r in Resources) r.Dispose();
    }
}
