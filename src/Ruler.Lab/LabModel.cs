using System.Text.Json.Serialization;

namespace Ruler.Lab;

/// <summary>How big an experiment runs.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LabSize>))]
public enum LabSize
{
    /// <summary>Small, deterministic, under ~20 s on 2 cores: what the tests run.</summary>
    [JsonStringEnumMemberName("quick")] Quick,
    /// <summary>The default of <c>ruler lab</c>: the whole lab in about ten minutes on 2 cores.</summary>
    [JsonStringEnumMemberName("full")] Full,
}

/// <summary>What a result may be judged by.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Verdict>))]
public enum Verdict
{
    /// <summary>A "Pass" criterion of LAB.md (follows from algebra or is robust at small scale) that held.</summary>
    [JsonStringEnumMemberName("pass")] Pass,
    /// <summary>A "Pass" criterion that did not hold.</summary>
    [JsonStringEnumMemberName("fail")] Fail,
    /// <summary>Measured and shown, never asserted.</summary>
    [JsonStringEnumMemberName("report")] Report,
}

/// <summary>The settings every experiment sees.</summary>
/// <param name="Size">Quick or full.</param>
/// <param name="Seed">Base seed; experiments derive every random stream from it.</param>
/// <param name="Seeds">How many seeds experiments that average over seeds use; null: the experiment's own default.</param>
/// <param name="Threads">Threads for the kernels and the engine (<see cref="RulerParallelism.MaxThreads"/>).</param>
public sealed record LabSettings(LabSize Size, ulong Seed = 1, int? Seeds = null, int Threads = 2)
{
    /// <summary>True at the quick size.</summary>
    [JsonIgnore]
    public bool Quick => Size == LabSize.Quick;

    /// <summary>The seed count to use: <see cref="Seeds"/> when given, else <paramref name="quick"/> or <paramref name="full"/>.</summary>
    public int SeedCount(int quick, int full) => Seeds ?? (Quick ? quick : full);
}

/// <summary>A number from the literature that a result stands beside.</summary>
/// <param name="Value">The paper's number as the paper states it, e.g. "BN 34.7 % vs GN 24.1 % top-1 error at batch 2".</param>
/// <param name="Source">Authors, year and where in the paper, e.g. "Wu &amp; He 2018, Group Normalization, Fig. 1".</param>
public sealed record Anchor(string Value, string Source);

/// <summary>One measured number: what <c>results.json</c> holds, one object per result.</summary>
/// <param name="Id">The experiment, E1…E9.</param>
/// <param name="Claim">The essay's claim this result tests, in one line.</param>
/// <param name="Setup">What was run, in one line (model, data, sizes, seeds).</param>
/// <param name="Metric">What was measured, e.g. "max |Δy|, BatchNorm, per-channel a·x + b".</param>
/// <param name="Value">The measured value.</param>
/// <param name="Unit">Its unit ("", "%", "nats", "ratio", …).</param>
/// <param name="Anchor">The literature's number beside it, or null.</param>
/// <param name="Verdict">pass / fail for LAB.md's Pass criteria, report otherwise.</param>
/// <param name="Criterion">For pass/fail: the criterion in words, e.g. "&lt; 1e-4"; null for report.</param>
/// <param name="Seconds">Wall time of the measurement (the runner fills in the experiment's time when 0).</param>
public sealed record LabResult(
    string Id, string Claim, string Setup, string Metric, double Value, string Unit,
    Anchor? Anchor, Verdict Verdict, string? Criterion = null, double Seconds = 0);

/// <summary>A plot an experiment wrote into the output folder.</summary>
/// <param name="File">File name relative to the output folder, e.g. "e7-stream-rms.png".</param>
/// <param name="Caption">One sentence saying what the reader sees.</param>
public sealed record Figure(string File, string Caption);

/// <summary>
/// What one experiment produced: its results, its plots and what the report must say in words. The summary tables
/// (report and terminal) show one result as "our value": the first one judged by a criterion (pass or fail), or the
/// first result when none is (see <see cref="Report.LabFormat.Headline"/>).
/// </summary>
/// <param name="Id">E1…E9.</param>
/// <param name="Title">Short title, e.g. "The residual stream at initialization".</param>
/// <param name="Claim">The essay's claim in one line.</param>
/// <param name="Results">Every measured number.</param>
/// <param name="Figures">Plots written to the output folder.</param>
/// <param name="Notes">Sentences for the reader: what the numbers show, and where a result does not reproduce at this scale, that it does not and why we think so.</param>
public sealed record ExperimentReport(
    string Id, string Title, string Claim,
    IReadOnlyList<LabResult> Results, IReadOnlyList<Figure> Figures, IReadOnlyList<string> Notes)
{
    /// <summary>Wall time of the whole experiment (set by the runner).</summary>
    public double Seconds { get; init; }

    /// <summary>True when no Pass criterion failed.</summary>
    [JsonIgnore]
    public bool Passed => Results.All(r => r.Verdict != Verdict.Fail);
}
