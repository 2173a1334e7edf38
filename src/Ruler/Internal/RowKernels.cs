using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Kernels for rows and planes (<see cref="RowPlan"/>). A segment is read in pieces of at most <see cref="Piece"/>
/// elements that stay in cache for the two statistics passes; a group's moments are its pieces' moments merged in
/// order (Chan). Rows (one segment per group): tasks are ranges of groups, and a row is measured and written while
/// it is in cache. Planes (BatchNorm NCHW: N segments per group): memory is walked in order, sample by sample;
/// a task owns a range of samples and keeps partial moments (or gradient sums) per group, merged in task order.
/// Task counts depend on the shape only, so results are the same bits for any thread count.
/// One entry point per op, each taking one argument struct (<see cref="RowForwardArgs{T}"/> and its siblings in
/// Rows/RowArgs.cs): Moments, Forward, Normalize, AddForward, Backward, AddBackward. Row backward with γ per element
/// and rows of 8 KB or more runs in blocks (<see cref="RowBackwardBlocks"/>).
/// </summary>
internal static unsafe class RowKernels
{
    private const int Piece = 16384;

    private const int RowsPhase = 0, PlanesMeasure = 1, PlanesApply = 2;

    /// <summary>Moments of every group (<see cref="RowMomentsArgs{T}"/>).</summary>
    public static void Moments<T>(in RowPlan plan, in RowMomentsArgs<T> a) where T : unmanaged =>
        Forward<T>(plan, true, 0, a.X, null, null, null, null, null, null, null, a.Moments, true);

    /// <summary>Forward: statistics measured and written, then applied (<see cref="RowForwardArgs{T}"/>).</summary>
    public static void Forward<T>(in RowPlan plan, in RowForwardArgs<T> a) where T : unmanaged =>
        Forward(plan, a.Center, a.Eps, a.X, null, null, a.Gamma, a.Beta, a.Y, a.Mean, a.Rstd, null, true);

    /// <summary>Normalize with given statistics (<see cref="RowNormalizeArgs{T}"/>).</summary>
    public static void Normalize<T>(in RowPlan plan, in RowNormalizeArgs<T> a) where T : unmanaged =>
        Forward(plan, false, 0, a.X, null, null, a.Gamma, a.Beta, a.Y, a.Mean, a.Rstd, null, false, a.MeanLo);

    /// <summary>Residual add + forward (<see cref="RowAddForwardArgs{T}"/>).</summary>
    public static void AddForward<T>(in RowPlan plan, in RowAddForwardArgs<T> a) where T : unmanaged =>
        Forward(plan, a.Center, a.Eps, a.X, a.U, a.H, a.Gamma, a.Beta, a.Y, a.Mean, a.Rstd, null, true);

    /// <summary>Backward (<see cref="RowBackwardArgs{T}"/>).</summary>
    public static void Backward<T>(in RowPlan plan, in RowBackwardArgs<T> a) where T : unmanaged =>
        Backward(plan, a.Center, a.X, a.Mean, a.Rstd, a.Gamma, a.Dy, null, a.Dx, a.Dgamma, a.Dbeta, a.AffineSize, a.FromInput, a.MeanLo);

    /// <summary>Backward of the residual add + norm (<see cref="RowAddBackwardArgs{T}"/>).</summary>
    public static void AddBackward<T>(in RowPlan plan, in RowAddBackwardArgs<T> a) where T : unmanaged =>
        Backward(plan, a.Center, a.H, a.Mean, a.Rstd, a.Gamma, a.Dy, a.Dh, a.Dsum, a.Dgamma, a.Dbeta, a.AffineSize, true, a.MeanLo);

