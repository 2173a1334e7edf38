namespace Ruler.Internal;

/// <summary>The backward's input check shared by the modules: the input must still have the statistics the forward saved.</summary>
internal static class SavedStatistics
{
    /// <summary>
    /// Measures x again and refuses it unless every group's statistics are the saved ones, to a relative 1e-9 in
    /// float32/16-bit storage and 1e-13 in float64 (the same x gives the same bits): the backward's formula is the
    /// gradient at x only with x's own statistics.
    /// </summary>
    public static void Verify<T>(RulerLayout layout, ReadOnlySpan<T> x, double[] mean, double[] rstd, ref GroupMoments[] scratch, string argument)
        where T : unmanaged
    {
        var moments = scratch.Length == layout.GroupCount ? scratch : scratch = new GroupMoments[layout.GroupCount];
        Kernels.Moments(layout, x, moments);
        double tolerance = typeof(T) == typeof(double) ? 1e-13 : 1e-9;
        for (int g = 0; g < moments.Length; g++)
        {
            var (m, r) = GroupStatistics.Of(moments[g], layout.Ruler.Center, layout.Ruler.Eps);
            bool same = (m.Equals(mean[g]) && r.Equals(rstd[g]))                                    // bits (NaN included)
                || (Math.Abs(m - mean[g]) * rstd[g] <= tolerance && Math.Abs(r - rstd[g]) <= tolerance * rstd[g]);
            if (!same)
                throw Check.Fail(argument, $"the input of the last Forward (group {g}: mean {Check.Fmt(mean[g])}, rstd {Check.Fmt(rstd[g])})",
                    $"an input whose group {g} has mean {Check.Fmt(m)}, rstd {Check.Fmt(r)} (changed since the Forward, or another tensor)");
        }
    }
}

/// <summary>The error of a module asked for an affine parameter it does not have.</summary>
internal static class AffineState
{
    public static InvalidOperationException Missing(Type module, string property, string symbol, string hasProperty) =>
        new($"{ModuleName(module)}.{property}: this layer has no {symbol} (it was created with its affine parameters, or its bias, turned off); " +
            $"check {hasProperty} before using {property}.");

    public static string ModuleName(Type t) =>
        t.IsGenericType ? $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(", ", t.GetGenericArguments().Select(a => a.Name))}>" : t.Name;
}
