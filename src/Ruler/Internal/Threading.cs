namespace Ruler.Internal;

/// <summary>One task of a parallel kernel: a fixed slice of the work, independent of how many threads run it.</summary>
internal interface IParallelTask
{
    void Run(int task);
}

/// <summary>
/// A small pool of background workers for the kernels. A kernel splits its work into a fixed number of tasks that
/// depends only on the tensor's shape, and merges their partial results in task order, so its output is the same
/// bits for any <see cref="MaxThreads"/>. Dispatch allocates nothing: the job is a struct on the caller's stack,
/// reached through a pointer while the caller waits for it, and the waits are semaphores (whose locks exist from the
/// start, unlike ManualResetEventSlim's). One kernel uses the pool at a time; a call that finds it busy runs its
/// tasks on its own thread.
/// </summary>
internal static unsafe class Threading
{
    private static readonly object Gate = new();
    private static readonly List<SemaphoreSlim> Wake = [];
    private static readonly SemaphoreSlim Done = new(0);
    private static int _maxThreads = Environment.ProcessorCount;
    private static void* _job;
    private static delegate*<void*, int, void> _run;
    private static int _tasks, _next, _running;

    /// <summary>Most threads (the caller included) one kernel call uses; at least 1. Results do not depend on it.</summary>
    public static int MaxThreads
    {
        get => Volatile.Read(ref _maxThreads);
        set => Volatile.Write(ref _maxThreads, Math.Max(1, value));
    }

    /// <summary>
    /// How many tasks a kernel over <paramref name="elements"/> elements splits into: one per
    /// <paramref name="grain"/> elements (so that waking a thread is worth it), at most <paramref name="limit"/>.
    /// </summary>
    public static int TaskCount(long elements, int limit, int grain = 1 << 16) =>
        (int)Math.Clamp(elements / grain, 1, Math.Max(1, limit));

    /// <summary>Runs job.Run(0 … tasks − 1), in parallel when there are several tasks and threads.</summary>
    public static void For<TJob>(ref TJob job, int tasks) where TJob : unmanaged, IParallelTask
    {
        int helpers = Math.Min(MaxThreads, tasks) - 1;
        if (helpers <= 0 || !Monitor.TryEnter(Gate))
        {
            for (int t = 0; t < tasks; t++) job.Run(t);
            return;
        }
        try
        {
            while (Wake.Count < helpers) StartWorker();
            fixed (TJob* p = &job)
            {
                _job = p;
                _run = &RunTask<TJob>;
                _tasks = tasks;
                _next = 0;
                _running = helpers + 1;
                for (int w = 0; w < helpers; w++) Wake[w].Release();
                Work();
                Done.Wait();
                _job = null;
            }
        }
        finally
        {
            Monitor.Exit(Gate);
        }
    }

    private static void RunTask<TJob>(void* job, int task) where TJob : unmanaged, IParallelTask => ((TJob*)job)->Run(task);

    private static void Work()
    {
        int t;
        while ((t = Interlocked.Increment(ref _next) - 1) < _tasks) _run(_job, t);
        if (Interlocked.Decrement(ref _running) == 0) Done.Release();
    }

    private static void StartWorker()
    {
        var wake = new SemaphoreSlim(0);
        Wake.Add(wake);
        var thread = new Thread(() =>
        {
            while (true)
            {
                wake.Wait();
                Work();
            }
        }) { IsBackground = true, Name = "Ruler kernel worker" };
        thread.Start();
    }
}