    /// <summary>
    /// The shared body of the forward entry points:
    /// moments (when <paramref name="moments"/> is not null), forward (statistics written to mean/rstd, then
    /// applied) or normalize (mean/rstd given: <paramref name="measure"/> false). With <paramref name="u"/> not null
    /// the input is h = x + u, written to <paramref name="h"/> on the way.
    /// </summary>
    private static void Forward<T>(in RowPlan plan, bool center, double eps, T* x, T* u, T* h, T* gamma, T* beta, T* y,
        double* mean, double* rstd, GroupMoments* moments, bool measure, double* meanLo = null) where T : unmanaged
    {
        long total = (long)plan.Groups * plan.GroupSize;
        var job = new ForwardJob<T>
        {
            Plan = plan, Center = center, Eps = eps, X = x, U = u, H = h, Gamma = gamma, Beta = beta, Y = y,
            Mean = mean, Rstd = rstd, Moments = moments, Measure = measure, MeanLo = meanLo,
        };
        if (plan.Segments == 1)
        {
            job.Tasks = Threading.TaskCount(total, plan.Groups);
            Threading.For(ref job, job.Tasks);
            return;
        }
        if (measure)
        {
            int tasks = Threading.TaskCount(total, plan.Segments);
            var rented = ArrayPool<GroupMoments>.Shared.Rent(tasks * plan.Groups);
            fixed (GroupMoments* partials = rented)
            {
                job.Phase = PlanesMeasure;
                job.Tasks = tasks;
                job.Partials = partials;
                Threading.For(ref job, tasks);
                for (int g = 0; g < plan.Groups; g++)
                {
                    GroupMoments m = default;
                    for (int t = 0; t < tasks; t++) m = GroupMoments.Combine(m, partials[(long)t * plan.Groups + g]);
                    job.Finish(g, m);
                }
            }
            ArrayPool<GroupMoments>.Shared.Return(rented);
            if (moments != null) return;
        }
        job.Phase = PlanesApply;
        job.Tasks = Threading.TaskCount(total, plan.Segments * plan.Groups);
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>
    /// The shared body of the backward entry points:
    /// dx (+ dh when not null), and dγ, dβ (each may be null) from per-task float64 partials merged in task order.
    /// With <paramref name="fromInput"/> false the statistics were constants: dx = rstd·γ·dy. Rows with γ per element
    /// of at least 8 KB take <see cref="RowBackwardBlocks"/>; shorter rows, planes and per-run γ the general job below.
    /// </summary>
    private static void Backward<T>(in RowPlan plan, bool center, T* x, double* mean, double* rstd, T* gamma, T* dy, T* dh, T* dx,
        T* dgamma, T* dbeta, int affineSize, bool fromInput, double* meanLo = null) where T : unmanaged
    {
        if (RowBackwardBlocks.Handles<T>(plan, gamma != null || dgamma != null || dbeta != null))
        {
            RowBackwardBlocks.Run(plan, center, fromInput, x, mean, rstd, meanLo, gamma, dy, dh, dx, dgamma, dbeta);
            return;
        }
        long total = (long)plan.Groups * plan.GroupSize;
        var job = new BackwardJob<T>
        {
            Plan = plan, Center = center, X = x, Mean = mean, Rstd = rstd, Gamma = gamma, Dy = dy, Dh = dh, Dx = dx,
            AffineSize = affineSize, FromInput = fromInput, Sums = fromInput || dgamma != null || dbeta != null, MeanLo = meanLo,
        };
        bool rows = plan.Segments == 1;
        int sumTasks = rows ? Threading.TaskCount(total, plan.Groups) : Threading.TaskCount(total, plan.Segments);
        int partials = job.Sums ? 2 * affineSize * sumTasks : 0, sums = rows ? 0 : 2 * plan.Groups * (sumTasks + 1);
        var rented = ArrayPool<double>.Shared.Rent(Math.Max(1, partials + sums));
        var near = ArrayPool<T>.Shared.Rent(Math.Max(1, partials));
        fixed (double* scratch = rented)
        fixed (T* nearScratch = near)
        {
            job.Partials = scratch;
            job.NearPartials = nearScratch;
            job.GroupSums = scratch + partials;
            job.Tasks = sumTasks;
            if (rows) Threading.For(ref job, sumTasks);
            else
            {
                double* merged = job.GroupSums + 2L * plan.Groups * sumTasks;
                new Span<double>(merged, 2 * plan.Groups).Clear();
                if (job.Sums)
                {
                    job.Phase = PlanesMeasure;
                    Threading.For(ref job, sumTasks);
                    for (int t = 0; t < sumTasks; t++)
                        for (int i = 0; i < 2 * plan.Groups; i++) merged[i] += job.GroupSums[2L * plan.Groups * t + i];
                }
                job.Phase = PlanesApply;
                job.GroupSums = merged;
                job.Tasks = Threading.TaskCount(total, plan.Segments * plan.Groups);
                Threading.For(ref job, job.Tasks);
            }
            if (job.Sums)
            {
                // The tasks' float64 partials merged in task order into task 0's, then rounded to T in one vector pass.
                for (int t = 1; t < sumTasks; t++) Simd.Add(scratch, scratch + 2L * affineSize * t, scratch, 2 * affineSize);
                if (dgamma != null) Simd.Narrow(scratch, dgamma, affineSize);
                if (dbeta != null) Simd.Narrow(scratch + affineSize, dbeta, affineSize);
            }
        }
        ArrayPool<double>.Shared.Return(rented);
        ArrayPool<T>.Shared.Return(near);
    }

    /// <summary>
    /// Merges the moments of segment k of group g into <paramref name="m"/>, two passes per piece: the mean relative
    /// to the piece's first element (a constant piece gets its value exactly), then M2 = Σd² − (Σd)²/n with
    /// d = x − mean (the correction term removes the rounding of the mean). Float lanes are widened: every sum is float64.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Measure<T>(in RowPlan plan, T* x, T* u, T* h, int g, int k, ref GroupMoments m) where T : unmanaged
    {
        long o = plan.Offset(g, k);
        for (int off = 0; off < plan.SegmentLength; off += Piece)
        {
            int n = Math.Min(Piece, plan.SegmentLength - off);
            GroupMoments piece;
            if (u == null)
            {
                T* src = x + o + off;
                double shift = Num.ToDouble(src[0]);
                var (sq, lin) = Simd.Deviations(src, n, shift);
                piece = FromSums(src, n, shift, sq, lin);
            }
            else
            {
                T* src = h + o + off;
                double shift = Num.ToDouble(Num.FromDouble<T>(Num.ToDouble(x[o + off]) + Num.ToDouble(u[o + off])));
                double pieceMean = shift + Simd.AddSumShifted(x + o + off, u + o + off, src, n, shift) / n;
                var (sq, lin) = Simd.Deviations(src, n, pieceMean);
                piece = new GroupMoments(n, pieceMean, Math.Max(sq - lin * lin / n, 0));
            }
            m = GroupMoments.Combine(m, piece);
        }
    }

    /// <summary>
    /// Σd² = M2 + n·(mean − shift)², and M2 ≥ (shift − mean)² since the shift is one of the elements: the one-pass
    /// M2 keeps all but log2(Σd²/M2) ≤ log2(n + 1) bits of Σd². A ratio over 256 (the shift more than ~16 standard
    /// deviations from the mean) is measured again.
    /// </summary>
    public const double Precision = 1.0 / 256;

    /// <summary>
    /// The moments of n elements from one pass around <paramref name="shift"/> (an element: a constant run gets its
    /// value exactly): with d = x − shift, mean = shift + Σd/n and M2 = Σd² − (Σd)²/n. When the shift is far from the
    /// mean (Σd² ≫ M2, see <see cref="Precision"/>) the elements are measured again around the mean, where the same
    /// formula is the corrected two-pass one.
    /// </summary>
    public static GroupMoments FromSums<T>(T* x, int n, double shift, double squares, double linear) where T : unmanaged
    {
        double mean = shift + linear / n, m2 = squares - linear * linear / n;
        if (m2 >= squares * Precision) return new GroupMoments(n, mean, m2);
        var (sq, lin) = Simd.Deviations(x, n, mean);
        return new GroupMoments(n, mean + lin / n, Math.Max(sq - lin * lin / n, 0));
    }

    private static T* At<T>(T* p, long offset) where T : unmanaged => p == null ? null : p + offset;

    /// <summary>The slice [start, end) of <paramref name="count"/> items that task <paramref name="task"/> of <paramref name="tasks"/> owns.</summary>
    private static (int Start, int End) Slice(int count, int task, int tasks) =>
        ((int)((long)count * task / tasks), (int)((long)count * (task + 1) / tasks));

    private struct ForwardJob<T> : IParallelTask where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center, Measure;
        public double Eps;
        public T* X, U, H, Gamma, Beta, Y;
        public double* Mean, Rstd, MeanLo;
        public GroupMoments* Moments, Partials;
        public int Tasks, Phase;

        /// <summary>Group g's centre as hi + lo in T (<see cref="Kernels.Centre{T}"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly (double Hi, double Lo) Centre(int g) => Kernels.Centre<T>(Mean, MeanLo, g);

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            T* src = U == null ? X : H;
            if (Phase == PlanesMeasure)
            {
                var (k0, k1) = Slice(Plan.Segments, task, Tasks);
                GroupMoments* part = Partials + (long)task * Plan.Groups;
                new Span<GroupMoments>(part, Plan.Groups).Clear();
                for (int k = k0; k < k1; k++)
                    for (int g = 0; g < Plan.Groups; g++) RowKernels.Measure(Plan, X, U, H, g, k, ref part[g]);
                return;
            }
            if (Phase == PlanesApply)
            {
                var (p0, p1) = Slice(Plan.Segments * Plan.Groups, task, Tasks);
                for (int p = p0; p < p1; p++) Apply(src, p % Plan.Groups, p / Plan.Groups);
                return;
            }
            var (start, end) = Slice(Plan.Groups, task, Tasks);
            bool perElement = Plan.RunLength == 1 || (Gamma == null && Beta == null);
            if (Measure && U == null && perElement && ShortRows.Handles<T>(Plan.SegmentLength))
            {
                Short(start, end);
                return;
            }
            if (Measure && Moments == null && U == null && Plan.SegmentLength <= Piece && perElement)
            {
                Pipelined(start, end);
                return;
            }
            for (int g = start; g < end; g++)
            {
                if (Measure)
                {
                    GroupMoments m = default;
                    RowKernels.Measure(Plan, X, U, H, g, 0, ref m);
                    Finish(g, m);
                    if (Moments != null) continue;
                }
                Apply(src, g, 0);
            }
        }

