using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ruler.Internal;

/// <summary>
/// One vector width for one storage type T (float or double): the element-wise operations the kernels need, and
/// float64 accumulation of a vector. A float vector widens into two double vectors (<c>lo</c>, <c>hi</c>); a double
/// vector is accumulated as is (only <c>lo</c> is used). The kernels in <see cref="Simd"/> are written once against
/// this interface and run with the widest accelerated width first, then narrower ones, then a scalar tail.
/// </summary>
internal unsafe interface ISimd<TV, T, TD> where T : unmanaged where TV : struct where TD : struct
{
    static abstract int Count { get; }
    static abstract TV Load(T* p);
    static abstract void Store(T* p, TV v);
    /// <summary>A non-temporal store (around the caches) to p, which must be aligned to the vector's size.</summary>
    static abstract void StoreStream(T* p, TV v);
    static abstract TV Splat(T v);
    static abstract TV Add(TV a, TV b);
    static abstract TV Sub(TV a, TV b);
    static abstract TV Mul(TV a, TV b);
    /// <summary>a·b + c, fused.</summary>
    static abstract TV MulAdd(TV a, TV b, TV c);
    static abstract TD Wide(double v);
    /// <summary>(lo, hi) += v in float64.</summary>
    static abstract void Accumulate(ref TD lo, ref TD hi, TV v);
    /// <summary>(lo, hi) += v − shift in float64.</summary>
    static abstract void AccumulateShifted(ref TD lo, ref TD hi, TV v, TD shift);
    /// <summary>With d = v − mean in float64: squares += d², linear += d.</summary>
    static abstract void AccumulateDeviations(ref TD sq0, ref TD sq1, ref TD lin0, ref TD lin1, TV v, TD mean);
    /// <summary>acc[0..Count) += v in float64.</summary>
    static abstract void Accumulate(double* acc, TV v);
    /// <summary>(lo, hi) = p[0..Count) as float64 vectors (hi unused for double).</summary>
    static abstract void LoadWide(double* p, out TD lo, out TD hi);
    /// <summary>p[0..Count) = (lo, hi).</summary>
    static abstract void StoreWide(double* p, TD lo, TD hi);
    /// <summary>(lo, hi) rounded to T (nearest, ties to even, as a scalar cast): the inverse of <see cref="LoadWide"/>.</summary>
    static abstract TV Narrow(TD lo, TD hi);
    /// <summary>(lo, hi) += v − (shiftLo, shiftHi) in float64, lane by lane.</summary>
    static abstract void AccumulateShifted(ref TD lo, ref TD hi, TV v, TD shiftLo, TD shiftHi);
    /// <summary>With d = v − (meanLo, meanHi) in float64, lane by lane: squares += d², linear += d.</summary>
    static abstract void AccumulateDeviations(ref TD sq0, ref TD sq1, ref TD lin0, ref TD lin1, TV v, TD meanLo, TD meanHi);
    static abstract double Sum(TD lo, TD hi);
    static abstract TD AddWide(TD a, TD b);
}

/// <summary>
/// The float-only operations of the engine's exp and softmax loops (Ruler.Nn), beside <see cref="ISimd{TV, T, TD}"/>.
/// </summary>
internal interface IFloatSimd<TV, TD> : ISimd<TV, float, TD> where TV : struct where TD : struct
{
    static abstract TV Min(TV a, TV b);
    static abstract TV Max(TV a, TV b);
    /// <summary>a / b, lane by lane.</summary>
    static abstract TV Div(TV a, TV b);
    /// <summary>Each lane rounded to the nearest integer, ties to even.</summary>
    static abstract TV Round(TV v);
    /// <summary>
    /// v·2^n for n integral (as float) with |n| ≤ 254: two exponent-field factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each a
    /// normal float, so the product is rounded once.
    /// </summary>
    static abstract TV ScaleByPowerOfTwo(TV v, TV n);
    /// <summary>value where z ≥ limit, exactly 0 where z &lt; limit.</summary>
    static abstract TV ZeroWhereBelow(TV value, TV z, TV limit);
    /// <summary>value where z &gt; limit, exactly 0 elsewhere (also where z is NaN).</summary>
    static abstract TV ValueWhereAbove(TV value, TV z, TV limit);
    /// <summary>The sum of the lanes in float.</summary>
    static abstract float Sum(TV v);
}

