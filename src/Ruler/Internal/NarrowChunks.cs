using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics.X86;

namespace Ruler.Internal;

/// <summary>What a <see cref="NarrowJob{T}"/> computes on each chunk.</summary>
internal enum NarrowOp
{
    Moments,
    Forward,
    Normalize,
    AddForward,
    Backward,
}

/// <summary>
/// Chunked Half/BFloat16 kernels for layouts whose groups are contiguous (a <see cref="RowPlan"/> of one segment):
/// a chunk of whole groups (about <see cref="ChunkElements"/> elements, <see cref="BackwardChunkElements"/> for the
/// backward; a whole number of affine periods) is widened
/// into float scratch that stays in cache, the float row kernel runs on the chunk's sub-plan, and the result is
/// narrowed back. Tasks are fixed ranges of chunks (depending on the shape only) and dγ, dβ are float64 sums per
/// task merged in task order, so results are the same bits for any thread count.
/// </summary>
internal static unsafe class NarrowChunks
{
    /// <summary>Elements per forward chunk: each float copy is 32 KiB, so the two of a chunk stay in L1/L2.</summary>
    private const int ChunkElements = 1 << 13;

    /// <summary>
    /// Elements per backward chunk: larger, since each chunk also merges dγ, dβ partials over the affine size; the
    /// three or four float copies (128 KiB each) stay in L2.
    /// </summary>
    private const int BackwardChunkElements = 1 << 15;

    /// <summary>Below this many elements the row kernel runs as one task (so never re-enters the thread pool).</summary>
    private const int OneTask = 2 << 16;

    /// <summary>Whether the layout is served in chunks; if so, the job with its op, plan, chunking and task count set.</summary>
    public static bool Fits<T>(RulerLayout layout, NarrowOp op, out NarrowJob<T> job) where T : unmanaged
    {
        job = default;
        if (KernelPlans.Classify(layout, out var plan, out _) != PlanKind.Rows || plan.Segments != 1) return false;
        long period = (long)plan.Period * plan.GroupSize;
        int chunkGroups = (int)Math.Max(1, (op == NarrowOp.Backward ? BackwardChunkElements : ChunkElements) / period) * plan.Period;
        if (chunkGroups > 1 && (long)chunkGroups * plan.GroupSize >= OneTask) return false;
        int chunks = (plan.Groups + chunkGroups - 1) / chunkGroups;
        job = new NarrowJob<T>
        {
            Op = op, Plan = plan, ChunkGroups = chunkGroups, Chunks = chunks, Tasks = Threading.TaskCount(layout.Count, chunks),
            Center = layout.Ruler.Center, Eps = layout.Ruler.Eps, AffineSize = layout.AffineSize,
        };
        return true;
    }

    public static void Run<T>(ref NarrowJob<T> job) where T : unmanaged => Threading.For(ref job, job.Tasks);

    /// <summary>
    /// Asks for <paramref name="count"/> elements at <paramref name="p"/> to be brought into L2 (x86; elsewhere the
    /// hardware prefetcher alone): issued before a chunk's float kernel, the next chunk's loads overlap its compute.
    /// </summary>
    public static void Prefetch<T>(T* p, long count) where T : unmanaged
    {
        if (!Sse.IsSupported || p == null) return;
        var bytes = (byte*)p;
        for (long off = 0; off < count * sizeof(T); off += 64) Sse.Prefetch1(bytes + off);
    }

    /// <summary>a += b, element by element.</summary>
    public static void Add(Span<float> a, ReadOnlySpan<float> b) => TensorPrimitives.Add(a, b, a);
}

/// <summary>One chunked Half/BFloat16 call (see <see cref="NarrowChunks"/>): 16-bit tensors, float γ and β.</summary>
internal unsafe struct NarrowJob<T> : IParallelTask where T : unmanaged
{
    public RowPlan Plan;
    public int ChunkGroups, Chunks, Tasks, AffineSize;
    public NarrowOp Op;
    public bool Center, FromInput, GammaSums, BetaSums;
    public double Eps;
    public T* X, U, H, Dy, Dh, Out;
    public float* Gamma, Beta;
    public double* Mean, Rstd, Sums;
    public GroupMoments* Moments;

