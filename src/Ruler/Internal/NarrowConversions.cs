using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ruler.Internal;

/// <summary>
/// Exact conversions between float and the 16-bit storage types, element for element the same as the scalar casts
/// (<c>(float)h</c>, <c>(Half)f</c>, <c>(float)b</c>, <c>(BFloat16)f</c>): round to nearest even, subnormals,
/// ±Inf, NaN quieted. Integer bit manipulation on the widest accelerated vectors (512, 256, 128 bits), then a scalar
/// tail.
/// </summary>
internal static unsafe class NarrowConversions
{
    /// <summary>2^112 = 2^(127 − 15), the difference of the exponent biases of float and Half.</summary>
    private const float BiasScale = 5.192297E+33f;

    /// <summary>dst[0..n) = src[0..n) as float (T is Half or BFloat16).</summary>
    public static void Widen<T>(T* src, float* dst, int n) where T : unmanaged
    {
        int i = 0;
        var s = (ushort*)src;
        if (typeof(T) == typeof(BFloat16))
        {
            if (Vector512.IsHardwareAccelerated) BFloat16ToFloat512(s, dst, n, ref i);
            if (Vector256.IsHardwareAccelerated) BFloat16ToFloat256(s, dst, n, ref i);
            if (Vector128.IsHardwareAccelerated) BFloat16ToFloat128(s, dst, n, ref i);
            for (; i < n; i++) dst[i] = (float)BFloat16.FromBits(s[i]);
        }
        else
        {
            if (Vector512.IsHardwareAccelerated) HalfToFloat512(s, dst, n, ref i);
            if (Vector256.IsHardwareAccelerated) HalfToFloat256(s, dst, n, ref i);
            if (Vector128.IsHardwareAccelerated) HalfToFloat128(s, dst, n, ref i);
            for (; i < n; i++) dst[i] = (float)BitConverter.UInt16BitsToHalf(s[i]);
        }
    }

    /// <summary>dst[0..n) = src[0..n) rounded to T (Half or BFloat16), to nearest even.</summary>
    public static void Narrow<T>(float* src, T* dst, int n) where T : unmanaged
    {
        int i = 0;
        var d = (ushort*)dst;
        if (typeof(T) == typeof(BFloat16))
        {
            if (Vector512.IsHardwareAccelerated) FloatToBFloat16512(src, d, n, ref i);
            if (Vector256.IsHardwareAccelerated) FloatToBFloat16256(src, d, n, ref i);
            if (Vector128.IsHardwareAccelerated) FloatToBFloat16128(src, d, n, ref i);
            for (; i < n; i++) d[i] = ((BFloat16)src[i]).Bits;
        }
        else
        {
            if (Vector512.IsHardwareAccelerated) FloatToHalf512(src, d, n, ref i);
            if (Vector256.IsHardwareAccelerated) FloatToHalf256(src, d, n, ref i);
            if (Vector128.IsHardwareAccelerated) FloatToHalf128(src, d, n, ref i);
            for (; i < n; i++) d[i] = BitConverter.HalfToUInt16Bits((Half)src[i]);
        }
    }

