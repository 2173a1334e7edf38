using System.Diagnostics;
using System.Globalization;
using Ruler.Lab.Report;
using Ruler.Nn.Data;
using Ruler.Nn.Optim;

namespace Ruler.Lab.Experiments;

/// <summary>
/// E6 — BatchNorm across tokens breaks a causal Transformer (LAB.md). Two copies of the engine's 2-layer causal
/// CharTransformer (d=64, context 64, 4 heads, Pre-norm) start from the same weights, one with LayerNorm and one
/// with BatchNorm over (batch × time) in every norm slot, and train briefly on tiny Shakespeare (same batches).
/// Then, on validation windows: (a) replace the other sequences of the batch, (b) pad the sequences, (c) edit the
/// token at t + 5, (d) generate step by step — and measure how much the logits that should not move do move.
/// LayerNorm's ruler is one token's own features, so its answers are exact; BatchNorm's ruler is shared by every
/// token of the batch, past and future, so in training mode each probe reaches through it.
/// </summary>
internal sealed class E6BatchNormAcrossTokens : IExperiment
{
    private const int Dim = 64, Context = 64, Layers = 2, Heads = 4, TrainBatch = 16, ProbeBatch = 8;
    private const int RealLength = 48, EditAt = 36, LastUnchanged = EditAt - 5;
    private const double LearningRate = 3e-3, ExactZeroFloor = 1e-9;
    private const int StatisticBatches = 20;

    public string Id => "E6";
    public string Title => "BatchNorm across tokens breaks a causal Transformer";
    public string Claim => "A ruler shared across the batch and across time leaks: with BatchNorm a token's logits depend on its batch companions, on padding and on future tokens; LayerNorm's per-token ruler does not.";

