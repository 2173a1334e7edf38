using System.Buffers;
using Ruler.Internal;

namespace Ruler;

/// <summary>
/// Dynamic Tanh (DyT; Zhu, Chen, He, LeCun &amp; Liu 2025), the normalization-free control: y = γ·tanh(α·x) + β with
/// a learnable scalar α and γ, β per element of the trailing feature dims. No statistics: nothing is shared.
/// Tensors are (…, D) with D = γ's length.
/// </summary>
public static class DynamicTanhOps
{
    /// <summary>y = γ·tanh(α·x) + β. γ, β may be empty (1 and 0).</summary>
    /// <typeparam name="T">Element type: float, double, Half or <see cref="BFloat16"/>.</typeparam>
    /// <param name="x">The input (…, D), contiguous row-major.</param>
    /// <param name="features">D, the length of γ and β: the trailing feature count.</param>
    /// <param name="alpha">α, finite.</param>
    /// <param name="gamma">γ (D elements), or empty for 1.</param>
    /// <param name="beta">β (D elements), or empty for 0.</param>
    /// <param name="y">Receives the output; may be <paramref name="x"/> itself.</param>
    /// <exception cref="ArgumentException">A length does not match, <paramref name="features"/> does not divide x's length, or α is not finite (nothing is written).</exception>
    public static void Forward<T>(ReadOnlySpan<T> x, int features, double alpha, ReadOnlySpan<T> gamma, ReadOnlySpan<T> beta, Span<T> y)
        where T : unmanaged
    {
        Validate(x.Length, features, gamma.Length, beta.Length, alpha);
        Check.Length(y.Length, x.Length, nameof(y));
        for (int i = 0; i < x.Length; i++)
        {
            int f = i % features;
            double v = Math.Tanh(alpha * Num.ToDouble(x[i]));
            if (!gamma.IsEmpty) v *= Num.ToDouble(gamma[f]);
            if (!beta.IsEmpty) v += Num.ToDouble(beta[f]);
            y[i] = Num.FromDouble<T>(v);
        }
    }

    /// <summary>
    /// With t = tanh(α·x): dx = dy·γ·α·(1 − t²); dα = Σ dy·γ·x·(1 − t²); dγ = Σ dy·t; dβ = Σ dy.
    /// <paramref name="dgamma"/> and <paramref name="dbeta"/> may be empty to skip them; outputs are overwritten.
    /// </summary>
    /// <typeparam name="T">Element type: float, double, Half or <see cref="BFloat16"/>.</typeparam>
    /// <param name="x">The forward's input.</param>
    /// <param name="features">D, the length of γ.</param>
    /// <param name="alpha">The forward's α.</param>
    /// <param name="gamma">γ, or empty for 1.</param>
    /// <param name="dy">Gradient of the output.</param>
    /// <param name="dx">Receives the gradient of x (overwritten).</param>
    /// <param name="dgamma">Receives dγ (overwritten), or empty to skip it.</param>
    /// <param name="dbeta">Receives dβ (overwritten), or empty to skip it.</param>
    /// <returns>dα.</returns>
    /// <exception cref="ArgumentException">A length does not match, or α is not finite (nothing is written).</exception>
    public static double Backward<T>(ReadOnlySpan<T> x, int features, double alpha, ReadOnlySpan<T> gamma, ReadOnlySpan<T> dy,
        Span<T> dx, Span<T> dgamma, Span<T> dbeta) where T : unmanaged
    {
        Validate(x.Length, features, gamma.Length, 0, alpha);
        Check.Length(dy.Length, x.Length, nameof(dy));
        Check.Length(dx.Length, x.Length, nameof(dx));
        Check.OptionalLength(dgamma.Length, features, nameof(dgamma));
        Check.OptionalLength(dbeta.Length, features, nameof(dbeta));
        double[] sums = ArrayPool<double>.Shared.Rent(2 * features);
        Span<double> dg = sums.AsSpan(0, features), db = sums.AsSpan(features, features);
        dg.Clear();
        db.Clear();
        double dalpha = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int f = i % features;
            double xv = Num.ToDouble(x[i]), d = Num.ToDouble(dy[i]);
            double t = Math.Tanh(alpha * xv);
            double g = gamma.IsEmpty ? d : d * Num.ToDouble(gamma[f]);
            double slope = g * (1 - t * t);
            dx[i] = Num.FromDouble<T>(slope * alpha);
            dalpha += slope * xv;
            dg[f] += d * t;
            db[f] += d;
        }
        for (int f = 0; f < dgamma.Length; f++) dgamma[f] = Num.FromDouble<T>(dg[f]);
        for (int f = 0; f < dbeta.Length; f++) dbeta[f] = Num.FromDouble<T>(db[f]);
        ArrayPool<double>.Shared.Return(sums);
        return dalpha;
    }

    private static void Validate(int length, int features, int gamma, int beta, double alpha)
    {
        Check.Positive(features, nameof(features));
        if (length == 0) throw Check.Fail("x", "a non-empty tensor", "0 elements");
        if (length % features != 0) throw Check.Fail("x", $"a length divisible by features = {features}", length.ToString());
        Check.OptionalLength(gamma, features, nameof(gamma));
        Check.OptionalLength(beta, features, nameof(beta));
        if (!double.IsFinite(alpha)) throw Check.Fail(nameof(alpha), "a finite value", Check.Fmt(alpha));
    }
}
