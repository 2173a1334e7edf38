using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Kernels for columns (<see cref="ColumnPlan"/>). The rows of each batch index are split into a fixed number of
/// blocks (a function of the shape only); a task reads one block row by row with one float64 accumulator per
/// column, so memory is read in its natural order. Task partials are merged in a fixed order, so results do not
/// depend on the thread count. Statistics are two-pass per chunk of rows that stays in cache (shift = the chunk's
/// first row), chunk moments merged in order with <see cref="GroupMoments.Combine"/>.
/// </summary>
internal static unsafe class ColumnKernels
{
    /// <summary>Elements of one chunk (rows × width) whose two statistics passes run in cache (L2).</summary>
    private const int Chunk = 65536;

    /// <summary>Most tasks one call splits into (bounds the partials kept per task).</summary>
    private const int MaxTasks = 64;

    /// <summary>
    /// Moments (into <paramref name="moments"/> when not null), forward (statistics computed), or normalize
    /// (<paramref name="measure"/> false: mean/rstd given). With <paramref name="u"/> not null the input is
    /// h = x + u, written to <paramref name="h"/> on the way.
    /// </summary>
    public static void Forward<T>(in ColumnPlan plan, bool center, double eps, T* x, T* u, T* h, T* gamma, T* beta, T* y,
        double* mean, double* rstd, GroupMoments* moments, bool measure, double* meanLo = null) where T : unmanaged
    {
        int blocks = Blocks(plan), tasks = plan.Batch * blocks, width = plan.Width;
        T* src = u == null ? x : h;
        if (measure)
        {
            var partials = ArrayPool<GroupMoments>.Shared.Rent(tasks * width);
            var scratch = ArrayPool<double>.Shared.Rent(tasks * 5 * width);
            fixed (GroupMoments* p = partials)
            fixed (double* s = scratch)
            {
                var job = new StatsJob<T> { Plan = plan, Blocks = blocks, X = x, U = u, H = h, Partials = p, Scratch = s };
                Threading.For(ref job, tasks);
                Merge(plan, blocks, p, center, eps, mean, rstd, moments);
            }
            ArrayPool<GroupMoments>.Shared.Return(partials);
            ArrayPool<double>.Shared.Return(scratch);
            if (moments != null) return;
        }
        int vector = plan.Batch * width;
        var rented = ArrayPool<T>.Shared.Rent(4 * vector);
        fixed (T* v = rented)
        {
            T* mh = v, ml = v + vector, a = v + 2 * vector, b = v + 3 * vector;
            for (int batch = 0; batch < plan.Batch; batch++)
            {
                for (int w = 0; w < width; w++)
                {
                    int g = batch * plan.GroupsPerBatch + w / plan.PerGroup, i = batch * width + w, p = plan.AffineColumns ? w : 0;
                    var (hi, lo) = Kernels.Centre<T>(mean, meanLo, g);
                    mh[i] = Num.FromDouble<T>(hi);
                    ml[i] = Num.FromDouble<T>(lo);
                    a[i] = Num.FromDouble<T>(gamma == null ? rstd[g] : rstd[g] * Num.ToDouble(gamma[p]));
                    b[i] = beta == null ? default : beta[p];
                }
            }
            var job = new ApplyJob<T> { Plan = plan, Blocks = blocks, X = src, Y = y, Mh = mh, Ml = ml, A = a, B = b };
            Threading.For(ref job, tasks);
        }
        ArrayPool<T>.Shared.Return(rented);
    }

