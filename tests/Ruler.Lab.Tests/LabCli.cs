using System.Diagnostics;

namespace Ruler.Lab.Tests;

/// <summary>Runs the real <c>ruler</c> command (src/Ruler.Cli, built before this project) as a child process.</summary>
internal static class LabCli
{
    /// <summary>src/Ruler.Cli/bin/{configuration}/{framework}/Ruler.Cli.dll, found from this assembly's bin folder.</summary>
    public static string DllPath
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            string framework = dir.Name, configuration = dir.Parent!.Name;
            var root = dir.Parent.Parent!.Parent!.Parent!.Parent!;
            string path = Path.Combine(root.FullName, "src", "Ruler.Cli", "bin", configuration, framework, "Ruler.Cli.dll");
            Assert.True(File.Exists(path), $"not built: {path}");
            return path;
        }
    }

    /// <summary>Starts <c>ruler</c> with <paramref name="arguments"/>, output redirected (so the CLI prints plain lines).</summary>
    public static Process Start(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(DllPath);
        foreach (string a in arguments) start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>Runs to the end (at most <paramref name="timeout"/>) and returns the exit code and both streams.</summary>
    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        using var process = Start(arguments);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"ruler {string.Join(' ', arguments)} did not finish within {timeout}.");
        }
        return (process.ExitCode, await stdout, await stderr);
    }
}
