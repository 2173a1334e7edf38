using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Ruler.Internal;

/// <summary>
/// The one place the normalization statistics are written: mean = the group mean (0 without centering) and
/// rstd = 1/√(v + eps), v = the biased variance M2/n (with centering) or the mean square M2/n + mean² (without).
/// Every kernel, <see cref="RulerOps.Statistics"/> and the running statistics call these; the vector form is the
/// same operations lane by lane (division and square root are correctly rounded, so lanes equal the scalar bits).
/// </summary>
internal static class GroupStatistics
{
    /// <summary>rstd = 1/√(v + eps) for a variance (or mean square) v.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Rstd(double variance, double eps) => 1 / Math.Sqrt(variance + eps);

    /// <summary>(mean, rstd) of a group's moments.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (double Mean, double Rstd) Of(GroupMoments m, bool center, double eps) =>
        (center ? m.Mean : 0, Rstd(center ? m.Variance : m.MeanSquare, eps));

    /// <summary><see cref="Of(GroupMoments, bool, double)"/> for eight groups of n elements at once, from their means and M2 in the lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<double> Mean, Vector512<double> Rstd) Of(Vector512<double> mean, Vector512<double> m2, int n, bool center, double eps)
    {
        var square = m2 / Vector512.Create((double)n);   // M2/n: the biased variance
        if (!center) square += mean * mean;             // + mean²: the mean square
        return (center ? mean : default, Vector512<double>.One / Vector512.Sqrt(square + Vector512.Create(eps)));
    }
}
