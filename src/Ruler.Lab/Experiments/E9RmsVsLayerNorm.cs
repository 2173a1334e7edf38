using System.Diagnostics;
using System.Globalization;
using Ruler.Lab.Report;
using Ruler.Nn.Data;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E9 (LAB.md, claims 5–6): a char-level LM on tiny Shakespeare trained with every token normalizer in the Pre-norm
/// slots — LayerNorm, RMSNorm, center-only, none, DyT, BatchNorm over batch × time — compared on a fixed validation
/// set; RMSNorm must land within 0.05 nats of LayerNorm. Then the warmup study of Xiong et al. 2020 shrunk to fit:
/// 6 and 12 layers, Post-LN vs Pre-LN, warmup 0 vs 200 steps, lr 1e-3 and 3e-3. And our own RMS/LN time ratio.
/// </summary>
internal sealed class E9RmsVsLayerNorm : IExperiment
{
    /// <summary>The comparison's variants: label and what fills every norm slot.</summary>
    internal static readonly (string Label, NormKind Kind)[] Variants =
    [
        ("LN", NormKind.LayerNorm), ("RMS", NormKind.RmsNorm), ("center-only", NormKind.CenterOnly),
        ("none", NormKind.None), ("DyT", NormKind.DyT), ("BN", NormKind.BatchNorm),
    ];

    /// <summary>LAB.md's pass bound on |val loss RMS − val loss LN|, nats.</summary>
    internal const double PassBound = 0.05;

    /// <summary>Sizes of one run of E9.</summary>
    /// <param name="Layers">Layers of the comparison's model.</param>
    /// <param name="Dim">Its width.</param>
    /// <param name="Heads">Its heads.</param>
    /// <param name="Context">Tokens per window (training and validation).</param>
    /// <param name="Batch">Windows per batch.</param>
    /// <param name="Steps">AdamW steps per run.</param>
    /// <param name="Warmup">Warmup steps of the comparison.</param>
    /// <param name="LearningRate">Peak learning rate of the comparison.</param>
    /// <param name="Evaluations">Validation points per run after step 0.</param>
    /// <param name="ValidationBatches">Validation batches (of <paramref name="Batch"/> windows).</param>
    /// <param name="StudyDim">Width in the warmup study.</param>
    /// <param name="StudyHeads">Heads in the warmup study.</param>
    /// <param name="StudyContext">Context in the warmup study.</param>
    /// <param name="StudyBatch">Batch in the warmup study.</param>
    /// <param name="StudySteps">Steps per run in the warmup study.</param>
    /// <param name="StudyWarmup">The "with warmup" arm's warmup steps (LAB.md: 200).</param>
    internal sealed record Plan(int Layers, int Dim, int Heads, int Context, int Batch, int Steps, int Warmup, double LearningRate,
        int Evaluations, int ValidationBatches,
        int StudyDim, int StudyHeads, int StudyContext, int StudyBatch, int StudySteps, int StudyWarmup)
    {
        /// <summary>Depths of the warmup study.</summary>
        public static readonly int[] StudyLayers = [6, 12];

        /// <summary>Learning rates of the warmup study.</summary>
        public static readonly double[] StudyRates = [1e-3, 3e-3];

        /// <summary>The quick size (tests, <c>ruler lab --quick</c>).</summary>
        public static Plan Quick { get; } = new(Layers: 2, Dim: 32, Heads: 4, Context: 32, Batch: 16, Steps: 150, Warmup: 15, LearningRate: 3e-3,
            Evaluations: 5, ValidationBatches: 4,
            StudyDim: 32, StudyHeads: 4, StudyContext: 16, StudyBatch: 8, StudySteps: 100, StudyWarmup: 50);

        /// <summary>The full size (<c>ruler lab</c>).</summary>
        public static Plan Full { get; } = new(Layers: 4, Dim: 64, Heads: 4, Context: 64, Batch: 16, Steps: 400, Warmup: 40, LearningRate: 2e-3,
            Evaluations: 8, ValidationBatches: 4,
            StudyDim: 64, StudyHeads: 4, StudyContext: 32, StudyBatch: 8, StudySteps: 400, StudyWarmup: 200);
    }

