namespace Ruler.Internal;

/// <summary>
/// Adds a call's parameter gradient into <c>Parameter.Grad</c>: into[i] = into[i] + add[i], rounded once to T (the
/// same bits as the scalar form through float64: float64 carries more than twice float's precision, so rounding a
/// float sum to float64 first changes nothing).
/// float and double run the SIMD add (<see cref="Simd.Add{T}"/>); Half and BFloat16 element by element through float64.
/// </summary>
internal static unsafe class GradientAccumulation
{
    public static void Add<T>(Span<T> into, ReadOnlySpan<T> add) where T : unmanaged
    {
        Bounds.Require(add.Length, into.Length, nameof(add));
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
        {
            fixed (T* pi = into)
            fixed (T* pa = add)
                Simd.Add(pi, pa, pi, into.Length);
            return;
        }
        for (int i = 0; i < into.Length; i++) into[i] = Num.FromDouble<T>(Num.ToDouble(into[i]) + Num.ToDouble(add[i]));
    }
}
