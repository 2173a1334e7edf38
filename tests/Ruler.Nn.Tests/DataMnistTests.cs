using System.Buffers.Binary;
using System.IO.Compression;
using System.Security.Cryptography;
using Ruler.Nn.Data;

namespace Ruler.Nn.Tests;

public sealed class DataMnistTests : IDisposable
{
    private static readonly Lazy<MnistDataset> Embedded = new(() => Mnist.LoadEmbedded());
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EmbeddedFilesHaveTheHashesOfTheProvenanceNote()
    {
        Assert.Equal("1984241609018a1c9b0abaef2e2423407e3ce7744dd32fdbbad417a7eee4b16d",
            Convert.ToHexStringLower(SHA256.HashData(EmbeddedData.ReadAllBytes(EmbeddedData.MnistImagesFile))));
        Assert.Equal("aa01006a70f1f8f0f9eb9fdc28eda3ce07764a8c7d7a142bca67e3e78e4b064c",
            Convert.ToHexStringLower(SHA256.HashData(EmbeddedData.ReadAllBytes(EmbeddedData.MnistLabelsFile))));
    }

    [Fact]
    public void EmbeddedSetHasTenThousandDigitsWithTheDocumentedClassCounts()
    {
        var all = Embedded.Value;
        Assert.Equal(10_000, all.Count);
        Assert.Equal((28, 28, 784), (all.Rows, all.Cols, all.PixelCount));
        var counts = new int[10];
        for (int i = 0; i < all.Count; i++) counts[all.Label(i)]++;
        Assert.Equal([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978], counts);
    }

    [Fact]
    public void UnitScalingGivesPixelsInZeroToOneWithBlackBackgroundAndFullInk()
    {
        var images = Embedded.Value.Images;
        Assert.Equal(10_000 * 784, images.Length);
        float min = float.MaxValue, max = float.MinValue;
        double mean = 0;
        foreach (float x in images) { min = Math.Min(min, x); max = Math.Max(max, x); mean += x; }
        Assert.Equal((0f, 1f), (min, max));
        mean /= images.Length;
        Assert.InRange(mean, 0.12, 0.14); // MNIST's mean intensity is 0.1307
    }

    [Fact]
    public void StandardScalingAppliesMeanAndStd()
    {
        var standard = Mnist.LoadEmbedded(PixelScaling.MnistStandard);
        var unit = Embedded.Value;
        for (int i = 0; i < 784 * 3; i += 97)
            Assert.Equal((unit.Images[i] - 0.1307) / 0.3081, standard.Images[i], 1e-5);
        Assert.Equal(-0.1307f / 0.3081f, PixelScaling.MnistStandard.Apply(0), 1e-6);
        Assert.Throws<ArgumentOutOfRangeException>(() => new PixelScaling(0, 0));
    }

    [Fact]
    public void SplitTakesTheFirst8000ForTrainingAndTheLast2000ForTesting()
    {
        var all = Embedded.Value;
        var (train, test) = all.Split();
        Assert.Equal((8000, 2000), (train.Count, test.Count));
        Assert.Equal(all.Label(7999), train.Label(7999));
        Assert.Equal(all.Label(8000), test.Label(0));
        Assert.True(all.Image(8000).SequenceEqual(test.Image(0)));
        var testCounts = new int[10];
        for (int i = 0; i < test.Count; i++) testCounts[test.Label(i)]++;
        Assert.All(testCounts, c => Assert.InRange(c, 150, 250)); // pre-shuffled: every class present in both parts
    }

    [Fact]
    public void CopyBatchGathersTheIndexedImagesAndLabels()
    {
        var all = Embedded.Value;
        int[] indices = [5, 0, 9999];
        var images = new float[3 * 784];
        var labels = new int[3];
        all.CopyBatch(indices, images, labels);
        for (int b = 0; b < 3; b++)
        {
            Assert.True(all.Image(indices[b]).SequenceEqual(images.AsSpan(b * 784, 784)));
            Assert.Equal(all.Label(indices[b]), labels[b]);
        }
        Assert.Throws<ArgumentException>(() => all.CopyBatch(indices, new float[784], labels));
        Assert.Throws<ArgumentOutOfRangeException>(() => all.CopyBatch([10_000], new float[784], new int[1]));
    }