    /// <inheritdoc />
    public string Id => "E9";

    /// <inheritdoc />
    public string Title => "RMSNorm vs LayerNorm vs none vs DyT, and warmup";

    /// <inheritdoc />
    public string Claim => "Scale, not shift, is the load-bearing part: RMSNorm (length only) matches LayerNorm; Pre-LN trains without warmup where Post-LN needs it.";

    /// <inheritdoc />
    public ExperimentReport Run(LabContext context) => Run(context, context.Settings.Quick ? Plan.Quick : Plan.Full);

    /// <summary>Runs E9 at the given sizes.</summary>
    internal ExperimentReport Run(LabContext context, Plan plan)
    {
        var settings = context.Settings;
        int seeds = settings.SeedCount(1, 2);
        var corpus = TinyShakespeare.LoadEmbedded();
        int vocab = corpus.Tokenizer.VocabSize;
        var validation = new ValidationWindows(corpus.Validation, plan.Context, plan.Batch, plan.ValidationBatches);
        var studyValidation = new ValidationWindows(corpus.Validation, plan.StudyContext, plan.StudyBatch, plan.ValidationBatches);
        double unigram = CharLmTraining.UnigramEntropy(corpus.Validation, vocab);

        var cells = (from layers in Plan.StudyLayers
                     from placement in new[] { NormPlacement.Post, NormPlacement.Pre }
                     from warmup in new[] { 0, plan.StudyWarmup }
                     from lr in Plan.StudyRates
                     select new StudyCell(layers, placement, warmup, lr)).ToArray();
        int total = Variants.Length * seeds * plan.Steps + cells.Length * plan.StudySteps + 1;
        int done = 0;
        void Report(int stepsSoFar, string detail) => context.Progress.Step(Id, stepsSoFar, total, detail);

        // 1. The comparison: every variant, every seed, same weights seed and same training windows per seed.
        var runs = new Dictionary<string, List<LmRunResult>>();
        var clock = Stopwatch.StartNew();
        foreach (var (label, kind) in Variants)
        {
            runs[label] = [];
            for (int s = 0; s < seeds; s++)
            {
                var config = new TransformerConfig(vocab, plan.Context, plan.Layers, plan.Dim, plan.Heads) { Norm = kind, Placement = NormPlacement.Pre };
                var run = new LmRun($"{label} seed {s + 1}", config, plan.Batch, plan.Steps, plan.LearningRate, plan.Warmup, SeedOf(settings.Seed, s), plan.Evaluations);
                int before = done;
                var result = CharLmTraining.Train(run, corpus.Train, validation,
                    (step, loss) => Report(before + step, $"{run.Label} step {step}, loss {loss:F2}"), batchStatisticsLoss: kind == NormKind.BatchNorm);
                runs[label].Add(result);
                done = before + plan.Steps;
                Report(done, $"{run.Label} done, val loss {result.FinalValidationLoss:F3}");
            }
        }
        double comparisonSeconds = clock.Elapsed.TotalSeconds;

        // 2. Our own RMS/LN time: the norm modules alone on one step's activation, and whole training steps.
        clock.Restart();
        var timing = NormKernelTiming.Measure(plan.Batch * plan.Context, plan.Dim, blocks: 61, callsPerBlock: 5, seed: settings.Seed);
        double timingSeconds = clock.Elapsed.TotalSeconds;
        Report(++done, $"norm kernels: RMS/LN time {timing.Ratio:F2}");

        // 3. The warmup study: one seed per cell.
        clock.Restart();
        var study = new List<(StudyCell Cell, LmRunResult Result)>();
        foreach (var cell in cells)
        {
            var config = new TransformerConfig(vocab, plan.StudyContext, cell.Layers, plan.StudyDim, plan.StudyHeads)
            { Norm = NormKind.LayerNorm, Placement = cell.Placement };
            var run = new LmRun(cell.Name, config, plan.StudyBatch, plan.StudySteps, cell.Lr, cell.Warmup, SeedOf(settings.Seed, 100), plan.Evaluations);
            int before = done;
            var result = CharLmTraining.Train(run, corpus.Train, studyValidation, (step, loss) => Report(before + step, $"{run.Label} step {step}, loss {loss:F2}"));
            study.Add((cell, result));
            done = before + plan.StudySteps;
            Report(done, $"{run.Label} done, val loss {result.FinalValidationLoss:F3}");
        }
        double studySeconds = clock.Elapsed.TotalSeconds;

        return Assemble(context, plan, seeds, validation, studyValidation, unigram, runs, timing, study, comparisonSeconds, timingSeconds, studySeconds);
    }

