using System.Buffers;

namespace Ruler.Internal;

/// <summary>
/// Kernels for rows and planes (<see cref="RowPlan"/>): groups are independent, so tasks are ranges of groups and
/// each group is computed the same way on any thread. A segment is read in pieces of at most <see cref="Piece"/>
/// elements that stay in cache for the two statistics passes; the group's moments are the pieces' moments merged
/// in order (Chan). A row of LayerNorm or a GroupNorm group is one piece, so its statistics, and then its output,
/// are computed while it is in cache.
/// </summary>
internal static unsafe class RowKernels
{
    private const int Piece = 16384;

    /// <summary>
    /// Moments (when <paramref name="moments"/> is not null), forward (statistics written to mean/rstd, then
    /// applied) or normalize (mean/rstd given: <paramref name="measure"/> false). With <paramref name="u"/> not null
    /// the input is h = x + u, written to <paramref name="h"/> on the way.
    /// </summary>
    public static void Forward<T>(in RowPlan plan, bool center, double eps, T* x, T* u, T* h, T* gamma, T* beta, T* y,
        double* mean, double* rstd, GroupMoments* moments, bool measure) where T : unmanaged
    {
        var job = new ForwardJob<T>
        {
            Plan = plan, Center = center, Eps = eps, X = x, U = u, H = h, Gamma = gamma, Beta = beta, Y = y,
            Mean = mean, Rstd = rstd, Moments = moments, Measure = measure,
            Tasks = Threading.TaskCount((long)plan.Groups * plan.GroupSize, plan.Groups),
        };
        Threading.For(ref job, job.Tasks);
    }

    /// <summary>
    /// dx (+ dh when not null), and dγ, dβ (each may be null) from per-task float64 partials merged in task order.
    /// With <paramref name="fromInput"/> false the statistics were constants: dx = rstd·γ·dy.
    /// </summary>
    public static void Backward<T>(in RowPlan plan, bool center, T* x, double* mean, double* rstd, T* gamma, T* dy, T* dh, T* dx,
        T* dgamma, T* dbeta, int affineSize, bool fromInput) where T : unmanaged
    {
        var job = new BackwardJob<T>
        {
            Plan = plan, Center = center, X = x, Mean = mean, Rstd = rstd, Gamma = gamma, Dy = dy, Dh = dh, Dx = dx,
            AffineSize = affineSize, FromInput = fromInput, Sums = fromInput || dgamma != null || dbeta != null,
            Tasks = Threading.TaskCount((long)plan.Groups * plan.GroupSize, plan.Groups),
        };
        double[]? rented = null;
        if (job.Sums) rented = ArrayPool<double>.Shared.Rent(2 * affineSize * job.Tasks);
        fixed (double* partials = rented)
        {
            job.Partials = partials;
            Threading.For(ref job, job.Tasks);
            if (dgamma != null || dbeta != null)
            {
                for (int a = 0; a < affineSize; a++)
                {
                    double dg = 0, db = 0;
                    for (int t = 0; t < job.Tasks; t++)
                    {
                        dg += partials[2L * affineSize * t + a];
                        db += partials[2L * affineSize * t + affineSize + a];
                    }
                    if (dgamma != null) dgamma[a] = Num.FromDouble<T>(dg);
                    if (dbeta != null) dbeta[a] = Num.FromDouble<T>(db);
                }
            }
        }
        if (rented != null) ArrayPool<double>.Shared.Return(rented);
    }

    /// <summary>
    /// The moments of group g, two passes per piece: the mean relative to the piece's first element (a constant
    /// piece gets its value exactly), then M2 = Σd² − (Σd)²/n with d = x − mean (the correction term removes the
    /// rounding of the mean). Float lanes are widened: every sum is float64.
    /// </summary>
    private static GroupMoments Measure<T>(in RowPlan plan, T* x, T* u, T* h, int g) where T : unmanaged
    {
        GroupMoments m = default;
        for (int k = 0; k < plan.Segments; k++)
        {
            long o = plan.Offset(g, k);
            for (int off = 0; off < plan.SegmentLength; off += Piece)
            {
                int n = Math.Min(Piece, plan.SegmentLength - off);
                T* src;
                double shift, sum;
                if (u == null)
                {
                    src = x + o + off;
                    shift = Num.ToDouble(src[0]);
                    sum = Simd.SumShifted(src, n, shift);
                }
                else
                {
                    src = h + o + off;
                    shift = Num.ToDouble(Num.FromDouble<T>(Num.ToDouble(x[o + off]) + Num.ToDouble(u[o + off])));
                    sum = Simd.AddSumShifted(x + o + off, u + o + off, src, n, shift);
                }
                double pieceMean = shift + sum / n;
                var (sq, lin) = Simd.Deviations(src, n, pieceMean);
                m = GroupMoments.Combine(m, new GroupMoments(n, pieceMean, Math.Max(sq - lin * lin / n, 0)));
            }
        }
        return m;
    }

