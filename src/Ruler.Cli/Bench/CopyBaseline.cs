using System.Numerics;
using System.Runtime.InteropServices;

namespace Ruler.Cli.Bench;

/// <summary>
/// The memory-speed baseline: a plain vectorized copy of the same buffers, split into one contiguous slice per
/// thread (for buffers large enough that threads pay off). Normalization is memory-bound, so its limit is the time to read x and write y once.
/// </summary>
internal static class CopyBaseline
{
    /// <summary>Below this many bytes per thread, waking a second thread costs more than it saves: copy on one.</summary>
    public const int MinBytesPerThread = 256 * 1024;

    public static void Copy(ReadOnlySpan<byte> source, Span<byte> destination, int threads)
    {
        if (threads <= 1 || source.Length < MinBytesPerThread * 2)
        {
            source.CopyTo(destination);
            return;
        }
        unsafe
        {
            fixed (byte* s = source)
            fixed (byte* d = destination)
            {
                nint sp = (nint)s, dp = (nint)d;
                long length = source.Length;
                long slice = (length / threads + 63) & ~63L;
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long start = t * slice, count = Math.Min(slice, length - start);
                    if (count > 0)
                        new ReadOnlySpan<byte>((byte*)sp + start, (int)count).CopyTo(new Span<byte>((byte*)dp + start, (int)count));
                });
            }
        }
    }

    public static void Copy<T>(T[] source, T[] destination, int threads) where T : unmanaged =>
        Copy(MemoryMarshal.AsBytes(source.AsSpan()), MemoryMarshal.AsBytes(destination.AsSpan()), threads);
}
