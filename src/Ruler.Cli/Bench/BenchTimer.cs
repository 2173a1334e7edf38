using System.Diagnostics;

namespace Ruler.Cli.Bench;

/// <summary>
/// Times several implementations of one op on the same buffers, interleaved round by round so that a noisy
/// neighbour on a shared machine slows all of them alike. Reports median, min and max per implementation, and the managed bytes
/// allocated per call on all threads (steady state: after warm-up).
/// </summary>
internal static class BenchTimer
{
    public sealed record Timing(double MedianMs, double MinMs, double MaxMs, double AllocatedBytesPerCall);

    public static Timing[] Measure(IReadOnlyList<Action> implementations, double budgetSeconds, int minRounds = 5, int maxRounds = 200)
    {
        foreach (var run in implementations) { run(); run(); }   // warm-up: JIT tiers, page faults, caches
        var once = Stopwatch.StartNew();
        foreach (var run in implementations) run();
        double roundSeconds = Math.Max(once.Elapsed.TotalSeconds, 1e-6);
        int rounds = Math.Clamp((int)(budgetSeconds / roundSeconds), minRounds, maxRounds);
        var samples = implementations.Select(_ => new List<double>(rounds)).ToArray();
        var allocated = new long[implementations.Count];
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < implementations.Count; i++)
            {
                long bytesBefore = GC.GetTotalAllocatedBytes(precise: true);
                long start = Stopwatch.GetTimestamp();
                implementations[i]();
                samples[i].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                allocated[i] += GC.GetTotalAllocatedBytes(precise: true) - bytesBefore;
            }
        var result = new Timing[implementations.Count];
        for (int i = 0; i < result.Length; i++)
        {
            var s = samples[i];
            s.Sort();
            result[i] = new Timing(s[s.Count / 2], s[0], s[^1], allocated[i] / (double)rounds);
        }
        return result;
    }
}
