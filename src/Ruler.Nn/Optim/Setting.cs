namespace Ruler.Nn.Optim;

/// <summary>Validation of optimizer, schedule and clipping settings, with one message shape: name, expectation, value.</summary>
internal static class Setting
{
    public static double NonNegative(double value, string argument) =>
        double.IsFinite(value) && value >= 0 ? value : throw Fail(argument, "a finite value >= 0", value);

    public static double Positive(double value, string argument) =>
        double.IsFinite(value) && value > 0 ? value : throw Fail(argument, "a finite value > 0", value);

    /// <summary>A value in [0, 1], or [0, 1) when <paramref name="oneAllowed"/> is false.</summary>
    public static double Fraction(double value, string argument, bool oneAllowed) =>
        value >= 0 && (oneAllowed ? value <= 1 : value < 1) ? value : throw Fail(argument, oneAllowed ? "a value in [0, 1]" : "a value in [0, 1)", value);

    private static ArgumentOutOfRangeException Fail(string argument, string expected, double value) =>
        new(argument, value, $"{argument}: expected {expected}, got {value:R}.");
}
