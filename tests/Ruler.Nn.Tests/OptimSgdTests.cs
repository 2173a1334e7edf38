using Ruler.Nn.Optim;

namespace Ruler.Nn.Tests;

public class OptimSgdTests
{
    // Runs 3 steps on one weight starting at 0 with a constant gradient 1 and returns the weight after each.
    private static double[] ThreeSteps(double lr, double momentum, double dampening = 0, bool nesterov = false)
    {
        var p = new Parameter<double>("w", [0.0]);
        var opt = new Sgd<double>([p], lr, momentum, dampening, nesterov);
        var values = new double[3];
        for (int s = 0; s < 3; s++)
        {
            p.Grad[0] = 1;
            opt.Step();
            values[s] = p.Value[0];
        }
        return values;
    }

    private static void AssertSequence(double[] expected, double[] actual)
    {
        for (int i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-14);
    }

    [Fact]
    public void PlainSgdSubtractsLearningRateTimesGradient() =>
        AssertSequence([-0.1, -0.2, -0.3], ThreeSteps(0.1, 0));

    [Fact]
    public void MomentumBufferStartsAtTheGradientThenAccumulates() =>
        // b = 1, 1.9, 2.71 → steps of 0.1, 0.19, 0.271.
        AssertSequence([-0.1, -0.29, -0.561], ThreeSteps(0.1, 0.9));

    [Fact]
    public void DampeningScalesTheGradientEnteringTheBufferAfterTheFirstStep() =>
        // b = 1 (no dampening on the first step, as in PyTorch), 0.9 + 0.5 = 1.4, 1.26 + 0.5 = 1.76.
        AssertSequence([-0.1, -0.24, -0.416], ThreeSteps(0.1, 0.9, dampening: 0.5));

    [Fact]
    public void NesterovStepsAlongGradientPlusMomentumTimesBuffer() =>
        // g + μ·b = 1.9, 2.71, 3.439.
        AssertSequence([-0.19, -0.461, -0.8049], ThreeSteps(0.1, 0.9, nesterov: true));

    [Fact]
    public void StepsMatchTheFloat64ReferenceWithWeightDecayAndMomentum()
    {
        double[] init = [0.5, -1.5, 2.0, 0.25];
        const double lr = 0.05, mu = 0.8, damp = 0.1, wd = 0.01;
        var w = new Parameter<float>("w", init.Select(x => (float)x).ToArray());
        var bias = new Parameter<float>("bias", init.Select(x => (float)x).ToArray()) { NoWeightDecay = true };
        var opt = new Sgd<float>([w, bias], lr, mu, damp, weightDecay: wd);
        double[][] p = [(double[])init.Clone(), (double[])init.Clone()];
        double[][] buf = [new double[4], new double[4]];
        for (int step = 1; step <= 5; step++)
        {
            for (int k = 0; k < 2; k++)
                for (int i = 0; i < 4; i++)
                {
                    float g = (float)Math.Cos(step + 2.0 * i + k);
                    (k == 0 ? w : bias).Grad[i] = g;
                    double d = g + (k == 0 ? wd : 0) * p[k][i];
                    buf[k][i] = step == 1 ? d : mu * buf[k][i] + (1 - damp) * d;
                    p[k][i] -= lr * buf[k][i];
                }
            opt.Step();
            for (int i = 0; i < 4; i++)
            {
                Assert.Equal(p[0][i], w.Value[i], 1e-6);
                Assert.Equal(p[1][i], bias.Value[i], 1e-6);
            }
        }
    }

    [Fact]
    public void NesterovNeedsMomentumAndNoDampening()
    {
        var p = new Parameter<float>("w", [1f]);
        Assert.Throws<ArgumentException>(() => new Sgd<float>([p], 0.1, momentum: 0, nesterov: true));
        Assert.Throws<ArgumentException>(() => new Sgd<float>([p], 0.1, momentum: 0.9, dampening: 0.1, nesterov: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Sgd<float>([p], 0.1, momentum: 1.5));
    }

    [Fact]
    public void LearningRateCanBeChangedBetweenSteps()
    {
        var p = new Parameter<double>("w", [0.0]);
        var opt = new Sgd<double>([p], 0.1);
        p.Grad[0] = 1;
        opt.Step();
        opt.LearningRate = 0.5;
        opt.Step();
        Assert.Equal(-0.6, p.Value[0], 1e-15);
        Assert.Throws<ArgumentOutOfRangeException>(() => opt.LearningRate = double.PositiveInfinity);
    }
}
