using System.Text;

namespace Ruler.Nn.Data;

/// <summary>Loads the tiny Shakespeare corpus (1,115,394 ASCII characters, 65 distinct) as a <see cref="CharCorpus"/>.</summary>
public static class TinyShakespeare
{
    /// <summary>Loads the copy embedded in this assembly (the repository's <c>data/</c> folder).</summary>
    public static CharCorpus LoadEmbedded() =>
        Parse(EmbeddedData.ReadAllBytes(EmbeddedData.ShakespeareFile), EmbeddedData.SourceName(EmbeddedData.ShakespeareFile));

    /// <summary>
    /// Loads a UTF-8 text file (a leading byte order mark is skipped); an unreadable, empty or non-UTF-8 file raises a
    /// <see cref="DataFileException"/>.
    /// </summary>
    /// <param name="path">The text file.</param>
    public static CharCorpus Load(string path) => Parse(DataFile.ReadAllBytes(path), path);

    private static CharCorpus Parse(byte[] bytes, string source)
    {
        if (bytes.Length == 0) throw new DataFileException(source, "a non-empty text", "an empty file");
        string text;
        try
        {
            text = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new DataFileException(source, "UTF-8 text", $"invalid bytes ({e.Message})", e);
        }
        // A byte order mark (EF BB BF) says how the file is encoded; it is not a character of the text.
        if (text.StartsWith('\uFEFF')) text = text[1..];
        if (text.Length == 0) throw new DataFileException(source, "a non-empty text", "only a byte order mark");
        return new CharCorpus(text);
    }
}
