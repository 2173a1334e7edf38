using System.Reflection;

namespace Ruler.Nn.Data;

/// <summary>The data files of the repository's <c>data/</c> folder, embedded in this assembly.</summary>
internal static class EmbeddedData
{
    public const string ShakespeareFile = "tinyshakespeare.txt";
    public const string MnistImagesFile = "mnist10k-images-idx3-ubyte.gz";
    public const string MnistLabelsFile = "mnist10k-labels-idx1-ubyte.gz";

    /// <summary>The name used in error messages for an embedded file.</summary>
    public static string SourceName(string fileName) => "embedded:" + fileName;

    public static Stream Open(string fileName) =>
        typeof(EmbeddedData).Assembly.GetManifestResourceStream("Ruler.Nn.Data." + fileName)
        ?? throw new DataFileException(SourceName(fileName), "a resource embedded in Ruler.Nn", "none of that name");

    public static byte[] ReadAllBytes(string fileName)
    {
        using var stream = Open(fileName);
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
