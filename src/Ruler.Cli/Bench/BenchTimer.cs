using System.Diagnostics;

namespace Ruler.Cli.Bench;

/// <summary>
/// Times several implementations of one op on the same buffers, interleaved round by round so that a noisy
/// neighbour on a shared machine slows all of them alike. A sample is one call, or a batch of calls for calls
/// shorter than <see cref="MinSampleSeconds"/> (timer overhead); times are per call. Also reports the managed bytes
/// the calling thread allocated per call (<see cref="GC.GetAllocatedBytesForCurrentThread"/>, steady state).
/// </summary>
internal static class BenchTimer
{
    public const double MinSampleSeconds = 50e-6;

    private const int MaxCallsPerSample = 100_000;

    public sealed record Timing(double MedianMs, double MinMs, double MaxMs, double AllocatedBytesPerCall, int CallsPerSample);

    public static Timing[] Measure(IReadOnlyList<Action> implementations, double budgetSeconds, int minRounds = 5, int maxRounds = 200)
    {
        int count = implementations.Count;
        Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp());      // the timer's own first call (JIT) inside no estimate
        foreach (var run in implementations) run();             // warm-up: JIT tiers, page faults, caches
        var calls = new int[count];
        double roundSeconds = 0;
        for (int i = 0; i < count; i++)
        {
            // How many calls make one sample of at least MinSampleSeconds: time 1, 4, 16, … calls until one batch is
            // long enough. A single call between 50 µs and 1 ms may have been disturbed (preempted): estimate once more.
            int n = 1;
            double seconds = 0;
            for (int attempt = 0; attempt < 2; attempt++)
            {
                n = 1;
                while (true)
                {
                    long start = Stopwatch.GetTimestamp();
                    for (int k = 0; k < n; k++) implementations[i]();
                    seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (seconds >= MinSampleSeconds || n >= MaxCallsPerSample) break;
                    n *= 4;
                }
                if (n > 1 || seconds > 1e-3) break;
            }
            double once = Math.Max(seconds / n, 1e-9);
            calls[i] = (int)Math.Clamp(Math.Ceiling(MinSampleSeconds / once), 1, MaxCallsPerSample);
            roundSeconds += once * calls[i];
        }
        int rounds = Math.Clamp((int)(budgetSeconds / roundSeconds), minRounds, maxRounds);
        var samples = new double[count][];
        for (int i = 0; i < count; i++) samples[i] = new double[rounds];
        var allocated = new long[count];
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < count; i++)
            {
                var run = implementations[i];
                int n = calls[i];
                long bytesBefore = GC.GetAllocatedBytesForCurrentThread();
                long start = Stopwatch.GetTimestamp();
                for (int k = 0; k < n; k++) run();
                samples[i][r] = Stopwatch.GetElapsedTime(start).TotalMilliseconds / n;
                allocated[i] += GC.GetAllocatedBytesForCurrentThread() - bytesBefore;
            }
        var result = new Timing[count];
        for (int i = 0; i < count; i++)
        {
            var s = samples[i];
            Array.Sort(s);
            result[i] = new Timing(s[s.Length / 2], s[0], s[^1], allocated[i] / ((double)rounds * calls[i]), calls[i]);
        }
        return result;
    }
}
