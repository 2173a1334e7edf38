namespace Ruler.Nn.Tests;

/// <summary>
/// The engine's loops run on the library's pool (no .NET thread-pool thread does engine work): each task runs on the
/// calling thread or on a "Ruler worker", exactly once, with any thread count.
/// </summary>
public class EnginePoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void EngineLoopsRunOnTheCallerOrTheLibrarysWorkers(int threads)
    {
        int saved = RulerParallelism.MaxThreads;
        try
        {
            RulerParallelism.MaxThreads = threads;
            int caller = Environment.CurrentManagedThreadId;
            var counts = new int[200];
            int foreign = 0;
            Parallelism.For(counts.Length, i =>
            {
                Interlocked.Increment(ref counts[i]);
                if (Environment.CurrentManagedThreadId != caller && Thread.CurrentThread.Name != "Ruler worker") Interlocked.Increment(ref foreign);
            });
            Assert.All(counts, c => Assert.Equal(1, c));
            Assert.Equal(0, foreign);
        }
        finally
        {
            RulerParallelism.MaxThreads = saved;
        }
    }
}
