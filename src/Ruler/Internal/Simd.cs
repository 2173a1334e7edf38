using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ruler.Internal;

/// <summary>
/// A loop over n elements written once against <see cref="ISimd{TV, T, TD}"/>: <see cref="Simd.Run{T, TLoop}"/> runs
/// it with Vector512, then Vector256, then Vector128 (each while a whole vector fits and the width is accelerated),
/// then element by element. <c>Vector</c> processes the whole vectors of [start, end), a multiple of the width that
/// the driver chose; <c>Scalar</c> one element. Pointers are stored untyped and read as the method's element type TE (= T).
/// </summary>
internal interface ISimdLoop
{
    void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>;

    void Scalar(int i);
}

/// <summary>
/// The vector primitives of the kernels, for float and double storage. Sums are float64 (float lanes are widened);
/// element-wise results are computed in the storage type. Centering is x − mean_hi − mean_lo with mean_hi the
/// mean rounded to T and mean_lo the rest, so a large offset cancels exactly before any rounding of the spread.
/// </summary>
/// <summary>
/// An element-wise <see cref="ISimdLoop"/> whose one output can take non-temporal stores
/// (<see cref="Simd.RunStreamed{T, TLoop}"/>): while <see cref="Stream"/> is true its vector stores use
/// <see cref="ISimd{TV, T, TD}.StoreStream"/>, whose addresses the driver has aligned.
/// </summary>
internal interface IStreamingLoop : ISimdLoop
{
    bool Stream { get; set; }
}

/// <summary>
/// When a kernel's output takes non-temporal stores: outputs of at least <see cref="MinBytes"/> (x86 only). A store
/// that misses the caches first reads the line it writes; a non-temporal store does not, so a kernel that streams a
/// large output moves a third fewer bytes (measured on this project's 2-core Xeon VM: a 32 MiB scale-and-store loop
/// ran at 1.43x the time of a copy with ordinary stores and 0.93x with non-temporal ones). Below the threshold the
/// output is left in cache, where the next layer reads it. Used where it measured faster: the apply pass of column
/// layouts (BatchNorm channels-last training forward [32, 28, 28, 256]: 1.13-1.18x faster). Row backward (dx of
/// LayerNorm at hidden 768 to 16384) measured no faster streamed (0.94-1.02x: it is bound by its two passes' arithmetic,
/// not by the store traffic). Row forward measured slower streamed (0.73-0.87x at 8192x1024 to 512x16384): streaming
/// needs each row measured before it is written, and the pipelined pass (the next row measured from memory inside
/// this row's write) is worth more than the saved reads; plane forwards pipeline the same way.
/// </summary>
internal static class Streaming
{
    /// <summary>The smallest output in bytes that streams (tests lower it to run the streaming paths at small sizes).</summary>
    public static long MinBytes { get; set; } = 8L << 20;

    /// <summary>Whether an output of <paramref name="elements"/> elements of T streams.</summary>
    public static unsafe bool For<T>(long elements) where T : unmanaged => Sse.IsSupported && elements * sizeof(T) >= MinBytes;

    /// <summary>Orders this thread's non-temporal stores before what it does next (the end of a task that streamed).</summary>
    public static void Fence()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }
}

internal static unsafe class Simd
{
    /// <summary>Runs a loop through the width cascade (see <see cref="ISimdLoop"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Run<T, TLoop>(ref TLoop loop, int n) where T : unmanaged where TLoop : struct, ISimdLoop
    {
        int i = 0;
        if (typeof(T) == typeof(float))
        {
            if (Vector512.IsHardwareAccelerated) Whole<Vector512<float>, float, Vector512<double>, F512, TLoop>(ref loop, ref i, n);
            if (Vector256.IsHardwareAccelerated) Whole<Vector256<float>, float, Vector256<double>, F256, TLoop>(ref loop, ref i, n);
            if (Vector128.IsHardwareAccelerated) Whole<Vector128<float>, float, Vector128<double>, F128, TLoop>(ref loop, ref i, n);
        }
        else if (typeof(T) == typeof(double))
        {
            if (Vector512.IsHardwareAccelerated) Whole<Vector512<double>, double, Vector512<double>, D512, TLoop>(ref loop, ref i, n);
            if (Vector256.IsHardwareAccelerated) Whole<Vector256<double>, double, Vector256<double>, D256, TLoop>(ref loop, ref i, n);
            if (Vector128.IsHardwareAccelerated) Whole<Vector128<double>, double, Vector128<double>, D128, TLoop>(ref loop, ref i, n);
        }
        for (; i < n; i++) loop.Scalar(i);
    }

