using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Kernels for columns (<see cref="ColumnPlan"/>): one entry point per op, each taking one argument struct.
/// The batch indices are taken a slab at a time (<see cref="SlabElements"/>), so the second read of a slab (the
/// write of y or dx) finds it in cache when it fits. The rows of each batch index are split into a fixed number of
/// blocks (a function of the shape only); a task reads one block in memory order with float64 accumulators per
/// column (<see cref="ColumnLoops"/>). Block partials are merged in block order, so results do not depend on the
/// thread count. Statistics are one pass per chunk of rows around the chunk's first row (measured again around the
/// chunk mean when that shift is far from it, as <see cref="RowKernels.FromSums"/>), chunk moments merged in order
/// with <see cref="GroupMoments.Combine"/>.
/// </summary>
internal static unsafe class ColumnKernels
{
    /// <summary>Elements of one chunk (rows × width) that a second statistics pass, when needed, finds in cache (L2).</summary>
    private const int Chunk = 65536;

    /// <summary>Most blocks one batch index splits into (bounds the partials kept per task).</summary>
    private const int MaxBlocks = 64;

    /// <summary>
    /// Elements measured and then written per phase: batch indices are grouped into slabs of about this size (1 MiB of
    /// float, within L2), so the write finds a slab in cache; one batch index larger than this is a slab of its own.
    /// </summary>
    private const int SlabElements = 1 << 18;

    /// <summary>Moments of every group into <see cref="MomentsArgs{T}.Moments"/>.</summary>
    public struct MomentsArgs<T> where T : unmanaged
    {
        public ColumnPlan Plan;
        public T* X;
        public GroupMoments* Moments;
    }

    /// <summary>
    /// Forward (statistics measured into Mean/Rstd, then y written) or normalize (Mean/Rstd given, MeanLo the centre's
    /// bits below the saved mean or null). γ, β may be null. With U not null (fused add) the input is h = x + u, written to H.
    /// </summary>
    public struct ForwardArgs<T> where T : unmanaged
    {
        public ColumnPlan Plan;
        public bool Center;
        public double Eps;
        public T* X, U, H, Gamma, Beta, Y;
        public double* Mean, Rstd, MeanLo;
    }

    /// <summary>dx (+ dh when Dh is not null), dγ, dβ (each may be null); FromInput: the statistics were measured from x.</summary>
    public struct BackwardArgs<T> where T : unmanaged
    {
        public ColumnPlan Plan;
        public bool Center, FromInput;
        public T* X, Gamma, Dy, Dh, Dx, DGamma, DBeta;
        public double* Mean, Rstd, MeanLo;
        public int AffineSize;
    }

    public static void Moments<T>(in MomentsArgs<T> args) where T : unmanaged
    {
        var forward = new ForwardArgs<T> { Plan = args.Plan, X = args.X };
        Run(forward, measure: true, args.Moments);
    }

    public static void Forward<T>(in ForwardArgs<T> args) where T : unmanaged => Run(args, measure: true, null);

    public static void Normalize<T>(in ForwardArgs<T> args) where T : unmanaged => Run(args, measure: false, null);

