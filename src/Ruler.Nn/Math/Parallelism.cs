namespace Ruler.Nn;

/// <summary>
/// The engine's parallel loops, bounded by the one thread knob of the whole system,
/// <see cref="RulerParallelism.MaxThreads"/> (which also bounds the normalization kernels). Results never depend on
/// it: every output element is computed by one thread in a fixed order, so 1 and N threads give the same bits.
/// </summary>
internal static class Parallelism
{
    private static ParallelOptions _options = new() { MaxDegreeOfParallelism = RulerParallelism.MaxThreads };

    public static int MaxThreads => RulerParallelism.MaxThreads;

    public static ParallelOptions Options
    {
        get
        {
            var options = _options;
            if (options.MaxDegreeOfParallelism != RulerParallelism.MaxThreads)
                _options = options = new ParallelOptions { MaxDegreeOfParallelism = RulerParallelism.MaxThreads };
            return options;
        }
    }

    /// <summary>Runs body(i) for i in [0, count): in parallel when there is more than one task and more than one thread allowed.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 1 || MaxThreads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, Options, body);
    }
}
