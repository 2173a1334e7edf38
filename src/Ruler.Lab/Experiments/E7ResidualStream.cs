using System.Diagnostics;
using System.Globalization;
using Ruler.Lab.Report;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E7 — the residual stream at initialization (LAB.md). 256 tokens x ~ N(0, I) of width 256 pass through L blocks
/// x ← x + F(norm(x)) (Post-LN: x ← LN(x + F(x))), F = Xavier-uniform d→d→d ReLU MLP without bias. Every variant
/// runs the same input through the same F weights, so the variants differ only in the norm slot. Theory (Xiong et
/// al. 2020, Lemma 2): with Xavier weights E‖F(x)‖² = ½·E‖x‖² (ReLU halves the second moment), so without a scale
/// the stream's mean square grows by 1.5 per block (1.5^L), while a Pre-LN/Pre-RMS block adds a branch of mean
/// square ½ to the stream (1 + L/2), and Post-LN sees x + F(x) with mean square 1.5 before every LN.
/// </summary>
internal sealed class E7ResidualStream : IExperiment
{
    private const int Dim = 256, Tokens = 256;

    /// <summary>The norm variants in the order the plots and results show them.</summary>
    private static readonly (string Label, NormKind Kind, NormPlacement Placement)[] Variants =
    [
        ("none", NormKind.None, NormPlacement.Pre),
        ("center-only", NormKind.CenterOnly, NormPlacement.Pre),
        ("Pre-RMS", NormKind.RmsNorm, NormPlacement.Pre),
        ("Pre-LN", NormKind.LayerNorm, NormPlacement.Pre),
        ("Post-LN", NormKind.LayerNorm, NormPlacement.Post),
    ];

    public string Id => "E7";
    public string Title => "The residual stream at initialization";
    public string Claim => "Scale, not shift, is load-bearing: without a unit the residual stream grows geometrically with depth; RMSNorm stops it as well as LayerNorm, centering alone does not.";

