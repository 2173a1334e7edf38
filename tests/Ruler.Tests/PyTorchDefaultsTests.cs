namespace Ruler.Tests;

/// <summary>The modules carry PyTorch's names and defaults, so nothing surprises a user coming from torch.nn.</summary>
public class PyTorchDefaultsTests
{
    [Fact]
    public void BatchNormDefaultsAreEps1e5Momentum01AffineAndTrackedStatistics()
    {
        var bn = new BatchNorm<float>(4);
        Assert.Equal(1e-5, bn.Eps);
        Assert.Equal(0.1, bn.Running!.Momentum);
        Assert.True(bn.Training);
        Assert.Equal(["weight", "bias"], bn.Parameters.Select(p => p.Name));
        Assert.All(bn.Weight.Value, v => Assert.Equal(1f, v));
        Assert.All(bn.Bias.Value, v => Assert.Equal(0f, v));
        Assert.All(bn.Running.Mean, v => Assert.Equal(0f, v));
        Assert.All(bn.Running.Variance, v => Assert.Equal(1f, v));
        Assert.Null(new BatchNorm<float>(4, trackRunningStats: false).Running);
        Assert.Empty(new BatchNorm<float>(4, affine: false).Parameters);
    }

    [Fact]
    public void InstanceNormDefaultsToNoAffineAndNoRunningStatistics()
    {
        var inorm = new InstanceNorm<float>(4);
        Assert.Equal(1e-5, inorm.Eps);
        Assert.Empty(inorm.Parameters);
        Assert.Null(inorm.Running);
    }

    [Fact]
    public void LayerNormAndGroupNormDefaultToAffineWithEps1e5()
    {
        var ln = new LayerNorm<float>([8]);
        Assert.Equal(1e-5, ln.Eps);
        Assert.Equal(["weight", "bias"], ln.Parameters.Select(p => p.Name));
        Assert.Equal(["weight"], new LayerNorm<float>([8], bias: false).Parameters.Select(p => p.Name));
        var gn = new GroupNorm<float>(2, 8);
        Assert.Equal(1e-5, gn.Eps);
        Assert.Equal(8, gn.Weight.Value.Length);
    }

    [Fact]
    public void RmsNormEpsDefaultsToTheMachineEpsilonOfTheElementType()
    {
        Assert.Equal((double)(MathF.BitIncrement(1f) - 1f), new RmsNorm<float>([8]).Eps); // 2^-23, torch.finfo(float32).eps
        Assert.Equal(Math.BitIncrement(1.0) - 1.0, new RmsNorm<double>([8]).Eps);  // 2^-52
        Assert.Equal(Math.Pow(2, -10), new RmsNorm<Half>([8]).Eps); // 2^-10
        Assert.Equal(["weight"], new RmsNorm<float>([8]).Parameters.Select(p => p.Name));
    }

    [Fact]
    public void DynamicTanhStartsWithAlphaHalfGammaOneBetaZero()
    {
        var dyt = new DynamicTanh<float>([3]);
        Assert.Equal(0.5f, dyt.Alpha.Value[0]);
        Assert.All(dyt.Weight.Value, v => Assert.Equal(1f, v));
        Assert.All(dyt.Bias.Value, v => Assert.Equal(0f, v));
    }
}