    private ExperimentReport Assemble(LabContext context, Plan plan, int seeds, ValidationWindows validation, ValidationWindows studyValidation, double unigram,
        Dictionary<string, List<LmRunResult>> runs, NormKernelTiming.Timing timing,
        List<(StudyCell Cell, LmRunResult Result)> study,
        double comparisonSeconds, double timingSeconds, double studySeconds)
    {
        var results = new List<LabResult>();
        string setup = $"char LM, tiny Shakespeare 90/10, Pre-norm, {plan.Layers} layers, d={plan.Dim}, {plan.Heads} heads, context {plan.Context}, " +
            $"batch {plan.Batch}, {plan.Steps} AdamW steps (lr {Fmt(plan.LearningRate)}, warmup {plan.Warmup}, cosine), {seeds} seed(s); " +
            $"val loss on {validation.TokenCount} fixed tokens";
        double perRun = comparisonSeconds / (Variants.Length * seeds);
        var meanLoss = Variants.ToDictionary(v => v.Label, v => runs[v.Label].Average(r => r.FinalValidationLoss));
        var zhangSennrich = new Anchor("RMSNorm quality comparable to LayerNorm with 7%–64% less running time (2019 GPU code)", "Zhang & Sennrich 2019, Root Mean Square Layer Normalization, Tables 1–5");
        var zhu = new Anchor("DyT matches LN/RMS at scale: ViT-B 82.3% → 82.5% top-1; small-scale results unreliable", "Zhu et al. 2025, Transformers without Normalization, Table 1");
        foreach (var (label, kind) in Variants)
        {
            var rs = runs[label];
            string blew = rs.Any(r => r.NonFiniteStep is not null) ? $" (NaN/∞ in {rs.Count(r => r.NonFiniteStep is not null)} seed(s); last finite value)" : "";
            Anchor? anchor = kind switch { NormKind.RmsNorm => zhangSennrich, NormKind.DyT => zhu, _ => null };
            results.Add(new LabResult(Id, Claim, setup, $"final val loss, {label}{blew}", meanLoss[label], "nats", anchor, Verdict.Report, Seconds: perRun * seeds));
        }
        double diff = meanLoss["RMS"] - meanLoss["LN"];
        results.Add(new LabResult(Id, Claim, setup, "|val loss RMS − val loss LN|", Math.Abs(diff), "nats", zhangSennrich,
            Math.Abs(diff) < PassBound ? Verdict.Pass : Verdict.Fail, $"< {Fmt(PassBound)} nats (mean over seeds)", perRun * 2 * seeds));
        foreach (var (label, _) in Variants)
            results.Add(new LabResult(Id, Claim, setup, $"training tokens/s, {label}", runs[label].Average(r => r.TokensPerSecond), "tokens/s", null, Verdict.Report,
                Seconds: perRun * seeds));
        var bn = runs["BN"];
        double bnBatchStats = bn.Where(r => r.BatchStatisticsLoss is not null).Select(r => r.BatchStatisticsLoss!.Value).DefaultIfEmpty(double.NaN).Average();
        if (double.IsFinite(bnBatchStats))
            results.Add(new LabResult(Id, Claim, setup, "final val loss, BN normalizing with the validation batch's own statistics (training mode)", bnBatchStats, "nats",
                null, Verdict.Report));
        results.Add(new LabResult(Id, Claim, setup, "unigram entropy of the validation characters (a model that learned only letter frequencies)", unigram, "nats",
            null, Verdict.Report));

        string timingSetup = $"Ruler LayerNorm vs RMSNorm modules, float, forward + backward on ({plan.Batch * plan.Context}, {plan.Dim}), fastest of 61 alternating blocks of 5 calls, this machine";
        results.Add(new LabResult(Id, Claim, timingSetup, "RMS/LN time ratio, norm kernels (forward + backward)", timing.Ratio, "ratio", zhangSennrich, Verdict.Report,
            Seconds: timingSeconds));
        double stepRatio = runs["LN"].Average(r => r.TokensPerSecond) / runs["RMS"].Average(r => r.TokensPerSecond);
        results.Add(new LabResult(Id, Claim, setup, "RMS/LN time ratio, whole training step (LN tokens/s ÷ RMS tokens/s)", stepRatio, "ratio", zhangSennrich, Verdict.Report));

        string studySetup = $"warmup study: char LM, LayerNorm, d={plan.StudyDim}, {plan.StudyHeads} heads, context {plan.StudyContext}, batch {plan.StudyBatch}, " +
            $"{plan.StudySteps} AdamW steps (cosine after warmup), 1 seed; val loss on {studyValidation.TokenCount} fixed tokens";
        var xiong = new Anchor("Post-LN IWSLT14 De-En BLEU 8.45 without warmup vs ~34 with; Pre-LN ~34 without warmup", "Xiong et al. 2020, On Layer Normalization in the Transformer Architecture, Fig. 3");
        double perCell = studySeconds / study.Count;
        foreach (var (cell, r) in study)
        {
            string blew = r.NonFiniteStep is { } at ? $" — NaN/∞ at step {at} (last finite value)" : r.FinalValidationLoss > unigram ? " — no better than unigram" : "";
            results.Add(new LabResult(Id, Claim, studySetup, $"final val loss, {cell.Name}{blew}", r.FinalValidationLoss,
                "nats", xiong, Verdict.Report, Seconds: perCell));
        }

        var figures = new List<Figure>();
        figures.Add(ValidationFigure(context, runs));
        figures.Add(WarmupFigure(context, plan, study));
        var notes = Notes(plan, meanLoss, diff, unigram, bnBatchStats, timing, stepRatio, runs, study);
        return new ExperimentReport(Id, Title, Claim, results, figures, notes);
    }

