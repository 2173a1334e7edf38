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
        using var fx = Widen(x);
        Kernels.Moments<float>(layout, fx.Span, moments);
    }

    public static void Forward<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta,
        Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, NarrowOp.Forward, out NarrowJob<T> job))
        {
            ChunkedForward(job, x, default, gamma, beta, default, y, mean, rstd);
            return;
        }
        using Buffer fx = Widen(x), fg = Widen(gamma), fb = Widen(beta), fy = new(y.Length);
        Kernels.Forward<float>(layout, fx.Span, fg.Span, fb.Span, fy.Span, mean, rstd);
        Narrow(fy.Span, y);
    }

    public static void Normalize<T>(RulerLayout layout, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y) where T : unmanaged
    {
        if (NarrowChunks.Fits(layout, NarrowOp.Normalize, out NarrowJob<T> job))
        {
            fixed (double* pm = mean)
            fixed (double* pr = rstd)
                ChunkedForward(job, x, default, gamma, beta, default, y,
                    new Span<double>(pm, mean.Length), new Span<double>(pr, rstd.Length));
            return;
        }
        using Buffer fx = Widen(x), fg = Widen(gamma), fb = Widen(beta), fy = new(y.Length);
        Kernels.Normalize<float>(layout, fx.Span, mean, rstd, fg.Span, fb.Span, fy.Span);
        Narrow(fy.Span, y);
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
        using Buffer fx = Widen(x), fg = Widen(gamma), fdy = Widen(dy), fdh = Widen(dh);
        using Buffer fdx = new(dx.Length), fdg = new(dgamma.Length), fdb = new(dbeta.Length);
        if (dh.IsEmpty && !fromInput) Kernels.Backward<float>(layout, fx.Span, mean, rstd, fg.Span, fdy.Span, fdx.Span, fdg.Span, fdb.Span, false);
        else Kernels.AddBackward<float>(layout, fx.Span, mean, rstd, fg.Span, fdy.Span, fdh.Span, fdx.Span, fdg.Span, fdb.Span);
        Narrow(fdx.Span, dx);
        Narrow(fdg.Span, dgamma);
        Narrow(fdb.Span, dbeta);
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
        using (Buffer fx = Widen(x), fu = Widen(u))
        {
            NarrowChunks.Add(fx.Span, fu.Span);
            Narrow(fx.Span, h);
        }
        Forward(layout, h, gamma, beta, y, mean, rstd);
    }

    private static void ChunkedForward<T>(NarrowJob<T> job, ReadOnlySpan<T> x, ReadOnlySpan<T> u, ReadOnlySpan<T> gamma,
        ReadOnlySpan<T> beta, Span<T> h, Span<T> y, Span<double> mean, Span<double> rstd) where T : unmanaged
    {
        using Buffer fg = Widen(gamma), fb = Widen(beta);
        fixed (T* px = x)
        fixed (T* pu = u)
        fixed (T* ph = h)
        fixed (T* py = y)
        fixed (float* pg = fg.Span)
        fixed (float* pb = fb.Span)
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
    }

    private static void ChunkedBackward<T>(NarrowJob<T> job, ReadOnlySpan<T> x, ReadOnlySpan<double> mean, ReadOnlySpan<double> rstd,
        ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy, ReadOnlySpan<T> dh, Span<T> dx, Span<T> dgamma, Span<T> dbeta, bool fromInput)
        where T : unmanaged
    {
        int affine = dgamma.IsEmpty && dbeta.IsEmpty ? 0 : job.AffineSize;
        var sums = ArrayPool<double>.Shared.Rent(Math.Max(1, 2 * affine * job.Tasks));
        using Buffer fg = Widen(gamma);
        fixed (T* px = x)
        fixed (T* pdy = dy)
        fixed (T* pdh = dh)
        fixed (T* pdx = dx)
        fixed (float* pg = fg.Span)
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
    }

    private static Buffer Widen<T>(ReadOnlySpan<T> values) where T : unmanaged
    {
        var buffer = new Buffer(values.Length);
        fixed (T* src = values)
        fixed (float* dst = buffer.Span)
            NarrowConversions.Widen(src, dst, values.Length);
        return buffer;
    }

    private static void Narrow<T>(ReadOnlySpan<float> values, Span<T> into) where T : unmanaged
    {
        fixed (float* src = values)
        fixed (T* dst = into)
            NarrowConversions.Narrow(src, dst, into.Length);
    }

    /// <summary>A pooled float buffer of an exact length (empty for an absent optional tensor).</summary>
    private readonly struct Buffer(int length) : IDisposable
    {
        private readonly float[]? _array = length == 0 ? null : ArrayPool<float>.Shared.Rent(length);

        public Span<float> Span => _array is null ? default : _array.AsSpan(0, length);

        public void Dispose()
        {
            if (_array is not null) ArrayPool<float>.Shared.Return(_array);
        }
    }
}