    public ExperimentReport Run(LabContext context)
    {
        var settings = context.Settings;
        // Quick: the untrained models (every probe already shows the leak); full: a short training first, so that
        // BN's running statistics, and with them (d)'s train/eval gap, belong to a model that has learned something.
        int steps = settings.Quick ? 0 : 300;
        int totalSteps = 2 * steps + 4;
        var clock = Stopwatch.StartNew();
        var corpus = TinyShakespeare.LoadEmbedded();
        int vocab = corpus.Tokenizer.VocabSize;
        string setup = $"CharTransformer L={Layers}, d={Dim}, {Heads} heads, context {Context}, Pre-norm, tiny Shakespeare; LN and BN from the same init (seed {settings.Seed}), " +
            (steps == 0 ? "untrained" : $"{steps} AdamW steps (lr {LearningRate}, batch {TrainBatch}×{Context}) on the same batches") + $"; probes on {ProbeBatch} validation windows of {Context}";
        var anchor = new Anchor(
            "Distance (1/d)·‖μ_B − μ‖, (1/d)·‖σ²_B − σ²‖ between the first BN's batch and running statistics through training: close to zero for ResNet20 on CIFAR-10, much larger and with extreme outliers for a Transformer with BN on IWSLT14",
            "Shen et al. 2020, PowerNorm: Rethinking Batch Normalization in Transformers, Fig. 2");

        var models = new Dictionary<NormKind, CharTransformer<float>>();
        var trainLoss = new Dictionary<NormKind, double>();
        int done = 0;
        foreach (var kind in new[] { NormKind.LayerNorm, NormKind.BatchNorm })
        {
            var model = new CharTransformer<float>(new TransformerConfig(vocab, Context, Layers, Dim, Heads) { Norm = kind }, settings.Seed);
            trainLoss[kind] = Train(model, corpus.Train, steps, settings.Seed, (step, loss) =>
            {
                if (step % 10 == 0) context.Progress.Step(Id, done + step, totalSteps, $"{Name(kind)} step {step}/{steps}, loss {loss:0.000}");
            });
            done += steps;
            models[kind] = model;
        }
        double trainSeconds = clock.Elapsed.TotalSeconds;

        var probeRng = new Rng(settings.Seed ^ 0xE6E6E6E6UL);
        var (windows, valTargets) = Windows(corpus.Validation, ProbeBatch, probeRng);
        var (companions, _) = Windows(corpus.Validation, ProbeBatch, probeRng);
        int pad = corpus.Tokenizer.Encode(" ")[0];
        var ln = new Probe(models[NormKind.LayerNorm], vocab);
        var bn = new Probe(models[NormKind.BatchNorm], vocab);

        // (a) Sequence 0 with other batch companions (training mode: batch statistics).
        context.Progress.Step(Id, done++, totalSteps, "(a) batch companions");
        var swapped = (int[])companions.Clone();
        Array.Copy(windows, swapped, Context);
        double aLn = ln.MaxChange(windows, swapped, Context, Context, training: true, sequences: [0]);
        double aBn = bn.MaxChange(windows, swapped, Context, Context, training: true, sequences: [0]);

        // (b) The first 48 tokens of every window, alone and padded with spaces to 64.
        context.Progress.Step(Id, done++, totalSteps, "(b) padding");
        var real = Prefixes(windows, RealLength);
        var padded = new int[ProbeBatch * Context];
        Array.Fill(padded, pad);
        for (int b = 0; b < ProbeBatch; b++) Array.Copy(real, b * RealLength, padded, b * Context, RealLength);
        double bLn = ln.PaddingChange(real, padded);
        double bBn = bn.PaddingChange(real, padded);

        // (c) Edit the token at position 36 of sequence 0: positions ≤ 31 must not move.
        context.Progress.Step(Id, done++, totalSteps, "(c) future edit");
        var edited = (int[])windows.Clone();
        edited[EditAt] = (edited[EditAt] + 1 + probeRng.NextInt(vocab - 1)) % vocab;
        double[] cLnProfile = ln.ChangePerPosition(windows, edited, training: true);
        double[] cBnProfile = bn.ChangePerPosition(windows, edited, training: true);
        double[] cBnEvalProfile = bn.ChangePerPosition(windows, edited, training: false);
        double cBnOthers = bn.MaxChange(windows, edited, Context, Context, training: true, sequences: [.. Enumerable.Range(1, ProbeBatch - 1)]);
        double cLnAfter = cLnProfile[EditAt..].Max();
        double cLn = cLnProfile[..(LastUnchanged + 1)].Max(), cBn = cBnProfile[..(LastUnchanged + 1)].Max(), cBnEval = cBnEvalProfile[..(LastUnchanged + 1)].Max();

        // (d) Full-sequence logits vs step-by-step generation (prefix k → logits at k − 1).
        context.Progress.Step(Id, done++, totalSteps, "(d) step-by-step generation");
        double dLn = ln.StepByStepGap(windows, training: true);
        double dBnTrain = bn.StepByStepGap(windows, training: true);
        double dBnEval = bn.StepByStepGap(windows, training: false);
        double gapLogits = bn.TrainEvalLogitGap(windows);
        double bnTrainLoss = bn.Loss(windows, valTargets, training: true), bnEvalLoss = bn.Loss(windows, valTargets, training: false);
        double lnLoss = ln.Loss(windows, valTargets, training: false);
        // Shen et al.'s Fig. 2 measure on the first BN: (1/d)·‖μ_B − μ_running‖ and (1/d)·‖σ²_B − σ²_running‖ over validation batches.
        bn.RestoreRunningStatistics();
        var (meanDistance, varDistance) = steps > 0 ? BatchStatisticDistances(models[NormKind.BatchNorm], corpus.Validation, probeRng) : (double.NaN, double.NaN);
        double seconds = clock.Elapsed.TotalSeconds;

        var results = new List<LabResult>
        {
            Check("(a) max |Δlogits| of sequence 0 when its batch companions change, LayerNorm", aLn, aLn < 1e-5, "< 1e-5"),
            Check("(a) max |Δlogits| of sequence 0 when its batch companions change, BatchNorm (train)", aBn, aBn > 1e-3, "> 1e-3"),
            Check("(b) max |Δlogits| of the 48 real tokens when padded to 64, LayerNorm", bLn, bLn < 1e-5, "< 1e-5"),
            Check("(b) max |Δlogits| of the 48 real tokens when padded to 64, BatchNorm (train)", bBn, bBn > 1e-3, "> 1e-3"),
            Check($"(c) max |Δlogits| at positions ≤ {LastUnchanged} after editing token {EditAt}, LayerNorm", cLn, cLn < 1e-6, "< 1e-6"),
            Check($"(c) max |Δlogits| at positions ≤ {LastUnchanged} after editing token {EditAt}, BatchNorm (train)", cBn, cBn > 1e-4, "> 1e-4 (a leak well above float rounding)"),
            Check($"(c) control: max |Δlogits| at positions ≥ {EditAt} after editing token {EditAt}, LayerNorm", cLnAfter, cLnAfter > 1e-3, "> 1e-3 (the edit is seen where causality allows)"),
            Report($"(c) max |Δlogits| at positions ≤ {LastUnchanged} after editing token {EditAt}, BatchNorm (eval)", cBnEval, "", null),
            Report($"(c) max |Δlogits| in the other {ProbeBatch - 1} sequences after editing token {EditAt} of sequence 0, BatchNorm (train)", cBnOthers, "", null),
            Check("(d) max |full-sequence − step-by-step logits|, LayerNorm", dLn, dLn < 1e-4, "< 1e-4"),
            Report("(d) max |full-sequence − step-by-step logits|, BatchNorm (train)", dBnTrain, "", null),
            Report("(d) max |full-sequence − step-by-step logits|, BatchNorm (eval)", dBnEval, "", null),
            Report("(d) max |train-mode − eval-mode logits| on one validation batch, BatchNorm", gapLogits, "", anchor),
            Report("(d) validation loss, BatchNorm in train mode (batch statistics)", bnTrainLoss, "nats", null),
            Report("(d) validation loss, BatchNorm in eval mode (running statistics)", bnEvalLoss, "nats", null),
            Report("(d) validation loss, LayerNorm (train = eval)", lnLoss, "nats", null),
        };
        if (steps > 0)
        {
            results.Add(Report($"training loss, mean of the last 10 of {steps} steps, LayerNorm", trainLoss[NormKind.LayerNorm], "nats", null));
            results.Add(Report($"training loss, mean of the last 10 of {steps} steps, BatchNorm", trainLoss[NormKind.BatchNorm], "nats", null));
            results.Add(Report($"first BN: (1/d)·‖μ_B − μ_running‖, mean over {StatisticBatches} validation batches of {TrainBatch}×{Context}", meanDistance, "", anchor));
            results.Add(Report($"first BN: (1/d)·‖σ²_B − σ²_running‖, mean over {StatisticBatches} validation batches of {TrainBatch}×{Context}", varDistance, "", anchor));
        }

        string file = "e6-future-edit.png";
        double[] positions = [.. Enumerable.Range(0, Context).Select(t => (double)t)];
        double[] Floor(double[] v) => [.. v.Select(d => Math.Max(d, ExactZeroFloor))];
        PlacedLegendChart.Line(context.PathOf(file), $"|Δlogits| per position after editing token {EditAt}", "position t", "max |Δlogits| (exact 0 drawn at 1e-9)",
            [
                new Series("BatchNorm (eval)", positions, Floor(cBnEvalProfile)),
                new Series("BatchNorm (train)", positions, Floor(cBnProfile)),
                new Series("LayerNorm", positions, Floor(cLnProfile)),
            ],
            ScottPlot.Alignment.MiddleLeft, logY: true, dashed: ["LayerNorm"], colors: [2, 1, 0]); // LN drawn last, dashed, over BN (eval) where both are 0

        string F(double v) => v == 0 ? "0 (exact)" : v.ToString(v < 0.01 ? "0.0e0" : "0.###", CultureInfo.InvariantCulture);
        string[] notes =
        [
            steps > 0
                ? $"Both models trained {steps} steps first (training loss LN {F(trainLoss[NormKind.LayerNorm])}, BN {F(trainLoss[NormKind.BatchNorm])} nats; {trainSeconds:0.0} s) so that BN's running statistics, and with them (d)'s train/eval gap, are those of a model that has learned something. The quick size runs the same probes on the untrained models and (a)–(c) leak there too."
                : "The models are untrained here (the quick size): every probe already shows the leak at initialization. BN's running statistics are still their initial values (mean 0, variance 1), so (d)'s train/eval gap here says little; the full size trains first.",
            $"(a) Swapping the other {ProbeBatch - 1} sequences of the batch moves sequence 0's logits by {F(aLn)} under LN and {F(aBn)} under BN in training mode: BN's ruler is measured on the whole batch, so a sequence's prediction depends on which strangers it was batched with.",
            $"(b) Padding the {RealLength} real tokens with {Context - RealLength} spaces changes their logits by {F(bLn)} under LN and {F(bBn)} under BN: the pad tokens enter BN's statistics.",
            $"(c) Editing token {EditAt} of one sequence moves the logits at positions ≤ {LastUnchanged} by {F(cLn)} under LN (causal attention gives those positions exactly zero weight on the edit) and by {F(cBn)} under BN in training mode: the future leaks into the past through the shared mean and variance, and into the other sequences of the batch too (up to {F(cBnOthers)}). In eval mode (running statistics) BN is causal again ({F(cBnEval)}).",
            $"(d) Generating one token at a time reproduces the full-sequence logits to {F(dLn)} under LN; under BN in training mode the gap is {F(dBnTrain)} (a prefix's statistics are not the full batch's), so BN must generate in eval mode, where the gap is {F(dBnEval)}. " +
            $"That is the train/eval gap: on one validation batch BN's logits differ by up to {F(gapLogits)} between modes and its loss is {F(bnTrainLoss)} nats with batch statistics vs {F(bnEvalLoss)} with running statistics (LN: {F(lnLoss)} in both)." +
            (steps > 0 && Math.Abs(bnTrainLoss - bnEvalLoss) < 0.05
                ? $" The gap in loss is small at this scale ({F(Math.Abs(bnTrainLoss - bnEvalLoss))} nats; BN in eval mode {F(bnEvalLoss)} vs LN {F(lnLoss)}): a 2-layer character model after {steps} steps, trained on batches of {TrainBatch * Context} tokens, has, we think, stable enough batch statistics (see the distances below) that the running averages stand in for them well. The harm of BN in Transformers that Shen et al. measure at scale does not reproduce here; what reproduces, exactly, is the leakage of (a)–(c)."
                : ""),
            "Shen et al. (2020) trace BN's failure in Transformers to the same cause at scale: the batch statistics of text fluctuate much more than those of images (their Fig. 2: the first BN of a Transformer on IWSLT14 vs ResNet20 on CIFAR-10), so the running averages used at inference are a poor stand-in for the statistics the model was trained with, and training itself is unstable." +
            (steps > 0
                ? $" Their distance measured on our first BN after {steps} steps: (1/d)·‖μ_B − μ‖ = {F(meanDistance)}, (1/d)·‖σ²_B − σ²‖ = {F(varDistance)} per validation batch of {TrainBatch * Context} tokens; we have no image model at this size to set beside it, so it is shown, not compared."
                : ""),
        ];
        Figure[] figures =
        [
            new(file, $"Max |Δlogits| per position (over the vocabulary and the {ProbeBatch} sequences) after editing token {EditAt} of one sequence, log scale; exact zeros are drawn at 1e-9. LayerNorm (and BatchNorm in eval mode) is exactly 0 before the edit; BatchNorm in training mode moves every position."),
        ];
        return new ExperimentReport(Id, Title, Claim, [.. results.Select(r => r with { Setup = setup, Seconds = seconds })], figures, notes);

        LabResult Check(string metric, double value, bool pass, string criterion) =>
            new(Id, Claim, setup, metric, value, "", null, pass ? Verdict.Pass : Verdict.Fail, criterion);

        LabResult Report(string metric, double value, string unit, Anchor? a) =>
            new(Id, Claim, setup, metric, value, unit, a, Verdict.Report);
    }