    /// <summary>
    /// <see cref="Run{T, TLoop}"/> for an element-wise loop whose stores go to <paramref name="output"/>[0, n), with
    /// non-temporal stores (around the caches, no read of the line before the write) when <paramref name="stream"/>:
    /// the first elements up to the widest width's alignment of the output run with the narrower widths, then the widest
    /// width with <see cref="ISimd{TV, T, TD}.StoreStream"/> on aligned addresses, then the usual cascade. Every element
    /// gets the same operations as in <see cref="Run{T, TLoop}"/> (lanes are independent and every width computes a
    /// lane alike, and the scalar tail is the same last n mod (16 bytes / sizeof(T)) elements), so the result is the
    /// same bits whether or not it streams. An output not aligned to 16 bytes does not stream. Non-temporal stores are
    /// weakly ordered: the task that issued them ends with <see cref="Streaming.Fence"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RunStreamed<T, TLoop>(ref TLoop loop, int n, T* output, bool stream) where T : unmanaged where TLoop : struct, IStreamingLoop
    {
        if (!stream || ((nint)output & 15) != 0 || typeof(T) != typeof(float) && typeof(T) != typeof(double))
        {
            Run<T, TLoop>(ref loop, n);
            return;
        }
        int i = 0;
        if (typeof(T) == typeof(float))
            StreamedWidths<float, Vector512<float>, Vector512<double>, F512, Vector256<float>, Vector256<double>, F256,
                Vector128<float>, Vector128<double>, F128, TLoop>(ref loop, ref i, n, (float*)output);
        else
            StreamedWidths<double, Vector512<double>, Vector512<double>, D512, Vector256<double>, Vector256<double>, D256,
                Vector128<double>, Vector128<double>, D128, TLoop>(ref loop, ref i, n, (double*)output);
        for (; i < n; i++) loop.Scalar(i);
    }

    /// <summary>
    /// The width cascade of <see cref="RunStreamed{T, TLoop}"/> for one element type: the head up to the widest width's
    /// alignment on the narrower widths, the widest width streamed, then the narrower widths for what is left.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StreamedWidths<TE, TV5, TD5, S5, TV2, TD2, S2, TV1, TD1, S1, TLoop>(ref TLoop loop, ref int i, int n, TE* output)
        where TE : unmanaged where TV5 : struct where TD5 : struct where S5 : ISimd<TV5, TE, TD5>
        where TV2 : struct where TD2 : struct where S2 : ISimd<TV2, TE, TD2>
        where TV1 : struct where TD1 : struct where S1 : ISimd<TV1, TE, TD1> where TLoop : struct, IStreamingLoop
    {
        if (Vector512.IsHardwareAccelerated)
        {
            int head = Head(output, 64, n);
            Whole<TV2, TE, TD2, S2, TLoop>(ref loop, ref i, head);
            Whole<TV1, TE, TD1, S1, TLoop>(ref loop, ref i, head);
            Streamed<TV5, TE, TD5, S5, TLoop>(ref loop, ref i, n);
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            Whole<TV1, TE, TD1, S1, TLoop>(ref loop, ref i, Head(output, 32, n));
            Streamed<TV2, TE, TD2, S2, TLoop>(ref loop, ref i, n);
        }
        if (Vector256.IsHardwareAccelerated) Whole<TV2, TE, TD2, S2, TLoop>(ref loop, ref i, n);
        if (Vector128.IsHardwareAccelerated) Whole<TV1, TE, TD1, S1, TLoop>(ref loop, ref i, n);
    }

    /// <summary>Elements before the first <paramref name="alignment"/>-aligned address at or after p (a multiple of 16 bytes' worth), at most n.</summary>
    private static int Head<T>(T* p, int alignment, int n) where T : unmanaged =>
        Math.Min(n, (int)((alignment - ((nint)p & (alignment - 1))) & (alignment - 1)) / sizeof(T));

    /// <summary><see cref="Whole"/> with the loop's stores non-temporal (its output is aligned to S from i on).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Streamed<TV, TE, TD, S, TLoop>(ref TLoop loop, ref int i, int n)
        where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD> where TLoop : struct, IStreamingLoop
    {
        loop.Stream = true;
        Whole<TV, TE, TD, S, TLoop>(ref loop, ref i, n);
        loop.Stream = false;
    }

    /// <summary>Hands the loop the whole vectors of width S.Count left in [i, n) (n: an end or a limit), if any, and moves i past them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Whole<TV, TE, TD, S, TLoop>(ref TLoop loop, ref int i, int n)
        where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD> where TLoop : struct, ISimdLoop
    {
        int end = i + (n - i) / S.Count * S.Count;
        if (end == i) return;
        loop.Vector<TV, TE, TD, S>(i, end);
        i = end;
    }