    /// <summary>
    /// dx (+ dh when not null), dγ, dβ (each may be null). Per column the sums Σdy and Σdy·xc (xc = x − mean) of
    /// every block are merged in block order; the group sums follow as Σg = Σ γ·Σdy and Σg·xc = Σ γ·Σdy·xc, and
    /// dx = (γ·dy − Σg/n − xc·rstd²·Σ(g·xc)/n)·rstd (see <see cref="RowKernels"/>).
    /// </summary>
    public static void Backward<T>(in ColumnPlan plan, bool center, T* x, double* mean, double* rstd, T* gamma, T* dy, T* dh, T* dx,
        T* dgamma, T* dbeta, int affineSize, bool fromInput, double* meanLo = null) where T : unmanaged
    {
        int blocks = Blocks(plan), tasks = plan.Batch * blocks, width = plan.Width, vector = plan.Batch * width;
        bool sums = fromInput || dgamma != null || dbeta != null;
        var rented = ArrayPool<T>.Shared.Rent(6 * vector);
        var partials = ArrayPool<double>.Shared.Rent(sums ? tasks * 2 * width + 2 * affineSize : 1);
        fixed (T* v = rented)
        fixed (double* part = partials)
        {
            T* mh = v, ml = v + vector, a = v + 2 * vector, b = v + 3 * vector, k = v + 4 * vector, s = v + 5 * vector;
            for (int i = 0; i < vector; i++)
            {
                int g = i / width * plan.GroupsPerBatch + i % width / plan.PerGroup;
                var (hi, lo) = Kernels.Centre<T>(mean, meanLo, g);
                mh[i] = Num.FromDouble<T>(hi);
                ml[i] = Num.FromDouble<T>(lo);
            }
            if (sums)
            {
                var job = new GradSumsJob<T> { Plan = plan, Blocks = blocks, X = x, Dy = dy, Mh = mh, Ml = ml, Partials = part };
                Threading.For(ref job, tasks);
            }
            double* dg = part + tasks * 2 * width, db = dg + affineSize;
            if (sums) new Span<double>(dg, 2 * affineSize).Clear();
            double n = plan.GroupSize;
            for (int batch = 0; batch < plan.Batch; batch++)
            {
                for (int gi = 0; gi < plan.GroupsPerBatch; gi++)
                {
                    int g = batch * plan.GroupsPerBatch + gi;
                    double r = rstd[g], sumG = 0, sumGXc = 0;
                    for (int q = 0; sums && q < plan.PerGroup; q++)
                    {
                        int w = gi * plan.PerGroup + q, p = plan.AffineColumns ? w : 0;
                        double sdy = 0, sdyx = 0;
                        for (int j = 0; j < blocks; j++)
                        {
                            double* block = part + (long)(batch * blocks + j) * 2 * width;
                            sdy += block[w];
                            sdyx += block[width + w];
                        }
                        double gm = gamma == null ? 1 : Num.ToDouble(gamma[p]);
                        sumG += gm * sdy;
                        sumGXc += gm * sdyx;
                        db[p] += sdy;
                        dg[p] += r * sdyx;
                    }
                    double bb = fromInput && center ? sumG / n : 0, kk = fromInput ? r * r * sumGXc / n : 0;
                    for (int q = 0; q < plan.PerGroup; q++)
                    {
                        int w = gi * plan.PerGroup + q, i = batch * width + w;
                        a[i] = gamma == null ? Num.FromDouble<T>(1) : gamma[plan.AffineColumns ? w : 0];
                        b[i] = Num.FromDouble<T>(bb);
                        k[i] = Num.FromDouble<T>(kk);
                        s[i] = Num.FromDouble<T>(r);
                    }
                }
            }
            for (int p = 0; sums && p < affineSize; p++)
            {
                if (dgamma != null) dgamma[p] = Num.FromDouble<T>(dg[p]);
                if (dbeta != null) dbeta[p] = Num.FromDouble<T>(db[p]);
            }
            var apply = new GradApplyJob<T>
            {
                Plan = plan, Blocks = blocks, X = fromInput ? x : null, Dy = dy, Dh = dh, Dx = dx, Mh = mh, Ml = ml, A = a, B = b, K = k, S = s,
            };
            Threading.For(ref apply, tasks);
        }
        ArrayPool<T>.Shared.Return(rented);
        ArrayPool<double>.Shared.Return(partials);
    }

    /// <summary>Row blocks per batch index: one per 64K elements, at most <see cref="MaxTasks"/> tasks in all.</summary>
    private static int Blocks(in ColumnPlan plan) =>
        Math.Min(Threading.TaskCount((long)plan.Rows * plan.Width, Math.Max(1, MaxTasks / plan.Batch)), plan.Rows);

    private static (int Start, int End) RowRange(in ColumnPlan plan, int blocks, int task)
    {
        int j = task % blocks;
        return ((int)((long)plan.Rows * j / blocks), (int)((long)plan.Rows * (j + 1) / blocks));
    }