    private static string Name(NormKind kind) => kind == NormKind.LayerNorm ? "LN" : "BN";

    /// <summary>AdamW on seeded random windows of the training text; returns the mean loss of the last 10 steps.</summary>
    private static double Train(CharTransformer<float> model, int[] tokens, int steps, ulong seed, Action<int, double> progress)
    {
        var sampler = new TokenWindowSampler(tokens, TrainBatch, Context, seed ^ 0x5A5A5A5AUL);
        var optimizer = new AdamW<float>(model.Parameters, LearningRate);
        var inputs = new int[TrainBatch * Context];
        var targets = new int[inputs.Length];
        model.Training = true;
        double recent = 0;
        for (int step = 0; step < steps; step++)
        {
            sampler.Next(inputs, targets);
            model.ZeroGrad();
            double loss = model.Loss(inputs, targets, TrainBatch, Context);
            model.Backward();
            optimizer.Step();
            if (step >= steps - 10) recent += loss / Math.Min(10, steps);
            progress(step, loss);
        }
        return recent;
    }

    /// <summary><paramref name="count"/> windows of <see cref="Context"/> tokens at seeded random offsets and their next-token targets, both row-major.</summary>
    private static (int[] Windows, int[] Targets) Windows(int[] tokens, int count, Rng rng)
    {
        var windows = new int[count * Context];
        var targets = new int[windows.Length];
        for (int b = 0; b < count; b++)
        {
            int offset = rng.NextInt(tokens.Length - Context - 1);
            tokens.AsSpan(offset, Context).CopyTo(windows.AsSpan(b * Context, Context));
            tokens.AsSpan(offset + 1, Context).CopyTo(targets.AsSpan(b * Context, Context));
        }
        return (windows, targets);
    }

