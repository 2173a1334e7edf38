using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Ruler.Lab.Runner;

/// <summary>The machine and settings a lab run used: the <c>environment</c> object of <c>results.json</c>.</summary>
/// <param name="CpuModel">The CPU's model name (from /proc/cpuinfo on Linux).</param>
/// <param name="Cores">Logical processors.</param>
/// <param name="Threads">Threads the kernels and the engine were allowed (<see cref="RulerParallelism.MaxThreads"/>).</param>
/// <param name="Dotnet">The .NET runtime.</param>
/// <param name="Os">The operating system.</param>
/// <param name="GitCommit">The commit of the working directory's repository ("-dirty" when it has changes), or null.</param>
/// <param name="Seed">The base seed.</param>
/// <param name="Seeds">The seed count asked for, or null for each experiment's default.</param>
/// <param name="Size">Quick or full.</param>
/// <param name="Selected">The experiments this run was asked for, in catalog order.</param>
/// <param name="StartedAt">When the run started.</param>
/// <param name="EndedAt">When it ended; null while it runs (or when it was killed).</param>
public sealed record LabEnvironment(
    string CpuModel, int Cores, int Threads, string Dotnet, string Os, string? GitCommit,
    ulong Seed, int? Seeds, LabSize Size, IReadOnlyList<string> Selected, DateTimeOffset StartedAt, DateTimeOffset? EndedAt)
{
    /// <summary>Describes this machine and process for a run of <paramref name="selected"/> with <paramref name="settings"/>.</summary>
    /// <param name="settings">The run's settings.</param>
    /// <param name="selected">The experiment ids, in order.</param>
    public static LabEnvironment Capture(LabSettings settings, IReadOnlyList<string> selected) => new(
        CpuModelName(), Environment.ProcessorCount, settings.Threads, RuntimeInformation.FrameworkDescription,
        RuntimeInformation.OSDescription, GitCommitOfWorkingDirectory(), settings.Seed, settings.Seeds, settings.Size,
        selected, DateTimeOffset.Now, null);

    private static string CpuModelName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int colon and > 0)
                        return line[(colon + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static string? GitCommitOfWorkingDirectory()
    {
        string? commit = Git("rev-parse HEAD");
        if (commit is null || commit.Length != 40) return null;
        string? status = Git("status --porcelain --untracked-files=no");
        return string.IsNullOrEmpty(status) ? commit : commit + "-dirty";
    }

    private static string? Git(string arguments)
    {
        try
        {
            var start = new ProcessStartInfo("git", arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var git = Process.Start(start);
            if (git is null) return null;
            var output = git.StandardOutput.ReadToEndAsync();
            _ = git.StandardError.ReadToEndAsync();
            if (!git.WaitForExit(5000))
            {
                git.Kill(entireProcessTree: true);
                return null;
            }
            return git.ExitCode == 0 ? output.Result.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // git is not installed
        }
    }
}
