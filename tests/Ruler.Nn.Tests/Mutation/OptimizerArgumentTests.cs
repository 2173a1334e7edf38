using Ruler.Nn.Optim;
using static Ruler.Nn.Tests.Mutation.LayerArgumentTests;

namespace Ruler.Nn.Tests.Mutation;

/// <summary>
/// Optimizer, schedule and clipping settings: one message shape (argument: expected …, got …), the closed or open end
/// of every range as documented (PyTorch's: SGD's momentum and dampening may be 1, Adam's betas may not), and null
/// lists. Found missing by the Ruler.Nn mutation run (tools/mutation-scores.md).
/// </summary>
public class OptimizerArgumentTests
{
    private static Parameter<double>[] Params() => [new("w", [1.0, 2.0])];

    [Fact]
    public void RangeMessages()
    {
        Refused<ArgumentOutOfRangeException>(() => new Sgd<double>(Params(), -1), "LearningRate", "LearningRate: expected a finite value >= 0, got -1.");
        Refused<ArgumentOutOfRangeException>(() => new AdamW<double>(Params(), eps: 0), "eps", "eps: expected a finite value > 0, got 0.");
        Refused<ArgumentOutOfRangeException>(() => new AdamW<double>(Params(), beta1: 1), "beta1", "beta1: expected a value in [0, 1), got 1.");
        Refused<ArgumentOutOfRangeException>(() => new AdamW<double>(Params(), beta2: 1), "beta2", "beta2: expected a value in [0, 1), got 1.");
        Refused<ArgumentOutOfRangeException>(() => new Sgd<double>(Params(), 0.1, momentum: 1.5), "momentum", "momentum: expected a value in [0, 1], got 1.5.");
        Refused<ArgumentOutOfRangeException>(() => new Sgd<double>(Params(), 0.1, dampening: -0.5), "dampening", "dampening: expected a value in [0, 1], got -0.5.");
        Refused<ArgumentException>(() => new Sgd<double>(Params(), 0.1, nesterov: true), "nesterov",
            "nesterov: expected momentum > 0 and dampening 0, got momentum 0 and dampening 0.");
    }

    /// <summary>Momentum 1 and dampening 1 are allowed (PyTorch allows them): b ← b + 0·g after the first step.</summary>
    [Fact]
    public void SgdMomentumAndDampeningOfOne()
    {
        var p = Params();
        var sgd = new Sgd<double>(p, 0.5, momentum: 1, dampening: 1);
        Assert.Equal((1.0, 1.0), (sgd.Momentum, sgd.Dampening));
        p[0].Grad[0] = 2;
        sgd.Step(); // b = g = 2: w = 1 − 0.5·2
        sgd.Step(); // b = 1·b + 0·g = 2
        Assert.Equal(1 - 0.5 * 2 - 0.5 * 2, p[0].Value[0], 15);
    }

    [Fact]
    public void NullParameterLists()
    {
        Refused<ArgumentNullException>(() => new Sgd<double>(null!, 0.1), "parameters");
        Refused<ArgumentNullException>(() => new AdamW<double>([Params()[0], null!]), "parameters");
        Refused<ArgumentNullException>(() => GradientClipping.ClipByGlobalNorm<double>(null!, 1), "parameters");
    }

    [Fact]
    public void WarmupCosineSettings()
    {
        Refused<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(0.1, 5, 10, floor: 0.2), "floor", "floor: expected a value <= peak 0.1, got 0.2.");
        Refused<ArgumentOutOfRangeException>(() => new WarmupCosineSchedule(0.1, 5, 5), "totalSteps", "totalSteps: expected more than warmupSteps (5), got 5.");
        // Floor equal to the peak: flat after warmup.
        var flat = new WarmupCosineSchedule(0.1, 2, 6, floor: 0.1);
        Assert.Equal([0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], Enumerable.Range(0, 8).Select(flat.At));
    }
}
