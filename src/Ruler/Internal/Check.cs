using System.Numerics;

namespace Ruler.Internal;

/// <summary>Argument validation with one message shape: which argument, what was expected, what was given.</summary>
internal static class Check
{
    public static ArgumentException Fail(string argument, string expected, string given) =>
        new($"{argument}: expected {expected}, got {given}.", argument);

    public static void Eps(double eps, string argument = "eps")
    {
        if (!double.IsFinite(eps) || eps < 0)
            throw Fail(argument, "a finite value >= 0", Fmt(eps));
    }

    public static void Momentum(double? momentum, string argument = "momentum")
    {
        if (momentum is double m && (!double.IsFinite(m) || m < 0 || m > 1))
            throw Fail(argument, "a value in [0, 1] (or null for a cumulative average)", Fmt(m));
    }

    public static void Positive(int value, string argument)
    {
        if (value <= 0) throw Fail(argument, "a positive integer", value.ToString());
    }

    public static void Length(int length, long expected, string argument)
    {
        if (length != expected) throw Fail(argument, $"length {expected}", $"length {length}");
    }

    /// <summary>An optional buffer: empty means "absent", otherwise it must have the expected length.</summary>
    public static void OptionalLength(int length, long expected, string argument)
    {
        if (length != 0 && length != expected)
            throw Fail(argument, $"length {expected} (or empty to omit it)", $"length {length}");
    }

    public static long Shape(ReadOnlySpan<int> shape, string argument = "shape")
    {
        if (shape.Length == 0) throw Fail(argument, "a shape of rank >= 1", "rank 0");
        long count = 1;
        foreach (int d in shape)
        {
            if (d <= 0) throw Fail(argument, "every dimension > 0 (empty tensors cannot be normalized)", ShapeText(shape));
            count *= d;
            if (count > int.MaxValue) throw Fail(argument, $"at most {int.MaxValue} elements", ShapeText(shape));
        }
        return count;
    }

    public static void ElementType<T>()
    {
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double) && typeof(T) != typeof(Half) && typeof(T) != typeof(BFloat16))
            throw new NotSupportedException($"element type: expected float, double, Half or BFloat16, got {typeof(T).Name}.");
    }

    public static string ShapeText(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    public static string Fmt(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
