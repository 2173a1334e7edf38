using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The vectorized Half and BFloat16 conversions match the scalar casts bit for bit: every one of the 65536 bit
/// patterns widens exactly (and round-trips), and random floats plus edge cases (ties, subnormals, overflow to
/// Inf, NaN) narrow to the same bits. Lengths 0–99 run every vector width and the scalar tail.
/// </summary>
public unsafe class NarrowConversionsTests
{
    [Fact]
    public void EveryHalfWidensExactlyAndRoundTrips() => AssertAllPatterns<Half>(b => (float)BitConverter.UInt16BitsToHalf(b));

    [Fact]
    public void EveryBFloat16WidensExactlyAndRoundTrips() => AssertAllPatterns<BFloat16>(b => (float)BFloat16.FromBits(b));

    [Fact]
    public void FloatNarrowsToHalfAsTheScalarCast() => AssertNarrowing<Half>(f => BitConverter.HalfToUInt16Bits((Half)f));

    [Fact]
    public void FloatNarrowsToBFloat16AsTheScalarCast() => AssertNarrowing<BFloat16>(f => ((BFloat16)f).Bits);

    [Fact]
    public void EveryLengthUsesTheSameConversion()
    {
        var random = new Random(3);
        for (int n = 0; n < 100; n++)
        {
            var values = new float[n];
            for (int i = 0; i < n; i++) values[i] = (float)((random.NextDouble() - 0.5) * 1000);
            AssertNarrowsAsScalar<Half>(values, f => BitConverter.HalfToUInt16Bits((Half)f));
            AssertNarrowsAsScalar<BFloat16>(values, f => ((BFloat16)f).Bits);
        }
    }

    private static void AssertAllPatterns<T>(Func<ushort, float> scalar) where T : unmanaged
    {
        var bits = new ushort[65536];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ushort)i;
        var wide = new float[bits.Length];
        var back = new ushort[bits.Length];
        fixed (ushort* pb = bits)
        fixed (float* pw = wide)
        fixed (ushort* pr = back)
        {
            NarrowConversions.Widen((T*)pb, pw, bits.Length);
            NarrowConversions.Narrow(pw, (T*)pr, bits.Length);
        }
        for (int i = 0; i < bits.Length; i++)
        {
            Assert.True(BitConverter.SingleToUInt32Bits(scalar(bits[i])) == BitConverter.SingleToUInt32Bits(wide[i]), $"widen 0x{i:X4}");
            if (float.IsNaN(wide[i])) Assert.True(float.IsNaN(scalar(back[i])), $"NaN 0x{i:X4}");
            else Assert.True(bits[i] == back[i], $"round trip 0x{i:X4} gave 0x{back[i]:X4}");
        }
    }

    private static void AssertNarrowing<T>(Func<float, ushort> scalar) where T : unmanaged
    {
        var random = new Random(7);
        var values = new List<float>
        {
            0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue, float.PositiveInfinity, float.NegativeInfinity,
            float.NaN, BitConverter.UInt32BitsToSingle(0x7F800001), BitConverter.UInt32BitsToSingle(0xFFC12345),
            65504f, 65519.99f, 65520f, -65520f, 1e-8f, 2.98e-8f, MathF.Pow(2, -25), MathF.Pow(2, -24), MathF.Pow(2, -14),
            MathF.Pow(2, -14) - MathF.Pow(2, -25), 1 + MathF.Pow(2, -8), 1 + 3 * MathF.Pow(2, -8), 1 + MathF.Pow(2, -11),
            1 + 3 * MathF.Pow(2, -11), 3.3895314e38f,
        };
        for (int i = 0; i < 200000; i++) values.Add(BitConverter.UInt32BitsToSingle((uint)random.NextInt64(0, 1L << 32)));
        for (int i = 0; i < 200000; i++) values.Add((float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-30, 20))));
        // Ties of both types: a kept value plus exactly half of its last place.
        for (int i = 0; i < 65536; i++)
        {
            float h = (float)BitConverter.UInt16BitsToHalf((ushort)i), b = (float)BFloat16.FromBits((ushort)i);
            values.Add(BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(h) + 0x1000));
            values.Add(BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(b) + 0x8000));
        }
        AssertNarrowsAsScalar<T>([.. values], scalar);
    }

    private static void AssertNarrowsAsScalar<T>(float[] values, Func<float, ushort> scalar) where T : unmanaged
    {
        var narrow = new ushort[values.Length];
        fixed (float* pv = values)
        fixed (ushort* pn = narrow)
            NarrowConversions.Narrow(pv, (T*)pn, values.Length);
        for (int i = 0; i < values.Length; i++)
        {
            ushort expected = scalar(values[i]);
            Assert.True(expected == narrow[i], $"0x{BitConverter.SingleToUInt32Bits(values[i]):X8}: expected 0x{expected:X4}, got 0x{narrow[i]:X4}");
        }
    }
}
