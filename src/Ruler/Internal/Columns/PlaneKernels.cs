using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Rows plans whose groups are made of planes: runs of at least <see cref="MinPlane"/> contiguous elements that share
/// one γ, β (BatchNorm NCHW: H·W of one sample and channel, N per group; InstanceNorm NCHW: H·W; GroupNorm NCHW:
/// S of one channel, C/G per group). A task owns a range of groups and walks them group by group, so a group's
/// planes are written while they are still in cache, and the forward measures group g + 1 inside the loop that
/// writes group g (<see cref="PlaneLoops.ApplyMeasure{T}"/>): reads from memory and writes stream at the same time.
/// A group's moments are its pieces' one-pass moments (<see cref="RowKernels.FromSums"/>) merged in plane order,
/// whichever task measures it, so the bits do not depend on the thread count. dγ, dβ are summed per (group, plane
/// index) and merged over the groups that share an affine index in group order.
/// </summary>
internal static unsafe class PlaneKernels
{
    /// <summary>Pieces of a plane measured in one pass (a long plane is measured in pieces that stay in cache).</summary>
    private const int Piece = 16384;

    /// <summary>Shorter runs stay with <see cref="RowKernels"/>, which reads them as whole segments.</summary>
    private const int MinPlane = 64;

    /// <summary>Whether a rows plan is made of planes (the layouts this class serves).</summary>
    public static bool Handles(in RowPlan plan) => plan.RunLength >= MinPlane;

