using System.IO.Compression;
using System.Text;
using Ruler.Nn.Data;
using Ruler.Nn.Serialization;

namespace Ruler.Nn.Tests;

/// <summary>
/// Seeded corruption of valid files (a byte flipped, a run overwritten, the file cut or extended) for every loader:
/// each load either succeeds or raises the one <see cref="DataFileException"/> naming the file, never another
/// exception; a refused <see cref="TensorFile.LoadInto"/> leaves its destinations untouched. Seeds are fixed
/// (the case index), so a failure reproduces.
/// </summary>
public sealed class CorruptedFileTests : IDisposable
{
    private const int Cases = 300;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A corrupted copy of <paramref name="good"/>, deterministic in <paramref name="seed"/>.</summary>
    private static byte[] Corrupt(byte[] good, int seed)
    {
        var rng = new Random(seed);
        var bytes = (byte[])good.Clone();
        switch (rng.Next(5))
        {
            case 0: bytes[rng.Next(bytes.Length)] ^= (byte)(1 << rng.Next(8)); break;
            case 1:
                int at = rng.Next(bytes.Length);
                for (int i = at; i < Math.Min(bytes.Length, at + 1 + rng.Next(16)); i++) bytes[i] = (byte)rng.Next(256);
                break;
            case 2: bytes = bytes[..rng.Next(bytes.Length)]; break;
            case 3: bytes = [.. bytes, .. Enumerable.Range(0, 1 + rng.Next(9)).Select(_ => (byte)rng.Next(256))]; break;
            default: bytes[rng.Next(Math.Min(bytes.Length, 64))] = (byte)"\"[]{},:0123456789-.ex\\u"[rng.Next(23)]; break;
        }
        return bytes;
    }

    /// <summary>
    /// A tensor file whose JSON header stays valid JSON but has one number replaced by another kind of value (a
    /// string, null, a nested array, a fraction): the faults a byte flip rarely produces.
    /// </summary>
    private static byte[] CorruptHeaderValue(byte[] good, int seed)
    {
        var rng = new Random(seed);
        int length = (int)BitConverter.ToUInt64(good, 0);
        string json = Encoding.UTF8.GetString(good, 8, length).TrimEnd(' ');
        var numbers = System.Text.RegularExpressions.Regex.Matches(json, "-?[0-9]+");
        var pick = numbers[rng.Next(numbers.Count)];
        string[] replacements = ["\"x\"", "null", $"\"{pick.Value}\"", $"[{pick.Value}]", $"{pick.Value}.5", "true", "{}", "1e30", "-1"];
        string mutated = json[..pick.Index] + replacements[rng.Next(replacements.Length)] + json[(pick.Index + pick.Length)..];
        var header = Encoding.UTF8.GetBytes(mutated).ToList();
        while ((8 + header.Count) % 8 != 0) header.Add((byte)' ');
        return [.. BitConverter.GetBytes((ulong)header.Count), .. header, .. good.AsSpan(8 + length).ToArray()];
    }

    private static void LoadsOrRefusesCleanly(string what, int seed, string file, Action load)
    {
        try
        {
            load();
        }
        catch (DataFileException e)
        {
            Assert.True(e.Message.StartsWith(file, StringComparison.Ordinal), $"{what} seed {seed}: message does not name the file: {e.Message}");
        }
        catch (Exception e)
        {
            Assert.Fail($"{what} seed {seed}: expected success or DataFileException, got {e.GetType().Name}: {e.Message}");
        }
    }

    [Fact]
    public void CorruptedTensorFilesLoadOrRaiseDataFileException()
    {
        string good = _dir.File("good.safetensors");
        TensorFile.Save(good, [new NamedTensor("weight", [2, 3], [1, 2, 3, 4, 5, 6]), new NamedTensor("bias", [3], [7, 8, 9])]);
        byte[] bytes = File.ReadAllBytes(good);
        string path = _dir.File("corrupt.safetensors");
        for (int seed = 0; seed < Cases; seed++)
        {
            File.WriteAllBytes(path, seed % 2 == 0 ? Corrupt(bytes, seed) : CorruptHeaderValue(bytes, seed));
            LoadsOrRefusesCleanly("TensorFile.Load", seed, path, () => TensorFile.Load(path));
            var weight = new NamedTensor("weight", [2, 3], new float[6]);
            var bias = new NamedTensor("bias", [3], new float[3]);
            bool loaded = false;
            LoadsOrRefusesCleanly("TensorFile.LoadInto", seed, path, () => { TensorFile.LoadInto(path, [weight, bias]); loaded = true; });
            if (!loaded) Assert.True(weight.Data.All(v => v == 0) && bias.Data.All(v => v == 0), $"seed {seed}: a refused load wrote");
        }
    }

    private static Cnn<float> SmallCnn(ulong seed) =>
        new(new CnnConfig([4]) { Norm = NormKind.BatchNorm, PoolAfter = [0], Height = 4, Width = 4 }, seed);

    [Fact]
    public void CorruptedModelFilesLoadOrRaiseDataFileException()
    {
        var model = SmallCnn(seed: 1);
        string good = _dir.File("model.safetensors");
        ModelFile.Save(good, model.NamedParameters, model.NamedBuffers);
        byte[] bytes = File.ReadAllBytes(good);
        string path = _dir.File("corrupt-model.safetensors");
        for (int seed = 0; seed < Cases; seed++)
        {
            File.WriteAllBytes(path, Corrupt(bytes, seed));
            var fresh = SmallCnn(seed: 2);
            LoadsOrRefusesCleanly("ModelFile.Load", seed, path, () => ModelFile.Load(path, fresh.NamedParameters, fresh.NamedBuffers));
        }
    }

    [Fact]
    public void CorruptedIdxFilesLoadOrRaiseDataFileException()
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 2]);
            gzip.Write([0, 64, 128, 255, 1, 2, 3, 4]);
        }
        byte[] good = output.ToArray();
        Assert.Equal([2, 2, 2], IdxFile.ReadUBytes(good, "images.gz", 3).Dims);
        for (int seed = 0; seed < Cases; seed++)
        {
            byte[] bytes = Corrupt(good, seed);
            LoadsOrRefusesCleanly("IdxFile.ReadUBytes", seed, "images.gz", () => IdxFile.ReadUBytes(bytes, "images.gz", 3));
        }
    }

    [Fact]
    public void CorruptedTextFilesLoadOrRaiseDataFileException()
    {
        byte[] good = Encoding.UTF8.GetBytes("To be, or not to be: that is the question. \u00e9\u4e2d\U0001F600");
        string path = _dir.File("corrupt.txt");
        for (int seed = 0; seed < Cases; seed++)
        {
            File.WriteAllBytes(path, Corrupt(good, seed));
            LoadsOrRefusesCleanly("TinyShakespeare.Load", seed, path, () => TinyShakespeare.Load(path));
        }
    }
}
