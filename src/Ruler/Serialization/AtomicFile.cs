namespace Ruler.Serialization;

/// <summary>
/// Replaces a file all at once: the content goes to a temporary file in the same directory, is flushed to disk,
/// then renamed over the target. A failure or a kill before the rename leaves the previous file untouched.
/// </summary>
/// <remarks>
/// A save holds its temporary file open with <see cref="FileShare.None"/> (a lock the operating system drops when the
/// process dies). A kill leaves the file behind, unlocked; the next save of the same target deletes every such
/// stale <c>.name.*.tmp</c> file it can lock, and leaves alone the ones another save is still writing.
/// </remarks>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; if it throws, the temporary file is removed and the exception propagates.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string target = Path.GetFullPath(path);
        string directory = Path.GetDirectoryName(target)!;
        string temp = Path.Combine(directory, $"{TempPrefix(target)}{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                RemoveStale(target, temp);
                write(stream);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, target, overwrite: true);
        }
        catch
        {
            if (File.Exists(temp)) File.Delete(temp);
            throw;
        }
    }

    /// <summary>The name every temporary file of <paramref name="target"/> starts with: <c>.name.</c></summary>
    private static string TempPrefix(string target) => $".{Path.GetFileName(target)}.";

    /// <summary>Deletes the temporary files of <paramref name="target"/> left by killed saves: those no live save holds locked.</summary>
    private static void RemoveStale(string target, string own)
    {
        string directory = Path.GetDirectoryName(target)!;
        string[] candidates;
        try
        {
            candidates = Directory.GetFiles(directory, $"{TempPrefix(target)}*.tmp");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;   // cleaning up is a courtesy; the save itself does not depend on it
        }
        foreach (string stale in candidates)
        {
            if (string.Equals(stale, own, StringComparison.Ordinal) || !IsGuidTemp(target, stale)) continue;
            try
            {
                // Opening with FileShare.None succeeds only if no live save holds it.
                using (new FileStream(stale, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(stale);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Held by a save in progress (or not ours to delete): leave it.
            }
        }
    }

    /// <summary>Whether <paramref name="file"/> is named like one of this target's temporary files: <c>.name.</c>, 32 hex digits, <c>.tmp</c>.</summary>
    private static bool IsGuidTemp(string target, string file)
    {
        string name = Path.GetFileName(file), prefix = TempPrefix(target);
        if (!name.StartsWith(prefix, StringComparison.Ordinal) || !name.EndsWith(".tmp", StringComparison.Ordinal)) return false;
        var middle = name.AsSpan(prefix.Length, name.Length - prefix.Length - 4);
        return middle.Length == 32 && Guid.TryParseExact(middle, "N", out _);
    }
}