    /// <summary>
    /// Shen et al.'s (2020, Fig. 2) distances between the batch statistics of the first BN (its input is the embedding
    /// sum wte[token] + wpe[t]) and its running statistics, averaged over <see cref="StatisticBatches"/> validation batches.
    /// </summary>
    private static (double Mean, double Variance) BatchStatisticDistances(CharTransformer<float> model, int[] tokens, Rng rng)
    {
        var buffers = model.NamedBuffers;
        float[] runningMean = buffers.Single(b => b.Name == "h.0.ln1.running_mean").Values, runningVar = buffers.Single(b => b.Name == "h.0.ln1.running_var").Values;
        float[] wte = model.TokenEmbedding.Weight.Value, wpe = model.PositionEmbedding.Weight.Value;
        double meanDistance = 0, varDistance = 0;
        for (int k = 0; k < StatisticBatches; k++)
        {
            var (windows, _) = Windows(tokens, TrainBatch, rng);
            double[] sum = new double[Dim], square = new double[Dim];
            for (int r = 0; r < windows.Length; r++)
                for (int c = 0; c < Dim; c++)
                {
                    double x = wte[windows[r] * Dim + c] + wpe[r % Context * Dim + c];
                    sum[c] += x;
                    square[c] += x * x;
                }
            double dm = 0, dv = 0;
            for (int c = 0; c < Dim; c++)
            {
                double mean = sum[c] / windows.Length, variance = square[c] / windows.Length - mean * mean;
                dm += (mean - runningMean[c]) * (mean - runningMean[c]);
                dv += (variance - runningVar[c]) * (variance - runningVar[c]);
            }
            meanDistance += Math.Sqrt(dm) / Dim / StatisticBatches;
            varDistance += Math.Sqrt(dv) / Dim / StatisticBatches;
        }
        return (meanDistance, varDistance);
    }

