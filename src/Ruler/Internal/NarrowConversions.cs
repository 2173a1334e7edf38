using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace Ruler.Internal;

/// <summary>
/// Exact conversions between float and the 16-bit storage types, element for element the same as the scalar casts
/// (<c>(float)h</c>, <c>(Half)f</c>, <c>(float)b</c>, <c>(BFloat16)f</c>): round to nearest even, subnormals,
/// ±Inf, NaN quieted. Half goes through <see cref="TensorPrimitives"/>; BFloat16 runs one loop over the widest
/// accelerated lanes (<see cref="IBFloat16Lanes"/>: 512, 256, 128 bits), then a scalar tail.
/// </summary>
internal static unsafe class NarrowConversions
{
    /// <summary>dst[0..n) = src[0..n) as float (T is Half or BFloat16).</summary>
    public static void Widen<T>(T* src, float* dst, int n) where T : unmanaged
    {
        if (typeof(T) != typeof(BFloat16))
        {
            TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(src, n), new Span<float>(dst, n));
            return;
        }
        int i = 0;
        var s = (ushort*)src;
        if (Vector512.IsHardwareAccelerated) Widen<BFloat16x512>(s, dst, n, ref i);
        if (Vector256.IsHardwareAccelerated) Widen<BFloat16x256>(s, dst, n, ref i);
        if (Vector128.IsHardwareAccelerated) Widen<BFloat16x128>(s, dst, n, ref i);
        for (; i < n; i++) dst[i] = (float)BFloat16.FromBits(s[i]);
    }

    /// <summary>dst[0..n) = src[0..n) rounded to T (Half or BFloat16), to nearest even.</summary>
    public static void Narrow<T>(float* src, T* dst, int n) where T : unmanaged
    {
        if (typeof(T) != typeof(BFloat16))
        {
            TensorPrimitives.ConvertToHalf(new ReadOnlySpan<float>(src, n), new Span<Half>(dst, n));
            return;
        }
        int i = 0;
        var d = (ushort*)dst;
        if (Vector512.IsHardwareAccelerated) Narrow<BFloat16x512>(src, d, n, ref i);
        if (Vector256.IsHardwareAccelerated) Narrow<BFloat16x256>(src, d, n, ref i);
        if (Vector128.IsHardwareAccelerated) Narrow<BFloat16x128>(src, d, n, ref i);
        for (; i < n; i++) d[i] = ((BFloat16)src[i]).Bits;
    }

    private static void Widen<L>(ushort* src, float* dst, int n, ref int i) where L : IBFloat16Lanes
    {
        for (; i <= n - L.Count; i += L.Count) L.Widen(src + i, dst + i);
    }

    private static void Narrow<L>(float* src, ushort* dst, int n, ref int i) where L : IBFloat16Lanes
    {
        for (; i <= n - L.Count; i += L.Count) L.Narrow(src + i, dst + i);
    }
}
