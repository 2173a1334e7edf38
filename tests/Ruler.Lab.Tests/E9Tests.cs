using Ruler.Lab.Experiments;
using Ruler.Nn.Data;

namespace Ruler.Lab.Tests;

public sealed class E9Tests
{
    [Fact]
    public void Quick_run_RMSNorm_lands_within_the_bound_of_LayerNorm_and_every_result_and_figure_is_there()
    {
        using var run = new QuickRun();
        var report = run.Run("E9");

        // The pass criterion on the measured losses, recomputed here from the per-variant values.
        double ln = QuickRun.Result(report, "final val loss, LN").Value;
        double rms = QuickRun.Result(report, "final val loss, RMS").Value;
        Assert.InRange(ln, 1.0, 3.3); // trained well below the unigram entropy (3.34 nats), so the comparison is between trained models
        Assert.InRange(rms, 1.0, 3.3);
        Assert.True(Math.Abs(rms - ln) < E9RmsVsLayerNorm.PassBound, $"|RMS − LN| = {Math.Abs(rms - ln):F4} nats");
        var verdict = QuickRun.Result(report, "|val loss RMS − val loss LN|");
        Assert.Equal(Math.Abs(rms - ln), verdict.Value, 12);
        Assert.Equal(Verdict.Pass, verdict.Verdict);
        Assert.True(report.Passed);

        foreach (var (label, _) in E9RmsVsLayerNorm.Variants)
        {
            Assert.True(double.IsFinite(report.Results.Single(r => r.Metric.StartsWith($"final val loss, {label}", StringComparison.Ordinal) && !r.Metric.Contains("statistics")).Value));
            Assert.True(QuickRun.Result(report, $"training tokens/s, {label}").Value > 0);
        }
        Assert.True(QuickRun.Result(report, "RMS/LN time ratio, norm kernels (forward + backward)").Value > 0);
        Assert.Equal(16, report.Results.Count(r => r.Metric.Contains("-LN ", StringComparison.Ordinal) && r.Metric.Contains("warmup", StringComparison.Ordinal)));
        Assert.All(report.Results.Where(r => r.Verdict != Verdict.Report), r => Assert.Equal("|val loss RMS − val loss LN|", r.Metric));
        foreach (var figure in report.Figures)
            Assert.True(new FileInfo(Path.Combine(run.Directory, figure.File)).Length > 1000, figure.File);
        Assert.Equal(["e9-val-loss.png", "e9-warmup.png"], report.Figures.Select(f => f.File));
    }

    [Fact]
    public void Validation_windows_are_fixed_and_score_a_model_the_same_twice()
    {
        var corpus = TinyShakespeare.LoadEmbedded();
        var a = new ValidationWindows(corpus.Validation, context: 16, batch: 4, batchCount: 2);
        var b = new ValidationWindows(corpus.Validation, context: 16, batch: 4, batchCount: 2);
        var model = new CharTransformer<float>(new TransformerConfig(corpus.Tokenizer.VocabSize, 16, 1, 16, 2), seed: 3);
        double first = a.Loss(model);
        Assert.Equal(first, b.Loss(model));
        Assert.Equal(first, a.Loss(model));
        Assert.InRange(first, Math.Log(corpus.Tokenizer.VocabSize) - 0.5, Math.Log(corpus.Tokenizer.VocabSize) + 0.5); // untrained: about ln 65
        Assert.Equal(128, a.TokenCount);
    }

    [Fact]
    public void A_learning_rate_that_blows_up_is_reported_as_a_non_finite_step_not_thrown()
    {
        var corpus = TinyShakespeare.LoadEmbedded();
        var validation = new ValidationWindows(corpus.Validation, 16, 4, 1);
        var config = new TransformerConfig(corpus.Tokenizer.VocabSize, 16, 1, 16, 2) { Norm = NormKind.None };
        var result = CharLmTraining.Train(new LmRun("huge lr", config, 4, 60, 1e30, 0, 5, 3), corpus.Train, validation, (_, _) => { });
        Assert.NotNull(result.NonFiniteStep);
        Assert.True(double.IsFinite(result.FinalValidationLoss));
    }
}