        /// <summary>
        /// Rows of one piece with γ, β per element (LayerNorm, RMSNorm): the same statistics as
        /// <see cref="RowKernels.Measure"/>, but the pass of row g + 1 runs inside the write of row g.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Pipelined(int start, int end)
        {
            int n = Plan.SegmentLength;
            T* row = X + Plan.Offset(start, 0);
            double shift = Num.ToDouble(row[0]);
            var (sq, lin) = Simd.Deviations(row, n, shift);
            for (int g = start; g < end; g++, row += n)
            {
                Finish(g, FromSums(row, n, shift, sq, lin));
                var (mh, ml) = Centre(g);
                int ab = Plan.AffineBase(g);
                T* next = g + 1 < end ? row + n : null;
                if (next != null) shift = Num.ToDouble(next[0]);
                (sq, lin) = Simd.ApplyAffine(row, Y + (row - X), n, mh, ml, Rstd[g], At(Gamma, ab), At(Beta, ab), next, shift);
            }
        }

        /// <summary>Rows that <see cref="ShortRows"/> measures, eight at a time, then writes (same γ, β forms as <see cref="Pipelined"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Short(int start, int end)
        {
            int n = Plan.SegmentLength;
            for (int g0 = start; g0 < end; g0 += ShortRows.Block)
            {
                int count = Math.Min(ShortRows.Block, end - g0);
                ShortRows.Measure((float*)X + Plan.Offset(g0, 0), n, count, out var mean, out var m2);
                if (Moments != null)
                {
                    for (int r = 0; r < count; r++) Moments[g0 + r] = new GroupMoments(n, mean[r], m2[r]);
                    continue;
                }
                var (means, rstds) = GroupStatistics.Of(mean, m2, n, Center, Eps);
                for (int r = 0; r < count; r++) (Mean[g0 + r], Rstd[g0 + r]) = (means[r], rstds[r]);
                long o0 = Plan.Offset(g0, 0);
                if (Plan.Period == 1)
                {
                    ShortRows.ApplyBlock((float*)X + o0, (float*)Y + o0, n, count, means, rstds, (float*)Gamma, (float*)Beta);
                    continue;
                }
                for (int r = 0; r < count; r++)
                {
                    int g = g0 + r;
                    var (mh, ml) = Centre(g);
                    int ab = Plan.AffineBase(g);
                    long o = Plan.Offset(g, 0);
                    ShortRows.Apply((float*)X + o, (float*)Y + o, n, mh, ml, Rstd[g], (float*)At(Gamma, ab), (float*)At(Beta, ab));
                }
            }
        }

