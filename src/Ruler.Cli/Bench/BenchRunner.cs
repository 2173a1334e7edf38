using System.Globalization;
using System.Text.Json;

namespace Ruler.Cli.Bench;

/// <summary>Runs the suite: for each case and thread count, Ruler vs copy vs ONNX Runtime, interleaved.</summary>
internal static class BenchRunner
{
    public static List<BenchResult> Run(bool quick, IReadOnlyList<int> threadCounts, TextWriter progress)
    {
        var entries = BenchSuite.All.Where(e => !quick || e.Quick).ToList();
        var results = new List<BenchResult>();
        double budget = quick ? 0.25 : 1.0;
        int step = 0, steps = entries.Count * threadCounts.Count;
        int savedThreads = RulerParallelism.MaxThreads;
        try
        {
            foreach (var entry in entries)
            {
                using var c = entry.Create();
                foreach (int t in threadCounts)
                {
                    progress.WriteLine($"[{++step}/{steps}] {c.Op} {c.Shape} {c.Dtype}, {t} thread{(t == 1 ? "" : "s")}");
                    RulerParallelism.MaxThreads = t;
                    var impls = new List<(string Name, Action Run, long Bytes)>
                    {
                        ("copy", () => c.Copy(t), c.CopyBytes),
                        ("ruler", c.Ruler, c.Bytes),
                    };
                    if (c.OnnxRuntime is not null) impls.Add(("onnxruntime", c.OnnxRuntime(t), c.Bytes));
                    var timings = BenchTimer.Measure(impls.Select(i => i.Run).ToList(), budget);
                    var rows = impls.Select((impl, i) => new BenchResult(c.Op, c.Shape, c.Dtype, t, impl.Name,
                        timings[i].MedianMs, timings[i].MinMs, timings[i].MaxMs, impl.Bytes / (timings[i].MedianMs * 1e6), impl.Bytes,
                        timings[i].AllocatedBytesPerCall)).ToList();
                    double copyGbps = rows[0].Gbps;
                    double? ortMs = rows.FirstOrDefault(r => r.Impl == "onnxruntime")?.MedianMs;
                    results.AddRange(rows.Select(r => r with
                    {
                        RatioToCopy = r.Impl == "copy" ? null : copyGbps / r.Gbps,
                        SpeedupOverOnnxRuntime = r.Impl == "ruler" && ortMs is double o ? o / r.MedianMs : null,
                    }));
                }
            }
        }
        finally
        {
            RulerParallelism.MaxThreads = savedThreads;
        }
        return results;
    }

    public static string Table(IEnumerable<BenchResult> results)
    {
        var s = new System.Text.StringBuilder();
        s.AppendLine($"{"op",-24} {"shape",-20} {"dtype",-8} {"thr",3} {"impl",-12} {"median ms",10} {"min",9} {"max",9} {"GB/s",7} {"vs copy",8} {"vs ORT",7} {"alloc B",8}");
        foreach (var r in results)
            s.AppendLine($"{r.Op,-24} {r.Shape,-20} {r.Dtype,-8} {r.Threads,3} {r.Impl,-12} {F(r.MedianMs, "0.0000"),10} {F(r.MinMs, "0.0000"),9} {F(r.MaxMs, "0.0000"),9} {F(r.Gbps, "0.0"),7} " +
                $"{(r.RatioToCopy is double c ? F(c, "0.00") + "x" : ""),8} {(r.SpeedupOverOnnxRuntime is double o ? F(o, "0.00") + "x" : ""),7} {F(r.AllocatedBytesPerCall, "0"),8}");
        var float32 = results.Where(r => r.Impl == "ruler" && r.Dtype == "float32").ToDictionary(r => (r.Op, r.Shape, r.Threads), r => r.MedianMs);
        foreach (var r in results.Where(r => r.Impl == "ruler" && r.Dtype is "float16" or "bfloat16"))
            if (float32.TryGetValue((r.Op, r.Shape, r.Threads), out double f32))
                s.AppendLine($"{r.Op} {r.Shape} {r.Dtype}, {r.Threads} thread(s): {F(r.MedianMs / f32, "0.00")} x the float32 time");
        s.AppendLine("vs copy: time relative to a vectorized copy of the same bytes (1.00x = memory speed). vs ORT: ONNX Runtime time / Ruler time.");
        return s.ToString();
    }

    public static string Json(IEnumerable<BenchResult> results)
    {
        var rows = results.Select(r => new Dictionary<string, object?>
        {
            ["op"] = r.Op, ["shape"] = r.Shape, ["dtype"] = r.Dtype, ["threads"] = r.Threads, ["impl"] = r.Impl,
            ["median_ms"] = r.MedianMs, ["min_ms"] = r.MinMs, ["max_ms"] = r.MaxMs, ["gbps"] = r.Gbps, ["bytes"] = r.Bytes,
            ["ratio_to_copy"] = r.RatioToCopy, ["speedup_over_onnxruntime"] = r.SpeedupOverOnnxRuntime,
            ["allocated_bytes_per_call"] = r.AllocatedBytesPerCall,
        });
        return JsonSerializer.Serialize(rows, new JsonSerializerOptions { WriteIndented = true });
    }

    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
