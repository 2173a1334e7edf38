using System.Globalization;
using System.Text;
using System.Text.Json;
using Ruler.Lab.Invariance;

namespace Ruler.Cli.Explain;

/// <summary>Renders the worked examples and the invariance tables as text for people or JSON for programs.</summary>
internal static class ExplainReport
{
    public static string Json()
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartArray("examples");
            foreach (var e in WorkedExamples.Compute())
            {
                json.WriteStartObject();
                json.WriteString("label", e.Label);
                WriteArray(json, "input", e.Input);
                json.WriteNumber("mean", e.Mean);
                json.WriteNumber("std", e.Std);
                WriteArray(json, "normalized", e.Normalized);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteNumber("threshold", InvarianceTable.Threshold);
            WriteTable(json, "invariance", InvarianceTable.Compute());
            WriteTable(json, "invariance_scale_only", InvarianceTable.Compute(scaleOnly: true));
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public static string Text()
    {
        var s = new StringBuilder();
        s.AppendLine("Normalization removes shift (the mean sets the origin) and scale (the std sets the unit).");
        s.AppendLine("Each normalizer answers one question: which numbers share a ruler?");
        s.AppendLine();
        s.AppendLine("Worked examples (population mean and std; normalized with eps = 0):");
        s.AppendLine($"  {"",-16}{"input",-18}{"mean",10}{"std",10}   normalized");
        foreach (var e in WorkedExamples.Compute())
            s.AppendLine($"  {e.Label,-16}{List(e.Input, "0.##"),-18}{F(e.Mean, "G4"),10}{F(e.Std, "G4"),10}   {List(e.Normalized, "0.0000")}");
        s.AppendLine("  Same pattern, different origin and unit: after normalization they are the same numbers.");
        s.AppendLine();
        s.AppendLine($"Who shares a ruler in x of shape [{InvarianceTable.N}, {InvarianceTable.C}, {InvarianceTable.H}, {InvarianceTable.W}] (N, C, H, W):");
        foreach (string name in InvarianceTable.Normalizers)
        {
            var normalizer = (RulerNormalizer<double>)InvarianceTable.Create(name);
            var (ruler, view) = normalizer.RulerFor(InvarianceTable.Shape);
            var layout = ruler.Resolve(view);
            s.AppendLine($"  {name,-13} {Describe(name),-49} {layout.GroupCount,4} groups of {layout.GroupSize,4}");
        }
        s.AppendLine();
        AppendTable(s, "Invariance to x -> a*x + b, (a, b) drawn per unit (a in [0.5, 4], b in [-2, 2])", InvarianceTable.Compute());
        s.AppendLine();
        AppendTable(s, "Invariance to pure scaling x -> a*x (b = 0): RMSNorm joins LayerNorm", InvarianceTable.Compute(scaleOnly: true));
        s.AppendLine();
        s.AppendLine($"A cell is invariant when max |change of y| < {InvarianceTable.Threshold:0e0}: each group of that normalizer saw one (a, b).");
        return s.ToString();
    }

    private static string Describe(string name) => name switch
    {
        "BatchNorm" => "one channel across the batch and positions",
        "LayerNorm" => "one sample's features (C, H, W)",
        "GroupNorm" => $"a group of {InvarianceTable.C / InvarianceTable.Groups} channels in one sample",
        "InstanceNorm" => "one channel of one sample",
        _ => "one sample's features, scale only (no centering)",
    };

    private static void AppendTable(StringBuilder s, string title, Dictionary<string, Dictionary<string, InvarianceCell>> table)
    {
        s.AppendLine(title + ":");
        s.Append($"  {"",-14}");
        foreach (string t in InvarianceTable.Transforms) s.Append($"{t,-20}");
        s.AppendLine();
        foreach (var (name, row) in table)
        {
            s.Append($"  {name,-14}");
            foreach (string t in InvarianceTable.Transforms)
            {
                var cell = row[t];
                s.Append($"{(cell.Invariant ? "invariant" : "changes"),-10}{cell.MaxAbsChange.ToString("0.0e+0", CultureInfo.InvariantCulture),-10}");
            }
            s.AppendLine();
        }
    }

    private static void WriteTable(Utf8JsonWriter json, string name, Dictionary<string, Dictionary<string, InvarianceCell>> table)
    {
        json.WriteStartObject(name);
        foreach (var (normalizer, row) in table)
        {
            json.WriteStartObject(normalizer);
            foreach (var (transform, cell) in row)
            {
                json.WriteStartObject(transform);
                json.WriteBoolean("invariant", cell.Invariant);
                json.WriteNumber("max_abs_change", cell.MaxAbsChange);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        json.WriteEndObject();
    }

    private static void WriteArray(Utf8JsonWriter json, string name, double[] values)
    {
        json.WriteStartArray(name);
        foreach (double v in values) json.WriteNumberValue(v);
        json.WriteEndArray();
    }

    private static string List(double[] v, string format) => "[" + string.Join(", ", v.Select(x => F(x, format))) + "]";

    private static string F(double v, string format)
    {
        string text = v.ToString(format, CultureInfo.InvariantCulture);
        return text == "-0" || text == "-0.0000" ? text.TrimStart('-') : text;
    }
}
