namespace Ruler.Nn.Tests;

/// <summary>Whole training steps give the same bits with 1 and with several threads (fixed reduction order everywhere).</summary>
public class DeterminismTests
{
    private static float[][] RunWithThreads(int threads, Func<IReadOnlyList<Parameter<float>>> step)
    {
        int saved = RulerParallelism.MaxThreads;
        try
        {
            RulerParallelism.MaxThreads = threads;
            return [.. step().Select(p => (float[])p.Grad.Clone())];
        }
        finally { RulerParallelism.MaxThreads = saved; }
    }

    [Fact]
    public void TransformerGradientsDoNotDependOnThreadCount()
    {
        IReadOnlyList<Parameter<float>> Step()
        {
            var model = new CharTransformer<float>(new TransformerConfig(20, 64, 2, 64, 4), seed: 1);
            var rng = new Rng(2);
            var tokens = Enumerable.Range(0, 8 * 64).Select(_ => rng.NextInt(20)).ToArray();
            model.Loss(tokens, tokens, 8, 64);
            model.Backward();
            return model.Parameters;
        }
        var one = RunWithThreads(1, Step);
        var four = RunWithThreads(4, Step);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], four[i]);
    }

    [Fact]
    public void CnnGradientsDoNotDependOnThreadCount()
    {
        IReadOnlyList<Parameter<float>> Step()
        {
            var model = new Cnn<float>(new CnnConfig([8, 16]) { PoolAfter = [0], Norm = NormKind.BatchNorm }, seed: 3);
            var rng = new Rng(4);
            var images = Enumerable.Range(0, 64 * 784).Select(_ => (float)rng.NextGaussian()).ToArray();
            model.Loss(images, Enumerable.Range(0, 64).Select(i => i % 10).ToArray(), 64);
            model.Backward();
            return model.Parameters;
        }
        var one = RunWithThreads(1, Step);
        var four = RunWithThreads(4, Step);
        for (int i = 0; i < one.Length; i++) Assert.Equal(one[i], four[i]);
    }
}
