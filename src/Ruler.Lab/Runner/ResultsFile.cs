using System.Text.Json;
using System.Text.Json.Serialization;

namespace Ruler.Lab.Runner;

/// <summary>Whether an experiment ran to the end.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ExperimentStatus>))]
public enum ExperimentStatus
{
    /// <summary>It returned its report (its pass criteria may still have failed).</summary>
    [JsonStringEnumMemberName("done")] Done,
    /// <summary>It threw; <see cref="ExperimentRecord.Error"/> says what.</summary>
    [JsonStringEnumMemberName("failed")] Failed,
}

/// <summary>One experiment of a run, as <c>results.json</c>'s <c>experiments</c> array keeps it: enough to rebuild the report and to resume.</summary>
/// <param name="Id">E1…E9.</param>
/// <param name="Title">Short title.</param>
/// <param name="Claim">The essay's claim in one line.</param>
/// <param name="Status">Done or failed.</param>
/// <param name="Error">The exception's type and message when it failed, else null.</param>
/// <param name="Figures">Plots in the output folder.</param>
/// <param name="Notes">The report's sentences.</param>
/// <param name="Seconds">Wall time of the experiment.</param>
/// <param name="Settings">The settings it ran with.</param>
/// <param name="CodeVersion">See <see cref="Runner.CodeVersion"/>.</param>
/// <param name="FinishedAt">When it finished.</param>
public sealed record ExperimentRecord(
    string Id, string Title, string Claim, ExperimentStatus Status, string? Error,
    IReadOnlyList<Figure> Figures, IReadOnlyList<string> Notes, double Seconds,
    LabSettings Settings, string CodeVersion, DateTimeOffset FinishedAt);

/// <summary>The content of <c>results.json</c>: the environment, every measured result, and every experiment of the run.</summary>
/// <param name="Environment">Machine and settings.</param>
/// <param name="Results">One object per measured result, in catalog order.</param>
/// <param name="Experiments">One object per finished experiment, in catalog order.</param>
public sealed record LabResults(LabEnvironment Environment, IReadOnlyList<LabResult> Results, IReadOnlyList<ExperimentRecord> Experiments)
{
    /// <summary>The file name in the output folder.</summary>
    public const string FileName = "results.json";

    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals, // a NaN or ∞ result is written as "NaN" / "Infinity"
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>The results of one experiment.</summary>
    /// <param name="id">E1…E9.</param>
    public IEnumerable<LabResult> ResultsOf(string id) => Results.Where(r => r.Id == id);

    /// <summary>The record of one experiment, or null when it has not finished.</summary>
    /// <param name="id">E1…E9.</param>
    public ExperimentRecord? ExperimentOf(string id) => Experiments.FirstOrDefault(e => e.Id == id);

    /// <summary>True when every experiment ran and no pass criterion failed.</summary>
    [JsonIgnore]
    public bool Passed => Experiments.All(e => e.Status == ExperimentStatus.Done) && Results.All(r => r.Verdict != Verdict.Fail);

    /// <summary>The JSON text.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Options);

    /// <summary>Parses <c>results.json</c> text.</summary>
    /// <param name="json">The text.</param>
    /// <exception cref="JsonException">It is not a lab results file.</exception>
    public static LabResults FromJson(string json) =>
        JsonSerializer.Deserialize<LabResults>(json, Options) is { Environment: not null, Results: not null, Experiments: not null } results
            ? results
            : throw new JsonException("results.json: expected an object with environment, results and experiments.");
}
