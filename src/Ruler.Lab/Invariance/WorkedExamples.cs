namespace Ruler.Lab.Invariance;

/// <summary>One vector, its population mean and std, and the vector normalized with them (eps = 0).</summary>
/// <param name="Label">What the vector is, e.g. "shifted by 100".</param>
/// <param name="Input">The vector.</param>
/// <param name="Mean">Its mean.</param>
/// <param name="Std">Its population standard deviation.</param>
/// <param name="Normalized">(x − mean) / std.</param>
public sealed record WorkedExample(string Label, double[] Input, double Mean, double Std, double[] Normalized);

/// <summary>The essay's worked examples, computed by the library: shift and scale vanish, the pattern stays.</summary>
public static class WorkedExamples
{
    private static readonly (string Label, double[] Input)[] Inputs =
    [
        ("base", [1, 2, 3]),
        ("shifted by 100", [101, 102, 103]),
        ("scaled by 10", [10, 20, 30]),
        ("A", [8, 10, 12]),
        ("B = 10 A", [80, 100, 120]),
    ];

    /// <summary>
    /// Measures each vector with <see cref="RulerOps.Moments{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, Span{GroupMoments})"/> (one ruler over the whole vector) and normalizes it
    /// with <see cref="RulerOps.Normalize{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{double}, ReadOnlySpan{double}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T})"/> using rstd = 1/√var, i.e. eps = 0 as in the essay (a ruler's own eps
    /// must be &gt; 0, so the statistics are turned into rstd here rather than by <see cref="RulerOps.Statistics"/>).
    /// </summary>
    public static IReadOnlyList<WorkedExample> Compute()
    {
        var ruler = new RulerSpec([0]);
        var result = new List<WorkedExample>();
        foreach (var (label, input) in Inputs)
        {
            int[] shape = [input.Length];
            var moments = new GroupMoments[1];
            RulerOps.Moments<double>(ruler, input, shape, moments);
            double mean = moments[0].Mean, std = Math.Sqrt(moments[0].Variance);
            var y = new double[input.Length];
            RulerOps.Normalize<double>(ruler, input, shape, [mean], [1 / std], [], [], y);
            result.Add(new WorkedExample(label, input, mean, std, y));
        }
        return result;
    }
}
