using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ruler.Nn;

/// <summary>
/// exp for 8 float lanes, several times faster here than the runtime's <see cref="Vector256.Exp(Vector256{float})"/>.
/// Range reduction: x = n·ln2 + r with n = round(x·log2 e) and ln2 split into a high and a low part (Cody–Waite),
/// so |r| ≤ ln2/2; e^r by its Taylor polynomial to degree 7 (truncation ≤ 2e-9, below float rounding); 2^n as two
/// exponent-field factors 2^⌊n/2⌋·2^(n−⌊n/2⌋), each a normal float. x is clamped to [−88, 88], so the result is
/// finite for every input (e^88 ≈ 1.65e38) and tends to 0 smoothly below (e^−88 ≈ 6e-39).
/// </summary>
internal static class VectorExp
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        x = Vector256.Min(Vector256.Max(x, Vector256.Create(-88f)), Vector256.Create(88f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693145752f), x); // ln2 high part: n·high is exact
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-1.42860677e-6f), r);   // ln2 low part
        var p = Vector256.Create(1f / 5040);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        var ni = Vector256.ConvertToInt32(n);
        var half = Vector256.ShiftRightArithmetic(ni, 1);
        var bias = Vector256.Create(127);
        var pow1 = Vector256.ShiftLeft(half + bias, 23).AsSingle();
        var pow2 = Vector256.ShiftLeft(ni - half + bias, 23).AsSingle();
        return p * pow1 * pow2;
    }
}