    /// <summary>The first <paramref name="length"/> tokens of every window.</summary>
    private static int[] Prefixes(int[] windows, int length)
    {
        int count = windows.Length / Context;
        var prefixes = new int[count * length];
        for (int b = 0; b < count; b++) Array.Copy(windows, b * Context, prefixes, b * length, length);
        return prefixes;
    }

    /// <summary>Forward passes on one trained model, with BatchNorm's running statistics restored before each one so that no probe changes what the next sees.</summary>
    private sealed class Probe
    {
        private readonly CharTransformer<float> _model;
        private readonly int _vocab;
        private readonly (float[] Values, float[] Saved)[] _buffers;

        public Probe(CharTransformer<float> model, int vocab)
        {
            _model = model;
            _vocab = vocab;
            _buffers = [.. model.NamedBuffers.Select(b => (b.Values, (float[])b.Values.Clone()))];
        }

        /// <summary>Puts BatchNorm's running statistics back to what they were after training (a training-mode forward updates them).</summary>
        public void RestoreRunningStatistics()
        {
            foreach (var (values, saved) in _buffers) saved.CopyTo(values, 0);
        }

        /// <summary>Logits (batch, time, vocab), copied.</summary>
        public float[] Logits(int[] tokens, int batch, int time, bool training)
        {
            RestoreRunningStatistics();
            _model.Training = training;
            return [.. _model.Forward(tokens, batch, time)];
        }

