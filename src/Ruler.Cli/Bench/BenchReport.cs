using System.Globalization;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Ruler.Cli.Bench;

/// <summary>One table of the report: a title, column headers, rows of cells, and notes printed under it.</summary>
internal sealed record ReportTable(string Title, string[] Headers, List<string[]> Rows, List<string> Notes);

/// <summary>Turns a <see cref="BenchRun"/> into tables: plain text, Spectre.Console, Markdown (BENCHMARKS.md) or JSON.</summary>
internal static class BenchReport
{
    public const string MarkdownBegin = "<!-- ruler bench: generated from here -->";
    public const string MarkdownEnd = "<!-- ruler bench: generated up to here -->";

    private static readonly string[] Sections = [BenchSuite.Rows, BenchSuite.Latency, BenchSuite.Channels, BenchSuite.Narrow];

    public static List<ReportTable> Tables(BenchRun run)
    {
        var tables = new List<ReportTable>();
        foreach (string section in Sections)
        {
            var rows = run.Rows.Where(r => r.Case.Section == section).ToList();
            if (rows.Count == 0) continue;
            bool narrow = section == BenchSuite.Narrow;
            string[] headers = narrow
                ? ["op", "shape", "dtype", "thr", "copy ms", "ruler ms", "ruler/copy", "x float32", "alloc B/call", "verdict"]
                : ["op", "shape", "thr", "copy ms", "ruler ms", "ruler/copy", "TP/copy", "ORT/copy", "vs TP", "vs ORT", "alloc B/call", "verdict"];
            var cells = rows.Select(r => narrow
                ? new[] { r.Case.Op, r.Case.Shape, r.Case.Dtype, I(r.Threads), Ms(r.Copy.MedianMs), Ms(r.Ruler.MedianMs), X(r.Ruler.RatioToCopy),
                    X(r.FractionOfFloat32), F(r.Ruler.AllocatedBytesPerCall, "0"), BenchRunner.Verdict(r) }
                : new[] { r.Case.Op, r.Case.Shape, I(r.Threads), Ms(r.Copy.MedianMs), Ms(r.Ruler.MedianMs), X(r.Ruler.RatioToCopy),
                    X(r.Peer("tensorprimitives")?.RatioToCopy), X(r.Peer("onnxruntime")?.RatioToCopy),
                    X(Nan(BenchRunner.SpeedupOver(r, "tensorprimitives"))), X(Nan(BenchRunner.SpeedupOver(r, "onnxruntime"))),
                    F(r.Ruler.AllocatedBytesPerCall, "0"), BenchRunner.Verdict(r) }).ToList();
            var notes = new List<string>();
            if (!narrow)
            {
                notes.Add("ruler/copy, TP/copy, ORT/copy: time relative to a copy of the same bytes in the same run (1.00x = memory speed). " +
                    "vs TP, vs ORT: the peer's time / Ruler's time (above 1: Ruler is faster).");
                foreach (var g in rows.GroupBy(r => r.Case.OnnxNote ?? "not measured").Select(g => (g.Key, Ops: g.Select(r => r.Case.Op).Distinct())))
                    notes.Add($"ONNX Runtime for {string.Join(", ", g.Ops)}: {g.Key}.");
            }
            else
            {
                notes.Add("x float32: Ruler's time / Ruler's float32 time for the same op, shape and threads (16-bit moves half the bytes).");
            }
            tables.Add(new ReportTable(section, headers, cells, notes));
        }
        if (run.Engine.Count > 0)
        {
            tables.Add(new ReportTable("Engine: Ruler.Nn GEMM and training throughput",
                ["benchmark", "thr", "ruler", "baseline", "unit", "baseline is", "ruler/baseline"],
                run.Engine.Select(e => new[] { e.What, I(e.Threads), G(e.Ruler), G(e.Baseline), e.Unit, e.BaselineName, X(e.Speedup) }).ToList(),
                ["GEMM baseline: TensorPrimitives.Dot per output element over a pre-transposed B (rows split over the same threads). " +
                 "Training: forward + backward + AdamW, median step; the no-norm model is the baseline (ruler/baseline below 1 = the norm's share of the step)."]));
        }
        tables.Add(Targets(run));
        return tables;
    }

