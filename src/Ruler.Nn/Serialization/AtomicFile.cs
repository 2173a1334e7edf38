namespace Ruler.Nn.Serialization;

/// <summary>
/// Replaces a file all at once: the content goes to a temporary file in the same directory, is flushed to disk,
/// then renamed over the target. A failure or a kill before the rename leaves the previous file untouched.
/// The library's implementation (the one <c>Ruler.Serialization.SafeTensorsFile</c> saves with), shared by the engine.
/// </summary>
/// <remarks>
/// A save holds its temporary file open with <see cref="FileShare.None"/> (a lock the operating system drops when the
/// process dies). A kill leaves the file behind, unlocked; the next save of the same target deletes every such
/// stale <c>.name.*.tmp</c> file it can lock, and leaves alone the ones another save is still writing.
/// </remarks>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> through <paramref name="write"/>; if it throws, the temporary file is removed and the exception propagates.</summary>
    /// <param name="path">The file to create or replace.</param>
    /// <param name="write">Writes the whole content to the stream it is given.</param>
    public static void Write(string path, Action<Stream> write) => Ruler.Serialization.AtomicFile.Write(path, write);
}
