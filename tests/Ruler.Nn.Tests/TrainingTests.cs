using Xunit.Abstractions;
using Ruler.Nn.Data;
using Ruler.Nn.Optim;

namespace Ruler.Nn.Tests;

/// <summary>The engine learns: the layers, models, optimizer and data loaders together, in float32.</summary>
public class TrainingTests(ITestOutputHelper output)
{
    [Fact]
    public void TwoLayerCharTransformerOverfitsOneBatch()
    {
        var corpus = TinyShakespeare.LoadEmbedded();
        int batch = 4, time = 32;
        var sampler = new TokenWindowSampler(corpus.Train, batch, time, seed: 1);
        var inputs = new int[batch * time];
        var targets = new int[batch * time];
        sampler.Next(inputs, targets);
        var model = new CharTransformer<float>(new TransformerConfig(corpus.Tokenizer.VocabSize, time, Layers: 2, Dim: 64, Heads: 4), seed: 2);
        var opt = new AdamW<float>(model.Parameters, learningRate: 3e-3, weightDecay: 0);
        double first = 0, loss = 0;
        for (int step = 0; step < 300; step++)
        {
            opt.ZeroGrad();
            loss = model.Loss(inputs, targets, batch, time);
            if (step == 0) first = loss;
            model.Backward();
            opt.Step();
        }
        output.WriteLine($"loss {first:F3} -> {loss:F4} in 300 steps");
        Assert.True(first > 3, $"initial loss {first:F3} should be near ln(vocab)");
        Assert.True(loss < 0.1, $"loss after 300 steps on one batch: {loss:F4} (want < 0.1)");
    }

    private const int Epochs = 2;

    [Fact]
    public void SmallCnnReaches95PercentOnTwoThousandHeldOutDigits()
    {
        var (train, test) = Mnist.LoadEmbedded(PixelScaling.MnistStandard).Split();
        var model = new Cnn<float>(new CnnConfig([8, 16, 16, 32]) { Norm = NormKind.BatchNorm, PoolAfter = [0, 2], Head = CnnHead.Flatten }, seed: 3);
        var opt = new AdamW<float>(model.Parameters, learningRate: 3e-3, weightDecay: 0);
        int batch = 32;
        var images = new float[batch * train.PixelCount];
        var labels = new int[batch];
        var batches = new ShuffledBatches(train.Count, batch, seed: 4);
        for (int epoch = 0; epoch < Epochs; epoch++)
        foreach (var indices in batches.NextEpoch())
        {
            int n = indices.Length;
            train.CopyBatch(indices.Span, images.AsSpan(0, n * train.PixelCount), labels.AsSpan(0, n));
            opt.ZeroGrad();
            model.Loss(n == batch ? images : images[..(n * train.PixelCount)], n == batch ? labels : labels[..n], n);
            model.Backward();
            opt.Step();
        }
        model.Training = false;
        int correct = 0, evalBatch = 200;
        var testImages = new float[evalBatch * test.PixelCount];
        var testLabels = new int[evalBatch];
        for (int start = 0; start < test.Count; start += evalBatch)
        {
            var idx = Enumerable.Range(start, evalBatch).ToArray();
            test.CopyBatch(idx, testImages, testLabels);
            var logits = model.Forward(testImages, evalBatch);
            for (int i = 0; i < evalBatch; i++)
            {
                var row = logits.AsSpan(i * 10, 10);
                int arg = 0;
                for (int j = 1; j < 10; j++) if (row[j] > row[arg]) arg = j;
                if (arg == testLabels[i]) correct++;
            }
        }
        Assert.Equal(2000, test.Count);
        double accuracy = correct / 2000.0;
        output.WriteLine($"test accuracy {accuracy:P2}");
        Assert.True(accuracy >= 0.95, $"test accuracy {accuracy:P2} after {Epochs} epochs on 8,000 digits (want >= 95%)");
    }
}
