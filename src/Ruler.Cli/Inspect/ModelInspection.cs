using Ruler;

namespace Ruler.Cli.Inspect;

/// <summary>One normalization with its static description and, after a run, what it measured.</summary>
internal sealed record NormalizationReport(
    FoundNormalization Found, RulerSpec? Ruler, ParameterSummary? Gamma, ParameterSummary? Beta,
    InputStatistics? Input, RecomputeCheck? Check);

/// <summary>The residual stream after one residual addition: its RMS and largest magnitude on the run.</summary>
internal sealed record StreamPoint(int Block, string Name, double Rms, double MaxAbs, string? NormalizedBy);

/// <summary>Everything `ruler inspect` reports about a model.</summary>
internal sealed record ModelInspection(
    string Path, long IrVersion, int Opset, string Producer, int NodeCount,
    IReadOnlyList<NormalizationReport> Normalizations, IReadOnlyList<ResidualAdd> ResidualAdds,
    IReadOnlyList<string>? Inputs, IReadOnlyList<StreamPoint>? Stream)
{
    /// <summary>Static analysis of a model file, then dynamic analysis when <paramref name="inputs"/> is given.</summary>
    public static ModelInspection Run(string path, ModelRun.InputOptions? inputs)
    {
        var graph = OnnxGraph.Load(path);
        List<FoundNormalization> found;
        List<ResidualAdd> residuals;
        try { found = NormalizationFinder.Find(graph, out residuals); }
        catch (InspectException) { throw; }
        catch (Exception e) when (e is InvalidDataException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or OverflowException)
        {
            throw new InspectException($"{path}: a corrupted ONNX model: {e.Message}");
        }

        string producer = (graph.Model.ProducerName + " " + graph.Model.ProducerVersion).Trim();
        if (inputs is null)
        {
            var reports = found.Select(n => new NormalizationReport(n, SafeRuler(n, n.InputRank), Summary(graph, n.Gamma), Summary(graph, n.Beta), null, null)).ToList();
            return new ModelInspection(path, graph.Model.IrVersion, graph.Opset, producer, graph.Nodes.Count, reports, residuals, null, null);
        }

        var fed = ModelRun.Inputs(graph, inputs);
        var capture = found.SelectMany(n => new[] { n.Input, n.Output }.Concat(n.AddedToInput)
                .Concat(new[] { n.Gamma, n.Beta, n.RunningMean, n.RunningVar }.OfType<string>().Where(v => !graph.IsConstant(v))))
            .Concat(residuals.Select(r => r.Output));
        var captured = ModelRun.Run(graph, fed, capture);

        var dynamic = new List<NormalizationReport>();
        foreach (var n in found)
        {
            var op = Operands(graph, n, captured);
            var ruler = SafeRuler(n, op.Shape.Length);
            InputStatistics? stats = null;
            RecomputeCheck? check = null;
            if (ruler is not null && ShapeFits(n, op))
            {
                stats = NormStatistics.Measure(n, op);
                check = NormStatistics.Check(n, op);
            }
            dynamic.Add(new NormalizationReport(n, ruler, Summary(graph, n.Gamma, captured), Summary(graph, n.Beta, captured), stats, check));
        }
        var stream = new List<StreamPoint>();
        for (int i = 0; i < residuals.Count; i++)
        {
            var t = captured[residuals[i].Output];
            double sq = 0, max = 0;
            foreach (double v in t.Values) { sq += v * v; max = Math.Max(max, Math.Abs(v)); }
            string? by = found.FirstOrDefault(n => n.Input == residuals[i].Output)?.Name;
            stream.Add(new StreamPoint(i + 1, residuals[i].Name, t.Values.Length == 0 ? double.NaN : Math.Sqrt(sq / t.Values.Length), max, by));
        }
        return new ModelInspection(path, graph.Model.IrVersion, graph.Opset, producer, graph.Nodes.Count, dynamic, residuals,
            fed.Select(f => $"{f.Name}: {f.Origin}").ToList(), stream);
    }

    private static RulerSpec? SafeRuler(FoundNormalization n, int? rank)
    {
        try { return n.Ruler(rank); }
        catch (ArgumentException) { return null; }
    }

    /// <summary>Whether the captured tensors have the sizes the ruler needs (GroupNorm's group count divides C, parameters fit).</summary>
    private static bool ShapeFits(FoundNormalization n, NormStatistics.Operands op)
    {
        if (op.X.Length != op.Y.Length || op.X.Length == 0) return false;
        try
        {
            int[] view = NormStatistics.RulerShape(n, op.Shape);
            var layout = n.Ruler(op.Shape.Length)!.Resolve(view);
            int affine = layout.AffineSize;
            bool Fits(double[]? p) => p is null || NormStatistics.AffineValues(n, p, op.Shape)!.Length == affine;
            if (!Fits(op.Gamma) || !Fits(op.Beta)) return false;
            if (n.Kind == NormKind.BatchNorm && (op.RunningMean?.Length ?? layout.GroupCount) != layout.GroupCount) return false;
            return true;
        }
        catch (ArgumentException) { return false; }
    }

    private static NormStatistics.Operands Operands(OnnxGraph graph, FoundNormalization n, Dictionary<string, CapturedTensor> captured)
    {
        var x = captured[n.Input];
        double[] values = x.Values;
        foreach (string added in n.AddedToInput)
        {
            double[] a = Value(graph, added, captured) ?? [];
            if (a.Length == 0 || values.Length % a.Length != 0) continue;
            values = values.Select((v, i) => v + a[i % a.Length]).ToArray();
        }
        var y = captured[n.Output];
        return new NormStatistics.Operands(values, x.Shape, y.Values, y.ElementType,
            Value(graph, n.Gamma, captured), Value(graph, n.Beta, captured), Value(graph, n.RunningMean, captured), Value(graph, n.RunningVar, captured));
    }

    private static double[]? Value(OnnxGraph graph, string? name, Dictionary<string, CapturedTensor>? captured) =>
        name is null ? null : graph.ConstantValues(name) ?? (captured is not null && captured.TryGetValue(name, out var t) ? t.Values : null);

    private static ParameterSummary? Summary(OnnxGraph graph, string? name, Dictionary<string, CapturedTensor>? captured = null) =>
        Value(graph, name, captured) is { } v ? ParameterSummary.Of(v) : null;
}
