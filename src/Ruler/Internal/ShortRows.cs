using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Ruler.Internal;

/// <summary>
/// Float rows of 16 to <see cref="MaxLength"/> elements (a multiple of 16) on AVX-512, measured eight at a time: each
/// row sums into a vector of eight float64 partials, and one transpose-and-add turns the eight rows' partials into a
/// vector of eight row totals, so the horizontal sums of eight rows share instructions and their latencies overlap.
/// Every sum is float64.
/// </summary>
[SkipLocalsInit]   // Measure and ApplyBlock write every stackalloc'd lane before reading it
internal static unsafe class ShortRows
{
    public const int MaxLength = 256, Block = 8;

    /// <summary>Whether rows of <paramref name="n"/> elements of T take this kernel.</summary>
    public static bool Handles<T>(int n) where T : unmanaged =>
        typeof(T) == typeof(float) && Avx512F.IsSupported && n % 16 == 0 && n >= 16 && n <= MaxLength;

    /// <summary>
    /// The means and M2 of <paramref name="count"/> (at most <see cref="Block"/>) consecutive rows of n elements, lane
    /// r for row r, in one pass around each row's first element (<see cref="RowKernels.FromSums"/>, the same
    /// operations lane by lane; a row that would cancel is measured again by it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Measure(float* x, int n, int count, out Vector512<double> mean, out Vector512<double> m2)
    {
        Vector512<double>* squares = stackalloc Vector512<double>[Block];
        Vector512<double>* linear = stackalloc Vector512<double>[Block];
        double* lanes = stackalloc double[2 * Block];
        for (int r = 0; r < Block; r++)
        {
            lanes[r] = r < count ? x[(long)r * n] : 0;
            if (r < count) Deviations(x + (long)r * n, n, lanes[r], out squares[r], out linear[r]);
            else squares[r] = linear[r] = default;
        }
        Vector512<double> sq = Reduce(squares), lin = Reduce(linear), size = Vector512.Create((double)n), shift = Vector512.Load(lanes);
        mean = shift + lin / size;
        m2 = sq - lin * lin / size;
        uint cancelled = ~(uint)Vector512.GreaterThanOrEqual(m2, sq * RowKernels.Precision).ExtractMostSignificantBits() & ((1u << count) - 1);
        if (cancelled == 0) return;
        mean.Store(lanes);
        m2.Store(lanes + Block);
        for (int r = 0; r < count; r++)
        {
            if ((cancelled >> r & 1) == 0) continue;
            var m = RowKernels.FromSums(x + (long)r * n, n, shift[r], sq[r], lin[r]);
            (lanes[r], lanes[Block + r]) = (m.Mean, m.M2);
        }
        mean = Vector512.Load(lanes);
        m2 = Vector512.Load(lanes + Block);
    }

    /// <summary>
    /// <see cref="Apply"/> over <paramref name="count"/> consecutive rows that share g and b, with mean and rstd per
    /// row in the lanes: mh = mean rounded to float, ml = the rest rounded to float, s = rstd rounded to float
    /// (<see cref="Kernels.Split{T}"/>), converted for the eight rows at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void ApplyBlock(float* x, float* y, int n, int count, Vector512<double> mean, Vector512<double> rstd, float* g, float* b)
    {
        float* lanes = stackalloc float[3 * Block];
        var hi = Avx512F.ConvertToVector256Single(mean);
        hi.Store(lanes);
        Avx512F.ConvertToVector256Single(mean - Avx512F.ConvertToVector512Double(hi)).Store(lanes + Block);
        Avx512F.ConvertToVector256Single(rstd).Store(lanes + 2 * Block);
        for (int r = 0; r < count; r++) Apply(x + (long)r * n, y + (long)r * n, n, lanes[r], lanes[Block + r], lanes[2 * Block + r], g, b);
    }

    /// <summary>y = ((x − mh) − ml)·s·g + b over one row, g and b per element (either may be null: 1 and 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Apply(float* x, float* y, int n, double mh, double ml, double s, float* g, float* b)
    {
        Vector512<float> vh = Vector512.Create((float)mh), vl = Vector512.Create((float)ml), vs = Vector512.Create((float)s);
        for (int j = 0; j < n; j += 16)
        {
            var xc = Vector512.Load(x + j) - vh - vl;
            Vector512<float> t;
            if (g != null) t = b != null ? Vector512.FusedMultiplyAdd(xc * vs, Vector512.Load(g + j), Vector512.Load(b + j)) : xc * vs * Vector512.Load(g + j);
            else t = b != null ? Vector512.FusedMultiplyAdd(xc, vs, Vector512.Load(b + j)) : xc * vs;
            t.Store(y + j);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deviations(float* x, int n, double mean, out Vector512<double> squares, out Vector512<double> linear)
    {
        Vector512<double> m = Vector512.Create(mean), sq0 = default, sq1 = default, lin0 = default, lin1 = default;
        for (int j = 0; j < n; j += 16) F512.AccumulateDeviations(ref sq0, ref sq1, ref lin0, ref lin1, Vector512.Load(x + j), m);
        squares = sq0 + sq1;
        linear = lin0 + lin1;
    }

    /// <summary>Lane r of the result is the sum of the lanes of v[r] (a transpose-and-add in three levels).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Reduce(Vector512<double>* v)
    {
        var p01 = Avx512F.UnpackLow(v[0], v[1]) + Avx512F.UnpackHigh(v[0], v[1]);
        var p23 = Avx512F.UnpackLow(v[2], v[3]) + Avx512F.UnpackHigh(v[2], v[3]);
        var p45 = Avx512F.UnpackLow(v[4], v[5]) + Avx512F.UnpackHigh(v[4], v[5]);
        var p67 = Avx512F.UnpackLow(v[6], v[7]) + Avx512F.UnpackHigh(v[6], v[7]);
        var q03 = Avx512F.Shuffle4x128(p01, p23, 0b10_00_10_00) + Avx512F.Shuffle4x128(p01, p23, 0b11_01_11_01);
        var q47 = Avx512F.Shuffle4x128(p45, p67, 0b10_00_10_00) + Avx512F.Shuffle4x128(p45, p67, 0b11_01_11_01);
        return Avx512F.Shuffle4x128(q03, q47, 0b10_00_10_00) + Avx512F.Shuffle4x128(q03, q47, 0b11_01_11_01);
    }
}
