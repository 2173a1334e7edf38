using Ruler.Nn.Data;
using Ruler.Nn.Optim;
using Ruler.Nn.Serialization;

namespace Ruler.Nn.Tests;

public class ModelFileTests
{
    private static Cnn<float> BatchNormCnn(ulong seed, int width = 8) =>
        new(new CnnConfig([width, 8]) { Norm = NormKind.BatchNorm, PoolAfter = [0], Height = 8, Width = 8 }, seed);

    private static float[] Images(int count, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, count * 64).Select(_ => (float)rng.NextGaussian()).ToArray();
    }

    /// <summary>A few training steps so that weights and running statistics differ from any fresh model's.</summary>
    private static Cnn<float> Trained()
    {
        var model = BatchNormCnn(seed: 1);
        var opt = new AdamW<float>(model.Parameters, learningRate: 1e-2);
        for (int step = 0; step < 3; step++)
        {
            opt.ZeroGrad();
            model.Loss(Images(4, (ulong)step), [1, 2, 3, 4], 4);
            model.Backward();
            opt.Step();
        }
        return model;
    }

    [Fact]
    public void SavedModelLoadsIntoAFreshModelAndGivesBitIdenticalEvalOutputs()
    {
        using var dir = new TempDirectory();
        var trained = Trained();
        string path = dir.File("cnn.safetensors");
        ModelFile.Save(path, trained.NamedParameters, trained.NamedBuffers);

        var fresh = BatchNormCnn(seed: 99);
        Assert.NotEmpty(fresh.NamedBuffers);
        ModelFile.Load(path, fresh.NamedParameters, fresh.NamedBuffers);

        trained.Training = false;
        fresh.Training = false;
        var x = Images(3, 42);
        Assert.Equal(trained.Forward(x, 3), fresh.Forward(x, 3));
        Assert.Equal(trained.NamedBuffers.Select(b => b.Values), fresh.NamedBuffers.Select(b => b.Values));
    }

    [Fact]
    public void FileOfAnotherConfigurationIsRejectedAndLeavesTheModelUntouched()
    {
        using var dir = new TempDirectory();
        var trained = Trained();
        string path = dir.File("cnn.safetensors");
        ModelFile.Save(path, trained.NamedParameters, trained.NamedBuffers);

        var other = BatchNormCnn(seed: 5, width: 4);
        var before = other.NamedParameters.Select(p => p.Parameter.Value.ToArray()).ToList();
        var error = Assert.Throws<DataFileException>(() => ModelFile.Load(path, other.NamedParameters, other.NamedBuffers));
        Assert.Contains("cnn.safetensors", error.Message);
        Assert.Equal(before, other.NamedParameters.Select(p => p.Parameter.Value));
    }
}
