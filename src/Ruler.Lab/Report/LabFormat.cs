using System.Globalization;
using Ruler.Lab.Runner;

namespace Ruler.Lab.Report;

/// <summary>An experiment's verdict in the summary tables.</summary>
/// <param name="Word">"pass", "fail", "report", "error" or "not run".</param>
/// <param name="Detail">e.g. "24 of 24 criteria hold", or the error.</param>
public sealed record ExperimentVerdict(string Word, string Detail);

/// <summary>How numbers and verdicts read in the report and on the terminal (one place, so both say the same).</summary>
public static class LabFormat
{
    /// <summary>
    /// One experiment's row of a summary table (the report's and the terminal's): its record (null when it has not
    /// run), its verdict, the headline result (null unless it finished) and the anchor shown beside it.
    /// </summary>
    /// <param name="lab">The results file's content.</param>
    /// <param name="id">The experiment.</param>
    public static (ExperimentRecord? Record, ExperimentVerdict Verdict, LabResult? Headline, Anchor? Anchor) SummaryRow(LabResults lab, string id)
    {
        var record = lab.ExperimentOf(id);
        var results = lab.ResultsOf(id).ToList();
        var headline = record?.Status == ExperimentStatus.Done ? Headline(results) : null;
        return (record, Verdict(record, results), headline, headline?.Anchor ?? results.FirstOrDefault(r => r.Anchor is not null)?.Anchor);
    }

    /// <summary>
    /// The result a summary shows for an experiment: the first one judged by a criterion (a failed criterion is the
    /// news, a held one the claim), else the first result; null when there are none.
    /// </summary>
    /// <param name="results">The experiment's results in the order it reported them.</param>
    public static LabResult? Headline(IReadOnlyList<LabResult> results) =>
        results.FirstOrDefault(r => r.Verdict != Ruler.Lab.Verdict.Report) ?? results.FirstOrDefault();

    /// <summary>A value with its unit: 5 significant digits, scientific below 1e-3 and from 1e6, integers as integers.</summary>
    /// <param name="value">The value.</param>
    /// <param name="unit">Its unit ("" for none).</param>
    public static string Value(double value, string unit)
    {
        string number = Number(value);
        if (string.IsNullOrEmpty(unit)) return number;
        return unit == "%" ? number + " %" : $"{number} {unit}";
    }

    /// <summary>The number alone.</summary>
    /// <param name="value">The value.</param>
    public static string Number(double value)
    {
        var c = CultureInfo.InvariantCulture;
        if (double.IsNaN(value)) return "NaN";
        if (double.IsInfinity(value)) return value > 0 ? "∞" : "−∞";
        if (value == 0) return "0";
        double magnitude = Math.Abs(value);
        if (value == Math.Round(value) && magnitude < 1e6) return value.ToString("0", c);
        if (magnitude < 1e-3 || magnitude >= 1e6) return value.ToString("0.0##e+0", c);
        return value.ToString("G5", c);
    }

    /// <summary>The experiment's verdict: error when it threw, fail when a pass criterion failed, pass when one held, else report.</summary>
    /// <param name="record">Its record, or null when it has not run.</param>
    /// <param name="results">Its results.</param>
    public static ExperimentVerdict Verdict(ExperimentRecord? record, IReadOnlyList<LabResult> results)
    {
        if (record is null) return new("not run", "not run");
        if (record.Status == ExperimentStatus.Failed) return new("error", record.Error ?? "failed");
        int criteria = results.Count(r => r.Verdict != Lab.Verdict.Report);
        int failed = results.Count(r => r.Verdict == Lab.Verdict.Fail);
        if (failed > 0) return new("fail", $"{failed} of {criteria} criteria failed");
        if (criteria > 0) return new("pass", $"{criteria} of {criteria} criteria hold");
        return new("report", "measured, not asserted");
    }
}
