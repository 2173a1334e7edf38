using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Backward of rows that share one γ per element (LayerNorm, RMSNorm, their fused add: a <see cref="RowPlan"/> with
/// one segment, runs of one element and one affine period), in blocks of up to <see cref="MaxBlock"/> rows:
/// <list type="number">
/// <item>per row, one read of x, dy (from memory) for the two sums Σg and Σg·xc (g = dy·γ, xc = x − mean), in float64;</item>
/// <item>per block, column by column over its rows (now in L1/L2): dx written, and dγ = Σdy·x̂, dβ = Σdy summed
/// down the block's rows in registers (in T, as the short-lived partials they replace), then added once into the
/// task's float64 partials.</item>
/// </list>
/// x and dy come from memory once and dx goes out once; γ and the dγ, dβ partials are touched once per block instead
/// of once per row. Tasks are fixed slices of rows (by shape only) and their partials merge in task order, so the
/// result is the same bits for any thread count.
/// </summary>
internal static unsafe class RowBackwardBlocks
{
    /// <summary>Most rows in a block: the dγ, dβ partials in T sum at most this many rows before going to float64.</summary>
    public const int MaxBlock = 16;

    /// <summary>A block's x and dy stay under this many bytes, so the second pass reads them from L2.</summary>
    private const int BlockBytes = 256 * 1024;

    /// <summary>A task covers at least this many rows when dγ or dβ is summed, so merging the partials stays a few percent of the traffic.</summary>
    private const int MinRowsPerTask = 32;

    /// <summary>At most this many tasks when dγ or dβ is summed, so the partials (2·n float64 per task) stay bounded.</summary>
    private const int MaxSumTasks = 256;

    /// <summary>
    /// Rows shorter than this many bytes stay with the per-row kernel (<see cref="RowKernels"/>): a whole row and its
    /// dγ, dβ partials fit in L1 there, which measured faster than blocks (hidden sizes 64 and 768, float).
    /// </summary>
    private const int MinRowBytes = 8 * 1024;

    /// <summary>Whether this plan and these arguments take the block kernel.</summary>
    public static bool Handles<T>(in RowPlan plan, bool affine) where T : unmanaged =>
        plan.Segments == 1 && (plan.RunLength == 1 || !affine) && (plan.Period == 1 || !affine)
        && (long)plan.SegmentLength * sizeof(T) >= MinRowBytes;

    /// <summary>Rows per block for rows of <paramref name="n"/> elements of T.</summary>
    public static int BlockRows<T>(int n) where T : unmanaged =>
        (int)Math.Clamp(BlockBytes / (2L * n * sizeof(T)), 1, MaxBlock);

    /// <summary>dx (+ dh), dγ and dβ (each optional) for every row; see the class summary.</summary>
    public static void Run<T>(in RowPlan plan, bool center, bool fromInput, T* x, double* mean, double* rstd, double* meanLo, T* gamma,
        T* dy, T* dh, T* dx, T* dgamma, T* dbeta) where T : unmanaged
    {
        int n = plan.SegmentLength, rows = plan.Groups;
        bool sums = dgamma != null || dbeta != null;
        long total = (long)rows * n;
        int tasks = Threading.TaskCount(total, sums ? Math.Clamp(rows / MinRowsPerTask, 1, MaxSumTasks) : rows);
        int partials = sums ? 2 * n * tasks : 0;
        var rented = partials > 0 ? ArrayPool<double>.Shared.Rent(partials) : null;
        fixed (double* scratch = rented)
        {
            var job = new Job<T>
            {
                N = n, Rows = rows, Tasks = tasks, Block = BlockRows<T>(n), Center = center, FromInput = fromInput, Sums = sums,
                X = x, Mean = mean, Rstd = rstd, MeanLo = meanLo, Gamma = gamma, Dy = dy, Dh = dh, Dx = dx, Partials = scratch,
            };
            Threading.For(ref job, tasks);
            if (sums)
            {
                for (int t = 1; t < tasks; t++) Simd.Add(scratch, scratch + 2L * n * t, scratch, 2 * n);
                if (dgamma != null) Simd.Narrow(scratch, dgamma, n);
                if (dbeta != null) Simd.Narrow(scratch + n, dbeta, n);
            }
        }
        if (rented is not null) ArrayPool<double>.Shared.Return(rented);
    }

    private struct Job<T> : IParallelTask where T : unmanaged
    {
        public int N, Rows, Tasks, Block;
        public bool Center, FromInput, Sums;
        public T* X, Gamma, Dy, Dh, Dx;
        public double* Mean, Rstd, MeanLo, Partials;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Run(int task)
        {
            int start = (int)((long)Rows * task / Tasks), end = (int)((long)Rows * (task + 1) / Tasks);
            double* dg = Sums ? Partials + 2L * N * task : null;
            // The task's first block writes its partials (0 + its sums, the bits an add into zeros gives), later blocks add.
            if (Sums && start >= end) new Span<double>(dg, 2 * N).Clear();
            // Per row of the block, in T: centre hi, lo, then b = Σg/n, k = rstd²·Σg·xc/n, s = rstd.
            T* scalars = stackalloc T[5 * MaxBlock];
            for (int r0 = start; r0 < end; r0 += Block)
            {
                int count = Math.Min(Block, end - r0);
                long o = (long)r0 * N;
                for (int r = 0; r < count; r++)
                {
                    int g = r0 + r;
                    var (mh, ml) = Kernels.Centre<T>(Mean, MeanLo, g);
                    double s = Rstd[g], b = 0, k = 0;
                    if (FromInput)
                    {
                        var (sumG, sumGXc) = RowGradSums.Of(X + o + (long)r * N, Dy + o + (long)r * N, Gamma, N, mh, ml);
                        b = Center ? sumG / N : 0;
                        k = s * s * sumGXc / N;
                    }
                    scalars[r] = Num.FromDouble<T>(mh);
                    scalars[MaxBlock + r] = Num.FromDouble<T>(ml);
                    scalars[2 * MaxBlock + r] = Num.FromDouble<T>(b);
                    scalars[3 * MaxBlock + r] = Num.FromDouble<T>(k);
                    scalars[4 * MaxBlock + r] = Num.FromDouble<T>(s);
                }
                var loop = new RowGradBlockLoop<T>
                {
                    X = X + o, Dy = Dy + o, Dh = Dh == null ? null : Dh + o, Dx = Dx + o, Gamma = Gamma, Rows = count, Stride = N,
                    Scalars = scalars, FromInput = FromInput, Dg = dg, Db = dg == null ? null : dg + N, First = r0 == start,
                    Ahead = FromInput && r0 + count < end ? (long)count * N : 0,
                };
                Simd.Run<T, RowGradBlockLoop<T>>(ref loop, N);
            }
        }
    }
}