    /// <summary>h = x + u (rounded to T), and Σ (h − shift) in float64.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double AddSumShifted<T>(T* x, T* u, T* h, int n, double shift) where T : unmanaged
    {
        var loop = new AddSumShiftedLoop<T> { X = x, U = u, H = h, Shift = shift };
        Run<T, AddSumShiftedLoop<T>>(ref loop, n);
        return loop.Sum;
    }

    /// <summary>With d = x − mean in float64: (Σ d², Σ d). Σ d corrects the rounding of the mean (two-pass formula).</summary>
    public static (double Squares, double Linear) Deviations<T>(T* x, int n, double mean) where T : unmanaged
    {
        var loop = new DeviationsLoop<T> { X = x, Mean = mean };
        Run<T, DeviationsLoop<T>>(ref loop, n);
        return (loop.Squares, loop.Linear);
    }

    /// <summary>h = x + u.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add<T>(T* x, T* u, T* h, int n) where T : unmanaged
    {
        var loop = new AddLoop<T> { X = x, U = u, H = h };
        Run<T, AddLoop<T>>(ref loop, n);
    }

    /// <summary>y = ((x − mh) − ml)·a + b with scalars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Apply<T>(T* x, T* y, int n, double mh, double ml, double a, double b) where T : unmanaged
    {
        var loop = new ApplyLoop<T> { X = x, Y = y, Mh = mh, Ml = ml, A = a, B = b };
        Run<T, ApplyLoop<T>>(ref loop, n);
    }

    /// <summary>y = ((x − mh) − ml)·s·g + b with g, b per element (either may be null: 1 and 0).</summary>
    /// <remarks>
    /// With <paramref name="next"/> not null, also returns (Σ d², Σ d) in float64 with d = next − nextShift over the
    /// same n elements: a row kernel measures the next row (from memory) while it writes this one (from L1), so
    /// memory keeps streaming.
    /// </remarks>
    public static (double Squares, double Linear) ApplyAffine<T>(T* x, T* y, int n, double mh, double ml, double s, T* g, T* b,
        T* next = null, double nextShift = 0) where T : unmanaged
    {
        var loop = new ApplyAffineLoop<T> { X = x, Y = y, Mh = mh, Ml = ml, S = s, G = g, B = b, Next = next, NextShift = nextShift };
        Run<T, ApplyAffineLoop<T>>(ref loop, n);
        return (loop.NextSquares, loop.NextLinear);
    }

    /// <summary>y = ((x − mh) − ml)·a + b with every operand per element (one row of a column layout).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyColumns<T>(T* x, T* y, int n, T* mh, T* ml, T* a, T* b, bool stream = false) where T : unmanaged
    {
        var loop = new ApplyColumnsLoop<T> { X = x, Y = y, Mh = mh, Ml = ml, A = a, B = b };
        RunStreamed<T, ApplyColumnsLoop<T>>(ref loop, n, y, stream);
    }

    /// <summary>
    /// Column sums over <paramref name="rows"/> rows <paramref name="stride"/> elements apart: for every column
    /// j &lt; n, acc[j] = Σ (x[r, j] − shift[j]) in float64 (overwritten). A block of columns is summed down the rows
    /// in registers, so nothing but the result is stored.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnsShifted<T>(T* x, int rows, int stride, int n, double* shift, double* acc) where T : unmanaged
    {
        var loop = new ColumnsShiftedLoop<T> { X = x, Rows = rows, Stride = stride, Shift = shift, Acc = acc };
        Run<T, ColumnsShiftedLoop<T>>(ref loop, n);
    }

    /// <summary>With d = x[r, j] − mean[j] in float64: sq[j] = Σ d², lin[j] = Σ d (overwritten), as <see cref="ColumnsShifted"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ColumnsDeviations<T>(T* x, int rows, int stride, int n, double* mean, double* sq, double* lin) where T : unmanaged
    {
        var loop = new ColumnsDeviationsLoop<T> { X = x, Rows = rows, Stride = stride, Mean = mean, Sq = sq, Lin = lin };
        Run<T, ColumnsDeviationsLoop<T>>(ref loop, n);
    }

    /// <summary>With xc = (x − mh) − ml: (Σ dy, Σ dy·xc) in float64.</summary>
    public static (double Dy, double DyXc) GradSums<T>(T* x, T* dy, int n, double mh, double ml) where T : unmanaged
    {
        var loop = new GradSumsLoop<T> { X = x, Dy = dy, Mh = mh, Ml = ml };
        Run<T, GradSumsLoop<T>>(ref loop, n);
        return (loop.SumDy, loop.SumDyXc);
    }