        /// <summary>Mean cross-entropy of (batch, 64) windows against their next-token targets.</summary>
        public double Loss(int[] tokens, int[] targets, bool training)
        {
            RestoreRunningStatistics();
            _model.Training = training;
            return _model.Loss(tokens, targets, tokens.Length / Context, Context);
        }

        /// <summary>max |Δlogits| over the listed sequences between two batches of the same shape.</summary>
        public double MaxChange(int[] a, int[] b, int time, int stride, bool training, int[] sequences)
        {
            int batch = a.Length / time;
            float[] la = Logits(a, batch, time, training), lb = Logits(b, batch, time, training);
            double max = 0;
            foreach (int s in sequences)
                for (int i = s * stride * _vocab; i < (s * stride + time) * _vocab; i++) max = Math.Max(max, Math.Abs(la[i] - lb[i]));
            return max;
        }

        /// <summary>max |Δlogits| of the real tokens: (batch, 48) alone vs padded to (batch, 64), training mode.</summary>
        public double PaddingChange(int[] real, int[] padded)
        {
            int batch = padded.Length / Context;
            float[] lr = Logits(real, batch, RealLength, training: true), lp = Logits(padded, batch, Context, training: true);
            double max = 0;
            for (int b = 0; b < batch; b++)
                for (int t = 0; t < RealLength; t++)
                    for (int v = 0; v < _vocab; v++)
                        max = Math.Max(max, Math.Abs(lr[(b * RealLength + t) * _vocab + v] - lp[(b * Context + t) * _vocab + v]));
            return max;
        }

        /// <summary>Per position t: max over sequences and vocabulary of |Δlogits| between two (batch, 64) batches.</summary>
        public double[] ChangePerPosition(int[] a, int[] b, bool training)
        {
            int batch = a.Length / Context;
            float[] la = Logits(a, batch, Context, training), lb = Logits(b, batch, Context, training);
            var profile = new double[Context];
            for (int s = 0; s < batch; s++)
                for (int t = 0; t < Context; t++)
                    for (int v = 0; v < _vocab; v++)
                    {
                        int i = (s * Context + t) * _vocab + v;
                        profile[t] = Math.Max(profile[t], Math.Abs(la[i] - lb[i]));
                    }
            return profile;
        }

        /// <summary>max |full-sequence logits − logits of the prefix of length k + 1 at position k| over k, sequences and vocabulary.</summary>
        public double StepByStepGap(int[] windows, bool training)
        {
            int batch = windows.Length / Context;
            float[] full = Logits(windows, batch, Context, training);
            double max = 0;
            for (int k = 1; k <= Context; k++)
            {
                float[] step = Logits(Prefixes(windows, k), batch, k, training);
                for (int b = 0; b < batch; b++)
                    for (int v = 0; v < _vocab; v++)
                        max = Math.Max(max, Math.Abs(full[(b * Context + k - 1) * _vocab + v] - step[(b * k + k - 1) * _vocab + v]));
            }
            return max;
        }

        /// <summary>max |train-mode − eval-mode logits| on one batch.</summary>
        public double TrainEvalLogitGap(int[] windows)
        {
            int batch = windows.Length / Context;
            float[] train = Logits(windows, batch, Context, training: true), eval = Logits(windows, batch, Context, training: false);
            double max = 0;
            for (int i = 0; i < train.Length; i++) max = Math.Max(max, Math.Abs(train[i] - eval[i]));
            return max;
        }
    }
}
