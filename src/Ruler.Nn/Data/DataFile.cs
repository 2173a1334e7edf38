namespace Ruler.Nn.Data;

/// <summary>Reads a whole file, turning every I/O failure into a <see cref="DataFileException"/> that names it.</summary>
internal static class DataFile
{
    public static byte[] ReadAllBytes(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFileException(path, "a readable file", e.Message, e);
        }
    }
}
