using System.Diagnostics;

namespace Ruler.Lab.Experiments;

/// <summary>
/// Times the library's RMSNorm and LayerNorm modules, forward + backward, on the activation a char-LM step hands a norm
/// slot: (rows = batch·context, dim) float. The two are timed in alternating blocks so both see the same machine load,
/// and each keeps its fastest block (the least disturbed on a shared machine).
/// </summary>
internal static class NormKernelTiming
{
    /// <summary>Seconds per forward + backward of each, and RMS/LN.</summary>
    public readonly record struct Timing(double LayerNormSeconds, double RmsNormSeconds)
    {
        /// <summary>RMSNorm time over LayerNorm time.</summary>
        public double Ratio => RmsNormSeconds / LayerNormSeconds;
    }

    /// <summary>Runs <paramref name="blocks"/> alternating blocks of <paramref name="callsPerBlock"/> calls each.</summary>
    public static Timing Measure(int rows, int dim, int blocks, int callsPerBlock, ulong seed)
    {
        var rng = new Rng(seed);
        var x = new float[rows * dim];
        var dy = new float[rows * dim];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(1.5 * rng.NextGaussian() + 0.3);
            dy[i] = (float)rng.NextGaussian();
        }
        var y = new float[x.Length];
        var dx = new float[x.Length];
        int[] shape = [rows, dim];
        Normalizer<float> ln = new LayerNorm<float>([dim]), rms = new RmsNorm<float>([dim]);
        double Block(Normalizer<float> norm)
        {
            var sw = Stopwatch.StartNew();
            for (int c = 0; c < callsPerBlock; c++)
            {
                norm.Forward(x, shape, y);
                norm.Backward(x, shape, dy, dx);
            }
            return sw.Elapsed.TotalSeconds / callsPerBlock;
        }
        Block(ln);
        Block(rms);
        double bestLn = double.MaxValue, bestRms = double.MaxValue;
        for (int b = 0; b < blocks; b++)
        {
            bestLn = Math.Min(bestLn, Block(ln));
            bestRms = Math.Min(bestRms, Block(rms));
        }
        return new Timing(bestLn, bestRms);
    }
}