    private static T* At<T>(T* p, long offset) where T : unmanaged => p == null ? null : p + offset;

    private struct ForwardJob<T> : IParallelTask where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center, Measure;
        public double Eps;
        public T* X, U, H, Gamma, Beta, Y;
        public double* Mean, Rstd;
        public GroupMoments* Moments;
        public int Tasks;

        public void Run(int task)
        {
            int start = (int)((long)Plan.Groups * task / Tasks), end = (int)((long)Plan.Groups * (task + 1) / Tasks);
            T* src = U == null ? X : H;
            for (int g = start; g < end; g++)
            {
                if (Measure)
                {
                    var m = RowKernels.Measure(Plan, X, U, H, g);
                    if (Moments != null)
                    {
                        Moments[g] = m;
                        continue;
                    }
                    (Mean[g], Rstd[g]) = Kernels.Statistics(m, Center, Eps);
                }
                Apply(src, g);
            }
        }

        private readonly void Apply(T* src, int g)
        {
            var (mh, ml) = Kernels.Split<T>(Mean[g]);
            double rstd = Rstd[g];
            int ab = Plan.AffineBase(g), runLength = Plan.RunLength;
            bool perElement = runLength == 1 || (Gamma == null && Beta == null);
            for (int k = 0; k < Plan.Segments; k++)
            {
                long o = Plan.Offset(g, k);
                if (perElement)
                {
                    Simd.ApplyAffine(src + o, Y + o, Plan.SegmentLength, mh, ml, rstd, At(Gamma, ab), At(Beta, ab));
                    continue;
                }
                for (int q = 0; q < Plan.Runs; q++)
                {
                    double a = Gamma == null ? rstd : rstd * Num.ToDouble(Gamma[ab + q]);
                    double b = Beta == null ? 0 : Num.ToDouble(Beta[ab + q]);
                    Simd.Apply(src + o + q * runLength, Y + o + q * runLength, runLength, mh, ml, a, b);
                }
            }
        }
    }

    private struct BackwardJob<T> : IParallelTask where T : unmanaged
    {
        public RowPlan Plan;
        public bool Center, FromInput, Sums;
        public T* X, Gamma, Dy, Dh, Dx;
        public double* Mean, Rstd, Partials;
        public int AffineSize, Tasks;

        public void Run(int task)
        {
            int start = (int)((long)Plan.Groups * task / Tasks), end = (int)((long)Plan.Groups * (task + 1) / Tasks);
            double* dg = Partials + 2L * AffineSize * task, db = dg + AffineSize;
            if (Sums) new Span<double>(dg, 2 * AffineSize).Clear();
            for (int g = start; g < end; g++) Group(g, dg, db);
        }

        /// <summary>
        /// With xc = x − mean, x̂ = xc·rstd and g = dy·γ: dx = rstd·(g − mean(g) − x̂·mean(g·x̂))
        /// = (g − Σg/n − xc·rstd²·Σ(g·xc)/n)·rstd, from the group sums Σg and Σg·xc of a first pass.
        /// </summary>
        private readonly void Group(int g, double* dg, double* db)
        {
            var (mh, ml) = Kernels.Split<T>(Mean[g]);
            double rstd = Rstd[g], sumG = 0, sumGXc = 0;
            int ab = Plan.AffineBase(g), runLength = Plan.RunLength;
            bool perElement = runLength == 1;
            for (int k = 0; Sums && k < Plan.Segments; k++)
            {
                long o = Plan.Offset(g, k);
                if (perElement)
                {
                    var (sg, sgx) = Simd.GradSumsAffine(X + o, Dy + o, At(Gamma, ab), Plan.SegmentLength, mh, ml, rstd, dg + ab, db + ab);
                    sumG += sg;
                    sumGXc += sgx;
                    continue;
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
            double n = Plan.GroupSize;
            double b = FromInput && Center ? sumG / n : 0, kx = FromInput ? rstd * rstd * sumGXc / n : 0;
            T* x = FromInput ? X : null;
            for (int k = 0; k < Plan.Segments; k++)
            {
                long o = Plan.Offset(g, k);
                if (perElement)
                {
                    Simd.GradApply(At(x, o), Dy + o, At(Dh, o), Dx + o, At(Gamma, ab), Plan.SegmentLength, mh, ml, 1, b, kx, rstd);
                    continue;
                }
                for (int q = 0; q < Plan.Runs; q++)
                {
                    long oq = o + q * runLength;
                    double gamma = Gamma == null ? 1 : Num.ToDouble(Gamma[ab + q]);
                    Simd.GradApply(At(x, oq), Dy + oq, At(Dh, oq), Dx + oq, null, runLength, mh, ml, gamma, b, kx, rstd);
                }
            }
        }
    }
}
