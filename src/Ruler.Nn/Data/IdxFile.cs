using System.Buffers.Binary;
using System.IO.Compression;

namespace Ruler.Nn.Data;

/// <summary>
/// The IDX format of the MNIST files, gzip-compressed: a big-endian 32-bit magic number (0x0000 then the element
/// type, 0x08 for unsigned bytes, then the number of dimensions), one big-endian 32-bit size per dimension, then the
/// elements in row-major order and nothing after them.
/// </summary>
internal static class IdxFile
{
    /// <summary>Decompresses and parses an unsigned-byte IDX file with <paramref name="rank"/> dimensions.</summary>
    /// <returns>The dimension sizes and the elements.</returns>
    public static (int[] Dims, byte[] Data) ReadUBytes(byte[] gzipped, string source, int rank)
    {
        byte[] raw = Gunzip(gzipped, source);
        int magic = 0x0800 | rank;
        int headerLength = 4 + 4 * rank;
        if (raw.Length < headerLength)
            throw new DataFileException(source, $"an IDX header of {headerLength} bytes", $"{raw.Length} bytes in all");
        int foundMagic = BinaryPrimitives.ReadInt32BigEndian(raw);
        if (foundMagic != magic)
            throw new DataFileException(source, $"IDX magic 0x{magic:X8}", $"0x{foundMagic:X8}");
        var dims = new int[rank];
        long count = 1;
        for (int d = 0; d < rank; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * d));
            if (dims[d] <= 0)
                throw new DataFileException(source, $"dimension {d} of the IDX header > 0", dims[d].ToString());
            count *= dims[d];
        }
        long dataLength = raw.Length - headerLength;
        if (dataLength != count)
            throw new DataFileException(source, $"{count} data bytes for dimensions [{string.Join(", ", dims)}]",
                dataLength < count ? $"only {dataLength} (truncated)" : $"{dataLength} (trailing bytes)");
        return (dims, raw[headerLength..]);
    }

    private static byte[] Gunzip(byte[] gzipped, string source)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
            using var output = new MemoryStream();
            gzip.CopyTo(output);
            return output.ToArray();
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException(source, "a valid gzip stream", e.Message, e);
        }
    }
}