    [Fact]
    public void WellFormedFilesOnDiskLoad()
    {
        var (images, labels) = WritePair(count: 2, labelValues: [3, 7]);
        var set = Mnist.Load(images, labels);
        Assert.Equal(2, set.Count);
        Assert.Equal(7, set.Label(1));
        Assert.Equal(1f, set.Image(1)[0]);   // pixel 255
        Assert.Equal(0f, set.Image(0)[0]);   // pixel 0
    }

    [Theory]
    [InlineData(0x801, new[] { 2, 28, 28 }, 1568, 2, "images", "expected IDX magic 0x00000803, found 0x00000801.")]
    [InlineData(0x803, new[] { 2, 28, 28 }, 1558, 2, "images", "expected 1568 data bytes for dimensions [2, 28, 28], found only 1558 (truncated).")]
    [InlineData(0x803, new[] { 1, 28, 28 }, 790, 1, "images", "expected 784 data bytes for dimensions [1, 28, 28], found 790 (trailing bytes).")]
    [InlineData(0x803, new[] { 2 }, 0, 2, "images", "expected an IDX header of 16 bytes, found 8 bytes in all.")]
    [InlineData(0x803, new[] { 0, 28, 28 }, 0, 0, "images", "expected dimension 0 of the IDX header > 0, found 0.")]
    [InlineData(0x803, new[] { 1, 27, 28 }, 756, 1, "images", "expected 28×28 images, found 27×28.")]
    [InlineData(0x803, new[] { 3, 28, 28 }, 2352, 2, "labels", "expected 3 labels, one per image of")]
    public void MalformedFilesAreReportedNamingTheFileWhatWasExpectedAndWhatWasFound(
        int imageMagic, int[] imageDims, int pixelBytes, int labelCount, string faulty, string message)
    {
        string images = WriteIdx("images.gz", Header(imageMagic, imageDims), new byte[pixelBytes]);
        string labels = WriteIdx("labels.gz", Header(0x801, labelCount), new byte[labelCount]);
        var e = Assert.Throws<DataFileException>(() => Mnist.Load(images, labels));
        Assert.Equal(faulty == "images" ? images : labels, e.FileName);
        Assert.StartsWith(e.FileName + ": ", e.Message);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void LabelsOutsideZeroToNineAreReported()
    {
        var (images, labels) = WritePair(count: 2, labelValues: [3, 10]);
        var e = Assert.Throws<DataFileException>(() => Mnist.Load(images, labels));
        Assert.Equal(labels, e.FileName);
        Assert.Contains("expected labels 0–9, found 10 at index 1", e.Message);
    }

    [Fact]
    public void ImagesOtherThan28By28AreReported()
    {
        string images = WriteIdx("images.gz", Header(0x803, 1, 27, 28), new byte[27 * 28]);
        string labels = WriteIdx("labels.gz", Header(0x801, 1), new byte[1]);
        var e = Assert.Throws<DataFileException>(() => Mnist.Load(images, labels));
        Assert.Contains("expected 28×28 images, found 27×28", e.Message);
    }

    [Fact]
    public void NonGzipAndMissingFilesAreReported()
    {
        var (images, labels) = WritePair(count: 1, labelValues: [0]);
        string garbage = _dir.File("garbage.gz");
        File.WriteAllBytes(garbage, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
        var e = Assert.Throws<DataFileException>(() => Mnist.Load(garbage, labels));
        Assert.Equal(garbage, e.FileName);
        Assert.Contains("expected a valid gzip stream", e.Message);

        string missing = _dir.File("missing.gz");
        e = Assert.Throws<DataFileException>(() => Mnist.Load(images, missing));
        Assert.Equal(missing, e.FileName);
        Assert.Contains("expected a readable file", e.Message);
    }

    private (string Images, string Labels) WritePair(int count, byte[] labelValues)
    {
        var pixels = new byte[count * 784];
        pixels[^784] = 255; // first pixel of the last image
        return (WriteIdx("images.gz", Header(0x803, count, 28, 28), pixels), WriteIdx("labels.gz", Header(0x801, count), labelValues));
    }

    private static byte[] Header(int magic, params int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, magic);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d]);
        return header;
    }

    private string WriteIdx(string name, byte[] header, byte[] data)
    {
        string path = _dir.File(name);
        using var gzip = new GZipStream(File.Create(path), CompressionLevel.Fastest);
        gzip.Write(header);
        gzip.Write(data);
        return path;
    }
}
