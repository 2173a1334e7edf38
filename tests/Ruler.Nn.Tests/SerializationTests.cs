using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Ruler.Nn.Data;
using Ruler.Nn.Serialization;

namespace Ruler.Nn.Tests;

public sealed class SerializationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static NamedTensor[] Model() =>
    [
        new("embed.weight", [3, 4], Enumerable.Range(0, 12).Select(i => MathF.Sin(i) * 1e3f).ToArray()),
        new("ln.gain", [4], [1f, -0f, float.Epsilon, float.MaxValue]),
        new("odd", [2], [float.PositiveInfinity, BitConverter.Int32BitsToSingle(0x7FC0_1234)]), // NaN with a payload
        new("scalar", [], [0.1f]),
        new("empty", [0, 5], []),
    ];

    private static void AssertBitExact(NamedTensor[] expected, IReadOnlyList<NamedTensor> actual)
    {
        Assert.Equal(expected.Length, actual.Count);
        for (int k = 0; k < expected.Length; k++)
        {
            Assert.Equal(expected[k].Name, actual[k].Name);
            Assert.Equal(expected[k].Shape, actual[k].Shape);
            Assert.Equal(expected[k].Data.Select(BitConverter.SingleToInt32Bits), actual[k].Data.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void RoundTripIsBitExactIncludingSpecialValues()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, Model());
        AssertBitExact(Model(), TensorFile.Load(path));
    }

    [Fact]
    public void FileFollowsTheSafetensorsLayout()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, [new NamedTensor("w", [2, 1], [1.5f, -2f])]);
        byte[] file = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0, (8 + n) % 8);
        Assert.Equal(8 + n + 8, file.Length);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(file, 8, (int)n));
        var w = header.RootElement.GetProperty("w");
        Assert.Equal("F32", w.GetProperty("dtype").GetString());
        Assert.Equal([2, 1], w.GetProperty("shape").EnumerateArray().Select(d => d.GetInt32()));
        Assert.Equal([0L, 8L], w.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal(1.5f, BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan((int)(8 + n))));
        Assert.Equal(-2f, BinaryPrimitives.ReadSingleLittleEndian(file.AsSpan((int)(8 + n + 4))));
    }

    [Fact]
    public void LoadIntoFillsMatchingTensorsInPlace()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, Model());
        var targets = Model().Select(t => t with { Data = new float[t.Data.Length] }).Reverse().ToArray();
        TensorFile.LoadInto(path, targets);
        AssertBitExact(Model(), targets.Reverse().ToArray());
    }

    [Fact]
    public void LoadIntoReportsMissingExtraAndMisshapenTensorsByName()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, [new NamedTensor("a", [2, 3], new float[6]), new NamedTensor("b", [4], new float[4])]);

        var e = Assert.Throws<DataFileException>(() => TensorFile.LoadInto(path,
            [new NamedTensor("a", [3, 2], new float[6]), new NamedTensor("b", [4], new float[4])]));
        Assert.Equal(path, e.FileName);
        Assert.Contains("expected tensor \"a\" of shape [3, 2], found shape [2, 3]", e.Message);

        e = Assert.Throws<DataFileException>(() => TensorFile.LoadInto(path,
            [new NamedTensor("a", [2, 3], new float[6]), new NamedTensor("c", [4], new float[4])]));
        Assert.Contains("expected a tensor \"c\", found none of that name", e.Message);

        var a = new float[6];
        e = Assert.Throws<DataFileException>(() => TensorFile.LoadInto(path, [new NamedTensor("a", [2, 3], a)]));
        Assert.Contains("an extra tensor \"b\"", e.Message);
        Assert.Equal(new float[6], a); // nothing written on a mismatch
    }

    [Fact]
    public void SaveRefusesInvalidTensors()
    {
        string path = _dir.File("model.safetensors");
        Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("a", [2, 2], new float[3])]));
        Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("a", [1], [1f]), new NamedTensor("a", [1], [2f])]));
        Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("", [1], [1f])]));
        Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("a", [-1], [])]));
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void AWriteThatFailsHalfWayLeavesThePreviousFileIntactAndNoTemporaryFile()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, Model());
        byte[] before = File.ReadAllBytes(path);

        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, stream =>
        {
            stream.Write(new byte[1000]); // a partial, garbage model
            throw new IOException("disk full (simulated)");
        }));
        Assert.Equal("disk full (simulated)", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));

        Assert.Throws<ArgumentException>(() => TensorFile.Save(path, [new NamedTensor("w", [2], new float[1])]));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    [Fact]
    public void AtomicWriteReplacesTheFileWhenItSucceeds()
    {
        string path = _dir.File("results.json");
        File.WriteAllText(path, "old");
        AtomicFile.Write(path, s => s.Write("new"u8));
        Assert.Equal("new", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir.Path));
    }

    [Fact]
    public void TruncatedFilesAreRejected()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, Model());
        byte[] full = File.ReadAllBytes(path);

        File.WriteAllBytes(path, full[..^3]);
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains("tensor \"scalar\"", e.Message); // the last tensor with data is the one cut
        Assert.Contains("truncated", e.Message);

        File.WriteAllBytes(path, full[..20]);
        e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Contains("truncated or not a tensor file", e.Message);

        File.WriteAllBytes(path, full[..5]);
        e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Contains("expected at least 8 bytes", e.Message);
    }

    [Fact]
    public void TrailingBytesAreRejected()
    {
        string path = _dir.File("model.safetensors");
        TensorFile.Save(path, Model());
        File.AppendAllText(path, "junk");
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Contains("(trailing bytes)", e.Message);
    }

    [Theory]
    [InlineData("not json", "expected a JSON header")]
    [InlineData("[1, 2]", "expected a JSON object as header")]
    [InlineData("{\"w\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,4]}}", "expected tensor \"w\" with dtype \"F32\", found \"F16\"")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", "expected tensor \"w\" with a shape of integers >= 0")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", "expected tensor \"w\" with 8 data bytes for shape [2], found data_offsets [0, 4]")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", "found no data_offsets")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "expected tensor \"w\" to start at data byte 0")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", "found \"w\" twice")]
    public void MalformedHeadersAreRejectedWithTheTensorNamed(string header, string message)
    {
        string path = _dir.File("model.safetensors");
        byte[] json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + 8];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Equal(path, e.FileName);
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void InvalidUtf8InTheHeaderIsRejected()
    {
        string path = _dir.File("model.safetensors");
        byte[] json = [.. "{\""u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        var file = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        File.WriteAllBytes(path, file);
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Contains("JSON header", e.Message);
    }

    [Fact]
    public void MissingFileIsReported()
    {
        string path = _dir.File("nope.safetensors");
        var e = Assert.Throws<DataFileException>(() => TensorFile.Load(path));
        Assert.Equal(path, e.FileName);
    }
}
