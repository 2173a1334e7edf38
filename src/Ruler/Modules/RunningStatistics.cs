using Ruler.Internal;

namespace Ruler;

/// <summary>
/// Running mean and variance per channel, PyTorch's way: updated in training with
/// r ← (1 − momentum)·r + momentum·batch (the variance with the unbiased estimate), or a cumulative average
/// when momentum is null; used in eval mode in place of batch statistics.
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class RunningStatistics<T> where T : unmanaged
{
    internal RunningStatistics(int channels, double? momentum)
    {
        Check.Momentum(momentum);
        Momentum = momentum;
        Mean = new T[channels];
        Variance = new T[channels];
        Reset();
    }

    /// <summary>Weight of the newest batch; null means a cumulative moving average (1 / batches seen).</summary>
    public double? Momentum { get; }

    /// <summary>Running mean per channel (starts at 0).</summary>
    public T[] Mean { get; }

    /// <summary>Running unbiased variance per channel (starts at 1).</summary>
    public T[] Variance { get; }

    /// <summary>How many training batches updated the statistics.</summary>
    public long BatchesTracked { get; private set; }

    /// <summary>Back to mean 0, variance 1, no batches tracked.</summary>
    public void Reset()
    {
        Array.Fill(Mean, Num.FromDouble<T>(0));
        Array.Fill(Variance, Num.FromDouble<T>(1));
        BatchesTracked = 0;
    }

    /// <summary>Sets the batch count of loaded statistics (<see cref="Normalizer{T}.LoadStateDict"/>).</summary>
    internal void Restore(long batchesTracked) => BatchesTracked = batchesTracked;

    /// <summary>Folds one batch in: per channel, its mean and unbiased variance.</summary>
    internal void Update(ReadOnlySpan<double> batchMean, ReadOnlySpan<double> batchUnbiasedVariance)
    {
        BatchesTracked++;
        double m = Momentum ?? 1.0 / BatchesTracked;
        for (int c = 0; c < Mean.Length; c++)
        {
            Mean[c] = Num.FromDouble<T>((1 - m) * Num.ToDouble(Mean[c]) + m * batchMean[c]);
            Variance[c] = Num.FromDouble<T>((1 - m) * Num.ToDouble(Variance[c]) + m * batchUnbiasedVariance[c]);
        }
    }

    /// <summary>Mean and rstd = 1/√(running var + eps) of channel c.</summary>
    internal (double Mean, double Rstd) Statistics(int c, double eps) =>
        (Num.ToDouble(Mean[c]), GroupStatistics.Rstd(Num.ToDouble(Variance[c]), eps));
}
