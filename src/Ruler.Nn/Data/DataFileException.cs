namespace Ruler.Nn.Data;

/// <summary>
/// A data or model file that cannot be read or does not have the expected format. The message names the file,
/// what was expected and what was found, e.g. <c>images.gz: expected magic 0x00000803, found 0x00000801.</c>
/// </summary>
public sealed class DataFileException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="fileName">The file (or embedded resource) at fault.</param>
    /// <param name="expected">What the reader expected.</param>
    /// <param name="found">What it found instead.</param>
    /// <param name="inner">The underlying error, if any.</param>
    public DataFileException(string fileName, string expected, string found, Exception? inner = null)
        : base($"{fileName}: expected {expected}, found {found}.", inner)
    {
        FileName = fileName;
    }

    /// <summary>The file (or embedded resource) at fault.</summary>
    public string FileName { get; }
}
