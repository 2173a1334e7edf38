namespace Ruler.Internal;

/// <summary>
/// The last check before pinning: each span against the layout the kernel will loop over. Public entry points
/// validate first with their own messages, so these fire only if internal state went wrong (for example a module
/// instance used by two threads at once); then the call stops before any pointer is taken.
/// </summary>
internal static class Bounds
{
    public static void Require(int length, long expected, string span)
    {
        if (length != expected) throw Fail(span, length, $"{expected}");
    }

    /// <summary>An optional span: empty, or exactly the expected length.</summary>
    public static void Optional(int length, long expected, string span)
    {
        if (length != 0 && length != expected) throw Fail(span, length, $"0 or {expected}");
    }

    public static void Affine(RulerLayout layout, int gamma, int beta)
    {
        Optional(gamma, layout.AffineSize, nameof(gamma));
        Optional(beta, layout.AffineSize, nameof(beta));
    }

    public static void Stats(RulerLayout layout, int mean, int rstd)
    {
        Require(mean, layout.GroupCount, nameof(mean));
        Require(rstd, layout.GroupCount, nameof(rstd));
    }

    private static InvalidOperationException Fail(string span, int length, string expected) =>
        new($"Kernel bounds: {span} has length {length} where the layout needs {expected}; refused before any memory was touched " +
            "(is one module instance being used by two threads at once?).");
}