    /// <summary>Element offset of row <paramref name="row"/> of batch <paramref name="batch"/>: rows are <c>plan.Width</c> wide, <c>plan.Rows</c> to a batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long RowOffset(in ColumnPlan plan, int batch, int row) => ((long)batch * plan.Rows + row) * plan.Width;

    private static void Merge(in ColumnPlan plan, int blocks, GroupMoments* partials, bool center, double eps,
        double* mean, double* rstd, GroupMoments* moments)
    {
        for (int batch = 0; batch < plan.Batch; batch++)
        {
            for (int gi = 0; gi < plan.GroupsPerBatch; gi++)
            {
                GroupMoments m = default;
                for (int q = 0; q < plan.PerGroup; q++)
                    for (int j = 0; j < blocks; j++)
                        m = GroupMoments.Combine(m, partials[(long)(batch * blocks + j) * plan.Width + gi * plan.PerGroup + q]);
                int g = batch * plan.GroupsPerBatch + gi;
                if (moments != null) moments[g] = m;
                else (mean[g], rstd[g]) = GroupStatistics.Of(m, center, eps);
            }
        }
    }

    private struct StatsJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks;
        public T* X, U, H;
        public GroupMoments* Partials;
        public double* Scratch;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width, batch = task / Blocks, chunk = Math.Max(1, Chunk / width);
            var (start, end) = RowRange(Plan, Blocks, task);
            GroupMoments* part = Partials + (long)task * width;
            double* shift = Scratch + (long)task * 5 * width, acc = shift + width, mean = acc + width, sq = mean + width, lin = sq + width;
            new Span<GroupMoments>(part, width).Clear();
            for (int r = start; r < end; r += chunk)
            {
                int rows = Math.Min(chunk, end - r);
                long o = RowOffset(Plan, batch, r);
                T* src = X + o;
                if (U != null)
                {
                    for (int i = 0; i < rows; i++) Simd.Add(X + o + (long)i * width, U + o + (long)i * width, H + o + (long)i * width, width);
                    src = H + o;
                }
                for (int w = 0; w < width; w++) shift[w] = Num.ToDouble(src[w]);
                Simd.ColumnsShifted(src, rows, width, width, shift, acc);
                double inv = 1.0 / rows;
                for (int w = 0; w < width; w++) mean[w] = shift[w] + acc[w] * inv;
                Simd.ColumnsDeviations(src, rows, width, width, mean, sq, lin);
                for (int w = 0; w < width; w++)
                    part[w] = GroupMoments.Combine(part[w], new GroupMoments(rows, mean[w], Math.Max(sq[w] - lin[w] * lin[w] * inv, 0)));
            }
        }
    }

    private struct ApplyJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks;
        public T* X, Y, Mh, Ml, A, B;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width, batch = task / Blocks, v = batch * width;
            var (start, end) = RowRange(Plan, Blocks, task);
            for (int r = start; r < end; r++)
            {
                long o = RowOffset(Plan, batch, r);
                Simd.ApplyColumns(X + o, Y + o, width, Mh + v, Ml + v, A + v, B + v);
            }
        }
    }

    private struct GradSumsJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks;
        public T* X, Dy, Mh, Ml;
        public double* Partials;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width, batch = task / Blocks, v = batch * width;
            var (start, end) = RowRange(Plan, Blocks, task);
            double* sdy = Partials + (long)task * 2 * width, sdyx = sdy + width;
            new Span<double>(sdy, 2 * width).Clear();
            long o = RowOffset(Plan, batch, start);
            Simd.GradColumns(X + o, Dy + o, end - start, width, width, Mh + v, Ml + v, sdy, sdyx);
        }
    }

    private struct GradApplyJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks;
        public T* X, Dy, Dh, Dx, Mh, Ml, A, B, K, S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width, batch = task / Blocks, v = batch * width;
            var (start, end) = RowRange(Plan, Blocks, task);
            for (int r = start; r < end; r++)
            {
                long o = RowOffset(Plan, batch, r);
                Simd.GradApplyColumns(X == null ? null : X + o, Dy + o, Dh == null ? null : Dh + o, Dx + o, width, Mh + v, Ml + v, A + v, B + v, K + v, S + v);
            }
        }
    }
}