    /// <summary>Each target: in how many rows it was met.</summary>
    private static ReportTable Targets(BenchRun run)
    {
        var rows = run.Rows.SelectMany(r => r.Verdicts.Select(v => (Kind: Kind(r, v.Target), v.Met, Where: $"{r.Case.Op} {r.Case.Shape} {(r.Case.Dtype == "float32" ? "" : r.Case.Dtype + " ")}{r.Threads}t")))
            .GroupBy(v => v.Kind)
            .Select(g => new[]
            {
                g.Key, $"{g.Count(v => v.Met)} of {g.Count()}", g.All(v => v.Met) ? "met" : "not met",
                string.Join(", ", g.Where(v => !v.Met).Select(v => v.Where).Take(8)) + (g.Count(v => !v.Met) > 8 ? ", …" : ""),
            }).ToList();
        var allocated = run.Rows.Where(r => r.Ruler.AllocatedBytesPerCall > 0).Select(r => $"{r.Case.Key} {r.Threads}t").ToList();
        rows.Add(["0 bytes allocated per Ruler call (calling thread)", $"{run.Rows.Count - allocated.Count} of {run.Rows.Count}",
            allocated.Count == 0 ? "met" : "not met", string.Join(", ", allocated.Take(8))]);
        return new ReportTable("Targets (issue 9)", ["target", "rows met", "verdict", "missed at"], rows, [run.SpinCheck, .. run.Warnings]);
    }

    private static string Kind(BenchRow row, string target) => row.Case.Section switch
    {
        _ when target.StartsWith(">=", StringComparison.Ordinal) => $"Ruler {target}",
        _ when target.Contains("float32", StringComparison.Ordinal) => $"{(row.Case.Op.EndsWith("backward", StringComparison.Ordinal) ? "backward" : "forward")} {target} ({row.Case.Dtype})",
        _ => $"{Family(row.Case)} {target}",
    };

    private static string Family(BenchCase c)
    {
        string op = c.Op.Replace(".train", "", StringComparison.Ordinal);
        if (c.Section == BenchSuite.Latency) return "one 4096-wide row";
        if (c.Section == BenchSuite.Rows && c.Shape.EndsWith("x64", StringComparison.Ordinal)) return "small rows (64 wide)";
        if (op.StartsWith("GroupNorm", StringComparison.Ordinal) || op.StartsWith("InstanceNorm", StringComparison.Ordinal))
            return "GN/IN " + op[(op.LastIndexOf('.') + 1)..];
        if (op.StartsWith("BatchNorm", StringComparison.Ordinal)) return "BN training " + op[(op.LastIndexOf('.') + 1)..];
        return "LN/RMS/add+norm " + op[(op.LastIndexOf('.') + 1)..];
    }

