using System.Numerics.Tensors;
using Ruler.Nn;
using Ruler.Nn.Data;
using Ruler.Nn.Optim;

namespace Ruler.Cli.Bench;

/// <summary>One engine measurement: Ruler.Nn's figure and its baseline's, same thread count, interleaved.</summary>
internal sealed record EngineRow(string What, int Threads, string Unit, double Ruler, string BaselineName, double Baseline)
{
    /// <summary>Ruler ÷ baseline (both "higher is better" units: above 1 Ruler is faster).</summary>
    public double Speedup => Ruler / Baseline;
}

/// <summary>
/// The lab engine (Ruler.Nn): float32 GEMM GFLOP/s against a plain TensorPrimitives dot-product GEMM (one Dot per
/// output element over a pre-transposed B, rows split over the same threads), and training tokens/s of a small
/// CharTransformer (forward + backward + AdamW) with LayerNorm and RMSNorm against the same model with no norm.
/// </summary>
internal static class EngineBench
{
    public static List<EngineRow> Run(BenchProfile profile, IReadOnlyList<int> threadCounts, TextWriter progress)
    {
        var rows = new List<EngineRow>();
        int[] sizes = profile switch { BenchProfile.Tiny => [64], BenchProfile.Quick => [256], _ => [128, 256, 512] };
        double budget = profile switch { BenchProfile.Tiny => 0.01, BenchProfile.Quick => 0.3, _ => 1.0 };
        foreach (int t in threadCounts)
        {
            RulerParallelism.MaxThreads = t;
            foreach (int size in sizes)
            {
                progress.WriteLine($"engine: GEMM {size}^3, {Threads(t)}");
                rows.Add(Gemm(size, t, budget));
            }
        }
        var config = profile switch
        {
            BenchProfile.Tiny => (Layers: 1, Dim: 32, Heads: 2, Context: 16, Batch: 2),
            BenchProfile.Quick => (Layers: 2, Dim: 64, Heads: 2, Context: 64, Batch: 8),
            _ => (Layers: 4, Dim: 128, Heads: 4, Context: 128, Batch: 32),
        };
        var corpus = TinyShakespeare.LoadEmbedded();
        foreach (int t in threadCounts)
        {
            RulerParallelism.MaxThreads = t;
            progress.WriteLine($"engine: CharTransformer training steps, {Threads(t)}");
            var steps = new[] { NormKind.None, NormKind.LayerNorm, NormKind.RmsNorm }
                .Select(norm => TrainingStep(corpus, norm, config.Layers, config.Dim, config.Heads, config.Context, config.Batch)).ToList();
            var timings = BenchTimer.Measure(steps, budget * 3, minRounds: profile == BenchProfile.Tiny ? 2 : 5, maxRounds: 50);
            double tokens = config.Batch * config.Context;
            string what = $"CharTransformer L={config.Layers} d={config.Dim} T={config.Context} B={config.Batch} train step";
            rows.Add(new EngineRow(what + ", LayerNorm", t, "tokens/s", tokens / (timings[1].MedianMs / 1e3), "no norm", tokens / (timings[0].MedianMs / 1e3)));
            rows.Add(new EngineRow(what + ", RMSNorm", t, "tokens/s", tokens / (timings[2].MedianMs / 1e3), "no norm", tokens / (timings[0].MedianMs / 1e3)));
        }
        if (profile != BenchProfile.Quick)
        {
            var (train, _) = Mnist.LoadEmbedded(PixelScaling.MnistStandard).Split();
            int batch = profile == BenchProfile.Tiny ? 4 : 32;
            foreach (int t in threadCounts)
            {
                RulerParallelism.MaxThreads = t;
                progress.WriteLine($"engine: CNN training steps, {Threads(t)}");
                var steps = new[] { NormKind.None, NormKind.BatchNorm }.Select(norm => CnnStep(train, norm, batch)).ToList();
                var timings = BenchTimer.Measure(steps, budget * 3, minRounds: profile == BenchProfile.Tiny ? 2 : 5, maxRounds: 100);
                rows.Add(new EngineRow($"CNN [16,32,32,64] MNIST B={batch} train step, BatchNorm", t, "images/s",
                    batch / (timings[1].MedianMs / 1e3), "no norm", batch / (timings[0].MedianMs / 1e3)));
            }
        }
        return rows;
    }

    private static Action CnnStep(MnistDataset train, NormKind norm, int batch)
    {
        var config = new CnnConfig([16, 32, 32, 64]) { Norm = norm, PoolAfter = [0, 2], ConvBias = norm == NormKind.None };
        var model = new Cnn<float>(config, seed: 1);
        var optimizer = new AdamW<float>(model.Parameters, 1e-3);
        var batches = new ShuffledBatches(train.Count, batch, seed: 3).NextEpoch();
        var images = new float[batch * train.PixelCount];
        var labels = new int[batch];
        int next = 0;
        return () =>
        {
            train.CopyBatch(batches[next++ % batches.Count].Span, images, labels);
            optimizer.ZeroGrad();
            model.Loss(images, labels, batch);
            model.Backward();
            optimizer.Step();
        };
    }

    private static string Threads(int t) => $"{t} thread{(t == 1 ? "" : "s")}";

    private static EngineRow Gemm(int size, int threads, double budget)
    {
        var a = BenchSuite.Random((long)size * size, 11);
        var b = BenchSuite.Random((long)size * size, 12);
        var c = new float[size * size];
        var c2 = new float[size * size];
        var bt = new float[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                bt[j * size + i] = b[i * size + j];
        var timings = BenchTimer.Measure(
        [
            () => MatMul.Multiply<float>(a, b, c, size, size, size),
            () => DotGemm(a, bt, c2, size, threads),
        ], budget);
        double flops = 2.0 * size * size * size;
        return new EngineRow($"GEMM float32 {size}x{size}x{size} (A·B)", threads, "GFLOP/s",
            flops / (timings[0].MedianMs * 1e6), "TensorPrimitives.Dot per element", flops / (timings[1].MedianMs * 1e6));
    }

    /// <summary>C = A·B with B given transposed: C[i, j] = Dot(A row i, Bᵀ row j); rows split over the threads.</summary>
    public static void DotGemm(float[] a, float[] bt, float[] c, int size, int threads)
    {
        void Rows(int start, int end)
        {
            for (int i = start; i < end; i++)
            {
                var ai = a.AsSpan(i * size, size);
                for (int j = 0; j < size; j++) c[i * size + j] = TensorPrimitives.Dot(ai, bt.AsSpan(j * size, size));
            }
        }
        if (threads <= 1) Rows(0, size);
        else Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads },
            w => Rows(size * w / threads, size * (w + 1) / threads));
    }

    private static Action TrainingStep(CharCorpus corpus, NormKind norm, int layers, int dim, int heads, int context, int batch)
    {
        var config = new TransformerConfig(corpus.Tokenizer.VocabSize, context, layers, dim, heads) { Norm = norm };
        var model = new CharTransformer<float>(config, seed: 1);
        var optimizer = new AdamW<float>(model.Parameters, 1e-3);
        var sampler = new TokenWindowSampler(corpus.Train, batch, context, seed: 2);
        var inputs = new int[batch * context];
        var targets = new int[batch * context];
        return () =>
        {
            sampler.Next(inputs, targets);
            optimizer.ZeroGrad();
            model.Loss(inputs, targets, batch, context);
            model.Backward();
            optimizer.Step();
        };
    }
}