    private static Figure ValidationFigure(LabContext context, Dictionary<string, List<LmRunResult>> runs)
    {
        var series = new List<Series>();
        foreach (var (label, _) in Variants)
        {
            var rs = runs[label];
            int n = rs.Min(r => r.Steps.Length);
            double[] x = [.. rs[0].Steps.Take(n).Select(s => (double)s)];
            double[] y = [.. Enumerable.Range(0, n).Select(i => rs.Average(r => r.ValidationLoss[i]))];
            series.Add(new Series(label, x, y));
        }
        const string file = "e9-val-loss.png";
        DrawCurves(context.PathOf(file), "E9: validation loss per normalizer (Pre-norm)", series.Select((s, i) => (s, i, false)).ToList());
        return new Figure(file, $"Validation loss against training step for each normalizer in the Pre-norm slots, mean over {runs["LN"].Count} seed(s); LN and RMS lie on top of each other.");
    }

    private static Figure WarmupFigure(LabContext context, Plan plan,
        List<(StudyCell Cell, LmRunResult Result)> study)
    {
        double lr = Plan.StudyRates.Max();
        // One colour per (placement, depth), solid without warmup, dashed with it.
        var lines = study.Where(c => c.Cell.Lr == lr)
            .Select(c => (new Series($"{Short(c.Cell.Placement)} {c.Cell.Layers}L, warmup {c.Cell.Warmup}", [.. c.Result.Steps.Select(s => (double)s)], c.Result.ValidationLoss),
                2 * Array.IndexOf(Plan.StudyLayers, c.Cell.Layers) + (c.Cell.Placement == NormPlacement.Post ? 0 : 1), c.Cell.Warmup > 0))
            .ToList();
        const string file = "e9-warmup.png";
        DrawCurves(context.PathOf(file), $"E9: warmup study at lr {Fmt(lr)} (d={plan.StudyDim})", lines);
        return new Figure(file, $"Validation loss against step at the larger learning rate ({Fmt(lr)}), Post-LN vs Pre-LN, 6 and 12 layers, without and with {plan.StudyWarmup} warmup steps; every cell is in the results table.");
    }

