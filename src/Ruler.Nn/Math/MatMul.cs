namespace Ruler.Nn;

/// <summary>
/// Dense matrix product C (m×n) = op(A)·op(B), or C += op(A)·op(B), on row-major contiguous matrices, where op is
/// the identity or the transpose. The three forms backward needs: A·B, A·Bᵀ (Linear forward: x·Wᵀ) and Aᵀ·B
/// (weight gradients: dyᵀ·x). float runs the blocked SIMD kernel (packing, register tiling, threads over tiles of
/// C); double runs plain loops (the gradient-check path). Deterministic: the same bits for any thread count.
/// </summary>
public static class MatMul
{
    /// <summary>C (m×n) (+)= op(A)·op(B) with op(A) m×k and op(B) k×n.</summary>
    /// <param name="a">A: m×k row-major, or k×m when <paramref name="transA"/>.</param>
    /// <param name="b">B: k×n row-major, or n×k when <paramref name="transB"/>.</param>
    /// <param name="c">C: m×n row-major.</param>
    /// <param name="m">Rows of C.</param>
    /// <param name="n">Columns of C.</param>
    /// <param name="k">The contracted dimension.</param>
    /// <param name="transA">Use Aᵀ.</param>
    /// <param name="transB">Use Bᵀ.</param>
    /// <param name="accumulate">Add into C instead of overwriting it.</param>
    public static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transA = false, bool transB = false, bool accumulate = false)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        Multiply(a, b, c, m, n, k, transA, transB, accumulate, serial: false);

    /// <summary>The same product on the calling thread only (for callers that already run one task per thread).</summary>
    internal static void Multiply<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> c, int m, int n, int k,
        bool transA, bool transB, bool accumulate, bool serial)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"MatMul: dims must be >= 0, got m={m} n={n} k={k}.");
        if (a.Length < (long)m * k) throw new ArgumentException($"MatMul: A needs {(long)m * k} elements, got {a.Length}.", nameof(a));
        if (b.Length < (long)k * n) throw new ArgumentException($"MatMul: B needs {(long)k * n} elements, got {b.Length}.", nameof(b));
        if (c.Length < (long)m * n) throw new ArgumentException($"MatMul: C needs {(long)m * n} elements, got {c.Length}.", nameof(c));
        if (m == 0 || n == 0) return;
        if (typeof(T) == typeof(float))
            MatMulF32.Multiply(MemoryMarshal.Cast<T, float>(a), MemoryMarshal.Cast<T, float>(b), MemoryMarshal.Cast<T, float>(c),
                m, n, k, transA, transB, accumulate, serial);
        else
            MatMulReference.Multiply(a, b, c, m, n, k, transA, transB, accumulate);
    }
}
