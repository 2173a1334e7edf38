using System.Buffers;

namespace Ruler.Internal;

/// <summary>
/// Half and <see cref="BFloat16"/> storage: inputs are widened (exactly) to float, the float kernels run (float
/// element math, float64 statistics), and outputs are rounded once to the storage type. So a Half tensor whose
/// variance exceeds Half's range (|x| ≈ 500, x² ≈ 250000 &gt; 65504) is normalized without overflow, and results
/// are within one storage ulp of the float64 reference. When a layout's groups are contiguous (rows, channels-first
/// planes) the work goes in chunks of whole groups (<see cref="NarrowChunks"/>) whose float copies stay in cache, so
/// memory sees only the 16-bit reads and writes; other layouts widen the whole tensor into pooled float buffers.
/// </summary>
internal static unsafe class NarrowKernels
{
    public static bool Handles<T>() => typeof(T) == typeof(Half) || typeof(T) == typeof(BFloat16);

    public static void Moments<T>(RulerLayout layout, ReadOnlySpan<T> x, Span<GroupMoments> moments) where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, NarrowOp.Moments, out NarrowJob<T> job))
        {
            fixed (T* px = x)
            fixed (GroupMoments* pm = moments)
            {
                job.X = px;
                job.Moments = pm;
                NarrowChunks.Run(ref job);
            }
            return;
        }
        var scratch = new Scratch(x.Length);
        try
        {
            Kernels.Moments<float>(layout, scratch.Widen(x), moments);
        }
        finally
        {
            scratch.Dispose();
        }
    }

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
        => Forward(NarrowOp.Forward, layout, x, gamma, beta, y, mean, rstd);

    /// <summary>The forward with the given statistics, which are only read (the chunks see them as writable pointers).</summary>
    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
            Forward(NarrowOp.Normalize, layout, x, gamma, beta, y,
                new Span<double>(pm, mean.Length), new Span<double>(pr, rstd.Length));
    }

    /// <summary>
    /// <see cref="NarrowOp.Forward"/> (statistics computed into <paramref name="mean"/> and <paramref name="rstd"/>)
    /// or <see cref="NarrowOp.Normalize"/> (statistics given there), chunked when the layout allows.
    /// </summary>
    private static void Forward<T>(NarrowOp op, RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, op, out NarrowJob<T> job))
        {
            ChunkedForward(job, x, default, gamma, beta, default, y, mean, rstd);
            return;
        }
        var scratch = new Scratch(2 * x.Length + gamma.Length + beta.Length);
        try
        {
            Span<float> fx = scratch.Widen(x), fg = scratch.Widen(gamma), fb = scratch.Widen(beta), fy = scratch.Take(y.Length);
            if (op == NarrowOp.Normalize) Kernels.Normalize<float>(layout, fx, mean, rstd, fg, fb, fy);
            else Kernels.Forward<float>(layout, fx, fg, fb, fy, mean, rstd);
            Narrow(fy, y);
        }
        finally
        {
            scratch.Dispose();
        }
    }

    public static void Backward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput)
        where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, NarrowOp.Backward, out NarrowJob<T> job))
        {
            ChunkedBackward(job, x, mean, rstd, gamma, dy, dh, dx, dgamma, dbeta, fromInput);
            return;
        }
        var scratch = new Scratch(x.Length + gamma.Length + dy.Length + dh.Length + dx.Length + dgamma.Length + dbeta.Length);
        try
        {
            Span<float> fx = scratch.Widen(x), fg = scratch.Widen(gamma), fdy = scratch.Widen(dy), fdh = scratch.Widen(dh);
            Span<float> fdx = scratch.Take(dx.Length), fdg = scratch.Take(dgamma.Length), fdb = scratch.Take(dbeta.Length);
            if (dh.IsEmpty && !fromInput) Kernels.Backward<float>(layout, fx, mean, rstd, fg, fdy, fdx, fdg, fdb, false);
            else Kernels.AddBackward<float>(layout, fx, mean, rstd, fg, fdy, fdh, fdx, fdg, fdb);
            Narrow(fdx, dx);
            Narrow(fdg, dgamma);
            Narrow(fdb, dbeta);
        }
        finally
        {
            scratch.Dispose();
        }
    }

    /// <summary>
    /// h = x + u rounded to the storage type (as the reference does), then the forward of h. The float sum of two
    /// 16-bit values rounded again to 16 bits is the correctly rounded sum (float has at least 2p + 2 bits).
    /// </summary>
    public static void AddForward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, NarrowOp.AddForward, out NarrowJob<T> job))
        {
            ChunkedForward(job, x, u, gamma, beta, h, y, mean, rstd);
            return;
        }
        var scratch = new Scratch(x.Length + u.Length);
        try
        {
            Span<float> fx = scratch.Widen(x);
            NarrowChunks.Add(fx, scratch.Widen(u));
            Narrow(fx, h);
        }
        finally
        {
            scratch.Dispose();
        }
        Forward(layout, h, gamma, beta, y, mean, rstd);
    }

    private static void ChunkedForward<T>(NarrowJob<T> job, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        var scratch = new Scratch(gamma.Length + beta.Length);
        Span<float> fg = scratch.Widen(gamma), fb = scratch.Widen(beta);
        fixed (T* px = x)
        fixed (T* pu = u)
        fixed (T* ph = h)
        fixed (T* py = y)
        fixed (float* pg = fg)
        fixed (float* pb = fb)
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
        {
            job.X = px;
            job.U = pu;
            job.H = ph;
            job.Out = py;
            job.Gamma = pg;
            job.Beta = pb;
            job.Mean = pm;
            job.Rstd = pr;
            NarrowChunks.Run(ref job);
        }
        scratch.Dispose();
    }

    private static void ChunkedBackward<T>(NarrowJob<T> job, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput)
        where T : unmanaged
    {
        int affine = dgamma.IsEmpty && dbeta.IsEmpty ? 0 : job.AffineSize;
        var sums = ArrayPool<double>.Shared.Rent(Math.Max(1, 2 * affine * job.Tasks));
        var scratch = new Scratch(gamma.Length);
        Span<float> fg = scratch.Widen(gamma);
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pdh = dh)
        fixed (T* pdx = dx)
        fixed (float* pg = fg)
        fixed (double* pm = mean)
        fixed (double* pr = rstd)
        fixed (double* ps = sums)
        {
            job.X = px;
            job.Dy = pdy;
            job.Dh = pdh;
            job.Out = pdx;
            job.Gamma = pg;
            job.Mean = pm;
            job.Rstd = pr;
            job.FromInput = fromInput;
            job.GammaSums = !dgamma.IsEmpty;
            job.BetaSums = !dbeta.IsEmpty;
            job.Sums = affine == 0 ? null : ps;
            NarrowChunks.Run(ref job);
        }
        for (int a = 0; a < affine; a++)
        {
            double dg = 0, db = 0;
            for (int t = 0; t < job.Tasks; t++)
            {
                dg += sums[2L * affine * t + a];
                db += sums[2L * affine * t + affine + a];
            }
            if (!dgamma.IsEmpty) dgamma[a] = Num.FromDouble<T>(dg);
            if (!dbeta.IsEmpty) dbeta[a] = Num.FromDouble<T>(db);
        }
        ArrayPool<double>.Shared.Return(sums);
        scratch.Dispose();
    }

    private static void Narrow<T>(ReadOnlySpan<float> values, Span<T> into) where T : unmanaged
    {
        fixed (float* src = values)
        fixed (T* dst = into)
            NarrowConversions.Narrow(src, dst, into.Length);
    }

    /// <summary>
    /// One pooled float array per call, handed out in exact-length pieces (empty for an absent optional tensor): a
    /// single rental keeps the steady state allocation-free even when other threads use the pool.
    /// </summary>
    private struct Scratch(int length)
    {
        private readonly float[] _array = ArrayPool<float>.Shared.Rent(Math.Max(1, length));
        private int _used;

        public Span<float> Take(int count)
        {
            var piece = count == 0 ? default : _array.AsSpan(_used, count);
            _used += count;
            return piece;
        }

        /// <summary>The next piece, holding <paramref name="values"/> widened.</summary>
        public Span<float> Widen<T>(ReadOnlySpan<T> values) where T : unmanaged
        {
            var piece = Take(values.Length);
            fixed (T* src = values)
            fixed (float* dst = piece)
                NarrowConversions.Widen(src, dst, values.Length);
            return piece;
        }

        public readonly void Dispose() => ArrayPool<float>.Shared.Return(_array);
    }
}
