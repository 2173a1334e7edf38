using System.Numerics;
using Ruler;

namespace Ruler.Cli.Inspect;

/// <summary>min / median / max of a set of values.</summary>
internal sealed record Spread(double Min, double Median, double Max)
{
    public static Spread Of(IReadOnlyCollection<double> values)
    {
        if (values.Count == 0) return new Spread(double.NaN, double.NaN, double.NaN);
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        double median = n % 2 == 1 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
        return new Spread(sorted[0], median, sorted[^1]);
    }
}

/// <summary>Summary of a parameter tensor (γ, β, running statistics).</summary>
internal sealed record ParameterSummary(int Count, double Min, double Max, double Mean, int NearZero)
{
    /// <summary>|value| at or below this counts as near zero.</summary>
    public const double NearZeroBound = 1e-3;

    public static ParameterSummary Of(double[] v) =>
        new(v.Length, v.Length == 0 ? double.NaN : v.Min(), v.Length == 0 ? double.NaN : v.Max(),
            v.Length == 0 ? double.NaN : v.Average(), v.Count(x => Math.Abs(x) <= NearZeroBound));
}

/// <summary>A feature (last dim for LayerNorm/RMSNorm, channel for the others) whose magnitude stands out.</summary>
internal sealed record OutlierFeature(int Index, double Rms, double RatioToMedian);

/// <summary>What one normalization's input looked like on the run, and how Ruler's recomputation compares.</summary>
internal sealed record InputStatistics(
    int[] Shape, int Groups, long GroupSize,
    Spread GroupMean, Spread GroupRms, int LoudestGroup, double MaxAbs,
    int FeatureAxis, int FeatureCount, double MedianFeatureRms, IReadOnlyList<OutlierFeature> Outliers, double[] FeatureRms,
    int LowVarianceGroups, double SmallestVariance,
    double Fp16MaxSumOfSquares, int Fp16OverflowGroups,
    double OutputRms);

/// <summary>
/// Differences of the recomputation, each the largest |a − b| / max(1, |b|) over the output (absolute below 1,
/// relative above): Ruler (in the model's element type) vs ONNX Runtime's output, Ruler vs a float64 computation,
/// and ONNX Runtime vs that float64 computation.
/// </summary>
internal sealed record RecomputeCheck(double RulerVsOnnxRuntime, double RulerVsFloat64, double OnnxRuntimeVsFloat64);

/// <summary>Per-normalization statistics from captured tensors and the recomputation with Ruler.</summary>
internal static class NormStatistics
{
    /// <summary>A feature is an outlier when its RMS is at least this many times the median feature RMS.</summary>
    public const double OutlierFactor = 6;

    /// <summary>Groups whose variance (mean square without centering) is below this many eps are reported.</summary>
    public const double LowVarianceFactor = 10;

    /// <summary>The largest finite float16.</summary>
    public const double Fp16Max = 65504;

    /// <summary>Everything the normalization sees, resolved to concrete arrays.</summary>
    internal sealed record Operands(double[] X, int[] Shape, double[] Y, int ElementType, double[]? Gamma, double[]? Beta, double[]? RunningMean, double[]? RunningVar);

    /// <summary>The shape the ruler is applied to (GroupNorm: the (N, G, C/G, S) view; otherwise the input's).</summary>
    public static int[] RulerShape(FoundNormalization n, int[] shape) =>
        n.Kind == NormKind.GroupNorm ? RulerSpec.GroupNormView(shape, n.Groups) : shape;

    /// <summary>γ or β laid out for the ruler's affine axes (GroupNorm opset 18 has one value per group: repeated per channel).</summary>
    public static double[]? AffineValues(FoundNormalization n, double[]? values, int[] shape)
    {
        if (values is null || n.Kind != NormKind.GroupNorm) return values;
        int c = shape[1];
        if (values.Length == c || values.Length != n.Groups) return values;
        return Enumerable.Range(0, c).Select(i => values[i / (c / n.Groups)]).ToArray();
    }

