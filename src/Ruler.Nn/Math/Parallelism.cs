using Ruler.Internal;

namespace Ruler.Nn;

/// <summary>
/// The engine's parallel loops, on the library's one pool of workers (<see cref="Threading"/>), bounded by the one
/// thread knob of the whole system, <see cref="RulerParallelism.MaxThreads"/> (which also bounds the normalization
/// kernels). Results never depend on it: every output element is computed by one task in a fixed order, so 1 and
/// N threads give the same bits. A loop started inside a task of another (or while another thread's loop holds the
/// pool) runs its tasks in order on its own thread.
/// </summary>
internal static class Parallelism
{
    public static int MaxThreads => Threading.MaxThreads;

    /// <summary>Runs body(i) for i in [0, count): in parallel when there is more than one task and more than one thread allowed.</summary>
    public static void For(int count, Action<int> body)
    {
        if (count <= 1 || MaxThreads == 1)
        {
            for (int i = 0; i < count; i++) body(i);
            return;
        }
        Threading.For(count, body);
    }

    /// <summary>Runs job.Run(i) for i in [0, count) without allocating (a struct job).</summary>
    public static void For<TJob>(ref TJob job, int count) where TJob : struct, IParallelTask => Threading.For(ref job, count);
}