    /// <summary>
    /// Loss curves in the lab's chart style (<see cref="Charts.Finish"/>, its palette), with the legend in the upper right,
    /// where falling loss curves leave room, and an optional dashed pattern per line.
    /// </summary>
    private static void DrawCurves(string path, string title, IReadOnlyList<(Series Series, int Colour, bool Dashed)> lines)
    {
        var plot = new ScottPlot.Plot();
        foreach (var (series, colour, dashed) in lines)
        {
            var line = plot.Add.Scatter(series.X, series.Y, Charts.Palette[colour % Charts.Palette.Length]);
            line.LegendText = series.Label;
            line.LineWidth = 2;
            line.MarkerSize = 5;
            if (dashed) line.LinePattern = ScottPlot.LinePattern.Dashed;
        }
        plot.Legend.Alignment = ScottPlot.Alignment.UpperRight;
        Charts.Finish(plot, path, title, "step", "validation loss (nats/char)", legend: true);
    }

    private static List<string> Notes(Plan plan, Dictionary<string, double> loss, double diff, double unigram, double bnBatchStats,
        NormKernelTiming.Timing timing, double stepRatio, Dictionary<string, List<LmRunResult>> runs,
        List<(StudyCell Cell, LmRunResult Result)> study)
    {
        var notes = new List<string>();
        notes.Add($"RMSNorm ends {Fmt3(loss["RMS"])} nats and LayerNorm {Fmt3(loss["LN"])} (difference {diff:+0.000;−0.000}): dropping the centering " +
            $"{(Math.Abs(diff) < PassBound ? "costs nothing measurable here, as Zhang & Sennrich 2019 report at scale" : "made a difference larger than the 0.05-nat bound here")}.");

        string Compare(string label) => $"{label} {Fmt3(loss[label])} ({loss[label] - loss["LN"]:+0.000;−0.000} vs LN)";
        var worse = new[] { "center-only", "none", "DyT", "BN" }.Where(l => loss[l] - loss["LN"] >= 0.02).ToArray();
        var notWorse = new[] { "center-only", "none", "DyT", "BN" }.Except(worse).ToArray();
        notes.Add($"The controls: {Compare("center-only")}, {Compare("none")}, {Compare("DyT")}, {Compare("BN")}. " +
            (worse.Length > 0 ? $"Worse than LN by 0.02 nats or more: {string.Join(", ", worse)}. " : "None of them trains 0.02 nats or more worse than LN. ") +
            (notWorse.Intersect(["center-only", "none"]).Any()
                ? $"That {string.Join(" and ", notWorse.Intersect(["center-only", "none"]))} {(notWorse.Intersect(["center-only", "none"]).Count() > 1 ? "keep" : "keeps")} up with LN is honest at this size: with {plan.Layers} layers, " +
                  "embeddings drawn at N(0, 1) and AdamW (whose step does not depend on the gradient's scale), the residual stream cannot grow far in a few hundred steps, " +
                  "so a slot that sets no unit costs little; the ruler's job grows with depth (E3, E7 measure it) and with training length. "
                : "") +
            (new[] { "center-only", "none" }.Any(l => loss[l] - loss["LN"] <= -0.02)
                ? "That they even end lower than LN is, we think, the final norm before the head: with LN or RMS there the logits' scale is set by the head's " +
                  "weights alone, which AdamW grows slowly, while without a ruler the stream itself can grow and sharpen the predictions early " +
                  "(a hypothesis this run does not test). "
                : "") +
            (worse.Intersect(["center-only", "none"]).Any()
                ? "Center-only removes the origin but sets no unit, and none sets neither: each branch sees the stream at whatever scale it has reached, so its " +
                  "effective learning rate drifts as the stream grows. "
                : "") +
            "These gaps are small-scale measurements of one recipe (one learning rate for all), not laws.");
        notes.Add($"DyT (α0 = 0.5) bounds values with tanh instead of measuring them; here it ends {loss["DyT"] - loss["LN"]:+0.000;−0.000} nats from LN. " +
            "Zhu et al. 2025 match LayerNorm with DyT at scale (ViT-B 82.3% → 82.5%) and tune α0 for language models; at this size, with one untuned α0 " +
            "and one learning rate shared by every variant, the DyT number is a measurement of this recipe, not a test of their claim.");
        string bnLine = !double.IsFinite(bnBatchStats) ? ""
            : Math.Abs(bnBatchStats - loss["BN"]) < 0.005
                ? $" Here the two agree ({Fmt3(bnBatchStats)} with the validation batch's own statistics, {Fmt3(loss["BN"])} with running averages): with " +
                  $"{plan.Batch * plan.Context} rows per batch one position's share of the statistics is tiny and the running averages have settled, so the problem " +
                  "is one of principle and of generation at batch 1, not of this number."
                : $" With the validation batch's own statistics (training mode) it scores {Fmt3(bnBatchStats)} instead of {Fmt3(loss["BN"])} with running averages.";
        notes.Add("BatchNorm over batch × time has a train/eval problem for a language model: in training its mean and variance at every position mix " +
            "all positions of all sequences in the batch, future tokens included, so training steps see a little of the future and depend on the " +
            "batch; evaluation and generation (one sequence, one token at a time) must use running averages instead, a different function from " +
            "the one trained." + bnLine);
        double lnTok = runs["LN"].Average(r => r.TokensPerSecond), rmsTok = runs["RMS"].Average(r => r.TokensPerSecond);
        bool loadMoved = Math.Abs(stepRatio - 1) > 0.15;
        notes.Add($"Time, measured here rather than quoted: the RMSNorm module takes {timing.Ratio:F2}× LayerNorm's time (forward + backward on " +
            $"{plan.Batch * plan.Context}×{plan.Dim} floats: LN {timing.LayerNormSeconds * 1e6:F0} µs, RMS {timing.RmsNormSeconds * 1e6:F0} µs); whole training steps run at " +
            $"LN {lnTok:F0} vs RMS {rmsTok:F0} tokens/s (RMS/LN time {stepRatio:F2}). Zhang & Sennrich's 7–64% saving was measured on 2019 GPU code; RMSNorm skips only the " +
            "mean (one of two statistics over a row of the same length), and norms are a small part of a step dominated by matrix products. " +
            (loadMoved ? "A whole-step ratio this far from 1 cannot come from the norms, so it is the machine's load moving between the runs: " : "") +
            (loadMoved ? "these" : "These") + " are wall times on a shared 2-core machine, and the training runs' tokens/s move with its load far more than the kernels differ.");
        var byCell = study.ToDictionary(c => c.Cell, c => c.Result);
        double hi = Plan.StudyRates.Max();
        string Cell(int layers, NormPlacement p, int w, double lr)
        {
            var r = byCell[new StudyCell(layers, p, w, lr)];
            return r.NonFiniteStep is { } at ? $"NaN at step {at}" : Fmt3(r.FinalValidationLoss);
        }
        var postGap = Plan.StudyLayers.Select(l => Final(byCell[new StudyCell(l, NormPlacement.Post, 0, hi)]) - Final(byCell[new StudyCell(l, NormPlacement.Post, plan.StudyWarmup, hi)])).ToArray();
        var preGap = Plan.StudyLayers.Select(l => Final(byCell[new StudyCell(l, NormPlacement.Pre, 0, hi)]) - Final(byCell[new StudyCell(l, NormPlacement.Pre, plan.StudyWarmup, hi)])).ToArray();
        int deep = Plan.StudyLayers.Max();
        notes.Add($"Warmup at lr {Fmt(hi)}, {deep} layers: Post-LN {Cell(deep, NormPlacement.Post, 0, hi)} without warmup vs {Cell(deep, NormPlacement.Post, plan.StudyWarmup, hi)} " +
            $"with {plan.StudyWarmup} steps; Pre-LN {Cell(deep, NormPlacement.Pre, 0, hi)} vs {Cell(deep, NormPlacement.Pre, plan.StudyWarmup, hi)}. " +
            WarmupVerdict(postGap, preGap, byCell, unigram) +
            (runs["LN"].Count > 1
                ? $" Each cell is one seed; for scale, LN's {runs["LN"].Count} seeds in the comparison spread over {runs["LN"].Max(r => r.FinalValidationLoss) - runs["LN"].Min(r => r.FinalValidationLoss):F3} nats."
                : " Each cell is one seed."));
        notes.Add($"The warmup study is shrunk to fit the lab's budget (d={plan.StudyDim}, {plan.StudySteps} steps, one seed, a character LM instead of IWSLT14 translation), " +
            $"and a run without warmup also trains for more steps at the peak rate than one with {plan.StudyWarmup} warmup steps; " +
            "Xiong et al. measured 6-layer " +
            "Transformers at d=512 for tens of thousands of steps, where Post-LN's large gradients near the output meet Adam's full step size at step 0.");
        return notes;
    }