    // Vector512 lanes.
    private static void BFloat16ToFloat512(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector512<uint>.Count; i += 2 * Vector512<uint>.Count)
        {
            var (lo, hi) = Vector512.Widen(Vector512.Load(src + i));
            (lo << 16).AsSingle().Store(dst + i);
            (hi << 16).AsSingle().Store(dst + i + Vector512<uint>.Count);
        }
    }

    private static void FloatToBFloat16512(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector512<uint>.Count; i += 2 * Vector512<uint>.Count)
        {
            var lo = ToBFloat16(Vector512.Load(src + i).AsUInt32());
            var hi = ToBFloat16(Vector512.Load(src + i + Vector512<uint>.Count).AsUInt32());
            Vector512.Narrow(lo, hi).Store(dst + i);
        }
    }

    private static void HalfToFloat512(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector512<uint>.Count; i += 2 * Vector512<uint>.Count)
        {
            var (lo, hi) = Vector512.Widen(Vector512.Load(src + i));
            FromHalf(lo).Store(dst + i);
            FromHalf(hi).Store(dst + i + Vector512<uint>.Count);
        }
    }

    private static void FloatToHalf512(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector512<uint>.Count; i += 2 * Vector512<uint>.Count)
        {
            var lo = ToHalf(Vector512.Load(src + i).AsUInt32());
            var hi = ToHalf(Vector512.Load(src + i + Vector512<uint>.Count).AsUInt32());
            Vector512.Narrow(lo, hi).Store(dst + i);
        }
    }

    /// <summary>Round to nearest even on the upper 16 bits (a carry is the correct rounding up); a NaN is quieted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> ToBFloat16(Vector512<uint> bits)
    {
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        var nan = Vector512.GreaterThan((bits & Vector512.Create(0x7FFFFFFFu)).AsInt32(), Vector512.Create(0x7F800000)).AsUInt32();
        return Vector512.ConditionalSelect(nan, (bits >> 16) | Vector512.Create(0x40u), rounded);
    }

    /// <summary>
    /// Half bits (zero-extended) to float: the exponent and significand bits moved to float's positions and scaled by
    /// 2^112 (the bias difference) give every finite value exactly, subnormals included; Inf/NaN get the maximal
    /// exponent and a NaN is quieted (as the scalar cast).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> FromHalf(Vector512<uint> h)
    {
        var magnitude = (h & Vector512.Create(0x7FFFu)).AsInt32();
        var finite = ((magnitude << 13).AsSingle() * Vector512.Create(BiasScale)).AsInt32();
        var special = Vector512.GreaterThanOrEqual(magnitude, Vector512.Create(0x7C00)) & Vector512.Create(0x7F800000);
        var quiet = Vector512.GreaterThan(magnitude, Vector512.Create(0x7C00)) & Vector512.Create(0x400000);
        return (finite | special | quiet | ((h & Vector512.Create(0x8000u)) << 16).AsInt32()).AsSingle();
    }

    /// <summary>
    /// Float bits to Half bits (zero-extended), round to nearest even. Adding 2^(e + 13), e the exponent clamped to
    /// Half's normal range [−14, 16], leaves the float adder rounding |f| to Half's last place there (subnormals
    /// included); the sum's significand bits are then the Half significand, a carry moves to the next exponent and
    /// |f| ≥ 65520 reaches 0x7C00 (Inf, the clamp). A NaN keeps its top payload bits and is quieted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> ToHalf(Vector512<uint> bits)
    {
        var magnitude = (bits & Vector512.Create(0x7FFFFFFFu)).AsInt32();
        var exponent = Vector512.Max(Vector512.Min(magnitude & Vector512.Create(0x7F800000), Vector512.Create(0x47800000)), Vector512.Create(0x38800000));
        var magic = exponent + Vector512.Create(13 << 23);
        var significand = (magnitude.AsSingle() + magic.AsSingle()).AsInt32() - magic;
        var finite = Vector512.Min(((exponent - Vector512.Create(0x38800000)) >> 13) + significand, Vector512.Create(0x7C00));
        var nan = ((magnitude >> 13) & Vector512.Create(0x3FF)) | Vector512.Create(0x7E00);
        var result = Vector512.ConditionalSelect(Vector512.GreaterThan(magnitude, Vector512.Create(0x7F800000)), nan, finite);
        return result.AsUInt32() | ((bits >> 16) & Vector512.Create(0x8000u));
    }

    // Vector256 lanes.
    private static void BFloat16ToFloat256(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector256<uint>.Count; i += 2 * Vector256<uint>.Count)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
            (lo << 16).AsSingle().Store(dst + i);
            (hi << 16).AsSingle().Store(dst + i + Vector256<uint>.Count);
        }
    }

    private static void FloatToBFloat16256(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector256<uint>.Count; i += 2 * Vector256<uint>.Count)
        {
            var lo = ToBFloat16(Vector256.Load(src + i).AsUInt32());
            var hi = ToBFloat16(Vector256.Load(src + i + Vector256<uint>.Count).AsUInt32());
            Vector256.Narrow(lo, hi).Store(dst + i);
        }
    }

    private static void HalfToFloat256(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector256<uint>.Count; i += 2 * Vector256<uint>.Count)
        {
            var (lo, hi) = Vector256.Widen(Vector256.Load(src + i));
            FromHalf(lo).Store(dst + i);
            FromHalf(hi).Store(dst + i + Vector256<uint>.Count);
        }
    }

    private static void FloatToHalf256(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector256<uint>.Count; i += 2 * Vector256<uint>.Count)
        {
            var lo = ToHalf(Vector256.Load(src + i).AsUInt32());
            var hi = ToHalf(Vector256.Load(src + i + Vector256<uint>.Count).AsUInt32());
            Vector256.Narrow(lo, hi).Store(dst + i);
        }
    }

    /// <summary>Round to nearest even on the upper 16 bits (a carry is the correct rounding up); a NaN is quieted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> ToBFloat16(Vector256<uint> bits)
    {
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan((bits & Vector256.Create(0x7FFFFFFFu)).AsInt32(), Vector256.Create(0x7F800000)).AsUInt32();
        return Vector256.ConditionalSelect(nan, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }

    /// <summary>
    /// Half bits (zero-extended) to float: the exponent and significand bits moved to float's positions and scaled by
    /// 2^112 (the bias difference) give every finite value exactly, subnormals included; Inf/NaN get the maximal
    /// exponent and a NaN is quieted (as the scalar cast).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> FromHalf(Vector256<uint> h)
    {
        var magnitude = (h & Vector256.Create(0x7FFFu)).AsInt32();
        var finite = ((magnitude << 13).AsSingle() * Vector256.Create(BiasScale)).AsInt32();
        var special = Vector256.GreaterThanOrEqual(magnitude, Vector256.Create(0x7C00)) & Vector256.Create(0x7F800000);
        var quiet = Vector256.GreaterThan(magnitude, Vector256.Create(0x7C00)) & Vector256.Create(0x400000);
        return (finite | special | quiet | ((h & Vector256.Create(0x8000u)) << 16).AsInt32()).AsSingle();
    }

    /// <summary>
    /// Float bits to Half bits (zero-extended), round to nearest even. Adding 2^(e + 13), e the exponent clamped to
    /// Half's normal range [−14, 16], leaves the float adder rounding |f| to Half's last place there (subnormals
    /// included); the sum's significand bits are then the Half significand, a carry moves to the next exponent and
    /// |f| ≥ 65520 reaches 0x7C00 (Inf, the clamp). A NaN keeps its top payload bits and is quieted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> ToHalf(Vector256<uint> bits)
    {
        var magnitude = (bits & Vector256.Create(0x7FFFFFFFu)).AsInt32();
        var exponent = Vector256.Max(Vector256.Min(magnitude & Vector256.Create(0x7F800000), Vector256.Create(0x47800000)), Vector256.Create(0x38800000));
        var magic = exponent + Vector256.Create(13 << 23);
        var significand = (magnitude.AsSingle() + magic.AsSingle()).AsInt32() - magic;
        var finite = Vector256.Min(((exponent - Vector256.Create(0x38800000)) >> 13) + significand, Vector256.Create(0x7C00));
        var nan = ((magnitude >> 13) & Vector256.Create(0x3FF)) | Vector256.Create(0x7E00);
        var result = Vector256.ConditionalSelect(Vector256.GreaterThan(magnitude, Vector256.Create(0x7F800000)), nan, finite);
        return result.AsUInt32() | ((bits >> 16) & Vector256.Create(0x8000u));
    }

    // Vector128 lanes.
    private static void BFloat16ToFloat128(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector128<uint>.Count; i += 2 * Vector128<uint>.Count)
        {
            var (lo, hi) = Vector128.Widen(Vector128.Load(src + i));
            (lo << 16).AsSingle().Store(dst + i);
            (hi << 16).AsSingle().Store(dst + i + Vector128<uint>.Count);
        }
    }

    private static void FloatToBFloat16128(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector128<uint>.Count; i += 2 * Vector128<uint>.Count)
        {
            var lo = ToBFloat16(Vector128.Load(src + i).AsUInt32());
            var hi = ToBFloat16(Vector128.Load(src + i + Vector128<uint>.Count).AsUInt32());
            Vector128.Narrow(lo, hi).Store(dst + i);
        }
    }

    private static void HalfToFloat128(ushort* src, float* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector128<uint>.Count; i += 2 * Vector128<uint>.Count)
        {
            var (lo, hi) = Vector128.Widen(Vector128.Load(src + i));
            FromHalf(lo).Store(dst + i);
            FromHalf(hi).Store(dst + i + Vector128<uint>.Count);
        }
    }

    private static void FloatToHalf128(float* src, ushort* dst, int n, ref int i)
    {
        for (; i <= n - 2 * Vector128<uint>.Count; i += 2 * Vector128<uint>.Count)
        {
            var lo = ToHalf(Vector128.Load(src + i).AsUInt32());
            var hi = ToHalf(Vector128.Load(src + i + Vector128<uint>.Count).AsUInt32());
            Vector128.Narrow(lo, hi).Store(dst + i);
        }
    }

    /// <summary>Round to nearest even on the upper 16 bits (a carry is the correct rounding up); a NaN is quieted.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> ToBFloat16(Vector128<uint> bits)
    {
        var rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
        var nan = Vector128.GreaterThan((bits & Vector128.Create(0x7FFFFFFFu)).AsInt32(), Vector128.Create(0x7F800000)).AsUInt32();
        return Vector128.ConditionalSelect(nan, (bits >> 16) | Vector128.Create(0x40u), rounded);
    }

    /// <summary>
    /// Half bits (zero-extended) to float: the exponent and significand bits moved to float's positions and scaled by
    /// 2^112 (the bias difference) give every finite value exactly, subnormals included; Inf/NaN get the maximal
    /// exponent and a NaN is quieted (as the scalar cast).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> FromHalf(Vector128<uint> h)
    {
        var magnitude = (h & Vector128.Create(0x7FFFu)).AsInt32();
        var finite = ((magnitude << 13).AsSingle() * Vector128.Create(BiasScale)).AsInt32();
        var special = Vector128.GreaterThanOrEqual(magnitude, Vector128.Create(0x7C00)) & Vector128.Create(0x7F800000);
        var quiet = Vector128.GreaterThan(magnitude, Vector128.Create(0x7C00)) & Vector128.Create(0x400000);
        return (finite | special | quiet | ((h & Vector128.Create(0x8000u)) << 16).AsInt32()).AsSingle();
    }

    /// <summary>
    /// Float bits to Half bits (zero-extended), round to nearest even. Adding 2^(e + 13), e the exponent clamped to
    /// Half's normal range [−14, 16], leaves the float adder rounding |f| to Half's last place there (subnormals
    /// included); the sum's significand bits are then the Half significand, a carry moves to the next exponent and
    /// |f| ≥ 65520 reaches 0x7C00 (Inf, the clamp). A NaN keeps its top payload bits and is quieted.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> ToHalf(Vector128<uint> bits)
    {
        var magnitude = (bits & Vector128.Create(0x7FFFFFFFu)).AsInt32();
        var exponent = Vector128.Max(Vector128.Min(magnitude & Vector128.Create(0x7F800000), Vector128.Create(0x47800000)), Vector128.Create(0x38800000));
        var magic = exponent + Vector128.Create(13 << 23);
        var significand = (magnitude.AsSingle() + magic.AsSingle()).AsInt32() - magic;
        var finite = Vector128.Min(((exponent - Vector128.Create(0x38800000)) >> 13) + significand, Vector128.Create(0x7C00));
        var nan = ((magnitude >> 13) & Vector128.Create(0x3FF)) | Vector128.Create(0x7E00);
        var result = Vector128.ConditionalSelect(Vector128.GreaterThan(magnitude, Vector128.Create(0x7F800000)), nan, finite);
        return result.AsUInt32() | ((bits >> 16) & Vector128.Create(0x8000u));
    }
}
