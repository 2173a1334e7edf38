using Ruler.Internal;

namespace Ruler;

/// <summary>
/// How many threads Ruler's kernels may use (like <c>torch.set_num_threads</c>). Results do not depend on it:
/// work is split into fixed chunks whose partial results are combined in a fixed order.
/// </summary>
public static class RulerParallelism
{
    /// <summary>The most threads one call may use (the caller included); at least 1. Defaults to the processor count.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public static int MaxThreads
    {
        get => Threading.MaxThreads;
        set
        {
            if (value < 1) throw new ArgumentOutOfRangeException(nameof(value), value, "MaxThreads: expected at least 1.");
            Threading.MaxThreads = value;
        }
    }
}
