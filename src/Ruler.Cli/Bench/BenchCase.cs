namespace Ruler.Cli.Bench;

/// <summary>
/// One op at one shape and dtype, with its buffers allocated: Ruler's implementation, the copy baseline over
/// the same input and output buffers, and ONNX Runtime's implementation where ONNX has the op.
/// </summary>
internal sealed class BenchCase : IDisposable
{
    public required string Op { get; init; }
    public required string Shape { get; init; }
    public required string Dtype { get; init; }

    /// <summary>Bytes Ruler's call must move (every tensor read and written once).</summary>
    public required long Bytes { get; init; }

    /// <summary>Bytes the copy baseline moves (read + write).</summary>
    public required long CopyBytes { get; init; }

    /// <summary>Ruler's call (the thread count is set through <see cref="RulerParallelism"/>).</summary>
    public required Action Ruler { get; init; }

    public required Action<int> Copy { get; init; }

    /// <summary>ONNX Runtime's call for a thread count, or null where ONNX has no such op.</summary>
    public Func<int, Action>? OnnxRuntime { get; set; }

    public List<IDisposable> Resources { get; } = [];

    public void Dispose()
    {
        foreach (var r in Resources) r.Dispose();
    }
}