        /// <summary>Stores the moments (a Moments call) or the statistics of group g.</summary>
        public readonly void Finish(int g, GroupMoments m)
        {
            if (Moments != null) Moments[g] = m;
            else (Mean[g], Rstd[g]) = GroupStatistics.Of(m, Center, Eps);
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Apply(T* src, int g, int k)
        {
            var (mh, ml) = Centre(g);
            double rstd = Rstd[g];
            int ab = Plan.AffineBase(g), runLength = Plan.RunLength;
            long o = Plan.Offset(g, k);
            if (runLength == 1 || (Gamma == null && Beta == null))
            {
                Simd.ApplyAffine(src + o, Y + o, Plan.SegmentLength, mh, ml, rstd, At(Gamma, ab), At(Beta, ab));
                return;
            }
            for (int q = 0; q < Plan.Runs; q++)
            {
                double a = Gamma == null ? rstd : rstd * Num.ToDouble(Gamma[ab + q]);
                double b = Beta == null ? 0 : Num.ToDouble(Beta[ab + q]);
                Simd.Apply(src + o + q * runLength, Y + o + q * runLength, runLength, mh, ml, a, b);
            }
        }
    }

    private struct BackwardJob<T> : IParallelTask where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center, FromInput, Sums;
        public T* X, Gamma, Dy, Dh, Dx, NearPartials;
        public double* Mean, Rstd, Partials, GroupSums, MeanLo;
        public int AffineSize, Tasks, Phase;

