using System.Runtime.InteropServices;
using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The column kernels' apply pass, which writes a large output with non-temporal stores (<see cref="Streaming"/>, <see cref="Simd.RunStreamed{T, TLoop}"/>)
/// give the same bits as with ordinary stores, whatever the output's alignment: the streamed run only moves which
/// vector width writes the first elements, never which operations an element gets. Outputs are placed at every
/// 4-byte offset within a 64-byte line (16-byte steps stream, the others cannot), and the streaming threshold is
/// forced to 0 (every call streams) and to the maximum (none does).
/// </summary>
[Collection(SerialCollection.Name)]
public unsafe class StreamingStoresTests
{
    [Theory]
    [InlineData(4, 5, 5, 48)]
    [InlineData(3, 7, 2, 37)]
    public void ChannelsLastForwardIsTheSameBitsStreamedOrNotAtEveryAlignment(int n, int h, int w, int c)
    {
        var ruler = RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast);
        int count = n * h * w * c;
        int[] shape = [n, h, w, c];
        var random = new Random(c);
        float[] x = Fill(random, count, 2), gamma = Fill(random, c, 1), beta = Fill(random, c, 0);
        foreach (int offset in new[] { 0, 1, 4, 8, 12 })
        {
            var plain = WithThreshold(false, () => Forward(offset));
            var streamed = WithThreshold(true, () => Forward(offset));
            Assert.Equal(plain, streamed);
        }

        float[] Forward(int offset)
        {
            using var y = new NativeBuffer<float>(count, offset);
            double[] mean = new double[c], rstd = new double[c];
            RulerOps.Forward<float>(ruler, x, shape, gamma, beta, y.Span, mean, rstd);
            return y.Span.ToArray();
        }
    }

    [Fact]
    public void DoubleChannelsLastForwardAndNormalizeAreTheSameBitsStreamedOrNot()
    {
        var ruler = RulerSpec.BatchNorm(4, ChannelLayout.ChannelsLast);
        int[] shape = [2, 3, 5, 41];
        int count = 2 * 3 * 5 * 41;
        var random = new Random(9);
        double[] x = Array.ConvertAll(Fill(random, count, 5), v => (double)v), gamma = Array.ConvertAll(Fill(random, 41, 1), v => (double)v);
        foreach (int offset in new[] { 0, 2, 4, 6, 1 })
        {
            Assert.Equal(WithThreshold(false, () => Run(offset, normalize: false)), WithThreshold(true, () => Run(offset, normalize: false)));
            Assert.Equal(WithThreshold(false, () => Run(offset, normalize: true)), WithThreshold(true, () => Run(offset, normalize: true)));
        }

        double[] Run(int offset, bool normalize)
        {
            using var y = new NativeBuffer<double>(count, offset);
            double[] mean = new double[41], rstd = new double[41];
            if (!normalize) RulerOps.Forward<double>(ruler, x, shape, gamma, [], y.Span, mean, rstd);
            else
            {
                for (int c = 0; c < 41; c++) (mean[c], rstd[c]) = (4.5 + c / 41.0, 1.5 - c / 100.0);
                RulerOps.Normalize<double>(ruler, x, shape, mean, rstd, gamma, [], y.Span);
            }
            return y.Span.ToArray();
        }
    }

    [Fact]
    public void TheThresholdDecidesWhichOutputsStream()
    {
        long saved = Streaming.MinBytes;
        try
        {
            Streaming.MinBytes = 1024;
            bool x86 = System.Runtime.Intrinsics.X86.Sse.IsSupported;
            Assert.Equal(x86, Streaming.For<float>(256));
            Assert.False(Streaming.For<float>(255));
            Assert.Equal(x86, Streaming.For<double>(128));
            Assert.False(Streaming.For<double>(127));
        }
        finally { Streaming.MinBytes = saved; }
    }

    private static TResult WithThreshold<TResult>(bool stream, Func<TResult> run)
    {
        long saved = Streaming.MinBytes;
        Streaming.MinBytes = stream ? 0 : long.MaxValue;
        try { return run(); }
        finally { Streaming.MinBytes = saved; }
    }

    private static float[] Fill(Random random, int n, float offset)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = offset + (float)(random.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>n elements at <paramref name="offset"/> elements past a 64-byte boundary, filled with NaN first (every element must be written).</summary>
    private sealed class NativeBuffer<T> : IDisposable where T : unmanaged
    {
        private readonly void* _block;
        private readonly int _n, _offset;

        public NativeBuffer(int n, int offset)
        {
            _block = NativeMemory.AlignedAlloc((nuint)((n + offset + 16) * sizeof(T)), 64);
            _n = n;
            _offset = offset;
            var all = new Span<byte>(_block, (n + offset + 16) * sizeof(T));
            all.Fill(0xFF);   // NaN in float and double
        }

        public Span<T> Span => new((T*)_block + _offset, _n);

        public void Dispose() => NativeMemory.AlignedFree(_block);
    }
}