/// <summary>float lanes of Vector512.</summary>
internal readonly unsafe struct F512 : IFloatSimd<Vector512<float>, Vector512<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Round(Vector512<float> v) => Vector512.Round(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector512<float> v) => Vector512.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ScaleByPowerOfTwo(Vector512<float> v, Vector512<float> n)
    {
        var ni = Vector512.ConvertToInt32(n);
        var half = Vector512.ShiftRightArithmetic(ni, 1);
        var bias = Vector512.Create(127);
        return v * Vector512.ShiftLeft(half + bias, 23).AsSingle() * Vector512.ShiftLeft(ni - half + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ZeroWhereBelow(Vector512<float> value, Vector512<float> z, Vector512<float> limit) =>
        Vector512.ConditionalSelect(Vector512.LessThan(z, limit), Vector512<float>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Div(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ValueWhereAbove(Vector512<float> value, Vector512<float> z, Vector512<float> limit) =>
        Vector512.ConditionalSelect(Vector512.GreaterThan(z, limit), value, Vector512<float>.Zero);

    public static int Count => Vector512<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Load(float* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector512<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(float* p, Vector512<float> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Splat(float v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sub(Vector512<float> a, Vector512<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Mul(Vector512<float> a, Vector512<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> MulAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Wide(double v) => Vector512.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<float> v)
    {
        var (l, h) = Vector512.Widen(v);
        lo += l;
        hi += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<float> v, Vector512<double> shift)
    {
        var (l, h) = Vector512.Widen(v);
        lo += l - shift;
        hi += h - shift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector512<double> sq0, ref Vector512<double> sq1, ref Vector512<double> lin0, ref Vector512<double> lin1,
        Vector512<float> v, Vector512<double> mean)
    {
        var (l, h) = Vector512.Widen(v);
        l -= mean;
        h -= mean;
        sq0 = Vector512.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector512.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector512<float> v)
    {
        var (l, h) = Vector512.Widen(v);
        (Vector512.Load(acc) + l).Store(acc);
        (Vector512.Load(acc + Vector512<double>.Count) + h).Store(acc + Vector512<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector512<double> lo, out Vector512<double> hi)
    {
        lo = Vector512.Load(p);
        hi = Vector512.Load(p + Vector512<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector512<double> lo, Vector512<double> hi)
    {
        lo.Store(p);
        hi.Store(p + Vector512<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Narrow(Vector512<double> lo, Vector512<double> hi) => Vector512.Narrow(lo, hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<float> v, Vector512<double> shiftLo, Vector512<double> shiftHi)
    {
        var (l, h) = Vector512.Widen(v);
        lo += l - shiftLo;
        hi += h - shiftHi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector512<double> sq0, ref Vector512<double> sq1, ref Vector512<double> lin0, ref Vector512<double> lin1,
        Vector512<float> v, Vector512<double> meanLo, Vector512<double> meanHi)
    {
        var (l, h) = Vector512.Widen(v);
        l -= meanLo;
        h -= meanHi;
        sq0 = Vector512.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector512.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector512<double> lo, Vector512<double> hi) => Vector512.Sum(lo + hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> AddWide(Vector512<double> a, Vector512<double> b) => a + b;
}

/// <summary>double lanes of Vector512.</summary>
internal readonly unsafe struct D512 : ISimd<Vector512<double>, double, Vector512<double>>
{
    public static int Count => Vector512<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Load(double* p) => Vector512.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector512<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(double* p, Vector512<double> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Splat(double v) => Vector512.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Add(Vector512<double> a, Vector512<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Sub(Vector512<double> a, Vector512<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Mul(Vector512<double> a, Vector512<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> MulAdd(Vector512<double> a, Vector512<double> b, Vector512<double> c) => Vector512.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> Wide(double v) => Vector512.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<double> v) => lo += v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<double> v, Vector512<double> shift) => lo += v - shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector512<double> sq0, ref Vector512<double> sq1, ref Vector512<double> lin0, ref Vector512<double> lin1,
        Vector512<double> v, Vector512<double> mean)
    {
        var d = v - mean;
        sq0 = Vector512.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector512<double> v) => (Vector512.Load(acc) + v).Store(acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector512<double> lo, out Vector512<double> hi)
    {
        lo = Vector512.Load(p);
        hi = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector512<double> lo, Vector512<double> hi) => lo.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<double> Narrow(Vector512<double> lo, Vector512<double> hi) => lo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector512<double> lo, ref Vector512<double> hi, Vector512<double> v, Vector512<double> shiftLo, Vector512<double> shiftHi) =>
        lo += v - shiftLo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector512<double> sq0, ref Vector512<double> sq1, ref Vector512<double> lin0, ref Vector512<double> lin1,
        Vector512<double> v, Vector512<double> meanLo, Vector512<double> meanHi)
    {
        var d = v - meanLo;
        sq0 = Vector512.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector512<double> lo, Vector512<double> hi) => Vector512.Sum(lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<double> AddWide(Vector512<double> a, Vector512<double> b) => a + b;
}

/// <summary>float lanes of Vector256.</summary>
internal readonly unsafe struct F256 : IFloatSimd<Vector256<float>, Vector256<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Round(Vector256<float> v) => Vector256.Round(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector256<float> v) => Vector256.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ScaleByPowerOfTwo(Vector256<float> v, Vector256<float> n)
    {
        var ni = Vector256.ConvertToInt32(n);
        var half = Vector256.ShiftRightArithmetic(ni, 1);
        var bias = Vector256.Create(127);
        return v * Vector256.ShiftLeft(half + bias, 23).AsSingle() * Vector256.ShiftLeft(ni - half + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ZeroWhereBelow(Vector256<float> value, Vector256<float> z, Vector256<float> limit) =>
        Vector256.ConditionalSelect(Vector256.LessThan(z, limit), Vector256<float>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Div(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ValueWhereAbove(Vector256<float> value, Vector256<float> z, Vector256<float> limit) =>
        Vector256.ConditionalSelect(Vector256.GreaterThan(z, limit), value, Vector256<float>.Zero);

    public static int Count => Vector256<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Load(float* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector256<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(float* p, Vector256<float> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Splat(float v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sub(Vector256<float> a, Vector256<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Mul(Vector256<float> a, Vector256<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> MulAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Wide(double v) => Vector256.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<float> v)
    {
        var (l, h) = Vector256.Widen(v);
        lo += l;
        hi += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<float> v, Vector256<double> shift)
    {
        var (l, h) = Vector256.Widen(v);
        lo += l - shift;
        hi += h - shift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector256<double> sq0, ref Vector256<double> sq1, ref Vector256<double> lin0, ref Vector256<double> lin1,
        Vector256<float> v, Vector256<double> mean)
    {
        var (l, h) = Vector256.Widen(v);
        l -= mean;
        h -= mean;
        sq0 = Vector256.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector256.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector256<float> v)
    {
        var (l, h) = Vector256.Widen(v);
        (Vector256.Load(acc) + l).Store(acc);
        (Vector256.Load(acc + Vector256<double>.Count) + h).Store(acc + Vector256<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector256<double> lo, out Vector256<double> hi)
    {
        lo = Vector256.Load(p);
        hi = Vector256.Load(p + Vector256<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector256<double> lo, Vector256<double> hi)
    {
        lo.Store(p);
        hi.Store(p + Vector256<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Narrow(Vector256<double> lo, Vector256<double> hi) => Vector256.Narrow(lo, hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<float> v, Vector256<double> shiftLo, Vector256<double> shiftHi)
    {
        var (l, h) = Vector256.Widen(v);
        lo += l - shiftLo;
        hi += h - shiftHi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector256<double> sq0, ref Vector256<double> sq1, ref Vector256<double> lin0, ref Vector256<double> lin1,
        Vector256<float> v, Vector256<double> meanLo, Vector256<double> meanHi)
    {
        var (l, h) = Vector256.Widen(v);
        l -= meanLo;
        h -= meanHi;
        sq0 = Vector256.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector256.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector256<double> lo, Vector256<double> hi) => Vector256.Sum(lo + hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> AddWide(Vector256<double> a, Vector256<double> b) => a + b;
}

/// <summary>double lanes of Vector256.</summary>
internal readonly unsafe struct D256 : ISimd<Vector256<double>, double, Vector256<double>>
{
    public static int Count => Vector256<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Load(double* p) => Vector256.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector256<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(double* p, Vector256<double> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Splat(double v) => Vector256.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Add(Vector256<double> a, Vector256<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Sub(Vector256<double> a, Vector256<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Mul(Vector256<double> a, Vector256<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> MulAdd(Vector256<double> a, Vector256<double> b, Vector256<double> c) => Vector256.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> Wide(double v) => Vector256.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<double> v) => lo += v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<double> v, Vector256<double> shift) => lo += v - shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector256<double> sq0, ref Vector256<double> sq1, ref Vector256<double> lin0, ref Vector256<double> lin1,
        Vector256<double> v, Vector256<double> mean)
    {
        var d = v - mean;
        sq0 = Vector256.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector256<double> v) => (Vector256.Load(acc) + v).Store(acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector256<double> lo, out Vector256<double> hi)
    {
        lo = Vector256.Load(p);
        hi = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector256<double> lo, Vector256<double> hi) => lo.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<double> Narrow(Vector256<double> lo, Vector256<double> hi) => lo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector256<double> lo, ref Vector256<double> hi, Vector256<double> v, Vector256<double> shiftLo, Vector256<double> shiftHi) =>
        lo += v - shiftLo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector256<double> sq0, ref Vector256<double> sq1, ref Vector256<double> lin0, ref Vector256<double> lin1,
        Vector256<double> v, Vector256<double> meanLo, Vector256<double> meanHi)
    {
        var d = v - meanLo;
        sq0 = Vector256.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector256<double> lo, Vector256<double> hi) => Vector256.Sum(lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<double> AddWide(Vector256<double> a, Vector256<double> b) => a + b;
}

/// <summary>float lanes of Vector128.</summary>
internal readonly unsafe struct F128 : IFloatSimd<Vector128<float>, Vector128<double>>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Round(Vector128<float> v) => Vector128.Round(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static float Sum(Vector128<float> v) => Vector128.Sum(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ScaleByPowerOfTwo(Vector128<float> v, Vector128<float> n)
    {
        var ni = Vector128.ConvertToInt32(n);
        var half = Vector128.ShiftRightArithmetic(ni, 1);
        var bias = Vector128.Create(127);
        return v * Vector128.ShiftLeft(half + bias, 23).AsSingle() * Vector128.ShiftLeft(ni - half + bias, 23).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ZeroWhereBelow(Vector128<float> value, Vector128<float> z, Vector128<float> limit) =>
        Vector128.ConditionalSelect(Vector128.LessThan(z, limit), Vector128<float>.Zero, value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Div(Vector128<float> a, Vector128<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ValueWhereAbove(Vector128<float> value, Vector128<float> z, Vector128<float> limit) =>
        Vector128.ConditionalSelect(Vector128.GreaterThan(z, limit), value, Vector128<float>.Zero);

    public static int Count => Vector128<float>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Load(float* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(float* p, Vector128<float> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(float* p, Vector128<float> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Splat(float v) => Vector128.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sub(Vector128<float> a, Vector128<float> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Mul(Vector128<float> a, Vector128<float> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> MulAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Wide(double v) => Vector128.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<float> v)
    {
        var (l, h) = Vector128.Widen(v);
        lo += l;
        hi += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<float> v, Vector128<double> shift)
    {
        var (l, h) = Vector128.Widen(v);
        lo += l - shift;
        hi += h - shift;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector128<double> sq0, ref Vector128<double> sq1, ref Vector128<double> lin0, ref Vector128<double> lin1,
        Vector128<float> v, Vector128<double> mean)
    {
        var (l, h) = Vector128.Widen(v);
        l -= mean;
        h -= mean;
        sq0 = Vector128.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector128.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector128<float> v)
    {
        var (l, h) = Vector128.Widen(v);
        (Vector128.Load(acc) + l).Store(acc);
        (Vector128.Load(acc + Vector128<double>.Count) + h).Store(acc + Vector128<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector128<double> lo, out Vector128<double> hi)
    {
        lo = Vector128.Load(p);
        hi = Vector128.Load(p + Vector128<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector128<double> lo, Vector128<double> hi)
    {
        lo.Store(p);
        hi.Store(p + Vector128<double>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Narrow(Vector128<double> lo, Vector128<double> hi) => Vector128.Narrow(lo, hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<float> v, Vector128<double> shiftLo, Vector128<double> shiftHi)
    {
        var (l, h) = Vector128.Widen(v);
        lo += l - shiftLo;
        hi += h - shiftHi;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector128<double> sq0, ref Vector128<double> sq1, ref Vector128<double> lin0, ref Vector128<double> lin1,
        Vector128<float> v, Vector128<double> meanLo, Vector128<double> meanHi)
    {
        var (l, h) = Vector128.Widen(v);
        l -= meanLo;
        h -= meanHi;
        sq0 = Vector128.FusedMultiplyAdd(l, l, sq0);
        sq1 = Vector128.FusedMultiplyAdd(h, h, sq1);
        lin0 += l;
        lin1 += h;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector128<double> lo, Vector128<double> hi) => Vector128.Sum(lo + hi);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> AddWide(Vector128<double> a, Vector128<double> b) => a + b;
}

/// <summary>double lanes of Vector128.</summary>
internal readonly unsafe struct D128 : ISimd<Vector128<double>, double, Vector128<double>>
{
    public static int Count => Vector128<double>.Count;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Load(double* p) => Vector128.Load(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void Store(double* p, Vector128<double> v) => v.Store(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static void StoreStream(double* p, Vector128<double> v) => v.StoreAlignedNonTemporal(p);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Splat(double v) => Vector128.Create(v);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Add(Vector128<double> a, Vector128<double> b) => a + b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Sub(Vector128<double> a, Vector128<double> b) => a - b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Mul(Vector128<double> a, Vector128<double> b) => a * b;
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> MulAdd(Vector128<double> a, Vector128<double> b, Vector128<double> c) => Vector128.FusedMultiplyAdd(a, b, c);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> Wide(double v) => Vector128.Create(v);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<double> v) => lo += v;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<double> v, Vector128<double> shift) => lo += v - shift;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector128<double> sq0, ref Vector128<double> sq1, ref Vector128<double> lin0, ref Vector128<double> lin1,
        Vector128<double> v, Vector128<double> mean)
    {
        var d = v - mean;
        sq0 = Vector128.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Accumulate(double* acc, Vector128<double> v) => (Vector128.Load(acc) + v).Store(acc);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadWide(double* p, out Vector128<double> lo, out Vector128<double> hi)
    {
        lo = Vector128.Load(p);
        hi = default;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreWide(double* p, Vector128<double> lo, Vector128<double> hi) => lo.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<double> Narrow(Vector128<double> lo, Vector128<double> hi) => lo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateShifted(ref Vector128<double> lo, ref Vector128<double> hi, Vector128<double> v, Vector128<double> shiftLo, Vector128<double> shiftHi) =>
        lo += v - shiftLo;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void AccumulateDeviations(ref Vector128<double> sq0, ref Vector128<double> sq1, ref Vector128<double> lin0, ref Vector128<double> lin1,
        Vector128<double> v, Vector128<double> meanLo, Vector128<double> meanHi)
    {
        var d = v - meanLo;
        sq0 = Vector128.FusedMultiplyAdd(d, d, sq0);
        lin0 += d;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static double Sum(Vector128<double> lo, Vector128<double> hi) => Vector128.Sum(lo);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<double> AddWide(Vector128<double> a, Vector128<double> b) => a + b;
}

/// <summary>
/// BFloat16 ↔ float on one vector width: <see cref="Count"/> values (one vector of 16-bit lanes, two of float) per
/// step. Widening puts the 16 bits on top of a float; narrowing rounds the dropped 16 bits to nearest, ties to even
/// (adding 0x7FFF plus the lowest kept bit; a carry into the exponent is the correct rounding up), and quiets a NaN
/// keeping its sign and top payload bits, as the scalar <see cref="BFloat16"/> cast does.
/// </summary>
internal unsafe interface IBFloat16Lanes
{
    static abstract int Count { get; }
    /// <summary>dst[0..Count) = src[0..Count) as float.</summary>
    static abstract void Widen(ushort* src, float* dst);
    /// <summary>dst[0..Count) = src[0..Count) rounded to BFloat16 bits.</summary>
    static abstract void Narrow(float* src, ushort* dst);
}

/// <summary>BFloat16 lanes of Vector512.</summary>
internal readonly unsafe struct BFloat16x512 : IBFloat16Lanes
{
    public static int Count => Vector512<ushort>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ushort* src, float* dst)
    {
        var (lo, hi) = Vector512.Widen(Vector512.Load(src));
        (lo << 16).AsSingle().Store(dst);
        (hi << 16).AsSingle().Store(dst + Vector512<uint>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Narrow(float* src, ushort* dst) =>
        Vector512.Narrow(Round(Vector512.Load(src).AsUInt32()), Round(Vector512.Load(src + Vector512<uint>.Count).AsUInt32())).Store(dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<uint> Round(Vector512<uint> bits)
    {
        var rounded = (bits + Vector512.Create(0x7FFFu) + ((bits >> 16) & Vector512<uint>.One)) >> 16;
        var nan = Vector512.GreaterThan((bits & Vector512.Create(0x7FFFFFFFu)).AsInt32(), Vector512.Create(0x7F800000)).AsUInt32();
        return Vector512.ConditionalSelect(nan, (bits >> 16) | Vector512.Create(0x40u), rounded);
    }
}

/// <summary>BFloat16 lanes of Vector256.</summary>
internal readonly unsafe struct BFloat16x256 : IBFloat16Lanes
{
    public static int Count => Vector256<ushort>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ushort* src, float* dst)
    {
        var (lo, hi) = Vector256.Widen(Vector256.Load(src));
        (lo << 16).AsSingle().Store(dst);
        (hi << 16).AsSingle().Store(dst + Vector256<uint>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Narrow(float* src, ushort* dst) =>
        Vector256.Narrow(Round(Vector256.Load(src).AsUInt32()), Round(Vector256.Load(src + Vector256<uint>.Count).AsUInt32())).Store(dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<uint> bits)
    {
        var rounded = (bits + Vector256.Create(0x7FFFu) + ((bits >> 16) & Vector256<uint>.One)) >> 16;
        var nan = Vector256.GreaterThan((bits & Vector256.Create(0x7FFFFFFFu)).AsInt32(), Vector256.Create(0x7F800000)).AsUInt32();
        return Vector256.ConditionalSelect(nan, (bits >> 16) | Vector256.Create(0x40u), rounded);
    }
}

/// <summary>BFloat16 lanes of Vector128.</summary>
internal readonly unsafe struct BFloat16x128 : IBFloat16Lanes
{
    public static int Count => Vector128<ushort>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Widen(ushort* src, float* dst)
    {
        var (lo, hi) = Vector128.Widen(Vector128.Load(src));
        (lo << 16).AsSingle().Store(dst);
        (hi << 16).AsSingle().Store(dst + Vector128<uint>.Count);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Narrow(float* src, ushort* dst) =>
        Vector128.Narrow(Round(Vector128.Load(src).AsUInt32()), Round(Vector128.Load(src + Vector128<uint>.Count).AsUInt32())).Store(dst);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<uint> Round(Vector128<uint> bits)
    {
        var rounded = (bits + Vector128.Create(0x7FFFu) + ((bits >> 16) & Vector128<uint>.One)) >> 16;
        var nan = Vector128.GreaterThan((bits & Vector128.Create(0x7FFFFFFFu)).AsInt32(), Vector128.Create(0x7F800000)).AsUInt32();
        return Vector128.ConditionalSelect(nan, (bits >> 16) | Vector128.Create(0x40u), rounded);
    }
}
