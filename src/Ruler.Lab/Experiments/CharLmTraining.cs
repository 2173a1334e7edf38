using System.Diagnostics;
using Ruler.Nn.Data;
using Ruler.Nn.Optim;

namespace Ruler.Lab.Experiments;

/// <summary>
/// A fixed, deterministic set of validation windows: <c>count</c> windows of <c>context</c> tokens at evenly spaced
/// offsets over the validation split, with next-token targets, cut into batches of <c>batch</c> windows. Every run of
/// an experiment is scored on exactly these tokens, so differences between runs are not differences of sampling.
/// </summary>
internal sealed class ValidationWindows
{
    private readonly List<(int[] Inputs, int[] Targets)> _batches = [];

    /// <summary>Cuts the windows from <paramref name="tokens"/>.</summary>
    public ValidationWindows(int[] tokens, int context, int batch, int batchCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchCount);
        int count = batch * batchCount;
        long span = tokens.Length - context - 1;
        if (span < count) throw new ArgumentException($"ValidationWindows: {tokens.Length} tokens cannot hold {count} windows of {context}.", nameof(tokens));
        Context = context;
        Batch = batch;
        for (int b = 0; b < batchCount; b++)
        {
            var inputs = new int[batch * context];
            var targets = new int[batch * context];
            for (int w = 0; w < batch; w++)
            {
                int offset = (int)((b * batch + w) * span / count);
                tokens.AsSpan(offset, context).CopyTo(inputs.AsSpan(w * context, context));
                tokens.AsSpan(offset + 1, context).CopyTo(targets.AsSpan(w * context, context));
            }
            _batches.Add((inputs, targets));
        }
    }

    /// <summary>Tokens per window.</summary>
    public int Context { get; }

    /// <summary>Windows per batch.</summary>
    public int Batch { get; }

    /// <summary>Scored tokens in all.</summary>
    public int TokenCount => _batches.Count * Batch * Context;

    /// <summary>
    /// Mean cross-entropy (nats per token) of the model over every window. <paramref name="batchStatistics"/> false
    /// evaluates in eval mode (BatchNorm uses its running statistics, as at generation time); true keeps training mode
    /// (BatchNorm normalizes with the statistics of the validation batch itself, and updates its running statistics).
    /// </summary>
    public double Loss(CharTransformer<float> model, bool batchStatistics = false)
    {
        bool training = model.Training;
        model.Training = batchStatistics;
        double sum = 0;
        foreach (var (inputs, targets) in _batches) sum += model.Loss(inputs, targets, Batch, Context);
        model.Training = training;
        return sum / _batches.Count;
    }
}

/// <summary>What one language-model training run is: the model, the batch, the steps and the learning-rate schedule.</summary>
/// <param name="Label">Name in progress lines, e.g. "RMS seed 1".</param>
/// <param name="Config">The model.</param>
/// <param name="Batch">Windows per training batch (each of <c>Config.Context</c> tokens).</param>
/// <param name="Steps">AdamW steps.</param>
/// <param name="PeakLearningRate">Learning rate at the end of warmup.</param>
/// <param name="WarmupSteps">Linear warmup steps (0: start at the peak), then cosine decay to a tenth of the peak at <paramref name="Steps"/>.</param>
/// <param name="Seed">Seed of the weights and of the training windows.</param>
/// <param name="Evaluations">Validation evaluations besides the one at step 0, evenly spaced, the last at the end.</param>
internal sealed record LmRun(string Label, TransformerConfig Config, int Batch, int Steps, double PeakLearningRate, int WarmupSteps, ulong Seed, int Evaluations);

/// <summary>What a run measured.</summary>
/// <param name="Steps">Steps at which the validation loss was measured (0 = at initialization).</param>
/// <param name="ValidationLoss">Validation loss (eval mode) at those steps.</param>
/// <param name="FinalTrainLoss">Training loss of the last step taken.</param>
/// <param name="TokensPerSecond">Training tokens per second of wall time, forward + backward + clip + AdamW (evaluations excluded).</param>
/// <param name="TrainSeconds">Wall time of the training steps.</param>
/// <param name="NonFiniteStep">The step whose loss or gradient was NaN/∞ (the run stopped there), or null.</param>
/// <param name="BatchStatisticsLoss">Final validation loss in training mode (BatchNorm with the validation batch's own statistics); null unless asked for.</param>
internal sealed record LmRunResult(int[] Steps, double[] ValidationLoss, double FinalTrainLoss, double TokensPerSecond, double TrainSeconds,
    int? NonFiniteStep, double? BatchStatisticsLoss)
{
    /// <summary>The last validation loss measured (the last finite one when the run blew up).</summary>
    public double FinalValidationLoss => ValidationLoss[^1];
}

