using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Ruler.Internal;

/// <summary>One task of a parallel kernel: a fixed slice of the work, independent of how many threads run it.</summary>
internal interface IParallelTask
{
    void Run(int task);
}

/// <summary>
/// The one pool of background workers of the library and the engine (Ruler.Nn reaches it through
/// InternalsVisibleTo; nothing else in the process is used for parallel work). A caller splits its work into a fixed
/// number of tasks that depends only on the shape of the work, and merges their partial results in task order, so its
/// output is the same bits for any <see cref="MaxThreads"/>. Dispatch allocates nothing: the job is a struct on the
/// dispatching frame's stack, reached through a pointer while the caller waits for it, and the waits are semaphores
/// (whose locks exist from the start, unlike ManualResetEventSlim's).
/// </summary>
/// <remarks>
/// One job uses the pool at a time. A call that finds it busy (another thread's job, or a task of the running job
/// that itself calls <see cref="For{TJob}"/>) runs its tasks on its own thread, in order: same results, no deadlock,
/// and no nesting that could overwrite the running job. An exception thrown by a task reaches the caller of
/// <see cref="For{TJob}"/> (the first one thrown, with its stack); the tasks not started yet are skipped.
/// </remarks>
internal static unsafe class Threading
{
    private static readonly List<SemaphoreSlim> Wake = [];
    private static readonly SemaphoreSlim Done = new(0);
    private static int _maxThreads = Environment.ProcessorCount;
    private static int _busy;
    private static void* _job;
    private static delegate*<void*, int, void> _run;
    private static int _tasks, _next, _running;
    private static Exception? _error;

    /// <summary>Most threads (the caller included) one call uses; at least 1. Results do not depend on it.</summary>
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

    /// <summary>Runs job.Run(0 … tasks − 1), in parallel when there are several tasks and threads and the pool is free.</summary>
    public static void For<TJob>(ref TJob job, int tasks) where TJob : struct, IParallelTask
    {
        int helpers = Math.Min(MaxThreads, tasks) - 1;
        if (helpers <= 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            for (int t = 0; t < tasks; t++) job.Run(t);
            return;
        }
        // The job is copied to this frame, which outlives every task (it waits for them), so the workers' pointer to it
        // stays valid and the references it holds stay reported to the GC; it is copied back for jobs that keep results.
        var local = job;
        try
        {
            while (Wake.Count < helpers) StartWorker();   // only the holder of _busy touches the list
            _job = Unsafe.AsPointer(ref local);
            _run = &RunTask<TJob>;
            _tasks = tasks;
            _next = 0;
            _error = null;
            _running = helpers + 1;
            for (int w = 0; w < helpers; w++) Wake[w].Release();
            Work();
            Done.Wait();
            _job = null;
            var error = _error;
            _error = null;
            if (error is not null) ExceptionDispatchInfo.Throw(error);
        }
        finally
        {
            job = local;
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Runs body(0 … count − 1) on the pool (for callers whose work is a closure; allocates the closure's task).</summary>
    public static void For(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var job = new ActionTask(body);
        For(ref job, count);
    }

    private readonly struct ActionTask(Action<int> body) : IParallelTask
    {
        public void Run(int task) => body(task);
    }

    private static void RunTask<TJob>(void* job, int task) where TJob : struct, IParallelTask => Unsafe.AsRef<TJob>(job).Run(task);

    private static void Work()
    {
        try
        {
            int t;
            while ((t = Interlocked.Increment(ref _next) - 1) < _tasks) _run(_job, t);
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Volatile.Write(ref _next, int.MaxValue / 2);   // skip the tasks not started yet
        }
        finally
        {
            if (Interlocked.Decrement(ref _running) == 0) Done.Release();
        }
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
        }) { IsBackground = true, Name = "Ruler worker" };
        thread.Start();
    }
}