    public static InputStatistics Measure(FoundNormalization n, Operands op)
    {
        int[] shape = op.Shape;
        var spec = n.Ruler(shape.Length) ?? throw new InvalidOperationException("ruler unresolved");
        int[] view = RulerShape(n, shape);
        var groups = new GroupIndex(view, Resolve(spec.ReducedAxes, view.Length), Resolve(spec.AffineAxes, view.Length));
        int g = groups.GroupCount;
        var sum = new double[g];
        var sumSq = new double[g];
        long[] count = new long[g];
        double maxAbs = 0;
        for (int i = 0; i < op.X.Length; i++)
        {
            int k = groups.Group[i];
            double x = op.X[i];
            sum[k] += x;
            sumSq[k] += x * x;
            count[k]++;
            maxAbs = Math.Max(maxAbs, Math.Abs(x));
        }
        var mean = new double[g];
        for (int k = 0; k < g; k++) mean[k] = sum[k] / count[k];
        var dev = new double[g];
        for (int i = 0; i < op.X.Length; i++)
        {
            double d = op.X[i] - mean[groups.Group[i]];
            dev[groups.Group[i]] += d * d;
        }
        var spread = new double[g];
        for (int k = 0; k < g; k++) spread[k] = n.Center ? dev[k] / count[k] : sumSq[k] / count[k];
        var rms = Enumerable.Range(0, g).Select(k => Math.Sqrt(sumSq[k] / count[k])).ToArray();

        int featureAxis = n.Kind is NormKind.LayerNorm or NormKind.RmsNorm ? shape.Length - 1 : 1;
        int features = shape[featureAxis];
        int inner = 1;
        for (int a = featureAxis + 1; a < shape.Length; a++) inner *= shape[a];
        var featureSq = new double[features];
        var featureCount = new long[features];
        for (int i = 0; i < op.X.Length; i++)
        {
            int f = i / inner % features;
            featureSq[f] += op.X[i] * op.X[i];
            featureCount[f]++;
        }
        var featureRms = Enumerable.Range(0, features).Select(f => Math.Sqrt(featureSq[f] / featureCount[f])).ToArray();
        double medianFeature = Spread.Of(featureRms).Median;
        var outliers = Enumerable.Range(0, features)
            .Where(f => medianFeature > 0 ? featureRms[f] >= OutlierFactor * medianFeature : featureRms[f] > 0)
            .Select(f => new OutlierFeature(f, featureRms[f], medianFeature > 0 ? featureRms[f] / medianFeature : double.PositiveInfinity))
            .OrderByDescending(o => o.Rms).ToList();

        double outSq = 0;
        foreach (double y in op.Y) outSq += y * y;

        return new InputStatistics(shape, g, op.X.Length / Math.Max(1, g),
            Spread.Of(mean), Spread.Of(rms), g == 0 ? -1 : Array.IndexOf(rms, rms.Max()), maxAbs,
            featureAxis, features, medianFeature, outliers, featureRms,
            spread.Count(v => v < LowVarianceFactor * n.Eps), spread.Length == 0 ? double.NaN : spread.Min(),
            sumSq.Length == 0 ? 0 : sumSq.Max(), sumSq.Count(s => s > Fp16Max),
            op.Y.Length == 0 ? double.NaN : Math.Sqrt(outSq / op.Y.Length));
    }

    /// <summary>
    /// Recomputes the normalization with Ruler in the element type ONNX Runtime produced (float32 unless the model
    /// is float64 or float16) and with a float64 computation written here from the definition (two-pass mean and
    /// variance per group; BatchNorm in eval mode uses the running statistics), and compares both with ONNX Runtime.
    /// </summary>
    public static RecomputeCheck Check(FoundNormalization n, Operands op)
    {
        var spec = n.Ruler(op.Shape.Length) ?? throw new InvalidOperationException("ruler unresolved");
        int[] view = RulerShape(n, op.Shape);
        double[]? gamma = AffineValues(n, op.Gamma, op.Shape), beta = AffineValues(n, op.Beta, op.Shape);
        double[] reference = Float64(n, spec, view, op.X, gamma, beta, op.RunningMean, op.RunningVar);
        double[] ruler = op.ElementType switch
        {
            OnnxTensors.Double => WithRuler<double>(n, spec, view, op, gamma, beta),
            OnnxTensors.Float16 => WithRuler<Half>(n, spec, view, op, gamma, beta),
            _ => WithRuler<float>(n, spec, view, op, gamma, beta),
        };
        return new RecomputeCheck(MaxDifference(ruler, op.Y), MaxDifference(ruler, reference), MaxDifference(op.Y, reference));
    }

