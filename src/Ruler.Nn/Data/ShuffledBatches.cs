namespace Ruler.Nn.Data;

/// <summary>
/// Mini-batches of indices 0..count−1 in a fresh seeded Fisher–Yates order each epoch; the last batch is smaller
/// when the batch size does not divide the count. The same seed gives the same sequence of epochs.
/// </summary>
public sealed class ShuffledBatches
{
    private readonly Rng _rng;

    /// <summary>Creates the sampler.</summary>
    /// <param name="count">Number of examples (&gt; 0).</param>
    /// <param name="batchSize">Examples per batch (&gt; 0).</param>
    /// <param name="seed">Seed of the shuffling.</param>
    public ShuffledBatches(int count, int batchSize, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Count = count;
        BatchSize = batchSize;
        _rng = new Rng(seed);
    }

    /// <summary>Number of examples.</summary>
    public int Count { get; }

    /// <summary>Examples per batch (all but possibly the last).</summary>
    public int BatchSize { get; }

    /// <summary>Batches per epoch, ⌈Count / BatchSize⌉.</summary>
    public int BatchesPerEpoch => (Count + BatchSize - 1) / BatchSize;

    /// <summary>Shuffles a new order and returns it cut into batches; together they hold every index once.</summary>
    public IReadOnlyList<ReadOnlyMemory<int>> NextEpoch()
    {
        int[] order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        _rng.Shuffle<int>(order);
        var batches = new ReadOnlyMemory<int>[BatchesPerEpoch];
        for (int b = 0; b < batches.Length; b++)
        {
            int start = b * BatchSize;
            batches[b] = order.AsMemory(start, Math.Min(BatchSize, Count - start));
        }
        return batches;
    }
}
