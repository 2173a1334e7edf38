namespace Ruler.Cli.Bench;

/// <summary>One measured implementation of an op at a shape, dtype and thread count (times are per call).</summary>
internal sealed record BenchResult(string Section, string Op, string Shape, string Dtype, int Threads, string Impl,
    double MedianMs, double MinMs, double MaxMs, double Gbps, long Bytes, double AllocatedBytesPerCall)
{
    /// <summary>This time relative to a copy of the same bytes: copy GB/s ÷ this GB/s (1.0 = memory speed).</summary>
    public double? RatioToCopy { get; init; }
}

/// <summary>One (case, thread count): every implementation's result and the verdicts on the targets.</summary>
internal sealed record BenchRow(BenchCase Case, int Threads, IReadOnlyList<BenchResult> Results)
{
    public BenchResult Copy => Results.First(r => r.Impl == "copy");
    public BenchResult Ruler => Results.First(r => r.Impl == "ruler");
    public BenchResult? Peer(string name) => Results.FirstOrDefault(r => r.Impl == name);

    /// <summary>Ruler time ÷ float32 Ruler time of the twin case (Half/BFloat16 rows), once known.</summary>
    public double? FractionOfFloat32 { get; set; }

    /// <summary>Each target that applies: its text and whether it was met.</summary>
    public List<(string Target, bool Met)> Verdicts { get; } = [];

    public bool AllMet => Verdicts.All(v => v.Met);
}
