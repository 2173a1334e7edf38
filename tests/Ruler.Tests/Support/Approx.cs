using System.Globalization;

namespace Ruler.Tests.Support;

/// <summary>Comparisons that report the worst element, so a failing tolerance says where and by how much.</summary>
internal static class Approx
{
    /// <summary>Every element: |actual − expected| ≤ abs + rel·|expected|.</summary>
    public static void Elementwise(double[] expected, double[] actual, double abs, double rel, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        int worst = -1;
        double worstExcess = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            double err = Math.Abs(actual[i] - expected[i]);
            double allowed = abs + rel * Math.Abs(expected[i]);
            bool bad = !(err <= allowed) && !(double.IsNaN(expected[i]) && double.IsNaN(actual[i])) && !(expected[i] == actual[i]);
            if (bad && (worst < 0 || err - allowed > worstExcess || double.IsNaN(err))) { worst = i; worstExcess = err - allowed; }
        }
        if (worst >= 0)
            Assert.Fail($"{what}: element {worst} expected {F(expected[worst])}, got {F(actual[worst])} " +
                        $"(|error| {F(Math.Abs(actual[worst] - expected[worst]))} > {F(abs)} + {F(rel)}·|expected|)");
    }

    /// <summary>Norm-wise relative error: max|actual − expected| / max|expected| ≤ tolerance (and both finite).</summary>
    public static double NormwiseRelative(double[] expected, double[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(double.IsFinite(actual[i]), $"{what}: element {i} is {F(actual[i])}, expected a finite value near {F(expected[i])}");
            maxErr = Math.Max(maxErr, Math.Abs(actual[i] - expected[i]));
            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }
        double rel = maxRef == 0 ? maxErr : maxErr / maxRef;
        Assert.True(rel <= tolerance, $"{what}: norm-wise relative error {F(rel)} > {F(tolerance)} (max |error| {F(maxErr)}, max |expected| {F(maxRef)})");
        return rel;
    }

    public static void Bitwise(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            if (BitConverter.DoubleToInt64Bits(expected[i]) != BitConverter.DoubleToInt64Bits(actual[i]))
                Assert.Fail($"{what}: element {i} expected {F(expected[i])}, got {F(actual[i])} (not bitwise equal)");
    }

    public static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);
}