/// <summary>
/// The lab's char-LM training loop (the nanoGPT recipe at small size): seeded random training windows, AdamW
/// (β = 0.9, 0.99, weight decay 0.01), gradient clipping at global norm 1, linear warmup + cosine decay; validation
/// on a fixed <see cref="ValidationWindows"/> set. A NaN/∞ loss or gradient norm ends the run at that step.
/// </summary>
internal static class CharLmTraining
{
    /// <summary>Global gradient-norm clip.</summary>
    public const double ClipNorm = 1.0;

    /// <summary>Trains one model; <paramref name="progress"/> gets (step, last training loss) every few steps.</summary>
    public static LmRunResult Train(LmRun run, int[] trainTokens, ValidationWindows validation, Action<int, double> progress, bool batchStatisticsLoss = false)
    {
        var cfg = run.Config;
        var model = new CharTransformer<float>(cfg, run.Seed);
        var optimizer = new AdamW<float>(model.Parameters, run.PeakLearningRate, beta1: 0.9, beta2: 0.99, weightDecay: 0.01);
        var schedule = new WarmupCosineSchedule(run.PeakLearningRate, run.WarmupSteps, run.Steps, floor: run.PeakLearningRate / 10);
        var sampler = new TokenWindowSampler(trainTokens, run.Batch, cfg.Context, run.Seed ^ 0x5DEECE66DUL);
        var inputs = new int[run.Batch * cfg.Context];
        var targets = new int[run.Batch * cfg.Context];
        var evalAt = new SortedSet<int> { 0 };
        for (int e = 1; e <= run.Evaluations; e++) evalAt.Add((int)((long)run.Steps * e / run.Evaluations));
        List<int> steps = [0];
        List<double> losses = [validation.Loss(model)];
        var train = new Stopwatch();
        double trainLoss = double.NaN;
        int? blewUp = null;
        int taken = 0;
        for (int s = 0; s < run.Steps; s++)
        {
            train.Start();
            sampler.Next(inputs, targets);
            model.ZeroGrad();
            double loss = model.Loss(inputs, targets, run.Batch, cfg.Context);
            double norm = double.NaN;
            if (double.IsFinite(loss))
            {
                model.Backward();
                norm = GradientClipping.ClipByGlobalNorm(model.Parameters, ClipNorm);
            }
            if (!double.IsFinite(loss) || !double.IsFinite(norm))
            {
                train.Stop();
                blewUp = s;
                break;
            }
            optimizer.LearningRate = schedule.At(s);
            optimizer.Step();
            train.Stop();
            trainLoss = loss;
            taken = s + 1;
            if (evalAt.Contains(taken))
            {
                double v = validation.Loss(model);
                if (!double.IsFinite(v))
                {
                    blewUp = taken;
                    break;
                }
                steps.Add(taken);
                losses.Add(v);
            }
            if (taken % 10 == 0 || taken == run.Steps) progress(taken, loss);
        }
        double? batchStats = batchStatisticsLoss && blewUp is null ? validation.Loss(model, batchStatistics: true) : null;
        double seconds = train.Elapsed.TotalSeconds;
        return new LmRunResult([.. steps], [.. losses], trainLoss, seconds > 0 ? (double)taken * run.Batch * cfg.Context / seconds : 0,
            seconds, blewUp, batchStats);
    }

    /// <summary>Entropy (nats) of the validation split's character frequencies: the loss of a model that learned only the unigram counts.</summary>
    public static double UnigramEntropy(int[] tokens, int vocab)
    {
        var counts = new long[vocab];
        foreach (int t in tokens) counts[t]++;
        double h = 0;
        foreach (long c in counts)
            if (c > 0)
            {
                double p = (double)c / tokens.Length;
                h -= p * Math.Log(p);
            }
        return h;
    }
}
