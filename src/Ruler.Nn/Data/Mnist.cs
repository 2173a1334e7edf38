namespace Ruler.Nn.Data;

/// <summary>
/// Loads MNIST from a pair of gzip-compressed IDX files (images: magic 0x803, count, rows, cols; labels: magic 0x801,
/// count) and validates them: a bad file raises one <see cref="DataFileException"/> naming it.
/// </summary>
public static class Mnist
{
    /// <summary>Training digits in the default split of the 10k set (the remaining 2,000 are the test set).</summary>
    public const int TrainCount = 8000;

    /// <summary>Loads the 10,000 digits embedded in this assembly (the repository's <c>data/</c> folder).</summary>
    /// <param name="scaling">Pixel scaling; null means <see cref="PixelScaling.Unit"/>.</param>
    public static MnistDataset LoadEmbedded(PixelScaling? scaling = null) =>
        Parse(EmbeddedData.ReadAllBytes(EmbeddedData.MnistImagesFile), EmbeddedData.SourceName(EmbeddedData.MnistImagesFile),
            EmbeddedData.ReadAllBytes(EmbeddedData.MnistLabelsFile), EmbeddedData.SourceName(EmbeddedData.MnistLabelsFile),
            scaling ?? PixelScaling.Unit);

    /// <summary>Loads digits from an images file and a labels file.</summary>
    /// <param name="imagesPath">Gzip-compressed IDX3 file of 28×28 unsigned-byte images.</param>
    /// <param name="labelsPath">Gzip-compressed IDX1 file of labels 0–9, as many as images.</param>
    /// <param name="scaling">Pixel scaling; null means <see cref="PixelScaling.Unit"/>.</param>
    public static MnistDataset Load(string imagesPath, string labelsPath, PixelScaling? scaling = null) =>
        Parse(DataFile.ReadAllBytes(imagesPath), imagesPath, DataFile.ReadAllBytes(labelsPath), labelsPath,
            scaling ?? PixelScaling.Unit);

    private static MnistDataset Parse(byte[] imagesGz, string imagesSource, byte[] labelsGz, string labelsSource, PixelScaling scaling)
    {
        var (imageDims, pixels) = IdxFile.ReadUBytes(imagesGz, imagesSource, rank: 3);
        var (labelDims, labels) = IdxFile.ReadUBytes(labelsGz, labelsSource, rank: 1);
        if (imageDims[1] != 28 || imageDims[2] != 28)
            throw new DataFileException(imagesSource, "28×28 images", $"{imageDims[1]}×{imageDims[2]}");
        if (labelDims[0] != imageDims[0])
            throw new DataFileException(labelsSource, $"{imageDims[0]} labels, one per image of {imagesSource}", $"{labelDims[0]}");
        int bad = Array.FindIndex(labels, l => l > 9);
        if (bad >= 0)
            throw new DataFileException(labelsSource, "labels 0–9", $"{labels[bad]} at index {bad}");
        var images = new float[pixels.Length];
        for (int i = 0; i < pixels.Length; i++) images[i] = scaling.Apply(pixels[i]);
        return new MnistDataset(images, labels, imageDims[1], imageDims[2]);
    }
}
