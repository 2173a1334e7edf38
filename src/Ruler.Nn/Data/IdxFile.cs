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
    /// <summary>Trailing bytes beyond the data are counted up to this many, then reported as "more than".</summary>
    private const int TrailingCounted = 1 << 20;

    /// <summary>
    /// Decompresses and parses an unsigned-byte IDX file with <paramref name="rank"/> dimensions. The header is read
    /// first and bounds everything after it: exactly the element count it declares is decompressed (a gzip bomb costs
    /// no more memory than its header admits), and anything after the elements is refused as trailing bytes.
    /// </summary>
    /// <returns>The dimension sizes and the elements.</returns>
    public static (int[] Dims, byte[] Data) ReadUBytes(byte[] gzipped, string source, int rank)
    {
        try
        {
            using var gzip = new GZipStream(new MemoryStream(gzipped), CompressionMode.Decompress);
            int magic = 0x0800 | rank;
            int headerLength = 4 + 4 * rank;
            var header = new byte[headerLength];
            int got = gzip.ReadAtLeast(header, headerLength, throwOnEndOfStream: false);
            if (got < headerLength)
                throw new DataFileException(source, $"an IDX header of {headerLength} bytes", $"{got} bytes in all");
            int foundMagic = BinaryPrimitives.ReadInt32BigEndian(header);
            if (foundMagic != magic)
                throw new DataFileException(source, $"IDX magic 0x{magic:X8}", $"0x{foundMagic:X8}");
            var dims = new int[rank];
            long count = 1;
            for (int d = 0; d < rank; d++)
            {
                dims[d] = BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 + 4 * d));
                if (dims[d] <= 0)
                    throw new DataFileException(source, $"dimension {d} of the IDX header > 0", dims[d].ToString());
                count *= dims[d];
                if (count > Array.MaxLength)
                    throw new DataFileException(source, $"at most {Array.MaxLength} elements", $"dimensions [{string.Join(", ", dims[..(d + 1)])}, …]");
            }
            var data = new byte[count];
            int read = gzip.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (read < count)
                throw new DataFileException(source, $"{count} data bytes for dimensions [{string.Join(", ", dims)}]", $"only {read} (truncated)");
            // Anything after the data is an error; it is counted (to report it) only up to a bound, in a small buffer.
            long extra = 0;
            Span<byte> sink = stackalloc byte[4096];
            for (int r; extra <= TrailingCounted && (r = gzip.Read(sink)) > 0;) extra += r;
            if (extra > 0)
                throw new DataFileException(source, $"{count} data bytes for dimensions [{string.Join(", ", dims)}]",
                    extra <= TrailingCounted ? $"{count + extra} (trailing bytes)" : $"more than {count + TrailingCounted} (trailing bytes)");
            return (dims, data);
        }
        catch (InvalidDataException e)
        {
            throw new DataFileException(source, "a valid gzip stream", e.Message, e);
        }
    }
}
