using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Ruler.Cli.Inspect;

/// <summary>
/// The JSON report: { model: {path, ir_version, opset, producer, nodes}, inputs?, normalizations: [...], residual_stream? }.
/// Numbers that are not finite are written as null.
/// </summary>
internal static class InspectJson
{
    public static string Render(ModelInspection m)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteStartObject("model");
            w.WriteString("path", m.Path);
            w.WriteNumber("ir_version", m.IrVersion);
            w.WriteNumber("opset", m.Opset);
            w.WriteString("producer", m.Producer);
            w.WriteNumber("nodes", m.NodeCount);
            w.WriteNumber("residual_additions", m.ResidualAdds.Count);
            w.WriteEndObject();
            if (m.Inputs is not null)
            {
                w.WriteStartArray("inputs");
                foreach (string i in m.Inputs) w.WriteStringValue(i);
                w.WriteEndArray();
            }
            w.WriteStartArray("normalizations");
            foreach (var r in m.Normalizations) Normalization(w, r);
            w.WriteEndArray();
            if (m.Stream is not null)
            {
                w.WriteStartArray("residual_stream");
                foreach (var p in m.Stream)
                {
                    w.WriteStartObject();
                    w.WriteNumber("block", p.Block);
                    w.WriteString("name", p.Name);
                    Num(w, "rms", p.Rms);
                    Num(w, "max_abs", p.MaxAbs);
                    if (p.NormalizedBy is null) w.WriteNull("normalized_by"); else w.WriteString("normalized_by", p.NormalizedBy);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static void Normalization(Utf8JsonWriter w, NormalizationReport r)
    {
        var n = r.Found;
        w.WriteStartObject();
        w.WriteString("name", n.Name);
        w.WriteString("kind", n.Kind.ToString());
        w.WriteString("source", n.Source);
        Num(w, "eps", n.Eps);
        if (r.Ruler is { } spec)
        {
            w.WriteStartObject("ruler");
            Ints(w, "reduced_axes", spec.ReducedAxes);
            w.WriteBoolean("center", spec.Center);
            Ints(w, "affine_axes", spec.AffineAxes);
            if (n.Kind == NormKind.GroupNorm)
            {
                w.WriteNumber("groups", n.Groups);
                w.WriteString("view", "(N, G, C/G, spatial)");
            }
            w.WriteEndObject();
        }
        else w.WriteNull("ruler");
        w.WriteString("placement", n.Placement.ToString().ToLowerInvariant());
        w.WriteString("input", n.Input);
        w.WriteString("output", n.Output);
        w.WriteStartArray("nodes");
        foreach (string node in n.Nodes) w.WriteStringValue(node);
        w.WriteEndArray();
        Parameter(w, "gamma", r.Gamma);
        Parameter(w, "beta", r.Beta);
        if (r.Input is { } i)
        {
            w.WriteStartObject("input_statistics");
            Ints(w, "shape", i.Shape);
            w.WriteNumber("groups", i.Groups);
            w.WriteNumber("group_size", i.GroupSize);
            SpreadObject(w, "group_mean", i.GroupMean);
            SpreadObject(w, "group_rms", i.GroupRms);
            w.WriteNumber("loudest_group", i.LoudestGroup);
            Num(w, "max_abs", i.MaxAbs);
            w.WriteNumber("feature_axis", i.FeatureAxis);
            w.WriteNumber("features", i.FeatureCount);
            Num(w, "median_feature_rms", i.MedianFeatureRms);
            Num(w, "outlier_factor", NormStatistics.OutlierFactor);
            w.WriteStartArray("outlier_features");
            foreach (var o in i.Outliers)
            {
                w.WriteStartObject();
                w.WriteNumber("index", o.Index);
                Num(w, "rms", o.Rms);
                Num(w, "ratio_to_median", o.RatioToMedian);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteNumber("low_variance_groups", i.LowVarianceGroups);
            Num(w, "smallest_group_variance", i.SmallestVariance);
            Num(w, "fp16_max_sum_of_squares", i.Fp16MaxSumOfSquares);
            w.WriteNumber("fp16_overflow_groups", i.Fp16OverflowGroups);
            Num(w, "output_rms", i.OutputRms);
            w.WriteEndObject();
        }
        if (r.Check is { } c)
        {
            w.WriteStartObject("check");
            w.WriteString("metric", "max |a - b| / max(1, |b|)");
            Num(w, "ruler_vs_onnxruntime", c.RulerVsOnnxRuntime);
            Num(w, "ruler_vs_float64", c.RulerVsFloat64);
            Num(w, "onnxruntime_vs_float64", c.OnnxRuntimeVsFloat64);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    private static void Parameter(Utf8JsonWriter w, string name, ParameterSummary? p)
    {
        if (p is null) { w.WriteNull(name); return; }
        w.WriteStartObject(name);
        w.WriteNumber("count", p.Count);
        Num(w, "min", p.Min);
        Num(w, "max", p.Max);
        Num(w, "mean", p.Mean);
        w.WriteNumber("near_zero", p.NearZero);
        Num(w, "near_zero_bound", ParameterSummary.NearZeroBound);
        w.WriteEndObject();
    }

    private static void SpreadObject(Utf8JsonWriter w, string name, Spread s)
    {
        w.WriteStartObject(name);
        Num(w, "min", s.Min);
        Num(w, "median", s.Median);
        Num(w, "max", s.Max);
        w.WriteEndObject();
    }

    private static void Ints(Utf8JsonWriter w, string name, IEnumerable<int> values)
    {
        w.WriteStartArray(name);
        foreach (int v in values) w.WriteNumberValue(v);
        w.WriteEndArray();
    }

    private static void Num(Utf8JsonWriter w, string name, double v)
    {
        if (double.IsFinite(v)) w.WriteNumber(name, v); else w.WriteNull(name);
    }
}
