using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
                    if (cols == Nr)
                    {
                        Vector256.Store(Vector256.Load(src), row);
                        Vector256.Store(Vector256.Load(src + 8), row + 8);
                        Vector256.Store(Vector256.Load(src + 16), row + 16);
                        Vector256.Store(Vector256.Load(src + 24), row + 24);
                    }
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

    /// <summary>C[rows×cols] (+)= A(Mr×kc, walked as <typeparamref name="TA"/> says)·Bpanel(kc×Nr), accumulated in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel<TA>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add) where TA : struct, IALayout
    {
        if (Vector512.IsHardwareAccelerated) Kernel512<TA>(a, lda, b, kc, c, ldc, rows, cols, add);
        else if (Vector256.IsHardwareAccelerated)
        {
            Kernel256<TA>(a, lda, b, kc, c, ldc, rows, Math.Min(cols, 16), add);
            if (cols > 16) Kernel256<TA>(a, lda, b + 16, kc, c + 16, ldc, rows, cols - 16, add);
        }
        else KernelScalar<TA>(a, lda, b, kc, c, ldc, rows, cols, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TA>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add) where TA : struct, IALayout
    {
        nint rs = TA.RowStride(lda), ps = TA.KStride(lda);
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += ps, b += Nr)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var x = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1 * rs]);
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2 * rs]);
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3 * rs]);
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4 * rs]);
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5 * rs]);
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
        }
        if (rows == Mr && cols == Nr)
        {
            Store512(c, c00, c01, add); Store512(c + ldc, c10, c11, add); Store512(c + 2 * ldc, c20, c21, add);
            Store512(c + 3 * ldc, c30, c31, add); Store512(c + 4 * ldc, c40, c41, add); Store512(c + 5 * ldc, c50, c51, add);
            return;
        }
        float* t = stackalloc float[Mr * Nr];
        c00.Store(t); c01.Store(t + 16); c10.Store(t + 32); c11.Store(t + 48); c20.Store(t + 64); c21.Store(t + 80);
        c30.Store(t + 96); c31.Store(t + 112); c40.Store(t + 128); c41.Store(t + 144); c50.Store(t + 160); c51.Store(t + 176);
        StorePartial(t, c, ldc, rows, cols, add);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> lo, Vector512<float> hi, bool add)
    {
        if (add)
        {
            lo += Vector512.Load(c);
            hi += Vector512.Load(c + 16);
        }
        lo.Store(c);
        hi.Store(c + 16);
    }

    /// <summary>The AVX2 form: a 6×16 tile (12 accumulators of 8 lanes) over one half of the packed 32-wide strip.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<TA>(float* a, nint lda, float* b, int kc, float* c, int ldc, int rows, int cols, bool add) where TA : struct, IALayout
    {
        nint rs = TA.RowStride(lda), ps = TA.KStride(lda);
        Vector256<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<float> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++, a += ps, b += Nr)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + 8);
            var x = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(a[1 * rs]);
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(a[2 * rs]);
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(a[3 * rs]);
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(a[4 * rs]);
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(a[5 * rs]);
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
        }
        float* t = stackalloc float[Mr * 16];
        c00.Store(t); c01.Store(t + 8); c10.Store(t + 16); c11.Store(t + 24); c20.Store(t + 32); c21.Store(t + 40);
        c30.Store(t + 48); c31.Store(t + 56); c40.Store(t + 64); c41.Store(t + 72); c50.Store(t + 80); c51.Store(t + 88);
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < cols; q++)
                c[r * ldc + q] = add ? c[r * ldc + q] + t[r * 16 + q] : t[r * 16 + q];
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
