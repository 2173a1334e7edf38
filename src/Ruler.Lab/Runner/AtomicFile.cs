using System.Text;

namespace Ruler.Lab.Runner;

/// <summary>
/// Writes a file so that readers see either the old or the new content, never a part: the text goes to a temp file
/// in the same folder, is flushed to disk, and is renamed over the target (rename is atomic within a file system).
/// A run that is killed mid-write leaves a temp file behind; <see cref="RemoveStale"/> deletes those.
/// </summary>
public static class AtomicFile
{
    /// <summary>Temp files end with this.</summary>
    public const string TempSuffix = ".lab-tmp";

    /// <summary>Replaces <paramref name="path"/> with <paramref name="text"/> (UTF-8, no BOM) atomically.</summary>
    /// <param name="path">The file to replace or create.</param>
    /// <param name="text">Its new content.</param>
    public static void WriteAllText(string path, string text)
    {
        string directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        string temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}{TempSuffix}");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                byte[] bytes = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text);
                stream.Write(bytes);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Deletes temp files that an interrupted <see cref="WriteAllText"/> left in <paramref name="directory"/>; returns how many.</summary>
    /// <param name="directory">The output folder.</param>
    public static int RemoveStale(string directory)
    {
        int removed = 0;
        foreach (string file in Directory.EnumerateFiles(directory, "*" + TempSuffix))
        {
            File.Delete(file);
            removed++;
        }
        return removed;
    }
}
