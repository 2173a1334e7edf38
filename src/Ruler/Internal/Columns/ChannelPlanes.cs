using System.Buffers;
using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>
/// Planes with one γ, β per group (BatchNorm NCHW and (N, C, L): a <see cref="RowPlan"/> with N segments of one run),
/// walked channel by channel: a task owns a range of groups, and measures each group's N planes and then writes them
/// while they are still in cache, so x comes from memory once (the sample-major walk of <see cref="RowKernels"/>
/// reads it twice). Each group is measured and written by one task in plane order, so the bits do not depend on
/// the thread count. dγ, dβ are summed per group and merged over the groups that share an affine index in group order.
/// </summary>
internal static unsafe class ChannelPlanes
{
    private const int Piece = 16384;

    /// <summary>Whether a rows plan is planes with one γ, β per plane (the layouts this class serves).</summary>
    public static bool Handles(in RowPlan plan) => plan.Segments > 1 && plan.Runs == 1 && plan.SegmentLength >= MinPlane;

    /// <summary>Shorter planes stay with <see cref="RowKernels"/>, which walks them in memory order.</summary>
    private const int MinPlane = 64;

    /// <summary>The inputs and outputs of a forward over planes (null pointers: absent).</summary>
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
        var job = new ForwardJob<T> { A = args, Measure = true };
        job.Tasks = Tasks(args.Plan);
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>Normalize with the given statistics.</summary>
    public static void Normalize<T>(in ForwardArgs<T> args) where T : unmanaged
    {
        var job = new ForwardJob<T> { A = args, Measure = false };
        job.Tasks = Tasks(args.Plan);
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>dx (+ dh), dγ, dβ: each group's sums over its planes, then its planes written while in cache.</summary>
    public static void Backward<T>(in BackwardArgs<T> args) where T : unmanaged
    {
        int groups = args.Plan.Groups;
        bool sums = args.FromInput || args.DGamma != null || args.DBeta != null;
        var rented = ArrayPool<double>.Shared.Rent(2 * groups);
        fixed (double* perGroup = rented)
        {
            var job = new BackwardJob<T> { A = args, Sums = sums, PerGroup = perGroup, Tasks = Tasks(args.Plan) };
            Threading.For(ref job, job.Tasks);
            for (int p = 0; sums && p < args.AffineSize; p++)
            {
                double dg = 0, db = 0;
                for (int g = p; g < groups; g += args.Plan.Period)
                {
                    dg += perGroup[2 * g];
                    db += perGroup[2 * g + 1];
                }
                if (args.DGamma != null) args.DGamma[p] = Num.FromDouble<T>(dg);
                if (args.DBeta != null) args.DBeta[p] = Num.FromDouble<T>(db);
            }
        }
        ArrayPool<double>.Shared.Return(rented);
    }

    private static int Tasks(in RowPlan plan) => Threading.TaskCount((long)plan.Groups * plan.GroupSize, plan.Groups);

    private static (int Start, int End) Slice(int count, int task, int tasks) =>
        ((int)((long)count * task / tasks), (int)((long)count * (task + 1) / tasks));

    /// <summary>The moments of group g over its planes: pieces of one pass around their first element (<see cref="RowKernels.FromSums"/>), merged in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static GroupMoments Measure<T>(in RowPlan plan, T* x, int g) where T : unmanaged
    {
        GroupMoments m = default;
        int length = plan.SegmentLength;
        for (int k = 0; k < plan.Segments; k++)
        {
            T* segment = x + plan.Offset(g, k);
            for (int off = 0; off < length; off += Piece)
            {
                int n = Math.Min(Piece, length - off);
                T* src = segment + off;
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
            for (int g = start; g < end; g++)
            {
                if (Measure) (A.Mean[g], A.Rstd[g]) = GroupStatistics.Of(ChannelPlanes.Measure(plan, A.X, g), A.Center, A.Eps);
                var (mh, ml) = Kernels.Centre<T>(A.Mean, A.MeanLo, g);
                int p = plan.AffineBase(g);
                double a = A.Gamma == null ? A.Rstd[g] : A.Rstd[g] * Num.ToDouble(A.Gamma[p]);
                double b = A.Beta == null ? 0 : Num.ToDouble(A.Beta[p]);
                for (int k = 0; k < plan.Segments; k++)
                {
                    long o = plan.Offset(g, k);
                    Simd.Apply(A.X + o, A.Y + o, plan.SegmentLength, mh, ml, a, b);
                }
            }
        }
    }

    private struct BackwardJob<T> : IParallelTask where T : unmanaged
    {
        public BackwardArgs<T> A;
        public bool Sums;
        public double* PerGroup;
        public int Tasks;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Run(int task)
        {
            var plan = A.Plan;
            var (start, end) = Slice(plan.Groups, task, Tasks);
            double n = plan.GroupSize;
            for (int g = start; g < end; g++)
            {
                var (mh, ml) = Kernels.Centre<T>(A.Mean, A.MeanLo, g);
                double rstd = A.Rstd[g], sdy = 0, sdyx = 0;
                int p = plan.AffineBase(g);
                double gamma = A.Gamma == null ? 1 : Num.ToDouble(A.Gamma[p]);
                for (int k = 0; Sums && k < plan.Segments; k++)
                {
                    long o = plan.Offset(g, k);
                    var (d, dx) = Simd.GradSums(A.X + o, A.Dy + o, plan.SegmentLength, mh, ml);
                    sdy += d;
                    sdyx += dx;
                }
                if (Sums)
                {
                    PerGroup[2 * g] = rstd * sdyx;
                    PerGroup[2 * g + 1] = sdy;
                }
                double b = A.FromInput && A.Center ? gamma * sdy / n : 0, kx = A.FromInput ? rstd * rstd * gamma * sdyx / n : 0;
                T* x = A.FromInput ? A.X : null;
                for (int k = 0; k < plan.Segments; k++)
                {
                    long o = plan.Offset(g, k);
                    Simd.GradApply(x == null ? null : x + o, A.Dy + o, A.Dh == null ? null : A.Dh + o, A.Dx + o, null, plan.SegmentLength,
                        mh, ml, gamma, b, kx, rstd, 0);
                }
            }
        }
    }
}