    /// <summary>max over i of |a − b| / max(1, |b|); infinity when the lengths differ or a value is NaN in one but not the other.</summary>
    public static double MaxDifference(double[] a, double[] b)
    {
        if (a.Length != b.Length) return double.PositiveInfinity;
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            if (double.IsNaN(a[i]) != double.IsNaN(b[i])) return double.PositiveInfinity;
            if (double.IsNaN(a[i])) continue;
            worst = Math.Max(worst, Math.Abs(a[i] - b[i]) / Math.Max(1, Math.Abs(b[i])));
        }
        return worst;
    }

    private static double[] WithRuler<T>(FoundNormalization n, RulerSpec spec, int[] view, Operands op, double[]? gamma, double[]? beta)
        where T : unmanaged, INumberBase<T>
    {
        T[] Narrow(double[]? v) => v is null ? [] : v.Select(T.CreateTruncating).ToArray();
        T[] x = Narrow(op.X), g = Narrow(gamma), b = Narrow(beta);
        var y = new T[x.Length];
        var layout = spec.Resolve(view);
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        if (n.Kind == NormKind.BatchNorm && !n.BatchStatistics && op.RunningMean is { } rm && op.RunningVar is { } rv)
        {
            for (int c = 0; c < mean.Length; c++) { mean[c] = rm[c]; rstd[c] = 1 / Math.Sqrt(rv[c] + n.Eps); }
            RulerOps.Normalize<T>(spec, x, view, mean, rstd, g, b, y);
        }
        else RulerOps.Forward<T>(spec, x, view, g, b, y, mean, rstd);
        return y.Select(double.CreateTruncating).ToArray();
    }

    private static double[] Float64(FoundNormalization n, RulerSpec spec, int[] view, double[] x, double[]? gamma, double[]? beta,
        double[]? runningMean, double[]? runningVar)
    {
        var index = new GroupIndex(view, Resolve(spec.ReducedAxes, view.Length), Resolve(spec.AffineAxes, view.Length));
        int g = index.GroupCount;
        var mean = new double[g];
        var rstd = new double[g];
        if (n.Kind == NormKind.BatchNorm && !n.BatchStatistics && runningMean is not null && runningVar is not null)
        {
            for (int k = 0; k < g; k++) { mean[k] = runningMean[k]; rstd[k] = 1 / Math.Sqrt(runningVar[k] + n.Eps); }
        }
        else
        {
            var sum = new double[g];
            var count = new long[g];
            for (int i = 0; i < x.Length; i++) { sum[index.Group[i]] += x[i]; count[index.Group[i]]++; }
            if (n.Center) for (int k = 0; k < g; k++) mean[k] = sum[k] / count[k];
            var sq = new double[g];
            for (int i = 0; i < x.Length; i++) { double d = x[i] - mean[index.Group[i]]; sq[index.Group[i]] += d * d; }
            for (int k = 0; k < g; k++) rstd[k] = 1 / Math.Sqrt(sq[k] / count[k] + n.Eps);
        }
        var y = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int k = index.Group[i], a = index.Affine[i];
            double v = (x[i] - mean[k]) * rstd[k];
            if (gamma is { Length: > 0 }) v *= gamma[a];
            if (beta is { Length: > 0 }) v += beta[a];
            y[i] = v;
        }
        return y;
    }

    private static int[] Resolve(IReadOnlyList<int> axes, int rank) => axes.Select(a => a < 0 ? a + rank : a).ToArray();

    /// <summary>For every element of a row-major tensor: its group (row-major over the kept axes) and affine index (row-major over the affine axes).</summary>
    private sealed class GroupIndex
    {
        public GroupIndex(int[] shape, int[] reduced, int[] affine)
        {
            int rank = shape.Length;
            long total = shape.Aggregate(1L, (p, d) => p * d);
            Group = new int[total];
            Affine = new int[total];
            var kept = Enumerable.Range(0, rank).Where(a => !reduced.Contains(a)).ToArray();
            GroupCount = kept.Aggregate(1, (p, a) => p * shape[a]);
            var idx = new int[rank];
            for (long i = 0; i < total; i++)
            {
                int gid = 0, aid = 0;
                foreach (int a in kept) gid = gid * shape[a] + idx[a];
                foreach (int a in affine) aid = aid * shape[a] + idx[a];
                Group[i] = gid;
                Affine[i] = aid;
                for (int a = rank - 1; a >= 0; a--)
                {
                    if (++idx[a] < shape[a]) break;
                    idx[a] = 0;
                }
            }
        }

        public int[] Group { get; }
        public int[] Affine { get; }
        public int GroupCount { get; }
    }
}
