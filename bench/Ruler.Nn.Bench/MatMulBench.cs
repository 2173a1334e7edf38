using System.Diagnostics;
using Ruler.Nn;

namespace Ruler.Nn.Bench;

/// <summary>GFLOP/s of the float32 GEMM on square matrices, best of several timed runs (correctness is the tests' job: MatMulTests).</summary>
internal static class MatMulBench
{
    public static void Run()
    {
        foreach (int threads in new[] { 1, 2 })
        {
            RulerParallelism.MaxThreads = threads;
            foreach (int size in new[] { 128, 256, 512 })
            {
                var rng = new Random(1);
                var a = new float[size * size];
                var b = new float[size * size];
                var c = new float[size * size];
                for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
                MatMul.Multiply<float>(a, b, c, size, size, size);
                double flops = 2.0 * size * size * size;
                int reps = Math.Max(3, (int)(2e9 / flops));
                double best = double.MaxValue;
                for (int trial = 0; trial < 5; trial++)
                {
                    var sw = Stopwatch.StartNew();
                    for (int r = 0; r < reps; r++) MatMul.Multiply<float>(a, b, c, size, size, size);
                    best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
                }
                double nt = Time(() => MatMul.Multiply<float>(a, b, c, size, size, size, transB: true), reps);
                double tn = Time(() => MatMul.Multiply<float>(a, b, c, size, size, size, transA: true), reps);
                Console.WriteLine($"matmul {size}^3 threads={threads}: A·B {flops / best / 1e9,6:F1} GFLOP/s  A·Bᵀ {flops / nt / 1e9,6:F1}  Aᵀ·B {flops / tn / 1e9,6:F1}");
            }
        }
    }

    private static double Time(Action f, int reps)
    {
        double best = double.MaxValue;
        for (int trial = 0; trial < 3; trial++)
        {
            var sw = Stopwatch.StartNew();
            for (int r = 0; r < reps; r++) f();
            best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        return best;
    }
}