    public static string Plain(BenchRun run)
    {
        var s = new StringBuilder();
        s.AppendLine(EnvironmentLine(run.Environment));
        foreach (var t in Tables(run))
        {
            s.AppendLine();
            s.AppendLine($"== {t.Title} ==");
            var widths = t.Headers.Select((h, i) => Math.Max(h.Length, t.Rows.Count == 0 ? 0 : t.Rows.Max(r => r[i].Length))).ToArray();
            s.AppendLine(string.Join("  ", t.Headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
            foreach (var r in t.Rows) s.AppendLine(string.Join("  ", r.Select((c, i) => i < 2 || i == r.Length - 1 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
            foreach (var n in t.Notes) s.AppendLine(n);
        }
        return s.ToString();
    }

    public static void Write(BenchRun run, IAnsiConsole console)
    {
        console.MarkupLine($"[grey]{Markup.Escape(EnvironmentLine(run.Environment))}[/]");
        foreach (var t in Tables(run))
        {
            var table = new Table { Title = new TableTitle(Markup.Escape(t.Title)), Border = TableBorder.Simple };
            foreach (var h in t.Headers) table.AddColumn(new TableColumn(Markup.Escape(h)));
            foreach (var r in t.Rows)
                table.AddRow(r.Select(c => c.StartsWith("MISSED", StringComparison.Ordinal) || c == "not met" ? $"[red]{Markup.Escape(c)}[/]"
                    : c == "met" ? $"[green]{c}[/]" : Markup.Escape(c)).ToArray());
            console.Write(table);
            foreach (var n in t.Notes) console.MarkupLine(n.StartsWith("warning", StringComparison.Ordinal) ? $"[yellow]{Markup.Escape(n)}[/]" : $"[grey]{Markup.Escape(n)}[/]");
        }
    }

    public static string EnvironmentLine(BenchEnvironment e) =>
        $"{e.Cpu}, {e.LogicalCores} logical cores, L3 {e.L3Text}, {e.Simd}, {e.Runtime}, ONNX Runtime {e.OnnxRuntime}, commit {e.Commit}, {e.StartedUtc:yyyy-MM-dd HH:mm} UTC";

    /// <summary>The generated part of BENCHMARKS.md: environment, the exact command, every table, the targets.</summary>
    public static string Markdown(BenchRun run, string command, string? condition)
    {
        var e = run.Environment;
        var s = new StringBuilder();
        s.AppendLine(MarkdownBegin);
        s.AppendLine();
        s.AppendLine("Generated by:");
        s.AppendLine();
        s.AppendLine("```sh");
        s.AppendLine(command);
        s.AppendLine("```");
        s.AppendLine();
        s.AppendLine("| | |");
        s.AppendLine("|---|---|");
        s.AppendLine($"| CPU | {e.Cpu} ({e.Simd}) |");
        s.AppendLine($"| logical cores | {e.LogicalCores} |");
        s.AppendLine($"| L3 | {e.L3Text} |");
        s.AppendLine($"| runtime | {e.Runtime}, {e.Os} |");
        s.AppendLine($"| ONNX Runtime | {e.OnnxRuntime} |");
        s.AppendLine($"| commit | `{e.Commit}` |");
        s.AppendLine($"| measured | {e.StartedUtc:yyyy-MM-dd HH:mm} UTC, profile {run.Profile.ToString().ToLowerInvariant()}, threads {string.Join(", ", run.Threads)} |");
        if (condition is not null) s.AppendLine($"| conditions | {condition} |");
        foreach (var t in Tables(run))
        {
            s.AppendLine();
            s.AppendLine($"### {t.Title}");
            s.AppendLine();
            s.AppendLine("| " + string.Join(" | ", t.Headers) + " |");
            s.AppendLine("|" + string.Concat(t.Headers.Select(_ => "---|")));
            foreach (var r in t.Rows) s.AppendLine("| " + string.Join(" | ", r.Select(c => c.Replace("|", "\\|", StringComparison.Ordinal))) + " |");
            s.AppendLine();
            foreach (var n in t.Notes) s.AppendLine($"- {n}");
        }
        s.AppendLine();
        s.AppendLine(MarkdownEnd);
        return s.ToString();
    }

    /// <summary>
    /// Writes the generated part into <paramref name="path"/>: between the markers when the file has them (the
    /// hand-written text around them is kept), else the whole file.
    /// </summary>
    public static void WriteMarkdown(string path, string generated)
    {
        if (File.Exists(path))
        {
            string old = File.ReadAllText(path);
            int begin = old.IndexOf(MarkdownBegin, StringComparison.Ordinal);
            int end = old.IndexOf(MarkdownEnd, StringComparison.Ordinal);
            if (begin >= 0 && end > begin)
            {
                File.WriteAllText(path, old[..begin] + generated.TrimEnd('\n', '\r') + old[(end + MarkdownEnd.Length)..]);
                return;
            }
        }
        File.WriteAllText(path, "# Benchmarks\n\n" + generated);
    }

    public static string Json(BenchRun run)
    {
        var doc = new Dictionary<string, object?>
        {
            ["environment"] = run.Environment,
            ["rows"] = run.Rows.Select(r => new Dictionary<string, object?>
            {
                ["section"] = r.Case.Section, ["op"] = r.Case.Op, ["shape"] = r.Case.Shape, ["dtype"] = r.Case.Dtype, ["threads"] = r.Threads,
                ["results"] = r.Results.Select(x => new Dictionary<string, object?>
                {
                    ["impl"] = x.Impl, ["median_ms"] = x.MedianMs, ["min_ms"] = x.MinMs, ["max_ms"] = x.MaxMs, ["gbps"] = x.Gbps, ["bytes"] = x.Bytes,
                    ["ratio_to_copy"] = x.RatioToCopy, ["allocated_bytes_per_call"] = x.AllocatedBytesPerCall,
                }),
                ["fraction_of_float32"] = r.FractionOfFloat32,
                ["targets"] = r.Verdicts.Select(v => new Dictionary<string, object?> { ["target"] = v.Target, ["met"] = v.Met }),
            }),
            ["engine"] = run.Engine.Select(e => new Dictionary<string, object?>
            {
                ["benchmark"] = e.What, ["threads"] = e.Threads, ["unit"] = e.Unit, ["ruler"] = e.Ruler, ["baseline"] = e.BaselineName, ["baseline_value"] = e.Baseline,
            }),
            ["second_core_check"] = run.SpinCheck,
            ["warnings"] = run.Warnings,
        };
        return JsonSerializer.Serialize(doc, new JsonSerializerOptions { WriteIndented = true });
    }

    private static double? Nan(double v) => double.IsNaN(v) ? null : v;
    private static string G(double v) => F(v, v >= 100 ? "0" : v >= 1 ? "0.0" : "0.000");
    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    private static string Ms(double v) => F(v, v < 0.01 ? "0.00000" : "0.000");
    private static string X(double? v) => v is double d ? F(d, "0.00") + "x" : "-";
    private static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
}
