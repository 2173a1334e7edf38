namespace Ruler.Cli.Explain;

/// <summary>One vector, its population mean and std, and what LayerNorm makes of it.</summary>
internal sealed record WorkedExample(string Label, double[] Input, double Mean, double Std, double[] Normalized);

/// <summary>The essay's worked examples, computed by the library: shift and scale vanish, the pattern stays.</summary>
internal static class WorkedExamples
{
    private static readonly (string Label, double[] Input)[] Inputs =
    [
        ("base", [1, 2, 3]),
        ("shifted by 100", [101, 102, 103]),
        ("scaled by 10", [10, 20, 30]),
        ("A", [8, 10, 12]),
        ("B = 10 A", [80, 100, 120]),
    ];

    public static IReadOnlyList<WorkedExample> Compute()
    {
        var result = new List<WorkedExample>();
        foreach (var (label, input) in Inputs)
        {
            var moments = GroupMoments.Of(input);
            var layerNorm = new LayerNorm<double>([input.Length]);
            var y = new double[input.Length];
            layerNorm.Forward(input, [1, input.Length], y);
            result.Add(new WorkedExample(label, input, moments.Mean, Math.Sqrt(moments.Variance), y));
        }
        return result;
    }
}