    public ExperimentReport Run(LabContext context)
    {
        var settings = context.Settings;
        int layers = settings.Quick ? 16 : 64;
        var clock = Stopwatch.StartNew();
        var anchor = new Anchor(
            "Lemma 2: Post-LN E‖x + F(x)‖² = 3d/2 before every LN; Pre-LN (1 + l/2)·d ≤ E‖x_l‖² ≤ (1 + 3l/2)·d (the lower bound is the FFN-only stream measured here)",
            "Xiong et al. 2020, On Layer Normalization in the Transformer Architecture, Lemma 2 (Xavier init, ReLU FFN)");
        string setup = $"d={Dim}, {Tokens} tokens ~ N(0, I), {layers} blocks, F = Xavier-uniform {Dim}→{Dim}→{Dim} ReLU MLP without bias (same weights for every variant), float32, seed {settings.Seed}";

        // The same input and the same F of every block for all variants.
        var rng = new Rng(settings.Seed ^ 0xE7E7E7E7UL);
        var x0 = new float[Tokens * Dim];
        Init.Normal<float>(x0, 0, 1, rng);
        var branches = new Mlp<float>[layers];
        for (int l = 0; l < layers; l++)
        {
            var mlp = new Mlp<float>($"h.{l}.mlp", Dim, Dim, ActivationKind.Relu, rng, bias: false);
            Init.XavierUniform<float>(mlp.Fc.Weight.Value, Dim, Dim, rng);
            Init.XavierUniform<float>(mlp.Proj.Weight.Value, Dim, Dim, rng);
            branches[l] = mlp;
        }

        var measured = new Dictionary<string, Measured>();
        for (int v = 0; v < Variants.Length; v++)
        {
            var (label, kind, placement) = Variants[v];
            context.Progress.Step(Id, v, Variants.Length, $"{label}, {layers} blocks");
            measured[label] = Measure(kind, placement, x0, branches);
        }
        context.Progress.Step(Id, Variants.Length, Variants.Length, "plots");
        double seconds = clock.Elapsed.TotalSeconds;

        var results = new List<LabResult>();
        double theoryNoneLog10 = layers / 2.0 * Math.Log10(1.5);
        double theoryPreMs = 1 + layers / 2.0;
        foreach (var (label, _, placement) in Variants)
        {
            var m = measured[label];
            bool unitless = label is "none" or "center-only";
            if (placement == NormPlacement.Post) continue;
            // log10(RMS_L / RMS_0): Pass band at the full size (L = 64) for the unitless variants.
            results.Add(settings.Quick || !unitless
                ? Report($"log10(RMS_L/RMS_0), {label}", m.Log10Ratio, "log10", unitless ? null : anchor)
                : Check($"log10(RMS_L/RMS_0), {label}", m.Log10Ratio, "log10", anchor, 4.5, 6.5));
            // MS_L (mean square of the stream after the last block).
            if (unitless)
                results.Add(settings.Quick
                    ? Check($"MS_L, {label}", m.MsLast, "", anchor, Math.Pow(1.5, layers) / 1.5, Math.Pow(1.5, layers) * 1.5, $"1.5^{layers} = {Math.Pow(1.5, layers):0} within a factor 1.5")
                    : Report($"MS_L, {label}", m.MsLast, "", null));
            else
                results.Add(settings.Quick
                    ? Check($"MS_L, {label}", m.MsLast, "", anchor, 6.5, 12)
                    : Check($"MS_L, {label}", m.MsLast, "", anchor, 22, 45));
        }
        double lnGap = Math.Abs(Math.Log(measured["Pre-RMS"].MsLast) - Math.Log(measured["Pre-LN"].MsLast));
        results.Add(Check("|ln MS_L(Pre-RMS) − ln MS_L(Pre-LN)|", lnGap, "", null, double.NegativeInfinity, 0.15, "< 0.15"));
        var post = measured["Post-LN"];
        results.Add(Check("mean over blocks of MS(x + F(x)) before LN, Post-LN", post.SumMsMean, "", anchor, 1.35, 1.65));
        results.Add(Report("max over blocks of MS(x + F(x)) before LN, Post-LN", post.SumMsMax, "", null));
        results.Add(Report("min over blocks of MS(x + F(x)) before LN, Post-LN", post.SumMsMin, "", null));
        results.Add(Report("max over blocks of |RMS − 1| after LN, Post-LN", post.Rms.Skip(1).Max(r => Math.Abs(r - 1)), "", null));
        results.Add(Report("‖F(x)‖/‖x‖ at the last block, none", measured["none"].Ratio[^1], "ratio", null));
        results.Add(Report("‖F(x)‖/‖x‖ at the last block, Pre-LN", measured["Pre-LN"].Ratio[^1], "ratio", null));
        results = [.. results.Select(r => r with { Setup = setup, Seconds = seconds })];

        double[] depth = [.. Enumerable.Range(0, layers + 1).Select(l => (double)l)];
        double[] blocks = [.. Enumerable.Range(1, layers).Select(l => (double)l)];
        string rmsFile = "e7-stream-rms.png", ratioFile = "e7-update-ratio.png";
        string[] dashed = ["center-only", "Pre-LN"]; // each lies on top of its partner (none, Pre-RMS)
        PlacedLegendChart.Line(context.PathOf(rmsFile), $"Residual stream RMS at initialization (d={Dim}, {layers} blocks)", "block l", "RMS of x_l",
            [.. Variants.Select(v => new Series(v.Label, depth, measured[v.Label].Rms))], ScottPlot.Alignment.UpperLeft, logY: true, dashed: dashed);
        PlacedLegendChart.Line(context.PathOf(ratioFile), "Update ratio ‖F(x)‖/‖x‖ per block", "block l", "‖F(x)‖ / ‖x‖",
            [.. Variants.Select(v => new Series(v.Label, blocks, measured[v.Label].Ratio))], ScottPlot.Alignment.MiddleRight, dashed: dashed);

        var none = measured["none"];
        var center = measured["center-only"];
        var rms = measured["Pre-RMS"];
        var ln = measured["Pre-LN"];
        string F(double v) => v.ToString(Math.Abs(v) < 0.01 ? "0.0e0" : "0.###", CultureInfo.InvariantCulture);
        double noneRatio = measured["none"].Ratio.Average(), postRatio = post.Ratio.Average();
        string[] notes =
        [
            $"Without a norm the stream's mean square grows by {F(Math.Pow(none.MsLast, 1.0 / layers))} per block (theory 1.5, by Lemma 2's computation without the norm: E‖F(x)‖² = ½·E‖x‖²): after {layers} blocks log10(RMS_L/RMS_0) = {F(none.Log10Ratio)} (theory {F(theoryNoneLog10)}). " +
            $"Center-only gives {F(center.Log10Ratio)}: subtracting the mean removes only the 1/d of the energy that lies along the all-ones direction, so it behaves like no norm at all.",
            $"Pre-RMS and Pre-LN both hold the stream to linear growth: MS_L = {F(rms.MsLast)} and {F(ln.MsLast)} (theory 1 + L/2 = {F(theoryPreMs)}), |ln ratio| = {F(lnGap)}. " +
            "Each block adds a branch of mean square ≈ ½ computed from a unit-RMS input, whatever the stream's size.",
            $"Post-LN sees MS(x + F(x)) = {F(post.SumMsMean)} before every LN (theory 1.5, range {F(post.SumMsMin)}–{F(post.SumMsMax)} over blocks) and the stream is back at RMS 1 after it.",
            "This is the essay's point: center-only behaves like none while RMS behaves like LN, so scale, not shift, is the load-bearing part of the normalization. " +
            $"The update ratio ‖F(x)‖/‖x‖ stays flat without a unit (mean {F(noneRatio)} over blocks; Post-LN {F(postRatio)}; theory √½ ≈ 0.707): the feedback loop, a bigger stream feeds a proportionally bigger branch. " +
            $"Under Pre-norm it falls like 1/√(1 + l/2) (last block: {F(ln.Ratio[^1])}, theory {F(Math.Sqrt(0.5 / (1 + (layers - 1) / 2.0)))}), so late blocks change the stream less and less.",
        ];
        Figure[] figures =
        [
            new(rmsFile, "RMS of the residual stream after each block, log scale: none and center-only climb geometrically together, Pre-RMS and Pre-LN climb together like √(1 + l/2), Post-LN stays at 1 (dashed lines lie on their partners)."),
            new(ratioFile, "‖F(x)‖/‖x‖ per block: flat near √½ without a unit (and in Post-LN, whose input is renormalized), decaying like 1/√(1 + l/2) under Pre-RMS and Pre-LN (dashed lines lie on their partners)."),
        ];
        return new ExperimentReport(Id, Title, Claim, results, figures, notes);

        LabResult Report(string metric, double value, string unit, Anchor? a) =>
            new(Id, Claim, setup, metric, value, unit, a, Verdict.Report);

        LabResult Check(string metric, double value, string unit, Anchor? a, double lo, double hi, string? criterion = null) =>
            new(Id, Claim, setup, metric, value, unit, a, value >= lo && value <= hi ? Verdict.Pass : Verdict.Fail,
                criterion ?? $"in [{lo.ToString(CultureInfo.InvariantCulture)}, {hi.ToString(CultureInfo.InvariantCulture)}]");
    }

