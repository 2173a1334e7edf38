using System.Numerics;

namespace Ruler.Tests.Support;

/// <summary>
/// Exact rational arithmetic on BigInteger (numerator / positive denominator), for oracles with no rounding at
/// all: every double converts exactly, sums and products stay exact, and only the square root is approximated
/// (to a stated number of bits, far below float64's).
/// </summary>
internal readonly struct Rational
{
    public BigInteger Num { get; }
    public BigInteger Den { get; }

    public Rational(BigInteger num, BigInteger den)
    {
        if (den.IsZero) throw new DivideByZeroException();
        if (den.Sign < 0) (num, den) = (-num, -den);
        var gcd = BigInteger.GreatestCommonDivisor(num, den);
        if (!gcd.IsOne && !gcd.IsZero) (num, den) = (num / gcd, den / gcd);
        Num = num;
        Den = den;
    }

    public static readonly Rational Zero = new(0, 1);

    /// <summary>The exact value of a finite double: mantissa · 2^exponent.</summary>
    public static Rational From(double v)
    {
        if (!double.IsFinite(v)) throw new ArgumentOutOfRangeException(nameof(v), v, "finite values only");
        long bits = BitConverter.DoubleToInt64Bits(v);
        int exponent = (int)((bits >> 52) & 0x7FF);
        long mantissa = bits & 0xFFFFFFFFFFFFFL;
        if (exponent == 0) exponent = 1; else mantissa |= 1L << 52;
        exponent -= 1075;   // v = mantissa · 2^(exponent)
        BigInteger m = v < 0 ? -mantissa : mantissa;
        return exponent >= 0 ? new Rational(m << exponent, 1) : new Rational(m, BigInteger.One << -exponent);
    }

    public static Rational operator +(Rational a, Rational b) => new(a.Num * b.Den + b.Num * a.Den, a.Den * b.Den);
    public static Rational operator -(Rational a, Rational b) => new(a.Num * b.Den - b.Num * a.Den, a.Den * b.Den);
    public static Rational operator *(Rational a, Rational b) => new(a.Num * b.Num, a.Den * b.Den);
    public static Rational operator /(Rational a, Rational b) => new(a.Num * b.Den, a.Den * b.Num);
    public static Rational operator -(Rational a) => new(-a.Num, a.Den);

    /// <summary>√v for v ≥ 0 to within a relative 2^-<paramref name="bits"/> (rounded down).</summary>
    public static Rational Sqrt(Rational v, int bits = 200)
    {
        if (v.Num.Sign < 0) throw new ArgumentOutOfRangeException(nameof(v), "negative");
        if (v.Num.IsZero) return Zero;
        // √(N/D) = √(N·D·4^k) / (D·2^k), with the integer square root of a number of ≥ 2·bits bits.
        var nd = v.Num * v.Den;
        int k = Math.Max(0, bits - (int)(nd.GetBitLength() / 2) + 2);
        return new Rational(IntegerSqrt(nd << (2 * k)), v.Den << k);
    }

    /// <summary>The nearest double (to within 2^-64 relative: far below what any test tolerates).</summary>
    public double ToDouble()
    {
        if (Num.IsZero) return 0;
        // q = Num·2^s / Den with about 64 significant bits, then v ≈ q·2^-s.
        long s = 64 - (Num.GetBitLength() - Den.GetBitLength());
        var q = s >= 0 ? (BigInteger.Abs(Num) << (int)s) / Den : BigInteger.Abs(Num) / (Den << (int)-s);
        double r = Math.ScaleB((double)q, (int)-s);
        return Num.Sign < 0 ? -r : r;
    }

    private static BigInteger IntegerSqrt(BigInteger n)
    {
        var x = BigInteger.One << (int)((n.GetBitLength() + 1) / 2);
        while (true)
        {
            var y = (x + n / x) >> 1;
            if (y >= x) return x;
            x = y;
        }
    }
}
