using System.Globalization;

namespace Ruler.Numerics;

/// <summary>
/// bfloat16 storage: the upper 16 bits of a float32 (sign, 8 exponent bits, 7 mantissa bits). Same range as float,
/// about 3 significant digits. Conversion from float rounds to nearest, ties to even; a NaN stays a NaN (quieted,
/// sign kept). Arithmetic is done by converting to float: the kernels store bfloat16 and accumulate in float or wider.
/// </summary>
/// <remarks>
/// In <c>Ruler.Numerics</c>, not <c>Ruler</c>: runtimes after .NET 10 bring their own <c>System.Numerics.BFloat16</c>, and a
/// file with <c>using System.Numerics;</c> and <c>using Ruler;</c> must not find two types of that name (CS0104). Import
/// <c>Ruler.Numerics</c> to name this one. docs/backends.md ("BFloat16") says what happens when Ruler targets such a runtime.
/// </remarks>
public readonly struct BFloat16 : IEquatable<BFloat16>
{
    private readonly ushort _bits;

    private BFloat16(ushort bits) => _bits = bits;

    /// <summary>The raw 16 bits.</summary>
    public ushort Bits => _bits;

    /// <summary>Whether the value is a NaN.</summary>
    public bool IsNaN => (_bits & 0x7FFF) > 0x7F80;

    /// <summary>The value with these raw 16 bits.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>Rounds a float to the nearest bfloat16, ties to even; NaN stays NaN.</summary>
    public static explicit operator BFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return new((ushort)((bits >> 16) | 0x0040));
        // Adding 0x7FFF plus the lowest kept bit rounds the dropped 16 bits to nearest, ties to the even kept value;
        // a carry into the exponent is the correct rounding up (to the next binade or to infinity).
        bits += 0x7FFFu + ((bits >> 16) & 1);
        return new((ushort)(bits >> 16));
    }

    /// <summary>Rounds a double to bfloat16 through float (the two roundings stay within one bfloat16 ulp).</summary>
    public static explicit operator BFloat16(double value) => (BFloat16)(float)value;

    /// <summary>The exact float value.</summary>
    public static explicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value._bits << 16);

    /// <summary>The exact double value.</summary>
    public static explicit operator double(BFloat16 value) => (float)value;

    /// <inheritdoc />
    public bool Equals(BFloat16 other) => _bits == other._bits;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is BFloat16 other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _bits;

    /// <summary>The float value, formatted with the invariant culture.</summary>
    public override string ToString() => ((float)this).ToString(CultureInfo.InvariantCulture);
}
