using System.Text;
using Ruler.Cli.Inspect;
using static Ruler.Tests.Inspect.GraphBuilder;

namespace Ruler.Tests.Inspect;

/// <summary>User errors: one line on stderr naming the file or option and what was wrong, exit code 2, nothing on stdout, no stack trace.</summary>
public class InspectErrorTests
{
    private static string TempDir()
    {
        string dir = Path.Combine(Path.GetTempPath(), "ruler-inspect-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Runs the command and asserts the error contract; returns the message.</summary>
    private static string Fails(string model, string[]? inputs = null, bool random = false, string[]? dims = null, string? mentions = null)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int rc = InspectCommand.Run(model, inputs ?? [], random, 0, dims ?? [], false, null, output, error);
        string message = error.ToString();
        Assert.True(rc == 2, $"expected exit code 2, got {rc}; stderr: {message}");
        Assert.Equal("", output.ToString());
        Assert.EndsWith(Environment.NewLine, message);
        Assert.DoesNotContain("\n", message.TrimEnd());
        Assert.DoesNotContain(" at ", message);
        Assert.Contains(mentions ?? model, message);
        return message;
    }

    private static (string Model, string Dir) LayerNormModel(bool symbolic = false)
    {
        var b = new GraphBuilder();
        string x = symbolic ? b.Input("x", null, 8) : b.Input("x", 2, 8);
        string y = b.Node("LayerNormalization", [x, b.Constant("g", Enumerable.Repeat(1f, 8).ToArray(), 8)]);
        b.Output(y, symbolic ? null : 2, 8);
        string model = b.Save("ln.onnx");
        return (model, Path.GetDirectoryName(model)!);
    }

    [Fact]
    public void FilesThatAreNotOnnxModels()
    {
        string dir = TempDir();
        string text = Path.Combine(dir, "notes.onnx");
        File.WriteAllText(text, "this is a text file, not a model\n");
        Assert.Contains("not an ONNX model", Fails(text));
        string empty = Path.Combine(dir, "empty.onnx");
        File.WriteAllBytes(empty, []);
        Assert.Contains("empty", Fails(empty));
        Assert.Contains("cannot read", Fails(Path.Combine(dir, "missing.onnx")));
        Assert.Contains("cannot read", Fails(dir)); // a directory
    }

    [Theory]
    [InlineData(100)]
    [InlineData(0.1)]
    [InlineData(0.5)]
    [InlineData(0.999)]
    public void TruncatedModels(double keep)
    {
        byte[] bytes = File.ReadAllBytes(PretrainedModels.ResNet18);
        int length = keep >= 1 ? (int)keep : (int)(bytes.Length * keep);
        string path = Path.Combine(TempDir(), "truncated.onnx");
        File.WriteAllBytes(path, bytes.AsSpan(0, length).ToArray());
        Assert.Contains("truncated or corrupted", Fails(path));
    }

    /// <summary>
    /// Flipped bytes: an invalid field tag at the start; one character of a value name where the name is first
    /// written (so a node reads a value nothing defines); a node's output renamed in a synthetic model.
    /// </summary>
    [Fact]
    public void CorruptedModels()
    {
        byte[] bytes = File.ReadAllBytes(PretrainedModels.ResNet18);
        string dir = TempDir();

        byte[] badTag = (byte[])bytes.Clone();
        badTag[0] = 0xFF;
        string tagPath = Path.Combine(dir, "tag.onnx");
        File.WriteAllBytes(tagPath, badTag);
        Assert.Contains("truncated or corrupted", Fails(tagPath));

        var model = global::Onnx.ModelProto.Parser.ParseFrom(bytes);
        string name = model.Graph.Node[3].Output[0];
        byte[] pattern = Encoding.UTF8.GetBytes(name);
        int at = bytes.AsSpan().IndexOf(pattern);
        Assert.True(at >= 0);
        byte[] flipped = (byte[])bytes.Clone();
        flipped[at + pattern.Length - 1] ^= 0x20;
        string namePath = Path.Combine(dir, "name.onnx");
        File.WriteAllBytes(namePath, flipped);
        Assert.Contains("not a valid ONNX graph", Fails(namePath));
    }

    [Fact]
    public void ModelOnnxRuntimeCannotLoad()
    {
        var b = new GraphBuilder();
        string x = b.Input("x", 2, 8);
        string y = b.Node("LayerNormalization", [b.Node("NoSuchOperator", x), b.Constant("g", new float[8], 8)]);
        b.Output(y, 2, 8);
        string model = b.Save("unknown-op.onnx");
        Assert.Single(ModelInspection.Run(model, null).Normalizations); // static analysis does not need ORT
        Assert.Contains("ONNX Runtime cannot load the model", Fails(model, random: true));
    }

    [Fact]
    public void InputsThatDoNotFitTheModel()
    {
        var (model, dir) = LayerNormModel();
        string ok = Path.Combine(dir, "ok.npy");
        NpyFile.Write(ok, new float[16], 2, 8);

        Assert.Contains("has no input 'y'", Fails(model, [$"y={ok}"], mentions: "--input y"));
        Assert.Contains("expected NAME=VALUE", Fails(model, ["x"], mentions: "--input x"));
        Assert.Contains("given twice", Fails(model, [$"x={ok}", $"x={ok}"], mentions: "--input x"));
        var two = new GraphBuilder();
        string sum = two.Node("Add", two.Input("x", 2, 8), two.Input("u", 2, 8));
        two.Output(two.Node("LayerNormalization", [sum, two.Constant("g", new float[8], 8)]), 2, 8);
        Assert.Contains("no file for input 'u'", Fails(two.Save("two.onnx"), [$"x={ok}"], mentions: "--input u=FILE.npy or --random"));

        string ints = Path.Combine(dir, "ints.npy");
        NpyFile.Write(ints, new long[16], 2, 8);
        Assert.Contains("dtype int64 does not match input 'x'", Fails(model, [$"x={ints}"], mentions: ints));

        string rank = Path.Combine(dir, "rank.npy");
        NpyFile.Write(rank, new float[16], 16);
        Assert.Contains("does not match input 'x'", Fails(model, [$"x={rank}"], mentions: rank));

        string dim = Path.Combine(dir, "dim.npy");
        NpyFile.Write(dim, new float[24], 3, 8);
        Assert.Contains("(axis 0)", Fails(model, [$"x={dim}"], mentions: dim));
    }

    [Fact]
    public void NpyFilesThatAreNotNumericArrays()
    {
        var (model, dir) = LayerNormModel();
        string good = Path.Combine(dir, "good.npy");
        NpyFile.Write(good, new float[16], 2, 8);
        byte[] bytes = File.ReadAllBytes(good);

        void Case(string file, byte[] content, string expected)
        {
            string path = Path.Combine(dir, file);
            File.WriteAllBytes(path, content);
            Assert.Contains(expected, Fails(model, [$"x={path}"], mentions: path));
        }

        Case("text.npy", Encoding.ASCII.GetBytes("1 2 3 4"), "magic");
        Case("short.npy", bytes.AsSpan(0, bytes.Length - 3).ToArray(), "needs 64 bytes of data");
        Case("strings.npy", Header("'<U5'", "False", "(2, 8)", 0), "not a numeric array type");
        Case("objects.npy", Header("'|O'", "False", "(2, 8)", 0), "not a numeric array type");
        Case("fortran.npy", Header("'<f4'", "True", "(2, 8)", 64), "Fortran order");
        Case("bigendian.npy", Header("'>f4'", "False", "(2, 8)", 64), "big-endian");
        Case("noshape.npy", Header("'<f4'", "False", "", 64).Select(b => b == (byte)'(' ? (byte)'[' : b).ToArray(), "lacks");
        Assert.Contains("cannot read", Fails(model, [$"x={Path.Combine(dir, "absent.npy")}"], mentions: "absent.npy"));
    }

    [Fact]
    public void RandomInputsNeedEverySymbolicDimension()
    {
        var (model, _) = LayerNormModel(symbolic: true);
        Assert.Contains("--dim d0=N", Fails(model, random: true, mentions: "'d0'"));
        Assert.Contains("positive integer", Fails(model, random: true, dims: ["d0=-3"], mentions: "--dim d0"));
        Assert.Contains("apply to --random only", Fails(model, dims: ["d0=3"], mentions: "--dim"));
        var output = new StringWriter();
        Assert.Equal(0, InspectCommand.Run(model, [], true, 0, ["d0=3"], false, null, output, new StringWriter()));
        Assert.Contains("random (shape 3x8)", output.ToString());
    }

    /// <summary>A version-1 .npy header for the given fields, followed by <paramref name="dataBytes"/> zero bytes.</summary>
    private static byte[] Header(string descr, string fortran, string shape, int dataBytes)
    {
        string header = $"{{'descr': {descr}, 'fortran_order': {fortran}, 'shape': {shape}, }}".PadRight(117) + "\n";
        var bytes = new List<byte> { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0 };
        bytes.AddRange(Encoding.ASCII.GetBytes(header));
        bytes.AddRange(new byte[dataBytes]);
        return bytes.ToArray();
    }
}
