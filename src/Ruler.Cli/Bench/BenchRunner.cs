namespace Ruler.Cli.Bench;

/// <summary>What one `ruler bench` run measured: the kernel rows (with verdicts), the engine rows, the warnings.</summary>
internal sealed record BenchRun(BenchProfile Profile, IReadOnlyList<int> Threads, BenchEnvironment Environment,
    IReadOnlyList<BenchRow> Rows, IReadOnlyList<EngineRow> Engine, IReadOnlyList<string> Warnings, string SpinCheck)
{
    public IEnumerable<BenchResult> Results => Rows.SelectMany(r => r.Results);
}

/// <summary>
/// Runs the suite: for each case and thread count, copy (the baseline), Ruler and the peers, interleaved on the
/// same buffers; then the engine section; then the verdicts on the issue's targets and the spinning check.
/// </summary>
internal static class BenchRunner
{
    public static BenchRun Run(BenchProfile profile, IReadOnlyList<int> threadCounts, BenchEnvironment environment, TextWriter progress)
    {
        var sizes = BenchSuite.BenchSizes.For(profile, environment.L3Bytes, environment.AvailableMemoryBytes);
        var entries = BenchSuite.All.Where(e => profile != BenchProfile.Quick || e.Quick).ToList();
        var rows = new List<BenchRow>();
        double budget = profile switch { BenchProfile.Tiny => 0.005, BenchProfile.Quick => 0.15, _ => 0.6 };
        int minRounds = profile == BenchProfile.Tiny ? 3 : 7;
        int step = 0, steps = entries.Count * threadCounts.Count;
        int savedThreads = RulerParallelism.MaxThreads;
        List<EngineRow> engine;
        try
        {
            foreach (var entry in entries)
            {
                using var c = entry.Create(sizes);
                if (c is null) continue;
                foreach (int t in threadCounts)
                {
                    progress.WriteLine($"[{++step}/{steps}] {c.Op} {c.Shape} {c.Dtype}, {t} thread{(t == 1 ? "" : "s")}");
                    RulerParallelism.MaxThreads = t;
                    var impls = new List<(string Name, Action Run, long Bytes)>
                    {
                        ("copy", () => c.Copy(t), c.CopyBytes),
                        ("ruler", c.Ruler, c.Bytes),
                    };
                    foreach (var (name, create) in c.Peers) impls.Add((name, create(t), c.Bytes));
                    var timings = BenchTimer.Measure(impls.Select(i => i.Run).ToList(), budget, minRounds);
                    double copyNsPerByte = timings[0].MedianMs / c.CopyBytes;
                    var results = impls.Select((impl, i) => new BenchResult(c.Section, c.Op, c.Shape, c.Dtype, t, impl.Name,
                        timings[i].MedianMs, timings[i].MinMs, timings[i].MaxMs, impl.Bytes / (timings[i].MedianMs * 1e6), impl.Bytes,
                        timings[i].AllocatedBytesPerCall)
                    {
                        RatioToCopy = i == 0 ? null : timings[i].MedianMs / impl.Bytes / copyNsPerByte,
                    }).ToList();
                    rows.Add(new BenchRow(c, t, results));
                }
            }
            engine = EngineBench.Run(profile, threadCounts, progress);
        }
        finally
        {
            RulerParallelism.MaxThreads = savedThreads;
        }
        foreach (var row in rows) Judge(row, rows);
        var (warnings, spinCheck) = CheckSecondCore(rows);
        return new BenchRun(profile, threadCounts, environment, rows, engine, warnings, spinCheck);
    }

    /// <summary>Ruler's time ÷ a peer's time, inverted: above 1 Ruler is faster.</summary>
    public static double SpeedupOver(BenchRow row, string peer) => row.Peer(peer) is { } p ? p.MedianMs / row.Ruler.MedianMs : double.NaN;

    /// <summary>Fills the row's verdicts: the copy ratio, the latency, the fraction of float32 time, and every peer.</summary>
    public static void Judge(BenchRow row, IReadOnlyList<BenchRow> all)
    {
        var c = row.Case;
        row.Verdicts.Clear();
        if (c.CopyTarget is double limit)
            row.Verdicts.Add(($"<= {F(limit)}x copy", row.Ruler.RatioToCopy <= limit));
        if (c.LatencyTargetMicroseconds is double us)
            row.Verdicts.Add(($"<= {F(us)} us per call", row.Ruler.MedianMs * 1e3 <= us));
        if (c.Float32Twin is var (op, shape, fraction))
        {
            var twin = all.FirstOrDefault(r => r.Case.Op == op && r.Case.Shape == shape && r.Case.Dtype == "float32" && r.Threads == row.Threads);
            if (twin is not null)
            {
                row.FractionOfFloat32 = row.Ruler.MedianMs / twin.Ruler.MedianMs;
                row.Verdicts.Add(($"<= {F(fraction)}x float32 time", row.FractionOfFloat32 <= fraction));
            }
        }
        foreach (var (name, _) in c.Peers)
        {
            double speedup = SpeedupOver(row, name);
            string peer = name == "onnxruntime" ? "ORT" : "TP";
            if (name == "onnxruntime" && row.Peer(name)!.RatioToCopy > 1.2)
                row.Verdicts.Add(($">= 1.5x {peer} (ORT > 1.2x copy)", speedup >= 1.5));
            else
                row.Verdicts.Add(($">= 1.0x {peer}", speedup >= 1.0));
        }
    }

    /// <summary>The verdict cell: "met", or each missed target.</summary>
    public static string Verdict(BenchRow row) =>
        row.Verdicts.Count == 0 ? "no target" :
        row.AllMet ? "met" : "MISSED " + string.Join("; ", row.Verdicts.Where(v => !v.Met).Select(v => v.Target));

    /// <summary>
    /// The 2-thread copy must beat the 1-thread copy wherever the copy splits (a buffer of at least two slices): if
    /// not, a second core was not free (another process, or a peer's worker threads spinning after their run), and
    /// every 2-thread number of that case is suspect.
    /// </summary>
    public static (List<string> Warnings, string Summary) CheckSecondCore(IReadOnlyList<BenchRow> rows)
    {
        var warnings = new List<string>();
        int checkedCases = 0;
        foreach (var group in rows.GroupBy(r => r.Case))
        {
            var one = group.FirstOrDefault(r => r.Threads == 1);
            var two = group.FirstOrDefault(r => r.Threads == 2);
            if (one is null || two is null || group.Key.CopyBytes < 2L * CopyBaseline.MinBytesPerThread) continue;
            checkedCases++;
            if (two.Copy.MedianMs >= one.Copy.MedianMs)
                warnings.Add($"warning: {group.Key.Key}: the 2-thread copy ({F(two.Copy.MedianMs, "0.000")} ms) is not faster than the 1-thread copy " +
                    $"({F(one.Copy.MedianMs, "0.000")} ms): the second core was busy; this case's 2-thread numbers are suspect.");
        }
        string summary = checkedCases == 0
            ? "second-core check: not run (needs 1 and 2 threads on buffers large enough to split)"
            : $"second-core check: the 2-thread copy beat the 1-thread copy in {checkedCases - warnings.Count} of {checkedCases} cases";
        return (warnings, summary);
    }

    private static string F(double v, string format = "0.##") => v.ToString(format, System.Globalization.CultureInfo.InvariantCulture);
}
