using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Ruler.Nn.Data;
using Ruler.Nn.Serialization;

namespace Ruler.Nn.Tests;

/// <summary>
/// Hostile files get the one <see cref="DataFileException"/> that names the file: non-numeric shapes and offsets,
/// names escaping lone surrogates, gzip bombs, trailing bytes. Killed saves leave no temporary files behind past the
/// next save. Text: a byte order mark is not a token, and a character outside the BMP is one token.
/// </summary>
public sealed class LoaderHardeningTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A safetensors file with this JSON header (padded to 8 bytes) and this many data bytes.</summary>
    private string TensorFileWith(string json, int dataBytes, string name = "t.safetensors")
    {
        var header = Encoding.UTF8.GetBytes(json).ToList();
        while ((8 + header.Count) % 8 != 0) header.Add((byte)' ');
        var bytes = new byte[8 + header.Count + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)header.Count);
        header.ToArray().CopyTo(bytes, 8);
        string path = _dir.File(name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":["x"],"data_offsets":[0,4]}}""", "shape")]
    [InlineData("""{"a":{"dtype":"F32","shape":[null],"data_offsets":[0,4]}}""", "shape")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}}""", "data_offsets")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,[4]]}}""", "data_offsets")]
    [InlineData("""{"\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}""", "valid Unicode")]
    [InlineData("""{"a":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}""", "shape")]
    public void MalformedTensorFileHeadersRaiseOneDataFileExceptionNamingTheFile(string json, string expected)
    {
        string path = TensorFileWith(json, 4);
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void ANameWithALoneSurrogateIsRefusedAtSaveAndNothingIsWritten()
    {
        string path = _dir.File("bad.safetensors");
        var e = Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("w\ud800", [1], [1f])]));
        Assert.Contains("lone surrogate", e.Message);
        Assert.Empty(Directory.GetFiles(_dir.Path));
        // A proper pair (an emoji) round-trips.
        TensorFile.Save(path, [new NamedTensor("w\U0001F600", [1], [2f])]);
        Assert.Equal("w\U0001F600", Assert.Single(TensorFile.Load(path)).Name);
    }

    [Fact]
    public void AZeroSizeTensorListedAfterANonEmptyOneAtTheSameOffsetLoads()
    {
        string path = TensorFileWith("""{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}}""", 4);
        var tensors = TensorFile.Load(path);
        Assert.Equal(["a", "e"], tensors.Select(t => t.Name));
        Assert.Empty(tensors[1].Data);
    }

    [Fact]
    public void AStaleTemporaryFileFromAKilledSaveIsRemovedByTheNextSaveAndALiveOneIsLeftAlone()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, [new NamedTensor("w", [2], [1f, 2f])]);
        // What a kill leaves: a partial temporary file, unlocked (the process and its lock are gone).
        string stale = _dir.File($".model.safetensors.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        // What a save in progress holds: a temporary file open with FileShare.None.
        string live = _dir.File($".model.safetensors.{Guid.NewGuid():N}.tmp");
        string unrelated = _dir.File(".other.safetensors.0123.tmp");
        File.WriteAllBytes(unrelated, [1]);
        using (new FileStream(live, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            TensorFile.Save(path, [new NamedTensor("w", [2], [3f, 4f])]);
            Assert.False(File.Exists(stale), "the stale temporary file survived the next save");
            Assert.True(File.Exists(live), "a temporary file held by a save in progress was deleted");
        }
        Assert.True(File.Exists(unrelated));
        Assert.Equal([3f, 4f], Assert.Single(TensorFile.Load(path)).Data);
    }

    private static byte[] Gzip(Action<Stream> write)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true)) write(gzip);
        return output.ToArray();
    }

    private static byte[] IdxHeader(params int[] dims)
    {
        var header = new byte[4 + 4 * dims.Length];
        BinaryPrimitives.WriteInt32BigEndian(header, 0x0800 | dims.Length);
        for (int d = 0; d < dims.Length; d++) BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4 + 4 * d), dims[d]);
        return header;
    }

    [Fact]
    public void AGzipBombIsStoppedAtTheSizeItsHeaderDeclares()
    {
        // 10 labels declared, then 256 MB of zeros: a reader without a bound decompresses all of it.
        var chunk = new byte[1 << 20];
        var bomb = Gzip(s =>
        {
            s.Write(IdxHeader(10));
            for (int i = 0; i < 256; i++) s.Write(chunk);
        });
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<DataFileException>(() => IdxFile.ReadUBytes(bomb, "bomb-labels.gz", rank: 1));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains("trailing bytes", e.Message);
        Assert.Equal("bomb-labels.gz", e.FileName);
        Assert.True(allocated < 4 << 20, $"reading a 10-element bomb allocated {allocated} bytes");
    }

    [Fact]
    public void IdxTrailingAndMissingBytesAreErrors()
    {
        var trailing = Gzip(s => { s.Write(IdxHeader(3)); s.Write([1, 2, 3, 4]); });
        Assert.Contains("trailing bytes", Assert.Throws<DataFileException>(() => IdxFile.ReadUBytes(trailing, "t.gz", 1)).Message);
        var truncated = Gzip(s => { s.Write(IdxHeader(3)); s.Write([1, 2]); });
        Assert.Contains("truncated", Assert.Throws<DataFileException>(() => IdxFile.ReadUBytes(truncated, "t.gz", 1)).Message);
        var exact = Gzip(s => { s.Write(IdxHeader(3)); s.Write([1, 2, 3]); });
        Assert.Equal([1, 2, 3], IdxFile.ReadUBytes(exact, "t.gz", 1).Data);
    }

    [Fact]
    public void ATextFileWithAByteOrderMarkLoadsWithoutItAsAToken()
    {
        string path = _dir.File("bom.txt");
        File.WriteAllBytes(path, [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("hello world")]);
        var corpus = TinyShakespeare.Load(path);
        Assert.Equal(" dehlorw", corpus.Tokenizer.Vocabulary);
        Assert.Equal(11, corpus.Train.Length + corpus.Validation.Length);
    }

    [Fact]
    public void ACharacterOutsideTheBmpIsOneToken()
    {
        string text = "a\U0001F600b\U0001F600";
        var tok = new CharTokenizer(text);
        Assert.Equal(3, tok.VocabSize);
        int[] tokens = tok.Encode(text);
        Assert.Equal([0, 2, 1, 2], tokens);
        Assert.Equal(text, tok.Decode(tokens));
        Assert.Throws<ArgumentException>(() => new CharTokenizer("a\ud800b"));
        Assert.Throws<ArgumentException>(() => tok.Encode("a\ude00"));
    }
}