    private static string WarmupVerdict(double[] postGap, double[] preGap, IReadOnlyDictionary<StudyCell, LmRunResult> cells, double unigram)
    {
        bool postStuck = cells.Any(c => c.Key.Placement == NormPlacement.Post && c.Key.Warmup == 0 && (c.Value.NonFiniteStep is not null || c.Value.FinalValidationLoss > unigram));
        bool preStuck = cells.Any(c => c.Key.Placement == NormPlacement.Pre && c.Key.Warmup == 0 && (c.Value.NonFiniteStep is not null || c.Value.FinalValidationLoss > unigram));
        double post = postGap.Max(), pre = preGap.Max();
        if (postStuck && !preStuck)
            return "Post-LN without warmup failed to train (NaN or no better than unigram) in at least one cell while Pre-LN trained in every cell: Xiong et al.'s effect shows even at this size.";
        if (post > 0.05 && post > pre + 0.03)
            return $"Post-LN without warmup ends up to {post:F2} nats worse than with warmup, Pre-LN at most {Math.Max(pre, 0):F2}: the direction of Xiong et al.'s effect shows " +
                "(their BLEU 8.45 vs ~34 came from 6-layer translation models at d=512; a loss gap and a BLEU gap are not on one scale).";
        return $"Without warmup Post-LN ends at most {post:F2} nats worse than with warmup (Pre-LN: {pre:F2}): Xiong et al.'s failure of Post-LN without warmup does not reproduce at this size — " +
            "with a narrow model, few steps and gradient clipping, the output-layer gradients that make Post-LN's first Adam steps too large stay small.";
    }