    /// <summary>The inputs and outputs of a forward or normalize over planes (null pointers: absent).</summary>
    public struct ForwardArgs<T> where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center;
        public double Eps;
        public T* X, Gamma, Beta, Y;
        public double* Mean, Rstd, MeanLo;
    }

    /// <summary>The inputs and outputs of a backward over planes (null pointers: absent).</summary>
    public struct BackwardArgs<T> where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center, FromInput;
        public T* X, Gamma, Dy, Dh, Dx, DGamma, DBeta;
        public double* Mean, Rstd, MeanLo;
        public int AffineSize;
    }

    /// <summary>Training forward: each group measured, its statistics written to Mean/Rstd, then its planes written.</summary>
    public static void Forward<T>(in ForwardArgs<T> args) where T : unmanaged
    {
        var job = new ForwardJob<T> { A = args, Measure = true, Tasks = Tasks(args.Plan) };
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>Normalize with the given statistics.</summary>
    public static void Normalize<T>(in ForwardArgs<T> args) where T : unmanaged
    {
        var job = new ForwardJob<T> { A = args, Measure = false, Tasks = Tasks(args.Plan) };
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>dx (+ dh), dγ, dβ: each group's sums over its planes, then its planes written while in cache.</summary>
    public static void Backward<T>(in BackwardArgs<T> args) where T : unmanaged
    {
        var plan = args.Plan;
        int groups = plan.Groups, runs = plan.Runs;
        bool sums = args.FromInput || args.DGamma != null || args.DBeta != null;
        var rented = ArrayPool<double>.Shared.Rent(sums ? 2 * groups * runs + 2 * args.AffineSize : 1);
        fixed (double* perRun = rented)
        {
            var job = new BackwardJob<T> { A = args, Sums = sums, PerRun = perRun, Tasks = Tasks(plan) };
            Threading.For(ref job, job.Tasks);
            if (sums)
            {
                double* dg = perRun + 2L * groups * runs, db = dg + args.AffineSize;
                new Span<double>(dg, 2 * args.AffineSize).Clear();
                for (int g = 0; g < groups; g++)
                {
                    int ab = plan.AffineBase(g);
                    for (int q = 0; q < runs; q++)
                    {
                        dg[ab + q] += perRun[2L * (g * runs + q)];
                        db[ab + q] += perRun[2L * (g * runs + q) + 1];
                    }
                }
                if (args.DGamma != null) Simd.Narrow(dg, args.DGamma, args.AffineSize);
                if (args.DBeta != null) Simd.Narrow(db, args.DBeta, args.AffineSize);
            }
        }
        ArrayPool<double>.Shared.Return(rented);
    }

    private static int Tasks(in RowPlan plan) => Threading.TaskCount((long)plan.Groups * plan.GroupSize, plan.Groups);

    private static (int Start, int End) Slice(int count, int task, int tasks) =>
        ((int)((long)count * task / tasks), (int)((long)count * (task + 1) / tasks));

    /// <summary>Offset of plane q of segment k of group g.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long PlaneOffset(in RowPlan plan, int g, int k, int q) => plan.Offset(g, k) + (long)q * plan.RunLength;

    /// <summary>The moments of group g over its planes, piece by piece (the same pieces as <see cref="ForwardJob{T}"/>'s pipelined measure).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static GroupMoments Measure<T>(in RowPlan plan, T* x, int g) where T : unmanaged
    {
        GroupMoments m = default;
        int length = plan.RunLength;
        for (int k = 0; k < plan.Segments; k++)
            for (int q = 0; q < plan.Runs; q++)
            {
                T* plane = x + PlaneOffset(plan, g, k, q);
                for (int off = 0; off < length; off += Piece)
                {
                    int n = Math.Min(Piece, length - off);
                    T* src = plane + off;
                    double shift = Num.ToDouble(src[0]);
                    var (sq, lin) = Simd.Deviations(src, n, shift);
                    m = GroupMoments.Combine(m, RowKernels.FromSums(src, n, shift, sq, lin));
                }
            }
        return m;
    }

    private struct ForwardJob<T> : IParallelTask where T : unmanaged
    {
        public ForwardArgs<T> A;
        public bool Measure;
        public int Tasks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            var plan = A.Plan;
            var (start, end) = Slice(plan.Groups, task, Tasks);
            if (start == end) return;
            GroupMoments m = Measure ? PlaneKernels.Measure(plan, A.X, start) : default;
            int length = plan.RunLength;
            for (int g = start; g < end; g++)
            {
                if (Measure) (A.Mean[g], A.Rstd[g]) = GroupStatistics.Of(m, A.Center, A.Eps);
                var (mh, ml) = Kernels.Centre<T>(A.Mean, A.MeanLo, g);
                double rstd = A.Rstd[g];
                int ab = plan.AffineBase(g);
                bool next = Measure && g + 1 < end;
                m = default;
                for (int k = 0; k < plan.Segments; k++)
                    for (int q = 0; q < plan.Runs; q++)
                    {
                        double a = A.Gamma == null ? rstd : rstd * Num.ToDouble(A.Gamma[ab + q]);
                        double b = A.Beta == null ? 0 : Num.ToDouble(A.Beta[ab + q]);
                        long o = PlaneOffset(plan, g, k, q), on = next ? PlaneOffset(plan, g + 1, k, q) : 0;
                        for (int off = 0; off < length; off += Piece)
                        {
                            int n = Math.Min(Piece, length - off);
                            if (!next)
                            {
                                Simd.Apply(A.X + o + off, A.Y + o + off, n, mh, ml, a, b);
                                continue;
                            }
                            T* src = A.X + on + off;
                            double shift = Num.ToDouble(src[0]);
                            var (sq, lin) = PlaneLoops.ApplyMeasure(A.X + o + off, A.Y + o + off, n, mh, ml, a, b, src, shift);
                            m = GroupMoments.Combine(m, RowKernels.FromSums(src, n, shift, sq, lin));
                        }
                    }
            }
        }
    }

    private struct BackwardJob<T> : IParallelTask where T : unmanaged
    {
        public BackwardArgs<T> A;
        public bool Sums;
        public double* PerRun;
        public int Tasks;

        /// <summary>Σdy and Σdy·xc of every plane index q of group g, summed over the segments in order, into PerRun (raw).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private readonly void Measure(int g)
        {
            var plan = A.Plan;
            var (mh, ml) = Kernels.Centre<T>(A.Mean, A.MeanLo, g);
            for (int q = 0; q < plan.Runs; q++)
            {
                double sdy = 0, sdyx = 0;
                for (int k = 0; k < plan.Segments; k++)
                {
                    long o = PlaneOffset(plan, g, k, q);
                    var (d, dxc) = Simd.GradSums(A.X + o, A.Dy + o, plan.RunLength, mh, ml);
                    sdy += d;
                    sdyx += dxc;
                }
                PerRun[2L * (g * plan.Runs + q)] = sdyx;
                PerRun[2L * (g * plan.Runs + q) + 1] = sdy;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            var plan = A.Plan;
            var (start, end) = Slice(plan.Groups, task, Tasks);
            if (start == end) return;
            double n = plan.GroupSize;
            int length = plan.RunLength, runs = plan.Runs;
            T* x = A.FromInput ? A.X : null;
            if (Sums) Measure(start);
            for (int g = start; g < end; g++)
            {
                var (mh, ml) = Kernels.Centre<T>(A.Mean, A.MeanLo, g);
                double rstd = A.Rstd[g], sumG = 0, sumGXc = 0;
                int ab = plan.AffineBase(g);
                for (int q = 0; Sums && q < runs; q++)
                {
                    double* raw = PerRun + 2L * (g * runs + q);
                    double sdyx = raw[0], sdy = raw[1];
                    double gamma = A.Gamma == null ? 1 : Num.ToDouble(A.Gamma[ab + q]);
                    sumG += gamma * sdy;
                    sumGXc += gamma * sdyx;
                    raw[0] = rstd * sdyx;
                }
                double b = A.FromInput && A.Center ? sumG / n : 0, kx = A.FromInput ? rstd * rstd * sumGXc / n : 0;
                bool next = Sums && g + 1 < end;
                var (nh, nl) = next ? Kernels.Centre<T>(A.Mean, A.MeanLo, g + 1) : (0, 0);
                double* nextRaw = next ? PerRun + 2L * (g + 1) * runs : null;
                if (next) new Span<double>(nextRaw, 2 * runs).Clear();
                for (int k = 0; k < plan.Segments; k++)
                    for (int q = 0; q < runs; q++)
                    {
                        long o = PlaneOffset(plan, g, k, q);
                        double gamma = A.Gamma == null ? 1 : Num.ToDouble(A.Gamma[ab + q]);
                        T* dh = A.Dh == null ? null : A.Dh + o;
                        if (!next)
                        {
                            Simd.GradApply(x == null ? null : x + o, A.Dy + o, dh, A.Dx + o, null, length, mh, ml, gamma, b, kx, rstd, 0);
                            continue;
                        }
                        long on = PlaneOffset(plan, g + 1, k, q);
                        var (d, dxc) = PlaneLoops.GradApplySums(x == null ? null : x + o, A.Dy + o, dh, A.Dx + o, length, mh, ml, gamma, b, kx, rstd,
                            A.X + on, A.Dy + on, nh, nl);
                        nextRaw[2 * q] += dxc;
                        nextRaw[2 * q + 1] += d;
                    }
            }
        }
    }
}
