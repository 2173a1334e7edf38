using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The one pool of the library and the engine (<see cref="Threading"/>): a task's exception reaches the caller and
/// leaves the pool usable; a loop started inside a task runs (in order, on that thread) instead of overwriting the
/// running job; every task runs exactly once on the caller or a pool worker.
/// </summary>
[Collection(SerialCollection.Name)]
public class ThreadPoolTests
{
    [Fact]
    public void ATaskExceptionReachesTheCallerAndThePoolStaysUsable()
    {
        WithThreads(4, () =>
        {
            var e = Assert.Throws<InvalidOperationException>(() => Threading.For(64, t =>
            {
                if (t == 37) throw new InvalidOperationException("task 37");
            }));
            Assert.Equal("task 37", e.Message);
            AssertEveryTaskRunsOnce(64);
        });
    }

    [Fact]
    public void ALoopInsideATaskRunsEveryInnerTaskOnce()
    {
        WithThreads(4, () =>
        {
            const int outer = 16, inner = 32;
            var counts = new int[outer * inner];
            Threading.For(outer, o => Threading.For(inner, i => Interlocked.Increment(ref counts[o * inner + i])));
            Assert.All(counts, c => Assert.Equal(1, c));
        });
    }

    [Fact]
    public void TasksRunOnTheCallerOrAPoolWorkerOnly()
    {
        WithThreads(4, () =>
        {
            var caller = Environment.CurrentManagedThreadId;
            var foreign = new List<string>();
            Threading.For(256, _ =>
            {
                var thread = Thread.CurrentThread;
                if (Environment.CurrentManagedThreadId != caller && thread.Name != "Ruler worker")
                    lock (foreign) foreign.Add(thread.Name ?? $"#{Environment.CurrentManagedThreadId}");
            });
            Assert.Empty(foreign);
        });
    }

    private static void AssertEveryTaskRunsOnce(int tasks)
    {
        var counts = new int[tasks];
        Threading.For(tasks, t => Interlocked.Increment(ref counts[t]));
        Assert.All(counts, c => Assert.Equal(1, c));
    }

    private static void WithThreads(int threads, Action run)
    {
        int saved = RulerParallelism.MaxThreads;
        try
        {
            RulerParallelism.MaxThreads = threads;
            run();
        }
        finally
        {
            RulerParallelism.MaxThreads = saved;
        }
    }
}