    private static void Run<T>(in ForwardArgs<T> args, bool measure, GroupMoments* moments) where T : unmanaged
    {
        var plan = args.Plan;
        int blocks = Blocks(plan), slab = Slab(plan), width = plan.Width, tasks = slab * blocks, vector = slab * width;
        var partials = ArrayPool<GroupMoments>.Shared.Rent(measure ? tasks * width : 1);
        var scratch = ArrayPool<double>.Shared.Rent(measure ? tasks * 6 * width : 1);
        var rented = ArrayPool<T>.Shared.Rent(4 * vector);
        fixed (GroupMoments* p = partials)
        fixed (double* s = scratch)
        fixed (T* v = rented)
        {
            T* mh = v, ml = v + vector, a = v + 2 * vector, b = v + 3 * vector;
            T* src = args.U == null ? args.X : args.H;
            for (int first = 0; first < plan.Batch; first += slab)
            {
                int count = Math.Min(slab, plan.Batch - first);
                if (measure)
                {
                    var stats = new StatsJob<T> { Plan = plan, Blocks = blocks, First = first, X = args.X, U = args.U, H = args.H, Partials = p, Scratch = s };
                    Threading.For(ref stats, count * blocks);
                    Merge(plan, blocks, first, count, p, args.Center, args.Eps, args.Mean, args.Rstd, moments);
                    if (moments != null) continue;
                }
                for (int batch = first; batch < first + count; batch++)
                {
                    for (int w = 0; w < width; w++)
                    {
                        int g = batch * plan.GroupsPerBatch + w / plan.PerGroup, i = (batch - first) * width + w, q = plan.AffineColumns ? w : 0;
                        var (hi, lo) = Kernels.Centre<T>(args.Mean, args.MeanLo, g);
                        mh[i] = Num.FromDouble<T>(hi);
                        ml[i] = Num.FromDouble<T>(lo);
                        a[i] = Num.FromDouble<T>(args.Gamma == null ? args.Rstd[g] : args.Rstd[g] * Num.ToDouble(args.Gamma[q]));
                        b[i] = args.Beta == null ? default : args.Beta[q];
                    }
                }
                var apply = new ApplyJob<T>
                {
                    Plan = plan, Blocks = blocks, First = first, X = src, Y = args.Y, Mh = mh, Ml = ml, A = a, B = b,
                    Stream = Streaming.For<T>((long)plan.Batch * plan.Rows * width),
                };
                Threading.For(ref apply, count * blocks);
            }
        }
        ArrayPool<GroupMoments>.Shared.Return(partials);
        ArrayPool<double>.Shared.Return(scratch);
        ArrayPool<T>.Shared.Return(rented);
    }

