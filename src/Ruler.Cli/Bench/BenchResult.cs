namespace Ruler.Cli.Bench;

/// <summary>One measured row: an implementation of an op at a shape, dtype and thread count.</summary>
internal sealed record BenchResult(string Op, string Shape, string Dtype, int Threads, string Impl,
    double MedianMs, double MinMs, double MaxMs, double Gbps, long Bytes, double AllocatedBytesPerCall)
{
    /// <summary>Time relative to a copy of the same bytes: copy GB/s ÷ this GB/s (1.0 = memory speed).</summary>
    public double? RatioToCopy { get; init; }

    /// <summary>ONNX Runtime's median ÷ this median (above 1: faster than ONNX Runtime).</summary>
    public double? SpeedupOverOnnxRuntime { get; init; }
}
