using System.Runtime.CompilerServices;

namespace Ruler.Internal;

/// <summary>Conversions between the storage types and float64; the type tests fold away when the JIT specializes T.</summary>
internal static class Num
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double ToDouble<T>(T v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) return Unsafe.As<T, float>(ref v);
        if (typeof(T) == typeof(double)) return Unsafe.As<T, double>(ref v);
        if (typeof(T) == typeof(Half)) return (double)Unsafe.As<T, Half>(ref v);
        if (typeof(T) == typeof(BFloat16)) return (double)Unsafe.As<T, BFloat16>(ref v);
        throw new NotSupportedException(typeof(T).Name);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T FromDouble<T>(double v) where T : unmanaged
    {
        if (typeof(T) == typeof(float)) { float f = (float)v; return Unsafe.As<float, T>(ref f); }
        if (typeof(T) == typeof(double)) return Unsafe.As<double, T>(ref v);
        if (typeof(T) == typeof(Half)) { Half h = (Half)v; return Unsafe.As<Half, T>(ref h); }
        if (typeof(T) == typeof(BFloat16)) { BFloat16 b = (BFloat16)v; return Unsafe.As<BFloat16, T>(ref b); }
        throw new NotSupportedException(typeof(T).Name);
    }
}