    /// <summary>
    /// Per column the sums Σdy and Σdy·xc (xc = x − mean) of every block are merged in block order; the group sums
    /// follow as Σg = Σ γ·Σdy and Σg·xc = Σ γ·Σdy·xc, and dx = (γ·dy − Σg/n − xc·rstd²·Σ(g·xc)/n)·rstd
    /// (see <see cref="RowKernels"/>).
    /// </summary>
    public static void Backward<T>(in BackwardArgs<T> args) where T : unmanaged
    {
        var plan = args.Plan;
        int blocks = Blocks(plan), slab = Slab(plan), width = plan.Width, tasks = slab * blocks, vector = slab * width;
        int affineSize = args.AffineSize;
        bool sums = args.FromInput || args.DGamma != null || args.DBeta != null;
        var rented = ArrayPool<T>.Shared.Rent(6 * vector);
        var partials = ArrayPool<double>.Shared.Rent(sums ? tasks * 2 * width + 2 * affineSize : 1);
        fixed (T* v = rented)
        fixed (double* part = partials)
        {
            T* mh = v, ml = v + vector, a = v + 2 * vector, b = v + 3 * vector, k = v + 4 * vector, s = v + 5 * vector;
            double* dg = part + tasks * 2 * width, db = dg + affineSize;
            if (sums) new Span<double>(dg, 2 * affineSize).Clear();
            double n = plan.GroupSize;
            for (int first = 0; first < plan.Batch; first += slab)
            {
                int count = Math.Min(slab, plan.Batch - first);
                for (int i = 0; i < count * width; i++)
                {
                    int g = (first + i / width) * plan.GroupsPerBatch + i % width / plan.PerGroup;
                    var (hi, lo) = Kernels.Centre<T>(args.Mean, args.MeanLo, g);
                    mh[i] = Num.FromDouble<T>(hi);
                    ml[i] = Num.FromDouble<T>(lo);
                }
                if (sums)
                {
                    var job = new GradSumsJob<T> { Plan = plan, Blocks = blocks, First = first, X = args.X, Dy = args.Dy, Mh = mh, Ml = ml, Partials = part };
                    Threading.For(ref job, count * blocks);
                }
                for (int batch = first; batch < first + count; batch++)
                {
                    int local = batch - first;
                    for (int gi = 0; gi < plan.GroupsPerBatch; gi++)
                    {
                        int g = batch * plan.GroupsPerBatch + gi;
                        double r = args.Rstd[g], sumG = 0, sumGXc = 0;
                        for (int q = 0; sums && q < plan.PerGroup; q++)
                        {
                            int w = gi * plan.PerGroup + q, p = plan.AffineColumns ? w : 0;
                            double sdy = 0, sdyx = 0;
                            for (int j = 0; j < blocks; j++)
                            {
                                double* block = part + (long)(local * blocks + j) * 2 * width;
                                sdy += block[w];
                                sdyx += block[width + w];
                            }
                            double gm = args.Gamma == null ? 1 : Num.ToDouble(args.Gamma[p]);
                            sumG += gm * sdy;
                            sumGXc += gm * sdyx;
                            db[p] += sdy;
                            dg[p] += r * sdyx;
                        }
                        double bb = args.FromInput && args.Center ? sumG / n : 0, kk = args.FromInput ? r * r * sumGXc / n : 0;
                        for (int q = 0; q < plan.PerGroup; q++)
                        {
                            int w = gi * plan.PerGroup + q, i = local * width + w;
                            a[i] = args.Gamma == null ? Num.FromDouble<T>(1) : args.Gamma[plan.AffineColumns ? w : 0];
                            b[i] = Num.FromDouble<T>(bb);
                            k[i] = Num.FromDouble<T>(kk);
                            s[i] = Num.FromDouble<T>(r);
                        }
                    }
                }
                var apply = new GradApplyJob<T>
                {
                    Plan = plan, Blocks = blocks, First = first, X = args.FromInput ? args.X : null, Dy = args.Dy, Dh = args.Dh, Dx = args.Dx,
                    Mh = mh, Ml = ml, A = a, B = b, K = k, S = s,
                };
                Threading.For(ref apply, count * blocks);
            }
            if (sums && args.DGamma != null) Simd.Narrow(dg, args.DGamma, affineSize);
            if (sums && args.DBeta != null) Simd.Narrow(db, args.DBeta, affineSize);
        }
        ArrayPool<T>.Shared.Return(rented);
        ArrayPool<double>.Shared.Return(partials);
    }

    /// <summary>Row blocks per batch index: one per 64K elements, at most <see cref="MaxBlocks"/> (a function of the shape only).</summary>
    private static int Blocks(in ColumnPlan plan) =>
        Math.Min(Threading.TaskCount((long)plan.Rows * plan.Width, MaxBlocks), plan.Rows);

    /// <summary>Batch indices per slab: enough for about <see cref="SlabElements"/> elements, at least one.</summary>
    private static int Slab(in ColumnPlan plan) =>
        (int)Math.Clamp(SlabElements / Math.Max(1, (long)plan.Rows * plan.Width), 1, plan.Batch);

    /// <summary>Task t of a slab starting at batch index <paramref name="first"/>: its batch index and row range.</summary>
    private static (int Batch, int Start, int End) Range(in ColumnPlan plan, int blocks, int first, int task)
    {
        int j = task % blocks;
        return (first + task / blocks, (int)((long)plan.Rows * j / blocks), (int)((long)plan.Rows * (j + 1) / blocks));
    }

    /// <summary>Element offset of row <paramref name="row"/> of batch <paramref name="batch"/>: rows are <c>plan.Width</c> wide, <c>plan.Rows</c> to a batch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long RowOffset(in ColumnPlan plan, int batch, int row) => ((long)batch * plan.Rows + row) * plan.Width;

