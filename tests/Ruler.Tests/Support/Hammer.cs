namespace Ruler.Tests.Support;

/// <summary>
/// Calls one module instance from several threads at once for a while and checks the threading contract: every call
/// either returns the single-threaded answer or is refused with the one-caller-at-a-time
/// <see cref="InvalidOperationException"/>; nothing else is thrown, and both outcomes occur.
/// </summary>
internal static class Hammer
{
    /// <param name="threads">Threads calling at once.</param>
    /// <param name="duration">How long they keep calling at least; on a loaded machine threads overlap rarely, so they go on
    /// (up to ten times as long) until a refusal has been seen.</param>
    /// <param name="newCaller">Per thread (given its index): a call that returns whether its result was the expected one.</param>
    /// <param name="refusal">Text fragments every refusal message must contain.</param>
    public static void AssertCorrectOrRefused(int threads, TimeSpan duration, Func<int, Func<bool>> newCaller, params string[] refusal)
    {
        int ok = 0, refused = 0, wrong = 0;
        string? unexpected = null;
        var start = DateTime.UtcNow;
        var until = start + duration;
        var giveUp = start + 10 * duration;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var call = newCaller(t);
            while (DateTime.UtcNow is var now && (now < until || (Volatile.Read(ref refused) == 0 && now < giveUp)))
            {
                try
                {
                    if (call()) Interlocked.Increment(ref ok);
                    else Interlocked.Increment(ref wrong);
                }
                catch (InvalidOperationException e) when (refusal.All(e.Message.Contains))
                {
                    Interlocked.Increment(ref refused);
                }
                catch (Exception e)
                {
                    unexpected ??= e.ToString();
                }
            }
        })).ToList();
        workers.ForEach(w => w.Start());
        workers.ForEach(w => w.Join());
        Assert.Null(unexpected);
        Assert.Equal(0, wrong);
        Assert.True(ok > 0, "no call succeeded");
        Assert.True(refused > 0, $"no concurrent call was refused in {ok} calls from {threads} threads");
    }
}