    /// <summary>
    /// With xc = (x − mh) − ml and g = dy·γ (γ per element, null for 1): returns (Σ g, Σ g·xc) in float64 and adds
    /// dy·xc·s and dy per element into <paramref name="dgamma"/> and <paramref name="dbeta"/>, short-lived partials
    /// in T that the caller flushes into float64 every few rows (<see cref="Flush"/>). With <paramref name="ahead"/>
    /// not 0 (x86), x and dy that many elements further on are prefetched into L1 line by line as the loop goes: the
    /// rows the caller reads next, asked for early and spread over the loop (a burst before each row measured slower).
    /// </summary>
    public static (double G, double GXc) GradSumsAffine<T>(T* x, T* dy, T* gamma, int n, double mh, double ml, double s,
        T* dgamma, T* dbeta, int ahead) where T : unmanaged
    {
        var loop = new GradSumsAffineLoop<T>
        {
            X = x, Dy = dy, Gamma = gamma, Mh = mh, Ml = ml, S = s, Dg = dgamma, Db = dbeta, Ahead = Sse.IsSupported ? ahead : 0,
        };
        Run<T, GradSumsAffineLoop<T>>(ref loop, n);
        return (loop.SumG, loop.SumGXc);
    }

    /// <summary>total += partial in float64, then partial = 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Flush<T>(T* partial, double* total, int n) where T : unmanaged
    {
        var loop = new FlushLoop<T> { Partial = partial, Total = total };
        Run<T, FlushLoop<T>>(ref loop, n);
    }

    /// <summary>
    /// Column gradient sums over <paramref name="rows"/> rows <paramref name="stride"/> apart, with
    /// xc = (x − mh[j]) − ml[j]: sdy[j] += Σ dy, sdyx[j] += Σ dy·xc (float64; summed in registers down the rows).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradColumns<T>(T* x, T* dy, int rows, int stride, int n, T* mh, T* ml, double* sdy, double* sdyx) where T : unmanaged
    {
        var loop = new GradColumnsLoop<T> { X = x, Dy = dy, Rows = rows, Stride = stride, Mh = mh, Ml = ml, Sdy = sdy, Sdyx = sdyx };
        Run<T, GradColumnsLoop<T>>(ref loop, n);
    }