    private static void Merge(in ColumnPlan plan, int blocks, int first, int count, GroupMoments* partials, bool center, double eps,
        double* mean, double* rstd, GroupMoments* moments)
    {
        for (int batch = first; batch < first + count; batch++)
        {
            for (int gi = 0; gi < plan.GroupsPerBatch; gi++)
            {
                GroupMoments m = default;
                for (int q = 0; q < plan.PerGroup; q++)
                    for (int j = 0; j < blocks; j++)
                        m = GroupMoments.Combine(m, partials[(long)((batch - first) * blocks + j) * plan.Width + gi * plan.PerGroup + q]);
                int g = batch * plan.GroupsPerBatch + gi;
                if (moments != null) moments[g] = m;
                else (mean[g], rstd[g]) = GroupStatistics.Of(m, center, eps);
            }
        }
    }

    private struct StatsJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks, First;
        public T* X, U, H;
        public GroupMoments* Partials;
        public double* Scratch;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width, chunk = Math.Max(1, Chunk / width);
            var (batch, start, end) = Range(Plan, Blocks, First, task);
            GroupMoments* part = Partials + (long)task * width;
            double* shift = Scratch + (long)task * 6 * width, sq = shift + width, lin = sq + width, mean = lin + width, sq2 = mean + width, lin2 = sq2 + width;
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
                ColumnLoops.Deviations(src, rows, width, width, shift, sq, lin);
                double inv = 1.0 / rows;
                bool again = false;
                for (int w = 0; w < width; w++)
                {
                    mean[w] = shift[w] + lin[w] * inv;
                    again |= !(sq[w] - lin[w] * lin[w] * inv >= sq[w] * RowKernels.Precision);
                }
                if (again)
                {
                    // Some shift (the chunk's first row) was far from its column's mean: those columns are measured
                    // again around the mean (two-pass); every other column keeps its one-pass sums, bit for bit.
                    ColumnLoops.Deviations(src, rows, width, width, mean, sq2, lin2);
                    for (int w = 0; w < width; w++)
                    {
                        if (sq[w] - lin[w] * lin[w] * inv >= sq[w] * RowKernels.Precision) continue;
                        mean[w] += lin2[w] * inv;
                        sq[w] = sq2[w];
                        lin[w] = lin2[w];
                    }
                }
                for (int w = 0; w < width; w++)
                    part[w] = GroupMoments.Combine(part[w], new GroupMoments(rows, mean[w], Math.Max(sq[w] - lin[w] * lin[w] * inv, 0)));
            }
        }
    }

    private struct ApplyJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks, First;
        public T* X, Y, Mh, Ml, A, B;
        public bool Stream;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width;
            var (batch, start, end) = Range(Plan, Blocks, First, task);
            int v = (batch - First) * width;
            for (int r = start; r < end; r++)
            {
                long o = RowOffset(Plan, batch, r);
                Simd.ApplyColumns(X + o, Y + o, width, Mh + v, Ml + v, A + v, B + v, Stream);
            }
            if (Stream) Streaming.Fence();
        }
    }

    private struct GradSumsJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks, First;
        public T* X, Dy, Mh, Ml;
        public double* Partials;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width;
            var (batch, start, end) = Range(Plan, Blocks, First, task);
            int v = (batch - First) * width;
            double* sdy = Partials + (long)task * 2 * width, sdyx = sdy + width;
            new Span<double>(sdy, 2 * width).Clear();
            long o = RowOffset(Plan, batch, start);
            ColumnLoops.GradSums(X + o, Dy + o, end - start, width, width, Mh + v, Ml + v, sdy, sdyx);
        }
    }

    private struct GradApplyJob<T> : IParallelTask where T : unmanaged
    {
        public ColumnPlan Plan;
        public int Blocks, First;
        public T* X, Dy, Dh, Dx, Mh, Ml, A, B, K, S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            int width = Plan.Width;
            var (batch, start, end) = Range(Plan, Blocks, First, task);
            int v = (batch - First) * width;
            for (int r = start; r < end; r++)
            {
                long o = RowOffset(Plan, batch, r);
                Simd.GradApplyColumns(X == null ? null : X + o, Dy + o, Dh == null ? null : Dh + o, Dx + o, width, Mh + v, Ml + v, A + v, B + v, K + v, S + v);
            }
        }
    }
}
