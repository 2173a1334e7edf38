using System.Buffers.Binary;
using System.Text;
using Ruler.Serialization;
using Ruler.Tests.Support;

namespace Ruler.Tests;

/// <summary>
/// The library's safetensors file: bit-exact round trips for every dtype, a hand-built file of known bytes as the
/// format oracle (no Python), exact BatchNorm resume through a file, and one clear <see cref="SafeTensorsException"/>
/// for each kind of hostile file.
/// </summary>
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ruler-safetensors-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string File(string name) => Path.Combine(_dir, name);

    private static SafeTensor[] EveryDType() =>
    [
        new("f64", [2, 2], new[] { Math.PI, -0.0, double.Epsilon, BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_1234) }),
        new("f32", [3], new[] { 1.5f, float.NegativeInfinity, BitConverter.Int32BitsToSingle(0x7FC0_1234) }),
        new("f16", [2], new[] { (Half)0.333f, BitConverter.Int16BitsToHalf(0x0001) }),   // a subnormal
        new("bf16", [1, 2], new[] { (BFloat16)(-2.5f), (BFloat16)1e-30f }),
        new("i64", [], new[] { long.MinValue }),
        new("empty", [0, 5], Array.Empty<float>()),
    ];

    private static byte[] Bits(Array a)
    {
        int size = System.Runtime.InteropServices.Marshal.SizeOf(a.GetType().GetElementType()!);
        return System.Runtime.InteropServices.MemoryMarshal.CreateReadOnlySpan(
            ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(a), a.Length * size).ToArray();
    }

    [Fact]
    public void EveryDTypeRoundTripsBitForBitWithShapesOrderAndMetadata()
    {
        string path = File("all.safetensors");
        var meta = new Dictionary<string, string> { ["format"] = "pt", ["note"] = "ünïcödé ✓" };
        SafeTensorsFile.Save(path, EveryDType(), meta);
        var back = SafeTensorsFile.Load(path, out var metaBack);
        var expected = EveryDType();
        Assert.Equal(expected.Select(t => t.Name), back.Select(t => t.Name));
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i].Shape, back[i].Shape);
            Assert.Equal(expected[i].Data.GetType(), back[i].Data.GetType());
            Assert.Equal(Bits(expected[i].Data), Bits(back[i].Data));
            Assert.Equal(expected[i].DType, back[i].DType);
        }
        Assert.Equal(meta, metaBack);

        using var memory = new MemoryStream();
        SafeTensorsFile.Write(memory, expected, meta);
        Assert.Equal(System.IO.File.ReadAllBytes(path), memory.ToArray());
    }

    /// <summary>The oracle: a file laid out byte by byte from the safetensors description, independent of the writer.</summary>
    private static byte[] HandBuilt(out string json)
    {
        json = "{\"__metadata__\":{\"format\":\"pt\"},"
            + "\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"bn.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
            + "\"bn.running_mean\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
            + "\"bn.running_var\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]},"
            + "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[32,40]},"
            + "\"half\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[40,44]},"
            + "\"bf\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[44,46]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[46,54]}}";
        var file = new List<byte>();
        file.AddRange(BitConverter.GetBytes((ulong)json.Length));
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException();
        file.AddRange(Encoding.ASCII.GetBytes(json));
        file.AddRange([0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x40]);   // F32 1.0, 2.0
        file.AddRange([0x00, 0x00, 0x00, 0x3F, 0x00, 0x00, 0x80, 0xBF]);   // F32 0.5, -1.0
        file.AddRange([0x00, 0x00, 0x40, 0x40, 0x00, 0x00, 0x80, 0x40]);   // F32 3.0, 4.0
        file.AddRange([0x00, 0x00, 0x20, 0x41, 0x00, 0x00, 0xA0, 0x41]);   // F32 10.0, 20.0
        file.AddRange([0x07, 0, 0, 0, 0, 0, 0, 0]);                       // I64 7
        file.AddRange([0x00, 0x3C, 0x00, 0xC0]);                            // F16 1.0, -2.0
        file.AddRange([0x80, 0x3F]);                                        // BF16 1.0
        file.AddRange([0, 0, 0, 0, 0, 0, 0xF0, 0x3F]);                      // F64 1.0
        return file.ToArray();
    }

    [Fact]
    public void AHandBuiltFileOfKnownBytesReadsToTheKnownValues()
    {
        string path = File("hand.safetensors");
        System.IO.File.WriteAllBytes(path, HandBuilt(out _));
        var t = SafeTensorsFile.Load(path, out var meta).ToDictionary(x => x.Name);
        Assert.Equal("pt", meta["format"]);
        Assert.Equal(new[] { 1f, 2f }, (float[])t["bn.weight"].Data);
        Assert.Equal(new[] { 0.5f, -1f }, (float[])t["bn.bias"].Data);
        Assert.Equal(new[] { 7L }, (long[])t["bn.num_batches_tracked"].Data);
        Assert.Empty(t["bn.num_batches_tracked"].Shape);
        Assert.Equal(new[] { (Half)1, (Half)(-2) }, (Half[])t["half"].Data);
        Assert.Equal(1f, (float)((BFloat16[])t["bf"].Data)[0]);
        Assert.Equal(new[] { 1.0 }, (double[])t["d"].Data);
    }

    [Fact]
    public void TheWriterProducesTheKnownBytes()
    {
        // The same tensors written by Save must give the same bytes: header JSON in order, padded with spaces to 8.
        byte[] hand = HandBuilt(out string json);
        string path = File("written.safetensors");
        SafeTensorsFile.Save(path, SafeTensorsFile.Read(hand, "hand", out var meta), meta);
        byte[] written = System.IO.File.ReadAllBytes(path);
        int padded = (json.Length + 7) / 8 * 8;
        Assert.Equal((ulong)padded, BinaryPrimitives.ReadUInt64LittleEndian(written));
        Assert.Equal(json + new string(' ', padded - json.Length), Encoding.UTF8.GetString(written, 8, padded));
        Assert.Equal(hand[(8 + json.Length)..], written[(8 + padded)..]);
    }

    [Fact]
    public void APyTorchStyleBatchNormStateLoadsIntoAModuleByPrefix()
    {
        string path = File("pt.safetensors");
        System.IO.File.WriteAllBytes(path, HandBuilt(out _));
        var bn = new BatchNorm<float>(2, momentum: null);
        // The file also holds other tensors; by prefix only the bn.* ones are the module's.
        var state = SafeTensorsFile.LoadStateDict(path, "bn.");
        bn.LoadStateDict(state);
        Assert.Equal(new[] { 1f, 2f }, bn.Weight.Value);
        Assert.Equal(new[] { 3f, 4f }, bn.Running!.Mean);
        Assert.Equal(new[] { 10f, 20f }, bn.Running.Variance);
        Assert.Equal(7, bn.Running.BatchesTracked);
        var e = Assert.Throws<SafeTensorsException>(() => bn.LoadState(path));   // without the prefix: extra keys
        Assert.Equal(path, e.FileName);
        Assert.Contains("unexpected key", e.Message);
    }

    private static float[] Batch(int seed) => TestData.ToFloat(TestData.Normal(new Random(seed), 60, seed, 2));

    [Theory]
    [InlineData(null, 2)]
    [InlineData(null, 0)]
    [InlineData(0.1, 3)]
    public void ABatchNormResumedFromAFileEndsWithTheSameBitsAsOneThatNeverStopped(double? momentum, int stopAt)
    {
        int[] shape = [4, 3, 5];
        const int steps = 5;
        var whole = new BatchNorm<float>(3, momentum: momentum);
        var first = new BatchNorm<float>(3, momentum: momentum);
        var y = new float[60];
        var yResumed = new float[60];
        for (int s = 0; s < stopAt; s++) first.Forward(Batch(s), shape, y);
        string path = File("bn.safetensors");
        first.SaveState(path);

        var resumed = new BatchNorm<float>(3, momentum: momentum);
        resumed.LoadState(path);
        Assert.Equal(stopAt, resumed.Running!.BatchesTracked);
        for (int s = 0; s < steps; s++)
        {
            whole.Forward(Batch(s), shape, y);
            if (s >= stopAt) resumed.Forward(Batch(s), shape, yResumed);
        }
        Assert.Equal(y, yResumed);
        Assert.Equal(whole.Running!.Mean.Select(BitConverter.SingleToInt32Bits), resumed.Running.Mean.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(whole.Running.Variance.Select(BitConverter.SingleToInt32Bits), resumed.Running.Variance.Select(BitConverter.SingleToInt32Bits));
        Assert.Equal(steps, resumed.Running.BatchesTracked);
        Assert.Equal(whole.Running.BatchesTracked, resumed.Running.BatchesTracked);

        // In the file: PyTorch's names and dtypes, num_batches_tracked a 0-d I64.
        var saved = SafeTensorsFile.Load(path).ToDictionary(t => t.Name);
        Assert.Equal(["weight", "bias", "running_mean", "running_var", "num_batches_tracked"], saved.Keys);
        Assert.Equal(SafeTensorsDType.I64, saved["num_batches_tracked"].DType);
        Assert.Empty(saved["num_batches_tracked"].Shape);
        Assert.Equal([3], saved["running_var"].Shape);
    }

    [Fact]
    public void DoubleModulesAndAddNormsSaveAndLoadTheirState()
    {
        var a = new BatchNorm<double>(3, momentum: null);
        a.Forward(TestData.Normal(new Random(1), 60, 1, 2), [4, 3, 5], new double[60]);
        a.Weight.Value[0] = 0.75;
        string path = File("bn64.safetensors");
        a.SaveState(path, "block.0.");
        Assert.All(SafeTensorsFile.Load(path), t => Assert.StartsWith("block.0.", t.Name));
        var b = new BatchNorm<double>(3, momentum: null);
        b.LoadState(path, "block.0.");
        Assert.Equal(a.StateDict().Keys, b.StateDict().Keys);
        Assert.Equal(a.Running!.Mean, b.Running!.Mean);
        Assert.Equal(a.Weight.Value, b.Weight.Value);

        var add = new AddLayerNorm<float>([4]);
        add.Weight.Value[2] = 3f;
        add.SaveState(File("add.safetensors"));
        var add2 = new AddLayerNorm<float>([4]);
        add2.LoadState(File("add.safetensors"));
        Assert.Equal(add.Weight.Value, add2.Weight.Value);

        // A float module refuses a double file, naming the file and the tensor; nothing is loaded.
        var f = new BatchNorm<float>(3);
        var e = Assert.Throws<SafeTensorsException>(() => f.LoadState(path, "block.0."));
        Assert.Equal(path, e.FileName);
        Assert.Contains("Single[3]", e.Message);
        Assert.Equal([1f, 1f, 1f], f.Weight.Value);
    }

    private string WriteRaw(string header, int dataBytes, ulong? length = null)
    {
        byte[] json = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + json.Length + dataBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(file, length ?? (ulong)json.Length);
        json.CopyTo(file, 8);
        string path = File("hostile.safetensors");
        System.IO.File.WriteAllBytes(path, file);
        return path;
    }

    private static void AssertRefused(string path, string message)
    {
        var e = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Load(path));
        Assert.Equal(path, e.FileName);
        Assert.StartsWith(path + ": expected ", e.Message);
        Assert.Contains(message, e.Message);
    }

    public static TheoryData<string, int, string> HostileHeaders() => new()
    {
        { "not json", 0, "expected a JSON header, found invalid JSON" },
        { "[1, 2]", 0, "expected a JSON object as header" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} {}", 4, "JSON" },
        { "{\"w\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1, "tensor \"w\" with a dtype of F64, F32, F16, BF16 or I64, found \"U8\"" },
        { "{\"w\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "with a dtype of F64, F32, F16, BF16 or I64, found 7" },
        { "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "found no dtype" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "tensor \"w\" with a shape of integers >= 0" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[65536,65536],\"data_offsets\":[0,4]}}", 4, "elements, found shape [65536, 65536]" },
        { "{\"w\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "tensor \"w\" with 16 data bytes for shape [2], found data_offsets [0, 8]" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, "data_offsets [-4, 0]" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "found no data_offsets" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
            "tensor \"b\" to start at data byte 8 (no gaps or overlaps), found 4" },
        { "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "tensor \"a\" to start at data byte 0" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "to end within the 4 data bytes, found end 8 (truncated file)" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 9, "4 data bytes after the header, found 9 (trailing bytes)" },
        { "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "found \"w\" twice" },
        { "{\"__metadata__\":{\"n\":1}}", 0, "\"__metadata__\" as an object of strings" },
        { "{\"__metadata__\":[]}", 0, "\"__metadata__\" as an object of strings" },
        { "{\"w\":[[[[[[[[[[1]]]]]]]]]]}", 0, "invalid JSON" },
        { "{\"\\ud800\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "valid Unicode" },
    };

    [Theory]
    [MemberData(nameof(HostileHeaders))]
    public void HostileHeadersAreRefusedWithOneClearError(string header, int dataBytes, string message) =>
        AssertRefused(WriteRaw(header, dataBytes), message);

    [Fact]
    public void TruncatedFilesAndHugeHeaderLengthsAreRefused()
    {
        string path = File("t.safetensors");
        SafeTensorsFile.Save(path, EveryDType());
        byte[] full = System.IO.File.ReadAllBytes(path);

        System.IO.File.WriteAllBytes(path, full[..^3]);
        AssertRefused(path, "(truncated file)");
        System.IO.File.WriteAllBytes(path, full[..20]);
        AssertRefused(path, "truncated or not a tensor file");
        System.IO.File.WriteAllBytes(path, full[..5]);
        AssertRefused(path, "expected at least 8 bytes (the header length), found 5 bytes");
        System.IO.File.WriteAllBytes(path, []);
        AssertRefused(path, "found 0 bytes");

        AssertRefused(WriteRaw("{}", 0, ulong.MaxValue), $"a header of {ulong.MaxValue} bytes");
        AssertRefused(WriteRaw("{}", 0, long.MaxValue + 1UL), "truncated or not a tensor file");
        AssertRefused(File("missing.safetensors"), "a readable file");
    }

    [Fact]
    public void InvalidUtf8AndAWrongRequiredDTypeAreRefused()
    {
        byte[] json = [.. "{\""u8, 0xFF, .. "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"u8];
        var bytes = new byte[8 + json.Length + 4];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, (ulong)json.Length);
        json.CopyTo(bytes, 8);
        var e = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Read(bytes, "mem", out _));
        Assert.Equal("mem: expected a UTF-8 JSON header, found invalid UTF-8.", e.Message);

        string path = File("f16.safetensors");
        SafeTensorsFile.Save(path, [new SafeTensor("w", [1], new[] { (Half)1 })]);
        e = Assert.Throws<SafeTensorsException>(() => SafeTensorsFile.Load(path, SafeTensorsDType.F32));
        Assert.Contains("expected tensor \"w\" with dtype \"F32\", found \"F16\"", e.Message);
        Assert.Single(SafeTensorsFile.Load(path, SafeTensorsDType.F16));
    }

    [Fact]
    public void InvalidTensorsAreRefusedBeforeAnythingIsWrittenAndAFailedSaveLeavesThePreviousFile()
    {
        string path = File("keep.safetensors");
        SafeTensorsFile.Save(path, EveryDType());
        byte[] before = System.IO.File.ReadAllBytes(path);

        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [2, 2], new float[3])]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [1], new[] { 1 })]));   // int[]: no dtype
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [1], new[] { 1f }), new SafeTensor("a", [1], new[] { 2f })]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("", [1], new[] { 1f })]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [-1], Array.Empty<float>())]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor(SafeTensorsFile.MetadataKey, [1], new[] { 1f })]));
        Assert.Throws<ArgumentException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a\ud800", [1], new[] { 1f })]));
        Assert.Throws<ArgumentNullException>(() => SafeTensorsFile.Save(path, [new SafeTensor("a", [1], null!)]));

        Assert.Equal(before, System.IO.File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void RandomlyCorruptedFilesLoadOrRaiseSafeTensorsExceptionAndNothingElse()
    {
        using var memory = new MemoryStream();
        SafeTensorsFile.Write(memory, EveryDType(), new Dictionary<string, string> { ["k"] = "v" });
        byte[] valid = memory.ToArray();
        var rng = new Random(20261201);
        int refused = 0;
        for (int trial = 0; trial < 2000; trial++)
        {
            byte[] bytes = valid.ToArray();
            switch (trial % 3)
            {
                case 0: bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8)); break;          // one bit flipped
                case 1: bytes[rng.Next(Math.Min(bytes.Length, 8 + 64))] = (byte)rng.Next(256); break; // a length or header byte replaced
                default: bytes = bytes[..rng.Next(bytes.Length)]; break;                            // cut short
            }
            try
            {
                var tensors = SafeTensorsFile.Read(bytes, "fuzz", out _);
                foreach (var t in tensors) Assert.Equal(t.Shape.Aggregate(1L, (p, d) => p * d), t.Data.Length);
            }
            catch (SafeTensorsException e)
            {
                Assert.StartsWith("fuzz: expected ", e.Message);
                refused++;
            }
        }
        Assert.InRange(refused, 500, 2000);   // most corruptions are caught; the rest changed only data bytes or JSON whitespace
    }

    [Fact]
    public void TensorsComeBackInHeaderOrderWhateverTheOrderOfTheirData()
    {
        string path = WriteRaw("{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8);
        byte[] file = System.IO.File.ReadAllBytes(path);
        BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan(file.Length - 8), 1f);   // a's data first
        BinaryPrimitives.WriteSingleLittleEndian(file.AsSpan(file.Length - 4), 2f);
        System.IO.File.WriteAllBytes(path, file);
        var tensors = SafeTensorsFile.Load(path);
        Assert.Equal(["b", "a"], tensors.Select(t => t.Name));
        Assert.Equal(new[] { 2f }, (float[])tensors[0].Data);
        Assert.Equal(new[] { 1f }, (float[])tensors[1].Data);
    }
}
