using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using Ruler.Internal;

namespace Ruler.Nn;

/// <summary>
/// The float32 GEMM (BLIS/GotoBLAS structure). op(B) is packed once per call into strips of <see cref="Nr"/>
/// columns per K block of <see cref="Kc"/> (zero-padded, so edges need no special kernel). C is cut into tiles of
/// <see cref="Mc"/>×<see cref="Nc"/>, one task each; a task walks the K blocks and runs the 6×32 register-tiled
/// micro-kernel over every (<see cref="Mr"/>-row strip of op(A), B strip) pair. The kernel broadcasts A's values
/// straight from A (as stored, or transposed), so only a last partial strip of A is packed. Packing absorbs the transposes,
/// so one micro-kernel serves A·B, A·Bᵀ and Aᵀ·B. Each element of C is summed by one task in a fixed K order
/// (or, for long K with few tiles, from fixed K chunks added in order).
/// </summary>
internal static unsafe class MatMulF32
{
    public const int Mr = 6, Nr = 32, Mc = 96, Nc = 256, Kc = 256;
    private const long SerialFlops = 1L << 21;
    private const int KChunk = 4096, KSplitTiles = 4;

    [ThreadStatic] private static float[]? _packA;

    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, bool serial)
    {
        if (k == 0)
        {
            if (!accumulate) c[..(m * n)].Clear();
            return;
        }
        int tilesM = (m + Mc - 1) / Mc, tilesN = (n + Nc - 1) / Nc, tiles = tilesM * tilesN;
        bool parallel = !serial && (long)m * n * k >= SerialFlops && Parallelism.MaxThreads > 1;
        // Few tiles but a long K (weight gradients: outC × ckk summed over every position of the batch): cut K into
        // chunks of a fixed size, one partial product each, summed in chunk order. The cut depends only on the
        // shape, never on the thread count, so the bits do not either.
        int chunks = !serial && tiles < KSplitTiles && k >= 2 * KChunk ? (k + KChunk - 1) / KChunk : 1;
        // op(B) is packed once, whole (every K block, every column strip), and shared by all tiles: each row tile
        // would otherwise repack the same panel.
        int nPad = (n + Nr - 1) / Nr * Nr, blocks = (k + Kc - 1) / Kc;
        var packedB = ArrayPool<float>.Shared.Rent(k * nPad);
        fixed (float* pa = a, pb = b, pc = c, pk = packedB)
        {
            nint aa = (nint)pa, bb = (nint)pb, cc = (nint)pc, kk = (nint)pk;
            void Pack(int block)
            {
                int p0 = block * Kc;
                PackB((float*)bb, (float*)kk + (long)p0 * nPad, n, k, transB, 0, n, p0, Math.Min(Kc, k - p0));
            }
            if (parallel && blocks > 1) Parallelism.For(blocks, Pack);
            else for (int p = 0; p < blocks; p++) Pack(p);
            if (chunks == 1)
            {
                var job = new Job(aa, kk, cc, m, n, k, nPad, transA, accumulate, tilesN, 0, k);
                if (parallel && tiles > 1) Parallelism.For(tiles, job.Run);
                else for (int t = 0; t < tiles; t++) job.Run(t);
            }
            else
            {
                var partial = ArrayPool<float>.Shared.Rent(chunks * m * n);
                fixed (float* pp = partial)
                {
                    nint cp = (nint)pp;
                    void Chunk(int task)
                    {
                        int chunk = task / tiles;
                        var job = new Job(aa, kk, cp + chunk * m * n * sizeof(float), m, n, k, nPad, transA, false, tilesN,
                            chunk * KChunk, Math.Min(k, (chunk + 1) * KChunk));
                        job.Run(task % tiles);
                    }
                    if (parallel) Parallelism.For(chunks * tiles, Chunk);
                    else for (int t = 0; t < chunks * tiles; t++) Chunk(t);
                }
                var sum = c[..(m * n)];
                if (!accumulate) sum.Clear();
                for (int chunk = 0; chunk < chunks; chunk++) VectorOps.Add<float>(sum, partial.AsSpan(chunk * m * n, m * n), sum);
                ArrayPool<float>.Shared.Return(partial);
            }
        }
        ArrayPool<float>.Shared.Return(packedB);
    }

    /// <summary>
    /// One tile of C over K range [kStart, kEnd) (a multiple of <see cref="Kc"/> from 0). A's strides come from the
    /// full m, k; B is the shared packed panel: K block p0 at p0·nPad, column strip j at j·kc inside it.
    /// </summary>
    private sealed class Job(nint a, nint packedB, nint c, int m, int n, int k, int nPad, bool transA, bool accumulate, int tilesN, int kStart, int kEnd)
    {
        public void Run(int tile)
        {
            int i0 = tile / tilesN * Mc, j0 = tile % tilesN * Nc;
            int mc = Math.Min(Mc, m - i0), nc = Math.Min(Nc, n - j0);
            var packA = _packA ??= GC.AllocateUninitializedArray<float>(Mc * Kc, pinned: true);
            fixed (float* ap = packA)
            {
                for (int p0 = kStart; p0 < kEnd; p0 += Kc)
                {
                    int kc = Math.Min(Kc, kEnd - p0);
                    // Full strips of A are read in place: row-major A as 6 row streams (element (r, p) at r·k + p), Aᵀ as
                    // one stream of 6 adjacent values per p (at p·m + r). Only a last partial strip is packed
                    // (row-major, zero rows), so the kernel never reads outside A.
                    int partial = mc / Mr * Mr;
                    if (partial < mc) PackA((float*)a, ap + partial * kc, m, k, transA, i0 + partial, mc - partial, p0, kc);
                    float* bp = (float*)packedB + (long)p0 * nPad + (long)j0 * kc;
                    bool add = accumulate || p0 > kStart;
                    for (int ir = 0; ir < mc; ir += Mr)
                    {
                        int rows = Math.Min(Mr, mc - ir);
                        for (int jr = 0; jr < nc; jr += Nr)
                        {
                            int cols = Math.Min(Nr, nc - jr);
                            float* ct = (float*)c + (long)(i0 + ir) * n + j0 + jr;
                            if (rows < Mr) Kernel<RowMajor>(ap + ir * kc, kc, bp + jr * kc, kc, ct, n, rows, cols, add);
                            else if (transA) Kernel<ColumnMajor>((float*)a + (long)p0 * m + i0 + ir, m, bp + jr * kc, kc, ct, n, rows, cols, add);
                            else Kernel<RowMajor>((float*)a + (long)(i0 + ir) * k + p0, k, bp + jr * kc, kc, ct, n, rows, cols, add);
                        }
                    }
                }
            }
        }
    }

    /// <summary>Rows [i0, i0 + mc) of op(A) over k [p0, p0 + kc), row-major dst[r·kc + p], zero rows up to a multiple of Mr.</summary>
    private static void PackA(float* a, float* dst, int m, int k, bool transA, int i0, int mc, int p0, int kc)
    {
        if (transA)
        {
            // Aᵀ is stored k×m: walk k outside so each read run is contiguous along m.
            for (int p = 0; p < kc; p++)
            {
                float* src = a + (long)(p0 + p) * m + i0;
                for (int r = 0; r < mc; r++) dst[r * kc + p] = src[r];
            }
        }
        else
        {
            for (int r = 0; r < mc; r++) new ReadOnlySpan<float>(a + (long)(i0 + r) * k + p0, kc).CopyTo(new Span<float>(dst + r * kc, kc));
        }
        int padded = (mc + Mr - 1) / Mr * Mr;
        new Span<float>(dst + mc * kc, (padded - mc) * kc).Clear();
    }

    /// <summary>Strip s holds columns [s·Nr, s·Nr+Nr) of the block, k-major: dst[(s·kc + p)·Nr + q].</summary>
    private static void PackB(float* b, float* dst, int n, int k, bool transB, int j0, int nc, int p0, int kc)
    {
        for (int s = 0; s < nc; s += Nr)
        {
            int cols = Math.Min(Nr, nc - s);
            float* d = dst + s * kc;
            if (!transB)
            {
                for (int p = 0; p < kc; p++)
                {
                    float* src = b + (long)(p0 + p) * n + j0 + s;
                    float* row = d + p * Nr;
                    if (cols == Nr) new ReadOnlySpan<float>(src, Nr).CopyTo(new Span<float>(row, Nr));
                    else
                    {
                        for (int q = 0; q < cols; q++) row[q] = src[q];
                        for (int q = cols; q < Nr; q++) row[q] = 0;
                    }
                }
            }
            else
            {
                // Bᵀ is stored n×k: read each of the strip's columns contiguously along k.
                for (int q = 0; q < cols; q++)
                {
                    float* src = b + (long)(j0 + s + q) * k + p0;
                    for (int p = 0; p < kc; p++) d[p * Nr + q] = src[p];
                }
                for (int q = cols; q < Nr; q++)
                    for (int p = 0; p < kc; p++) d[p * Nr + q] = 0;
            }
        }
    }

    /// <summary>How the micro-kernel walks A: the JIT specializes each kernel per layout, so the strides fold to constants.</summary>
    private interface IALayout
    {
        static abstract nint RowStride(nint lda);
        static abstract nint KStride(nint lda);
    }

    /// <summary>Element (r, p) at r·lda + p.</summary>
    private readonly struct RowMajor : IALayout
    {
        public static nint RowStride(nint lda) => lda;
        public static nint KStride(nint lda) => 1;
    }

    /// <summary>Element (r, p) at r + p·lda (A stored transposed).</summary>
    private readonly struct ColumnMajor : IALayout
    {
        public static nint RowStride(nint lda) => 1;
        public static nint KStride(nint lda) => lda;
    }

    /// <summary>
    /// C[rows×cols] (+)= A(Mr×kc, walked as <typeparamref name="TA"/> says)·Bpanel(kc×Nr), accumulated in registers:
    /// the strip of <see cref="Nr"/> columns as tiles of 2 vectors of the widest accelerated width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TA>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add) where TA : struct, IALayout
    {
        if (Vector512.IsHardwareAccelerated) Strip<TA, Vector512<float>, Vector512<double>, F512>(a, lda, b, kc, c, ldc, rows, cols, add);
        else if (Vector256.IsHardwareAccelerated) Strip<TA, Vector256<float>, Vector256<double>, F256>(a, lda, b, kc, c, ldc, rows, cols, add);
        else if (Vector128.IsHardwareAccelerated) Strip<TA, Vector128<float>, Vector128<double>, F128>(a, lda, b, kc, c, ldc, rows, cols, add);
        else KernelScalar<TA>(a, lda, b, kc, c, ldc, rows, cols, add);
    }

    /// <summary>The strip's columns in tiles of 2·S.Count (one tile for 512 bits, two for 256, four for 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Strip<TA, TV, TD, S>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add)
        where TA : struct, IALayout where TV : struct where TD : struct where S : ISimd<TV, float, TD>
    {
        for (int q = 0; q < cols; q += 2 * S.Count)
            Tile<TA, TV, TD, S>(a, lda, b + q, kc, c + q, ldc, rows, Math.Min(2 * S.Count, cols - q), add);
    }

    /// <summary>A 6 × 2·S.Count tile: 12 accumulators, one broadcast of A and two loads of B per k.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
    private static void Tile<TA, TV, TD, S>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add)
        where TA : struct, IALayout where TV : struct where TD : struct where S : ISimd<TV, float, TD>
    {
        nint rs = TA.RowStride(lda), ps = TA.KStride(lda);
        int w = S.Count;
        float* t = stackalloc float[Mr * Nr];
        TV zero = S.Splat(0f);
        TV c00 = zero, c01 = zero, c10 = zero, c11 = zero, c20 = zero, c21 = zero;
        TV c30 = zero, c31 = zero, c40 = zero, c41 = zero, c50 = zero, c51 = zero;
        for (int p = 0; p < kc; p++, a += ps, b += Nr)
        {
            var b0 = S.Load(b);
            var b1 = S.Load(b + w);
            var x = S.Splat(a[0]);
            c00 = S.MulAdd(x, b0, c00); c01 = S.MulAdd(x, b1, c01);
            x = S.Splat(a[1 * rs]);
            c10 = S.MulAdd(x, b0, c10); c11 = S.MulAdd(x, b1, c11);
            x = S.Splat(a[2 * rs]);
            c20 = S.MulAdd(x, b0, c20); c21 = S.MulAdd(x, b1, c21);
            x = S.Splat(a[3 * rs]);
            c30 = S.MulAdd(x, b0, c30); c31 = S.MulAdd(x, b1, c31);
            x = S.Splat(a[4 * rs]);
            c40 = S.MulAdd(x, b0, c40); c41 = S.MulAdd(x, b1, c41);
            x = S.Splat(a[5 * rs]);
            c50 = S.MulAdd(x, b0, c50); c51 = S.MulAdd(x, b1, c51);
        }
        // The accumulators leave through a buffer laid out as a strip (row stride Nr), allocated before the loop:
        // nothing after the loop but these stores sees them, so the JIT keeps all twelve in registers through it.
        S.Store(t, c00); S.Store(t + w, c01); S.Store(t + Nr, c10); S.Store(t + Nr + w, c11);
        S.Store(t + 2 * Nr, c20); S.Store(t + 2 * Nr + w, c21); S.Store(t + 3 * Nr, c30); S.Store(t + 3 * Nr + w, c31);
        S.Store(t + 4 * Nr, c40); S.Store(t + 4 * Nr + w, c41); S.Store(t + 5 * Nr, c50); S.Store(t + 5 * Nr + w, c51);
        if (rows == Mr && cols == 2 * w) StoreTile<TV, TD, S>(t, c, ldc, add);
        else StorePartial(t, c, ldc, rows, cols, add);
    }

    /// <summary>C[Mr × 2·S.Count] (+)= t (row stride Nr).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StoreTile<TV, TD, S>(float* t, float* c, int ldc, bool add) where TV : struct where TD : struct where S : ISimd<TV, float, TD>
    {
        for (int r = 0; r < Mr; r++, t += Nr, c += ldc)
            for (int q = 0; q < 2 * S.Count; q += S.Count)
                S.Store(c + q, add ? S.Add(S.Load(t + q), S.Load(c + q)) : S.Load(t + q));
    }

    private static void KernelScalar<TA>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add) where TA : struct, IALayout
    {
        nint rs = TA.RowStride(lda), ps = TA.KStride(lda);
        float* t = stackalloc float[Mr * Nr];
        new Span<float>(t, Mr * Nr).Clear();
        for (int p = 0; p < kc; p++, a += ps, b += Nr)
            for (int r = 0; r < Mr; r++)
                for (int q = 0; q < Nr; q++) t[r * Nr + q] = MathF.FusedMultiplyAdd(a[r * rs], b[q], t[r * Nr + q]);
        StorePartial(t, c, ldc, rows, cols, add);
    }

    private static void StorePartial(float* t, float* c, int ldc, int rows, int cols, bool add)
    {
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++)
                c[r * ldc + q] = add ? c[r * ldc + q] + t[r * Nr + q] : t[r * Nr + q];
    }
}
