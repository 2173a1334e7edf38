using System.Security.Cryptography;
using Ruler.Nn.Data;

namespace Ruler.Nn.Tests;

public sealed class DataShakespeareTests : IDisposable
{
    private static readonly Lazy<CharCorpus> Embedded = new(TinyShakespeare.LoadEmbedded);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void EmbeddedFileIsTheDocumentedOne()
    {
        byte[] bytes = EmbeddedData.ReadAllBytes(EmbeddedData.ShakespeareFile);
        Assert.Equal(1_115_394, bytes.Length);
        Assert.Equal("86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed", Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [Fact]
    public void CorpusHas65CharactersSplit90To10()
    {
        var corpus = Embedded.Value;
        Assert.Equal(65, corpus.Tokenizer.VocabSize);
        Assert.Equal(1_003_854, corpus.Train.Length); // ⌊0.9 · 1,115,394⌋
        Assert.Equal(111_540, corpus.Validation.Length);
        Assert.Equal("First Citizen:", corpus.Tokenizer.Decode(corpus.Train.AsSpan(0, 14)));
    }

    [Fact]
    public void VocabularyIsSortedByCharacterCode()
    {
        string vocab = Embedded.Value.Tokenizer.Vocabulary;
        Assert.Equal("\n !$&',-.3:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", vocab);
    }

    [Fact]
    public void EncodeThenDecodeRoundTrips()
    {
        var tok = new CharTokenizer("hello world");
        Assert.Equal(" dehlorw", tok.Vocabulary);
        int[] ids = tok.Encode("hold low");
        Assert.Equal([3, 5, 4, 1, 0, 4, 5, 7], ids);
        Assert.Equal("hold low", tok.Decode(ids));
    }

    [Fact]
    public void UnknownCharactersAndTokensAreRefused()
    {
        var tok = new CharTokenizer("abc");
        var e = Assert.Throws<ArgumentException>(() => tok.Encode("abz"));
        Assert.Contains("U+007A at index 2", e.Message);
        Assert.Throws<ArgumentException>(() => tok.Encode("\u4e00"));
        Assert.Throws<ArgumentException>(() => tok.Decode([0, 3]));
        Assert.Throws<ArgumentException>(() => tok.Decode([-1]));
    }

    [Fact]
    public void InvalidUtf8AndEmptyFilesAreReported()
    {
        string bad = _dir.File("bad.txt");
        File.WriteAllBytes(bad, [(byte)'a', 0xFF, (byte)'b']);
        var e = Assert.Throws<DataFileException>(() => TinyShakespeare.Load(bad));
        Assert.Equal(bad, e.FileName);
        Assert.Contains("expected UTF-8 text", e.Message);

        string empty = _dir.File("empty.txt");
        File.WriteAllBytes(empty, []);
        e = Assert.Throws<DataFileException>(() => TinyShakespeare.Load(empty));
        Assert.Contains("expected a non-empty text, found an empty file", e.Message);

        Assert.Throws<DataFileException>(() => TinyShakespeare.Load(_dir.File("missing.txt")));
    }

    [Fact]
    public void FileOnDiskLoadsLikeTheEmbeddedCopy()
    {
        string path = _dir.File("small.txt");
        File.WriteAllText(path, "abcdefghij");
        var corpus = TinyShakespeare.Load(path);
        Assert.Equal(9, corpus.Train.Length);
        Assert.Equal([9], corpus.Validation);
    }
}
