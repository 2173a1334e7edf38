using System.Globalization;
using Ruler.Lab;

namespace Ruler.Cli.Lab;

/// <summary>The validated options of <c>ruler lab</c>.</summary>
internal sealed record LabArguments(IReadOnlyList<IExperiment> Experiments, LabSettings Settings, string OutputDirectory, bool Resume)
{
    /// <summary>More threads than this many per logical core is refused as a mistake.</summary>
    public const int MaxThreadsPerCore = 4;

    /// <summary>
    /// Checks every option before anything is written; returns the arguments, or null with <paramref name="error"/>
    /// set to one line that names the bad argument, what was expected and what was given.
    /// </summary>
    public static LabArguments? Parse(string[] ids, bool quick, string output, string? seed, string? seeds, string? threads, bool resume, out string? error)
    {
        error = null;
        var selected = new HashSet<IExperiment>();
        foreach (string id in ids)
        {
            if (LabCatalog.Find(id) is { } experiment) selected.Add(experiment);
            else
            {
                error = $"experiment id: unknown experiment '{id}'; expected one of {string.Join(", ", LabCatalog.All.Select(e => e.Id))}.";
                return null;
            }
        }
        ulong seedValue = 1;
        if (seed is not null && !ulong.TryParse(seed, NumberStyles.None, CultureInfo.InvariantCulture, out seedValue))
        {
            error = $"--seed: expected a whole number from 0 to {ulong.MaxValue}, got '{seed}'.";
            return null;
        }
        int? seedCount = null;
        if (seeds is not null)
        {
            if (!int.TryParse(seeds, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n < 1 || n > 100)
            {
                error = $"--seeds: expected a seed count from 1 to 100, got '{seeds}'.";
                return null;
            }
            seedCount = n;
        }
        int maxThreads = MaxThreadsPerCore * Environment.ProcessorCount, threadCount = Math.Min(Environment.ProcessorCount, maxThreads);
        if (threads is not null && (!int.TryParse(threads, NumberStyles.None, CultureInfo.InvariantCulture, out threadCount) || threadCount < 1 || threadCount > maxThreads))
        {
            error = $"--threads: expected a thread count from 1 to {maxThreads} ({MaxThreadsPerCore} × {Environment.ProcessorCount} logical cores), got '{threads}'.";
            return null;
        }
        string? outputError = CheckWritable(output);
        if (outputError is not null)
        {
            error = $"--out: {outputError}";
            return null;
        }
        var experiments = ids.Length == 0 ? LabCatalog.All : LabCatalog.All.Where(selected.Contains).ToList();
        var settings = new LabSettings(quick ? LabSize.Quick : LabSize.Full, seedValue, seedCount, threadCount);
        return new LabArguments(experiments, settings, Path.GetFullPath(output), resume);
    }

    /// <summary>Null when <paramref name="output"/> is a writable folder or can be created as one; else why not. Leaves nothing behind.</summary>
    private static string? CheckWritable(string output)
    {
        if (string.IsNullOrWhiteSpace(output)) return "expected a folder path, got an empty string.";
        string full;
        try
        {
            full = Path.GetFullPath(output);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            return $"'{output}' is not a valid path ({e.Message}).";
        }
        if (File.Exists(full)) return $"'{output}' is a file; expected a folder to write the report into.";
        // The nearest folder that exists must be a folder we can write into: the run creates the rest.
        string? existing = full;
        while (existing is not null && !Directory.Exists(existing))
        {
            if (File.Exists(existing)) return $"'{output}' cannot be created: '{existing}' is a file.";
            existing = Path.GetDirectoryName(existing);
        }
        if (existing is null) return $"'{output}' cannot be created: no part of it exists.";
        string probe = Path.Combine(existing, $".ruler-lab-probe-{Guid.NewGuid():N}");
        try
        {
            using (File.Create(probe, 1, FileOptions.DeleteOnClose)) { }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"'{output}' is not writable: cannot create a file in '{existing}' ({e.Message}).";
        }
    }
}
