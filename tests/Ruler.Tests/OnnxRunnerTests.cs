using Ruler.Onnx;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>The ONNX harness itself: the zero-copy binding computes what the copying path computes, and bad calls are refused.</summary>
public class OnnxRunnerTests
{
    [Fact]
    public void BoundBuffersAreReadAndWrittenInPlaceOnEveryRun()
    {
        int[] shape = [3, 8];
        var model = OneNodeModel.LayerNormalization(shape);
        using var runner = new OnnxRunner(model, intraOpThreads: 1);
        var rng = new Random(1);
        var x = TestData.ToFloat(TestData.Normal(rng, 24));
        var scale = TestData.ToFloat(TestData.Normal(rng, 8, 1, 0.3));
        var bias = TestData.ToFloat(TestData.Normal(rng, 8));
        var y = new float[24];
        using var binding = runner.Bind<float>(
            [new(x, shape), new(scale, [8]), new(bias, [8])],
            [new(y, shape)]);
        for (int round = 0; round < 2; round++)
        {
            if (round == 1) TestData.ToFloat(TestData.Normal(rng, 24, 5, 3)).CopyTo(x, 0);
            binding.Run();
            var copied = runner.Run<float>(new(x, shape), new(scale, [8]), new(bias, [8]));
            Assert.Equal(copied[0].Data, y);
            Assert.Equal(shape, copied[0].Shape);
        }
    }

    [Fact]
    public void RunRefusesAWrongInputCountOrLength()
    {
        using var runner = new OnnxRunner(OneNodeModel.LayerNormalization([2, 4]), 1);
        var e = Assert.Throws<ArgumentException>(() => runner.Run(new OnnxTensor<float>(new float[8], [2, 4])));
        Assert.Contains("expected 3 tensors", e.Message);
        e = Assert.Throws<ArgumentException>(() => runner.Run<float>(new(new float[7], [2, 4]), new(new float[4], [4]), new(new float[4], [4])));
        Assert.Contains("expected 8 elements", e.Message);
    }

    [Fact]
    public void BindRefusesAWrongOutputCountOrShapeAndFactoriesRefuseBadAxesAndOpsets()
    {
        using var runner = new OnnxRunner(OneNodeModel.LayerNormalization([2, 4]), 1);
        OnnxTensor<float>[] inputs = [new(new float[8], [2, 4]), new(new float[4], [4]), new(new float[4], [4])];
        var e = Assert.Throws<ArgumentException>(() => runner.Bind(inputs, []));
        Assert.Contains("expected 1 tensors (Y), got 0", e.Message);
        e = Assert.Throws<ArgumentException>(() => runner.Bind(inputs, [new OnnxTensor<float>(new float[8], [2, 3])]));
        Assert.Contains("expected 6 elements for shape [2, 3], got 8", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => OneNodeModel.LayerNormalization([2, 4], axis: 2));
        Assert.Throws<ArgumentOutOfRangeException>("axis", () => OneNodeModel.RmsNormalization([2, 4], axis: -3));
        Assert.Throws<ArgumentException>("xShape", () => OneNodeModel.BatchNormalization([4]));
        Assert.Throws<ArgumentOutOfRangeException>("opset", () => OneNodeModel.Create("Relu", 0, OnnxElementType.Float, [], []));
    }

    [Fact]
    public void ModelDescribesItsPortsAndOpset()
    {
        var model = OneNodeModel.GroupNormalization([2, 6, 5], 3);
        Assert.Equal(["X", "scale", "bias"], model.Inputs.Select(p => p.Name));
        Assert.Equal([6], model.Inputs[1].Shape);
        Assert.Equal(21, model.Opset);
        Assert.Equal(21, model.Proto.OpsetImport.Single().Version);
        Assert.Equal("GroupNormalization", model.Proto.Graph.Node.Single().OpType);
    }
}
