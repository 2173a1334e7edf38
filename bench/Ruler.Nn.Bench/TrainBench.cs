using System.Diagnostics;
using Ruler.Nn;
using Ruler.Nn.Data;
using Ruler.Nn.Optim;

namespace Ruler.Nn.Bench;

/// <summary>Training throughput (forward + backward + AdamW step) of the lab's two model families, 1 and 2 threads.</summary>
internal static class TrainBench
{
    public static void Transformer(NormKind norm)
    {
        var corpus = TinyShakespeare.LoadEmbedded();
        int batch = 32, time = 128;
        var config = new TransformerConfig(corpus.Tokenizer.VocabSize, time, Layers: 4, Dim: 128, Heads: 4) { Norm = norm };
        foreach (int threads in new[] { 1, 2 })
        {
            RulerParallelism.MaxThreads = threads;
            var model = new CharTransformer<float>(config, seed: 1);
            var opt = new AdamW<float>(model.Parameters, 1e-3);
            var sampler = new TokenWindowSampler(corpus.Train, batch, time, seed: 2);
            var inputs = new int[batch * time];
            var targets = new int[batch * time];
            double Step()
            {
                sampler.Next(inputs, targets);
                opt.ZeroGrad();
                double loss = model.Loss(inputs, targets, batch, time);
                model.Backward();
                opt.Step();
                return loss;
            }
            Step();
            double sec = BestStep(_ => Step(), 12);
            Console.WriteLine($"transformer L=4 d=128 T=128 B=32 {norm} threads={threads}: {batch * time / sec,8:F0} tokens/s ({sec * 1000:F0} ms/step)");
        }
    }

    public static void Cnn(NormKind norm)
    {
        var (train, _) = Mnist.LoadEmbedded(PixelScaling.MnistStandard).Split();
        int batch = 32;
        var config = new CnnConfig([16, 32, 32, 64]) { Norm = norm, PoolAfter = [0, 2], ConvBias = norm == NormKind.None };
        foreach (int threads in new[] { 1, 2 })
        {
            RulerParallelism.MaxThreads = threads;
            var model = new Cnn<float>(config, seed: 1);
            var opt = new AdamW<float>(model.Parameters, 1e-3);
            var batches = new ShuffledBatches(train.Count, batch, seed: 3).NextEpoch();
            var images = new float[batch * train.PixelCount];
            var labels = new int[batch];
            double Step(int b)
            {
                train.CopyBatch(batches[b].Span, images, labels);
                opt.ZeroGrad();
                double loss = model.Loss(images, labels, batch);
                model.Backward();
                opt.Step();
                return loss;
            }
            Step(0);
            double sec = BestStep(s => Step(1 + s), 40);
            Console.WriteLine($"cnn [16,32,32,64] pool after 0,2, {norm}, B=32 threads={threads}: {batch / sec,8:F0} images/s ({sec * 1000:F1} ms/step)");
        }
    }

    /// <summary>The fastest of <paramref name="steps"/> timed steps (the machine is shared: the minimum is the least disturbed).</summary>
    private static double BestStep(Func<int, double> step, int steps)
    {
        double best = double.MaxValue;
        for (int s = 0; s < steps; s++)
        {
            var sw = Stopwatch.StartNew();
            step(s);
            best = Math.Min(best, sw.Elapsed.TotalSeconds);
        }
        return best;
    }
}
