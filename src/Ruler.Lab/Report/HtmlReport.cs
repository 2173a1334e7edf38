using System.Globalization;
using System.Net;
using System.Text;
using Ruler.Lab.Runner;

namespace Ruler.Lab.Report;

/// <summary>
/// Renders <c>index.html</c> from what results.json holds: one self-contained page (CSS inline, no scripts, figures
/// by relative path) with the environment, a summary table, then each experiment's claim, figures, results beside
/// their anchors, and notes. All text is HTML-escaped.
/// </summary>
public static class HtmlReport
{
    /// <summary>The page for <paramref name="lab"/>; experiments selected but not finished show as not run.</summary>
    /// <param name="lab">The run so far.</param>
    public static string Render(LabResults lab)
    {
        var env = lab.Environment;
        var html = new StringBuilder();
        html.Append("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>Ruler lab report</title>\n<style>\n").Append(Css).Append("</style>\n</head>\n<body>\n<main>\n");

        html.Append("<header>\n<h1>Ruler lab: the essay's claims, measured</h1>\n");
        html.Append("<p class=\"env\">").Append(E(EnvironmentLine(env))).Append("</p>\n");
        int finished = lab.Experiments.Count, selected = env.Selected.Count;
        string state = env.EndedAt is { } end
            ? $"Run complete: {finished} of {selected} experiments in {Duration((end - env.StartedAt).TotalSeconds)}."
            : $"Run in progress or interrupted: {finished} of {selected} experiments finished.";
        html.Append("<p class=\"state\">").Append(E(state)).Append("</p>\n</header>\n");

        AppendSummary(html, lab);
        foreach (string id in env.Selected) AppendExperiment(html, lab, id);

        html.Append("<footer><p>Pass: a criterion of LAB.md that follows from algebra or is robust at small scale, asserted by the tests. ")
            .Append("Report: measured and shown beside the literature, never asserted. Figures and results.json are in the same folder as this page.</p></footer>\n");
        html.Append("</main>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendSummary(StringBuilder html, LabResults lab)
    {
        html.Append("<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"scroll\"><table class=\"summary\">\n")
            .Append("<thead><tr><th>Experiment</th><th>Claim</th><th>Our value</th><th>Anchor</th><th>Verdict</th></tr></thead>\n<tbody>\n");
        foreach (string id in lab.Environment.Selected)
        {
            var (record, verdict, key, anchor) = LabFormat.SummaryRow(lab, id);
            html.Append("<tr data-id=\"").Append(E(id)).Append("\"><td class=\"id\"><a href=\"#").Append(E(id)).Append("\">").Append(E(id)).Append("</a> ")
                .Append(E(record?.Title ?? Title(id))).Append("</td>");
            html.Append("<td>").Append(E(record?.Claim ?? Claim(id))).Append("</td>");
            html.Append("<td>").Append(key is null ? "—" : $"{E(key.Metric)}: <b>{E(LabFormat.Value(key.Value, key.Unit))}</b>").Append("</td>");
            html.Append("<td>").Append(anchor is null ? "—" : AnchorHtml(anchor)).Append("</td>");
            html.Append("<td>").Append(Badge(verdict.Word)).Append("<br><span class=\"detail\">").Append(E(Shorten(verdict.Detail, 160))).Append("</span></td></tr>\n");
        }
        html.Append("</tbody>\n</table></div>\n</section>\n");
    }

    private static void AppendExperiment(StringBuilder html, LabResults lab, string id)
    {
        var record = lab.ExperimentOf(id);
        var results = lab.ResultsOf(id).ToList();
        var verdict = LabFormat.Verdict(record, results);
        html.Append("<section class=\"experiment\" id=\"").Append(E(id)).Append("\">\n<h2>").Append(E(id)).Append(" — ")
            .Append(E(record?.Title ?? Title(id))).Append(' ').Append(Badge(verdict.Word)).Append("</h2>\n");
        string claim = record?.Claim ?? Claim(id);
        if (claim.Length > 0) html.Append("<p class=\"claim\">").Append(E(claim)).Append("</p>\n");
        if (record is null)
        {
            html.Append("<p class=\"missing\">Not run: ")
                .Append(lab.Environment.EndedAt is null ? "the run has not reached this experiment (still running, or it was stopped)." : "this experiment did not run.")
                .Append("</p>\n</section>\n");
            return;
        }
        if (record.Status == ExperimentStatus.Failed)
            html.Append("<p class=\"missing\">The experiment failed with an error after ").Append(E(Duration(record.Seconds))).Append(":</p>\n<pre class=\"error\">")
                .Append(E(record.Error ?? "")).Append("</pre>\n");

        if (record.Figures.Count > 0)
        {
            html.Append("<div class=\"figures\">\n");
            foreach (var figure in record.Figures)
                html.Append("<figure><img src=\"").Append(E(RelativeUrl(figure.File))).Append("\" alt=\"").Append(E(figure.Caption)).Append("\">")
                    .Append("<figcaption>").Append(E(figure.Caption)).Append("</figcaption></figure>\n");
            html.Append("</div>\n");
        }
        if (record.Status == ExperimentStatus.Done && results.Count > 0)
        {
            html.Append("<div class=\"scroll\"><table class=\"results\">\n<thead><tr><th>Metric</th><th>Value</th><th>Anchor</th><th>Verdict</th></tr></thead>\n<tbody>\n");
            foreach (var r in results)
            {
                html.Append("<tr><td>").Append(E(r.Metric));
                if (r.Setup.Length > 0 && r != results[0] && r.Setup != results[0].Setup) html.Append("<br><span class=\"detail\">").Append(E(r.Setup)).Append("</span>");
                html.Append("</td><td class=\"value\">").Append(E(LabFormat.Value(r.Value, r.Unit))).Append("</td>");
                html.Append("<td>").Append(r.Anchor is null ? "—" : AnchorHtml(r.Anchor)).Append("</td>");
                html.Append("<td>").Append(Badge(VerdictWord(r.Verdict)));
                if (!string.IsNullOrEmpty(r.Criterion)) html.Append(" <span class=\"detail\">").Append(E(r.Criterion)).Append("</span>");
                html.Append("</td></tr>\n");
            }
            html.Append("</tbody>\n</table></div>\n");
            html.Append("<p class=\"setup\"><b>Setup:</b> ").Append(E(results[0].Setup)).Append("</p>\n");
        }
        if (record.Notes.Count > 0)
        {
            html.Append("<ul class=\"notes\">\n");
            foreach (string note in record.Notes) html.Append("<li>").Append(E(note)).Append("</li>\n");
            html.Append("</ul>\n");
        }
        var s = record.Settings;
        html.Append("<p class=\"meta\">").Append(E($"{Duration(record.Seconds)} · {(s.Quick ? "quick" : "full")} · seed {s.Seed}"
            + (s.Seeds is int n ? $" · {n} seeds" : "") + $" · finished {record.FinishedAt:yyyy-MM-dd HH:mm:ss} · code {record.CodeVersion}")).Append("</p>\n");
        html.Append("</section>\n");
    }

    private static string EnvironmentLine(LabEnvironment env)
    {
        var parts = new List<string>
        {
            env.CpuModel, $"{env.Cores} logical cores", $"{env.Threads} thread{(env.Threads == 1 ? "" : "s")}", env.Dotnet, env.Os,
            env.GitCommit is null ? "commit unknown" : "commit " + (env.GitCommit.Length > 12 ? env.GitCommit[..12] + (env.GitCommit.EndsWith("-dirty", StringComparison.Ordinal) ? "-dirty" : "") : env.GitCommit),
            env.Size == LabSize.Quick ? "quick size" : "full size", $"seed {env.Seed}",
        };
        if (env.Seeds is int seeds) parts.Add($"{seeds} seeds");
        parts.Add($"started {env.StartedAt:yyyy-MM-dd HH:mm:ss zzz}");
        if (env.EndedAt is { } end) parts.Add($"ended {end:HH:mm:ss}");
        return string.Join(" · ", parts);
    }

    private static string AnchorHtml(Anchor anchor) =>
        (anchor.Value.Length > 0 ? E(anchor.Value) + "<br>" : "") + "<span class=\"source\">" + E(anchor.Source) + "</span>";

    private static string Badge(string word) => $"<span class=\"badge {word.Replace(' ', '-')}\">{E(word)}</span>";

    private static string VerdictWord(Verdict verdict) => verdict switch
    {
        Verdict.Pass => "pass",
        Verdict.Fail => "fail",
        _ => "report",
    };

    private static string Title(string id) => LabCatalog.Find(id)?.Title ?? id;

    private static string Claim(string id) => LabCatalog.Find(id)?.Claim ?? "";

    private static string Duration(double seconds) => seconds < 60
        ? seconds.ToString(seconds < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " s"
        : $"{(int)(seconds / 60)} min {(int)(seconds % 60)} s";

    private static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    /// <summary>A file name relative to the page, percent-encoded segment by segment.</summary>
    private static string RelativeUrl(string file) => string.Join('/', file.Replace('\\', '/').Split('/').Select(Uri.EscapeDataString));

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private const string Css = """
        :root { --ink: #1d2330; --muted: #5b6472; --line: #d9dde3; --pass: #1b7f3b; --fail: #b3261e; --report: #5b6472; --error: #8a1c7c; }
        * { box-sizing: border-box; }
        body { margin: 0; color: var(--ink); background: #fff; font: 15px/1.5 "DejaVu Sans", "Segoe UI", Helvetica, Arial, sans-serif; }
        main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
        h1 { font-size: 1.7rem; margin: 0 0 6px; }
        h2 { font-size: 1.3rem; margin: 0 0 6px; }
        .env, .meta, .state { color: var(--muted); font-size: 0.85rem; margin: 4px 0; overflow-wrap: break-word; }
        section { margin-top: 32px; }
        section.experiment { border-top: 2px solid var(--line); padding-top: 16px; }
        .claim { font-size: 1.05rem; font-style: italic; margin: 4px 0 12px; }
        .scroll { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: 0.88rem; }
        th, td { text-align: left; vertical-align: top; padding: 5px 8px; border-bottom: 1px solid var(--line); overflow-wrap: break-word; }
        th { border-bottom: 2px solid var(--ink); white-space: nowrap; }
        table.summary td:nth-child(1) { min-width: 9em; }
        table.summary td:nth-child(5), table.results td:nth-child(4) { min-width: 7em; }
        td.value { white-space: nowrap; font-variant-numeric: tabular-nums; }
        td.id a { font-weight: bold; }
        .source, .detail { color: var(--muted); font-size: 0.8rem; }
        .badge { display: inline-block; padding: 0 7px; border-radius: 4px; font-size: 0.8rem; font-weight: bold; color: #fff; vertical-align: middle; }
        .badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); } .badge.report { background: var(--report); }
        .badge.error { background: var(--error); } .badge.not-run { background: #9aa1ab; }
        .figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(460px, 1fr)); gap: 16px; margin: 8px 0 12px; }
        figure { margin: 0; break-inside: avoid; page-break-inside: avoid; }
        .figures figure:only-child { grid-column: 1 / -1; max-width: 820px; }
        figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line); }
        figcaption { color: var(--muted); font-size: 0.82rem; margin-top: 4px; }
        .notes { margin: 10px 0; padding-left: 1.3em; } .notes li { margin: 4px 0; }
        .setup { font-size: 0.85rem; margin: 6px 0; }
        .missing { color: var(--error); font-weight: bold; }
        pre.error { white-space: pre-wrap; overflow-wrap: anywhere; background: #f6f0f5; padding: 8px; font-size: 0.82rem; }
        footer { margin-top: 40px; color: var(--muted); font-size: 0.8rem; border-top: 1px solid var(--line); }
        a { color: #1f5fa8; }
        @media (max-width: 560px) { .figures { grid-template-columns: 1fr; } main { padding: 12px; } }
        @media print {
          body { font-size: 10pt; }
          main { max-width: none; padding: 0; }
          .figures { grid-template-columns: 1fr 1fr; }
          .scroll { overflow: visible; }
          tr, figure, .notes li { break-inside: avoid; page-break-inside: avoid; }
          thead { display: table-header-group; }
          h2 { break-after: avoid; page-break-after: avoid; }
          .badge { color: var(--ink); background: none !important; border: 1px solid var(--ink); }
          .badge.fail, .badge.error { border-width: 2px; }
          a { color: inherit; text-decoration: none; }
          pre.error { background: none; border: 1px solid var(--line); }
        }

        """;
}
