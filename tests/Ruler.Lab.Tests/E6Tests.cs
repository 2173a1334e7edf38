namespace Ruler.Lab.Tests;

/// <summary>Runs E6 once at the quick size (the untrained LN and BN models) for all its tests.</summary>
public sealed class E6QuickFixture() : QuickRunFixture("E6");

/// <summary>LAB.md E6's Pass criteria at the quick size, asserted on the measured logit changes.</summary>
public sealed class E6Tests(E6QuickFixture fixture) : IClassFixture<E6QuickFixture>
{
    private readonly ExperimentReport _report = fixture.Report;

    private double Value(string metric) => QuickRun.Result(_report, metric).Value;

    [Fact]
    public void A_sequence_depends_on_its_batch_companions_under_BatchNorm_only()
    {
        Assert.True(Value("(a) max |Δlogits| of sequence 0 when its batch companions change, LayerNorm") < 1e-5);
        Assert.True(Value("(a) max |Δlogits| of sequence 0 when its batch companions change, BatchNorm (train)") > 1e-3);
    }

    [Fact]
    public void Padding_moves_the_real_tokens_logits_under_BatchNorm_only()
    {
        Assert.True(Value("(b) max |Δlogits| of the 48 real tokens when padded to 64, LayerNorm") < 1e-5);
        Assert.True(Value("(b) max |Δlogits| of the 48 real tokens when padded to 64, BatchNorm (train)") > 1e-3);
    }

    [Fact]
    public void A_future_edit_leaks_into_the_past_under_BatchNorm_in_training_mode_only()
    {
        Assert.True(Value("(c) max |Δlogits| at positions ≤ 31 after editing token 36, LayerNorm") < 1e-6);
        Assert.True(Value("(c) max |Δlogits| at positions ≤ 31 after editing token 36, BatchNorm (train)") > 1e-4);
        // The probe is not vacuous: under LN the edit does move the positions from 36 on.
        Assert.True(Value("(c) control: max |Δlogits| at positions ≥ 36 after editing token 36, LayerNorm") > 1e-3);
    }

    [Fact]
    public void Step_by_step_generation_reproduces_the_full_sequence_under_LayerNorm()
    {
        Assert.True(Value("(d) max |full-sequence − step-by-step logits|, LayerNorm") < 1e-4);
    }

    [Fact]
    public void Every_pass_criterion_holds_and_the_figure_is_a_png()
    {
        Assert.True(_report.Passed, string.Join("; ", _report.Results.Where(r => r.Verdict == Verdict.Fail).Select(r => $"{r.Metric} = {r.Value}")));
        var figure = Assert.Single(_report.Figures);
        Assert.Equal("e6-future-edit.png", figure.File);
        byte[] png = File.ReadAllBytes(Path.Combine(fixture.Run.Directory, figure.File));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }
}
