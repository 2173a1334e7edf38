namespace Ruler.Nn;

/// <summary>
/// How many threads the engine's kernels may use. Results never depend on it: every output element is computed by
/// one thread in a fixed order, so 1 and N threads give the same bits.
/// </summary>
public static class Parallelism
{
    private static int _maxThreads = Environment.ProcessorCount;
    private static ParallelOptions _options = new() { MaxDegreeOfParallelism = _maxThreads };

    /// <summary>Upper bound on worker threads per kernel call (default: the processor count).</summary>
    public static int MaxThreads
    {
        get => _maxThreads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "MaxThreads must be >= 1.");
            _maxThreads = value;
            _options = new ParallelOptions { MaxDegreeOfParallelism = value };
        }
    }

    internal static ParallelOptions Options => _options;

    /// <summary>Runs body(i) for i in [0, count): in parallel when there is more than one task and more than one thread allowed.</summary>
    internal static void For(int count, Action<int> body)
    {
        if (count <= 1 || _maxThreads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Parallel.For(0, count, Options, body);
    }
}