    public void Run(int task)
    {
        int c0 = (int)((long)Chunks * task / Tasks), c1 = (int)((long)Chunks * (task + 1) / Tasks);
        int length = ChunkGroups * Plan.GroupSize, affine = Sums == null ? 0 : AffineSize;
        // Float copies: x; y (forward) or dy; then dh when present, and dx (backward).
        int copies = Op == NarrowOp.Moments ? 1 : Op != NarrowOp.Backward ? 2 : Dh == null ? 3 : 4;
        var rented = ArrayPool<float>.Shared.Rent(copies * length + 2 * affine);
        fixed (float* scratch = rented)
        {
            float* a = scratch, b = a + length, c = b + length, d = Dh == null ? c : c + length;
            float* dg = scratch + (long)copies * length, db = dg + affine;
            double* sums = Sums + 2L * affine * task;
            new Span<double>(sums, 2 * affine).Clear();
            for (int chunk = c0; chunk < c1; chunk++)
            {
                int g0 = chunk * ChunkGroups, groups = Math.Min(ChunkGroups, Plan.Groups - g0), n = groups * Plan.GroupSize;
                long o = (long)g0 * Plan.GroupSize;
                var plan = Plan with { Groups = groups };
                if (chunk + 1 < c1) PrefetchInputs(o + n, Math.Min(n, (long)Plan.Groups * Plan.GroupSize - o - n));
                NarrowConversions.Widen(X + o, a, n);
                switch (Op)
                {
                    case NarrowOp.Moments:
                        RowKernels.Moments(plan, new RowMomentsArgs<float> { X = a, Moments = Moments + g0 });
                        continue;
                    case NarrowOp.Backward:
                        NarrowConversions.Widen(Dy + o, b, n);
                        if (Dh != null) NarrowConversions.Widen(Dh + o, c, n);
                        if (Dh == null)
                            RowKernels.Backward(plan, new RowBackwardArgs<float>
                            {
                                Center = Center, FromInput = FromInput, X = a, Mean = Mean + g0, Rstd = Rstd + g0, Gamma = Gamma, Dy = b,
                                Dx = d, Dgamma = GammaSums ? dg : null, Dbeta = BetaSums ? db : null, AffineSize = AffineSize,
                            });
                        else
                            RowKernels.AddBackward(plan, new RowAddBackwardArgs<float>
                            {
                                Center = Center, H = a, Mean = Mean + g0, Rstd = Rstd + g0, Gamma = Gamma, Dy = b, Dh = c,
                                Dsum = d, Dgamma = GammaSums ? dg : null, Dbeta = BetaSums ? db : null, AffineSize = AffineSize,
                            });
                        NarrowConversions.Narrow(d, Out + o, n);
                        if (GammaSums) Simd.Flush(dg, sums, affine);
                        if (BetaSums) Simd.Flush(db, sums + affine, affine);
                        continue;
                    case NarrowOp.AddForward:
                        NarrowConversions.Widen(U + o, b, n);
                        NarrowChunks.Add(new Span<float>(a, n), new Span<float>(b, n));
                        NarrowConversions.Narrow(a, H + o, n);
                        NarrowConversions.Widen(H + o, a, n);
                        break;
                }
                if (Op == NarrowOp.Normalize)
                    RowKernels.Normalize(plan, new RowNormalizeArgs<float> { X = a, Gamma = Gamma, Beta = Beta, Y = b, Mean = Mean + g0, Rstd = Rstd + g0 });
                else
                    RowKernels.Forward(plan, new RowForwardArgs<float>
                    {
                        Center = Center, Eps = Eps, X = a, Gamma = Gamma, Beta = Beta, Y = b, Mean = Mean + g0, Rstd = Rstd + g0,
                    });
                NarrowConversions.Narrow(b, Out + o, n);
            }
        }
        ArrayPool<float>.Shared.Return(rented);
    }

    /// <summary>Prefetches the 16-bit inputs of the next chunk, [o, o + n).</summary>
    private readonly void PrefetchInputs(long o, long n)
    {
        NarrowChunks.Prefetch(X + o, n);
        if (Op == NarrowOp.AddForward) NarrowChunks.Prefetch(U + o, n);
        if (Op != NarrowOp.Backward) return;
        NarrowChunks.Prefetch(Dy + o, n);
        if (Dh != null) NarrowChunks.Prefetch(Dh + o, n);
    }
}