    /// <summary>
    /// dx = (g − b − xc·k)·s (+ dh when not null) with g = dy·γ (γ per element, or the scalar <paramref name="ga"/>
    /// when <paramref name="gamma"/> is null) and xc = (x − mh) − ml; with x null (statistics were constants)
    /// dx = g·s (+ dh). Centering g before scaling keeps a group of one value at dx = 0 exactly. With
    /// <paramref name="ahead"/> not 0 (x86), dx that many elements further on is prefetched line by line, so the
    /// lines the caller writes next are in cache when it stores to them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradApply<T>(T* x, T* dy, T* dh, T* dx, T* gamma, int n, double mh, double ml, double ga, double b, double k, double s,
        int ahead) where T : unmanaged
    {
        var loop = new GradApplyLoop<T>
        {
            X = x, Dy = dy, Dh = dh, Dx = dx, Gamma = gamma, Mh = mh, Ml = ml, Ga = ga, B = b, K = k, S = s,
            Ahead = Sse.IsSupported ? ahead : 0,
        };
        Run<T, GradApplyLoop<T>>(ref loop, n);
    }

    /// <summary>dx = (dy·a − b − xc·k)·s (+ dh) with every operand per element; x null: dx = dy·a·s (+ dh).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GradApplyColumns<T>(T* x, T* dy, T* dh, T* dx, int n, T* mh, T* ml, T* a, T* b, T* k, T* s) where T : unmanaged
    {
        var loop = new GradApplyColumnsLoop<T> { X = x, Dy = dy, Dh = dh, Dx = dx, Mh = mh, Ml = ml, A = a, B = b, K = k, S = s };
        Run<T, GradApplyColumnsLoop<T>>(ref loop, n);
    }

    /// <summary>
    /// dst[i] = src[i] rounded to T (float or double; the same rounding as <see cref="Num.FromDouble{T}"/>). A scalar
    /// loop of conversions runs at the latency of one conversion per element (each writes the same register), so the
    /// kernels' final dγ, dβ go through this vector loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Narrow<T>(double* src, T* dst, int n) where T : unmanaged
    {
        var loop = new NarrowLoop<T> { Src = src, Dst = dst };
        Run<T, NarrowLoop<T>>(ref loop, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double D<T>(T v) where T : unmanaged => Num.ToDouble(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T F<T>(double v) where T : unmanaged => Num.FromDouble<T>(v);

    /// <summary>((x − mh) − ml) with both subtractions rounded to T, as the vector lanes compute it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static double Centered<T>(T x, double mh, double ml) where T : unmanaged => D(F<T>(D(F<T>(D(x) - mh)) - D(F<T>(ml))));

    private struct AddSumShiftedLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, U, H;
        public double Shift, Sum;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, u = (TE*)U, h = (TE*)H;
            TD lo = default, hi = default, lo2 = default, hi2 = default, shift = S.Wide(Shift);
            for (; i <= last - S.Count; i += 2 * S.Count)
            {
                TV v = S.Add(S.Load(x + i), S.Load(u + i)), w = S.Add(S.Load(x + i + S.Count), S.Load(u + i + S.Count));
                S.Store(h + i, v);
                S.Store(h + i + S.Count, w);
                S.AccumulateShifted(ref lo, ref hi, v, shift);
                S.AccumulateShifted(ref lo2, ref hi2, w, shift);
            }
            if (i <= last)
            {
                TV v = S.Add(S.Load(x + i), S.Load(u + i));
                S.Store(h + i, v);
                S.AccumulateShifted(ref lo, ref hi, v, shift);
            }
            Sum += S.Sum(lo, hi) + S.Sum(lo2, hi2);
        }

        public void Scalar(int i)
        {
            H[i] = F<T>(D(X[i]) + D(U[i]));
            Sum += D(H[i]) - Shift;
        }
    }

    private struct NarrowLoop<T> : ISimdLoop where T : unmanaged
    {
        public double* Src;
        public T* Dst;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            TE* dst = (TE*)Dst;
            for (int i = start; i < end; i += S.Count)
            {
                S.LoadWide(Src + i, out TD lo, out TD hi);
                S.Store(dst + i, S.Narrow(lo, hi));
            }
        }

        public void Scalar(int i) => Dst[i] = F<T>(Src[i]);
    }

    private struct DeviationsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X;
        public double Mean, Squares, Linear;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X;
            TD sq0 = default, sq1 = default, lin0 = default, lin1 = default, mean = S.Wide(Mean);
            TD sq2 = default, sq3 = default, lin2 = default, lin3 = default;
            for (; i <= last - S.Count; i += 2 * S.Count)
            {
                S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(x + i), mean);
                S.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, S.Load(x + i + S.Count), mean);
            }
            if (i <= last) S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(x + i), mean);
            Squares += S.Sum(sq0, sq1) + S.Sum(sq2, sq3);
            Linear += S.Sum(lin0, lin1) + S.Sum(lin2, lin3);
        }

        public void Scalar(int i)
        {
            double d = D(X[i]) - Mean;
            Squares += d * d;
            Linear += d;
        }
    }

    private struct AddLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, U, H;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, u = (TE*)U, h = (TE*)H;
            for (; i <= last; i += S.Count) S.Store(h + i, S.Add(S.Load(x + i), S.Load(u + i)));
        }

        public void Scalar(int i) => H[i] = F<T>(D(X[i]) + D(U[i]));
    }

    private struct ApplyLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Y;
        public double Mh, Ml, A, B;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, y = (TE*)Y;
            TV mh = S.Splat(F<TE>(Mh)), ml = S.Splat(F<TE>(Ml)), a = S.Splat(F<TE>(A)), b = S.Splat(F<TE>(B));
            for (; i <= last; i += S.Count) S.Store(y + i, S.MulAdd(S.Sub(S.Sub(S.Load(x + i), mh), ml), a, b));
        }

        public void Scalar(int i) => Y[i] = F<T>(Centered(X[i], Mh, Ml) * D(F<T>(A)) + D(F<T>(B)));
    }

    private struct ApplyAffineLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Y, G, B, Next;
        public double Mh, Ml, S, NextShift, NextSquares, NextLinear;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            int i = start, last = end - SV.Count;
            TE* x = (TE*)X, y = (TE*)Y, g = (TE*)G, b = (TE*)B, next = (TE*)Next;
            TV mh = SV.Splat(F<TE>(Mh)), ml = SV.Splat(F<TE>(Ml)), s = SV.Splat(F<TE>(S));
            if (next != null)
            {
                TD sq0 = default, sq1 = default, lin0 = default, lin1 = default, shift = SV.Wide(NextShift);
                TD sq2 = default, sq3 = default, lin2 = default, lin3 = default;
                for (; i <= last - SV.Count; i += 2 * SV.Count)
                {
                    SV.Store(y + i, Affine<TV, TE, TD, SV>(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), s, g, b, i));
                    SV.Store(y + i + SV.Count, Affine<TV, TE, TD, SV>(SV.Sub(SV.Sub(SV.Load(x + i + SV.Count), mh), ml), s, g, b, i + SV.Count));
                    SV.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, SV.Load(next + i), shift);
                    SV.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, SV.Load(next + i + SV.Count), shift);
                }
                if (i <= last)
                {
                    SV.Store(y + i, Affine<TV, TE, TD, SV>(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), s, g, b, i));
                    SV.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, SV.Load(next + i), shift);
                    i += SV.Count;
                }
                NextSquares += SV.Sum(sq0, sq1) + SV.Sum(sq2, sq3);
                NextLinear += SV.Sum(lin0, lin1) + SV.Sum(lin2, lin3);
            }
            else if (g != null && b != null)
                for (; i <= last; i += SV.Count) SV.Store(y + i, SV.MulAdd(SV.Mul(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), s), SV.Load(g + i), SV.Load(b + i)));
            else
                for (; i <= last; i += SV.Count) SV.Store(y + i, Affine<TV, TE, TD, SV>(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), s, g, b, i));
        }

        public void Scalar(int i)
        {
            double t = Centered(X[i], Mh, Ml) * D(F<T>(S));
            if (G != null) t *= D(G[i]);
            if (B != null) t += D(B[i]);
            Y[i] = F<T>(t);
            if (Next == null) return;
            double d = D(Next[i]) - NextShift;
            NextSquares += d * d;
            NextLinear += d;
        }

        /// <summary>xc·s·g + b, with g and b optional (the same expression whichever loop runs it).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static TV Affine<TV, TE, TD, SV>(TV xc, TV s, TE* g, TE* b, int i)
            where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            if (g != null) return b != null ? SV.MulAdd(SV.Mul(xc, s), SV.Load(g + i), SV.Load(b + i)) : SV.Mul(SV.Mul(xc, s), SV.Load(g + i));
            return b != null ? SV.MulAdd(xc, s, SV.Load(b + i)) : SV.Mul(xc, s);
        }
    }

    private struct ApplyColumnsLoop<T> : IStreamingLoop where T : unmanaged
    {
        public T* X, Y, Mh, Ml, A, B;

        public bool Stream { get; set; }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, y = (TE*)Y, mh = (TE*)Mh, ml = (TE*)Ml, a = (TE*)A, b = (TE*)B;
            if (Stream)
                for (; i <= last; i += S.Count)
                    S.StoreStream(y + i, S.MulAdd(S.Sub(S.Sub(S.Load(x + i), S.Load(mh + i)), S.Load(ml + i)), S.Load(a + i), S.Load(b + i)));
            else
                for (; i <= last; i += S.Count)
                    S.Store(y + i, S.MulAdd(S.Sub(S.Sub(S.Load(x + i), S.Load(mh + i)), S.Load(ml + i)), S.Load(a + i), S.Load(b + i)));
        }

        public void Scalar(int i) => Y[i] = F<T>(Centered(X[i], D(Mh[i]), D(Ml[i])) * D(A[i]) + D(B[i]));
    }

    private struct ColumnsShiftedLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X;
        public double* Shift, Acc;
        public int Rows, Stride;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int j = start, last = end - S.Count;
            for (; j <= last; j += S.Count)
            {
                S.LoadWide(Shift + j, out TD sLo, out TD sHi);
                TD lo = default, hi = default, lo2 = default, hi2 = default;
                TE* p = (TE*)X + j;
                int r = 0;
                for (; r < Rows - 1; r += 2, p += 2L * Stride)
                {
                    S.AccumulateShifted(ref lo, ref hi, S.Load(p), sLo, sHi);
                    S.AccumulateShifted(ref lo2, ref hi2, S.Load(p + Stride), sLo, sHi);
                }
                if (r < Rows) S.AccumulateShifted(ref lo, ref hi, S.Load(p), sLo, sHi);
                S.StoreWide(Acc + j, S.AddWide(lo, lo2), S.AddWide(hi, hi2));
            }
        }

        public void Scalar(int j)
        {
            double sum = 0;
            for (int r = 0; r < Rows; r++) sum += D(X[(long)r * Stride + j]) - Shift[j];
            Acc[j] = sum;
        }
    }

    private struct ColumnsDeviationsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X;
        public double* Mean, Sq, Lin;
        public int Rows, Stride;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int j = start, last = end - S.Count;
            for (; j <= last; j += S.Count)
            {
                S.LoadWide(Mean + j, out TD mLo, out TD mHi);
                TD sq0 = default, sq1 = default, lin0 = default, lin1 = default;
                TD sq2 = default, sq3 = default, lin2 = default, lin3 = default;
                TE* p = (TE*)X + j;
                int r = 0;
                for (; r < Rows - 1; r += 2, p += 2L * Stride)
                {
                    S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(p), mLo, mHi);
                    S.AccumulateDeviations(ref sq2, ref sq3, ref lin2, ref lin3, S.Load(p + Stride), mLo, mHi);
                }
                if (r < Rows) S.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, S.Load(p), mLo, mHi);
                S.StoreWide(Sq + j, S.AddWide(sq0, sq2), S.AddWide(sq1, sq3));
                S.StoreWide(Lin + j, S.AddWide(lin0, lin2), S.AddWide(lin1, lin3));
            }
        }

        public void Scalar(int j)
        {
            double sq = 0, lin = 0;
            for (int r = 0; r < Rows; r++)
            {
                double d = D(X[(long)r * Stride + j]) - Mean[j];
                sq += d * d;
                lin += d;
            }
            Sq[j] = sq;
            Lin[j] = lin;
        }
    }

    private struct GradSumsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy;
        public double Mh, Ml, SumDy, SumDyXc;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* x = (TE*)X, dy = (TE*)Dy;
            TV mh = S.Splat(F<TE>(Mh)), ml = S.Splat(F<TE>(Ml));
            TD d0 = default, d1 = default, p0 = default, p1 = default;
            for (; i <= last; i += S.Count)
            {
                TV g = S.Load(dy + i);
                S.Accumulate(ref d0, ref d1, g);
                S.Accumulate(ref p0, ref p1, S.Mul(g, S.Sub(S.Sub(S.Load(x + i), mh), ml)));
            }
            SumDy += S.Sum(d0, d1);
            SumDyXc += S.Sum(p0, p1);
        }

        public void Scalar(int i)
        {
            double g = D(Dy[i]);
            SumDy += g;
            SumDyXc += g * Centered(X[i], Mh, Ml);
        }
    }

    private struct GradSumsAffineLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Gamma, Dg, Db;
        public int Ahead;
        public double Mh, Ml, S, SumG, SumGXc;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            int i = start, last = end - SV.Count;
            TE* x = (TE*)X, dy = (TE*)Dy, gamma = (TE*)Gamma, dg = (TE*)Dg, db = (TE*)Db;
            TV mh = SV.Splat(F<TE>(Mh)), ml = SV.Splat(F<TE>(Ml)), s = SV.Splat(F<TE>(S));
            TD g0 = default, g1 = default, p0 = default, p1 = default;
            for (; i <= last; i += SV.Count)
            {
                if (Ahead != 0)
                {
                    Sse.Prefetch0(dy + i + Ahead);
                    Sse.Prefetch0(x + i + Ahead);
                }
                TV d = SV.Load(dy + i), xc = SV.Sub(SV.Sub(SV.Load(x + i), mh), ml);
                SV.Store(db + i, SV.Add(SV.Load(db + i), d));
                SV.Store(dg + i, SV.MulAdd(SV.Mul(d, xc), s, SV.Load(dg + i)));
                TV g = gamma != null ? SV.Mul(d, SV.Load(gamma + i)) : d;
                SV.Accumulate(ref g0, ref g1, g);
                SV.Accumulate(ref p0, ref p1, SV.Mul(g, xc));
            }
            SumG += SV.Sum(g0, g1);
            SumGXc += SV.Sum(p0, p1);
        }

        public void Scalar(int i)
        {
            double d = D(Dy[i]), xc = Centered(X[i], Mh, Ml);
            Db[i] = F<T>(D(Db[i]) + d);
            Dg[i] = F<T>(D(Dg[i]) + d * xc * D(F<T>(S)));
            double g = Gamma != null ? d * D(Gamma[i]) : d;
            SumG += g;
            SumGXc += g * xc;
        }
    }

    private struct FlushLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* Partial;
        public double* Total;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int i = start, last = end - S.Count;
            TE* partial = (TE*)Partial;
            for (; i <= last; i += S.Count)
            {
                S.Accumulate(Total + i, S.Load(partial + i));
                S.Store(partial + i, default);
            }
        }

        public void Scalar(int i)
        {
            Total[i] += D(Partial[i]);
            Partial[i] = default;
        }
    }

    private struct GradColumnsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Mh, Ml;
        public double* Sdy, Sdyx;
        public int Rows, Stride;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, S>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where S : ISimd<TV, TE, TD>
        {
            int j = start, last = end - S.Count;
            for (; j <= last; j += S.Count)
            {
                TV mh = S.Load((TE*)Mh + j), ml = S.Load((TE*)Ml + j);
                S.LoadWide(Sdy + j, out TD d0, out TD d1);
                S.LoadWide(Sdyx + j, out TD p0, out TD p1);
                TE* x = (TE*)X + j, dy = (TE*)Dy + j;
                for (int r = 0; r < Rows; r++, x += Stride, dy += Stride)
                {
                    TV d = S.Load(dy);
                    S.Accumulate(ref d0, ref d1, d);
                    S.Accumulate(ref p0, ref p1, S.Mul(d, S.Sub(S.Sub(S.Load(x), mh), ml)));
                }
                S.StoreWide(Sdy + j, d0, d1);
                S.StoreWide(Sdyx + j, p0, p1);
            }
        }

        public void Scalar(int j)
        {
            for (int r = 0; r < Rows; r++)
            {
                long o = (long)r * Stride + j;
                double d = D(Dy[o]);
                Sdy[j] += d;
                Sdyx[j] += d * Centered(X[o], D(Mh[j]), D(Ml[j]));
            }
        }
    }

    private struct GradApplyLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Dh, Dx, Gamma;
        public int Ahead;
        public double Mh, Ml, Ga, B, K, S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            int i = start, last = end - SV.Count;
            TE* x = (TE*)X, dy = (TE*)Dy, dh = (TE*)Dh, dx = (TE*)Dx, gamma = (TE*)Gamma;
            TV mh = SV.Splat(F<TE>(Mh)), ml = SV.Splat(F<TE>(Ml)), ga = SV.Splat(F<TE>(Ga)), b = SV.Splat(F<TE>(B)), k = SV.Splat(F<TE>(K));
            TV s = SV.Splat(F<TE>(S));
            for (; i <= last; i += SV.Count)
            {
                if (Ahead != 0) Sse.Prefetch0(dx + i + Ahead);
                TV g = SV.Mul(SV.Load(dy + i), gamma != null ? SV.Load(gamma + i) : ga);
                if (x != null) g = SV.Sub(SV.Sub(g, b), SV.Mul(SV.Sub(SV.Sub(SV.Load(x + i), mh), ml), k));
                g = SV.Mul(g, s);
                if (dh != null) g = SV.Add(g, SV.Load(dh + i));
                SV.Store(dx + i, g);
            }
        }

        public void Scalar(int i)
        {
            double g = D(F<T>(D(Dy[i]) * (Gamma != null ? D(Gamma[i]) : D(F<T>(Ga)))));
            if (X != null) g = g - D(F<T>(B)) - Centered(X[i], Mh, Ml) * D(F<T>(K));
            g *= D(F<T>(S));
            if (Dh != null) g += D(Dh[i]);
            Dx[i] = F<T>(g);
        }
    }

    private struct GradApplyColumnsLoop<T> : ISimdLoop where T : unmanaged
    {
        public T* X, Dy, Dh, Dx, Mh, Ml, A, B, K, S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Vector<TV, TE, TD, SV>(int start, int end) where TE : unmanaged where TV : struct where TD : struct where SV : ISimd<TV, TE, TD>
        {
            int i = start, last = end - SV.Count;
            TE* x = (TE*)X, dy = (TE*)Dy, dh = (TE*)Dh, dx = (TE*)Dx, mh = (TE*)Mh, ml = (TE*)Ml, a = (TE*)A, b = (TE*)B, k = (TE*)K, s = (TE*)S;
            for (; i <= last; i += SV.Count)
            {
                TV g = SV.Mul(SV.Load(dy + i), SV.Load(a + i));
                if (x != null)
                    g = SV.Sub(SV.Sub(g, SV.Load(b + i)), SV.Mul(SV.Sub(SV.Sub(SV.Load(x + i), SV.Load(mh + i)), SV.Load(ml + i)), SV.Load(k + i)));
                g = SV.Mul(g, SV.Load(s + i));
                if (dh != null) g = SV.Add(g, SV.Load(dh + i));
                SV.Store(dx + i, g);
            }
        }

        public void Scalar(int i)
        {
            double g = D(F<T>(D(Dy[i]) * D(A[i])));
            if (X != null) g = g - D(B[i]) - Centered(X[i], D(Mh[i]), D(Ml[i])) * D(K[i]);
            g *= D(S[i]);
            if (Dh != null) g += D(Dh[i]);
            Dx[i] = F<T>(g);
        }
    }
}
