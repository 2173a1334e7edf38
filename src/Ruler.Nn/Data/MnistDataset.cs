namespace Ruler.Nn.Data;

/// <summary>MNIST digits in memory: images as floats, row-major, one after another (N × Rows × Cols), and labels 0–9.</summary>
public sealed class MnistDataset
{
    private readonly float[] _images;
    private readonly byte[] _labels;

    internal MnistDataset(float[] images, byte[] labels, int rows, int cols)
    {
        _images = images;
        _labels = labels;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>Number of digits.</summary>
    public int Count => _labels.Length;

    /// <summary>Image height (28).</summary>
    public int Rows { get; }

    /// <summary>Image width (28).</summary>
    public int Cols { get; }

    /// <summary>Pixels per image, Rows × Cols.</summary>
    public int PixelCount => Rows * Cols;

    /// <summary>All images, N × Rows × Cols.</summary>
    public ReadOnlySpan<float> Images => _images;

    /// <summary>The pixels of image <paramref name="index"/>, Rows × Cols.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="Count"/>.</param>
    public ReadOnlySpan<float> Image(int index) => _images.AsSpan(CheckIndex(index) * PixelCount, PixelCount);

    /// <summary>The digit shown by image <paramref name="index"/>.</summary>
    /// <param name="index">0 ≤ index &lt; <see cref="Count"/>.</param>
    public int Label(int index) => _labels[CheckIndex(index)];

    /// <summary>Digits [start, start + count) as a new data set.</summary>
    /// <param name="start">First index.</param>
    /// <param name="count">Number of digits.</param>
    public MnistDataset Slice(int start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, Count - start);
        return new MnistDataset(_images.AsSpan(start * PixelCount, count * PixelCount).ToArray(),
            _labels.AsSpan(start, count).ToArray(), Rows, Cols);
    }

    /// <summary>The first <paramref name="trainCount"/> digits for training, the rest for testing (the files are pre-shuffled).</summary>
    /// <param name="trainCount">Size of the training part; the default gives 8,000 / 2,000 on the 10k set.</param>
    public (MnistDataset Train, MnistDataset Test) Split(int trainCount = Mnist.TrainCount) =>
        (Slice(0, trainCount), Slice(trainCount, Count - trainCount));

    /// <summary>Gathers a batch: images of <paramref name="indices"/> into <paramref name="images"/> (B × Rows × Cols), labels into <paramref name="labels"/> (B).</summary>
    /// <param name="indices">Digit indices, e.g. one batch of a <see cref="ShuffledBatches"/> epoch.</param>
    /// <param name="images">Destination of length B·<see cref="PixelCount"/>.</param>
    /// <param name="labels">Destination of length B.</param>
    public void CopyBatch(ReadOnlySpan<int> indices, Span<float> images, Span<int> labels)
    {
        if (images.Length != indices.Length * PixelCount)
            throw new ArgumentException($"images: expected length {indices.Length * PixelCount}, got {images.Length}.", nameof(images));
        if (labels.Length != indices.Length)
            throw new ArgumentException($"labels: expected length {indices.Length}, got {labels.Length}.", nameof(labels));
        for (int b = 0; b < indices.Length; b++)
        {
            Image(indices[b]).CopyTo(images.Slice(b * PixelCount, PixelCount));
            labels[b] = _labels[indices[b]];
        }
    }

    private int CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index: expected 0 <= index < {Count}, got {index}.");
        return index;
    }
}