        /// <summary>Group g's centre as hi + lo in T (<see cref="Kernels.Centre{T}"/>).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private readonly (double Hi, double Lo) Centre(int g) => Kernels.Centre<T>(Mean, MeanLo, g);

        /// <summary>Per-element dγ, dβ terms are summed in T for this many segments, then flushed into float64.</summary>
        private const int FlushEvery = 16;

        /// <summary>
        /// While measuring and writing a row, the row this many rows on (in the task) is prefetched: x, dy by
        /// <see cref="Simd.GradSumsAffine"/>, dx by <see cref="Simd.GradApply"/>.
        /// </summary>
        private const int PrefetchRows = 2;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            if (Phase == PlanesApply)
            {
                var (p0, p1) = Slice(Plan.Segments * Plan.Groups, task, Tasks);
                for (int p = p0; p < p1; p++)
                {
                    int g = p % Plan.Groups;
                    Apply(g, p / Plan.Groups, GroupSums[2 * g], GroupSums[2 * g + 1], 0);
                }
                return;
            }
            double* dg = Partials + 2L * AffineSize * task, db = dg + AffineSize;
            T* near = NearPartials + 2L * AffineSize * task;
            if (Sums)
            {
                new Span<double>(dg, 2 * AffineSize).Clear();
                new Span<T>(near, 2 * AffineSize).Clear();
            }
            int pending = 0;
            if (Phase == PlanesMeasure)
            {
                var (k0, k1) = Slice(Plan.Segments, task, Tasks);
                double* sums = GroupSums + 2L * Plan.Groups * task;
                new Span<double>(sums, 2 * Plan.Groups).Clear();
                for (int k = k0; k < k1; k++)
                    for (int g = 0; g < Plan.Groups; g++)
                    {
                        Accumulate(g, k, near, dg, db, ref sums[2 * g], ref sums[2 * g + 1], 0);
                        if (++pending % FlushEvery == 0) Flush(near, dg);
                    }
                Flush(near, dg);
                return;
            }
            var (start, end) = Slice(Plan.Groups, task, Tasks);
            for (int g = start; g < end; g++)
            {
                double sumG = 0, sumGXc = 0;
                int ahead = Sums && g + PrefetchRows < end ? PrefetchRows * Plan.SegmentLength : 0;
                if (Sums)
                {
                    Accumulate(g, 0, near, dg, db, ref sumG, ref sumGXc, ahead);
                    if (++pending % FlushEvery == 0) Flush(near, dg);
                }
                Apply(g, 0, sumG, sumGXc, ahead);
            }
            if (Sums) Flush(near, dg);
        }

        /// <summary>Adds the per-element partials (dγ then dβ, in T) into the task's float64 partials.</summary>
        private readonly void Flush(T* near, double* dg)
        {
            if (Plan.RunLength == 1) Simd.Flush(near, dg, 2 * AffineSize);
        }

        /// <summary>
        /// Adds segment k's Σg and Σg·xc (g = dy·γ, xc = x − mean) and its dγ = Σdy·x̂, dβ = Σdy terms; with γ per
        /// element, prefetches the elements <paramref name="ahead"/> further on (0: none).
        /// </summary>
        private readonly void Accumulate(int g, int k, T* near, double* dg, double* db, ref double sumG, ref double sumGXc, int ahead)
        {
            var (mh, ml) = Centre(g);
            double rstd = Rstd[g];
            int ab = Plan.AffineBase(g), runLength = Plan.RunLength;
            long o = Plan.Offset(g, k);
            if (runLength == 1)
            {
                var (sg, sgx) = Simd.GradSumsAffine(X + o, Dy + o, At(Gamma, ab), Plan.SegmentLength, mh, ml, rstd, near + ab, near + AffineSize + ab,
                    ahead);
                sumG += sg;
                sumGXc += sgx;
                return;
            }
            for (int q = 0; q < Plan.Runs; q++)
            {
                var (sdy, sdyx) = Simd.GradSums(X + o + q * runLength, Dy + o + q * runLength, runLength, mh, ml);
                double gamma = Gamma == null ? 1 : Num.ToDouble(Gamma[ab + q]);
                sumG += gamma * sdy;
                sumGXc += gamma * sdyx;
                dg[ab + q] += rstd * sdyx;
                db[ab + q] += sdy;
            }
        }

        /// <summary>
        /// With xc = x − mean, x̂ = xc·rstd and g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂))
        /// = (g − Σg/n − xc·rstd²·Σ(g·xc)/n)·rstd, from the group sums Σg and Σg·xc of the first pass. With γ per
        /// element, prefetches dx <paramref name="ahead"/> elements further on (0: none).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Apply(int g, int k, double sumG, double sumGXc, int ahead)
        {
            var (mh, ml) = Centre(g);
            double rstd = Rstd[g], n = Plan.GroupSize;
            double b = FromInput && Center ? sumG / n : 0, kx = FromInput ? rstd * rstd * sumGXc / n : 0;
            int ab = Plan.AffineBase(g), runLength = Plan.RunLength;
            long o = Plan.Offset(g, k);
            T* x = FromInput ? X : null;
            if (runLength == 1)
            {
                Simd.GradApply(At(x, o), Dy + o, At(Dh, o), Dx + o, At(Gamma, ab), Plan.SegmentLength, mh, ml, 1, b, kx, rstd, ahead);
                return;
            }
            for (int q = 0; q < Plan.Runs; q++)
            {
                long oq = o + q * runLength;
                double gamma = Gamma == null ? 1 : Num.ToDouble(Gamma[ab + q]);
                Simd.GradApply(At(x, oq), Dy + oq, At(Dh, oq), Dx + oq, null, runLength, mh, ml, gamma, b, kx, rstd, 0);
            }
        }
    }
}