    /// <summary>One variant's numbers.</summary>
    /// <param name="Rms">RMS of the stream: the input first, then after each block.</param>
    /// <param name="Ratio">‖F(x)‖/‖x‖ of each block.</param>
    /// <param name="SumMs">Post-LN: mean square of x + F(x) before each LN (empty otherwise).</param>
    private sealed record Measured(double[] Rms, double[] Ratio, double[] SumMs)
    {
        public double MsLast => Rms[^1] * Rms[^1];
        public double Log10Ratio => Math.Log10(Rms[^1] / Rms[0]);
        public double SumMsMean => SumMs.Average();
        public double SumMsMax => SumMs.Max();
        public double SumMsMin => SumMs.Min();
    }

    /// <summary>Runs x0 through one block per F with the given norm and records the stream with the engine's <see cref="Recorder"/>.</summary>
    private static Measured Measure(NormKind kind, NormPlacement placement, float[] x0, Mlp<float>[] branches)
    {
        var recorder = new Recorder();
        recorder.Add(Recorder.StreamRms, Recorder.Rms<float>(x0));
        var x = x0;
        for (int l = 0; l < branches.Length; l++)
        {
            var block = new ResidualBlock<float>(placement, NormSlot<float>.ForTokens($"h.{l}.ln", kind, Dim), branches[l]) { Recorder = recorder };
            x = block.Forward(x, 1, Tokens);
        }
        return new Measured([.. recorder[Recorder.StreamRms]], [.. recorder[Recorder.UpdateRatio]],
            [.. recorder[Recorder.SumRms].Select(r => r * r)]);
    }
}