    private static double Final(LmRunResult r) => r.NonFiniteStep is not null ? double.PositiveInfinity : r.FinalValidationLoss;

    /// <summary>One cell of the warmup study.</summary>
    /// <param name="Layers">Depth.</param>
    /// <param name="Placement">Post-LN or Pre-LN.</param>
    /// <param name="Warmup">Linear warmup steps (0 or the plan's).</param>
    /// <param name="Lr">Peak learning rate.</param>
    internal readonly record struct StudyCell(int Layers, NormPlacement Placement, int Warmup, double Lr)
    {
        /// <summary>E.g. "Post-LN 12 layers, warmup 0, lr 3e-3".</summary>
        public string Name => $"{Short(Placement)} {Layers} layers, warmup {Warmup}, lr {Fmt(Lr)}";
    }

    private static string Short(NormPlacement p) => p == NormPlacement.Pre ? "Pre-LN" : "Post-LN";

    private static ulong SeedOf(ulong baseSeed, int index) => baseSeed * 0x9E3779B97F4A7C15UL + (ulong)index * 0xBF58476D1CE4E5B9UL + 9;

    private static string Fmt(double v) => v is > 0 and < 0.01 ? v.ToString("0e0", CultureInfo.InvariantCulture) : v.ToString("0.##", CultureInfo.InvariantCulture);

    private static string Fmt3(double v) => v.ToString("0.000", CultureInfo.InvariantCulture);
}
