using System.Diagnostics;

namespace Ruler.Tests;

/// <summary>
/// Runs tests/Ruler.KernelCheck (every fast-vs-reference comparison) in a child process three times: with the
/// default instruction sets, with AVX-512 off and with AVX2 off, so that every vector width of the cascade
/// (Vector512, Vector256, Vector128 and the scalar tails) is checked on a machine that has AVX-512. The child
/// reports which widths were accelerated, which proves the switch took effect. .NET 10 reads
/// <c>DOTNET_EnableAVX512</c>; the older <c>DOTNET_EnableAVX512F</c> no longer turns AVX-512 off.
/// </summary>
public class FastPathSimdMatrixTests
{
    [Theory]
    [InlineData(null, null)]
    [InlineData("DOTNET_EnableAVX512", "Vector512=False Vector256=")]
    [InlineData("DOTNET_EnableAVX2", "Vector512=False Vector256=False Vector128=True")]
    public async Task KernelCheckPassesWithThisInstructionSet(string? disable, string? expectedWidths)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet", $"\"{KernelCheckPath()}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        if (disable is not null) start.Environment[disable] = "0";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        string output = await stdout + await stderr;
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{output}");
        string widths = output.Split('\n').Single(l => l.StartsWith("accelerated:", StringComparison.Ordinal));
        Assert.Contains("mismatches: 0", output);
        if (expectedWidths is not null) Assert.Contains(expectedWidths, widths);
    }

    /// <summary>tests/Ruler.KernelCheck/bin/{configuration}/{framework}/, beside this assembly's bin folder.</summary>
    private static string KernelCheckPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = dir.Name, configuration = dir.Parent!.Name;
        var tests = dir.Parent.Parent!.Parent!.Parent!;
        string path = Path.Combine(tests.FullName, "Ruler.KernelCheck", "bin", configuration, framework, "Ruler.KernelCheck.dll");
        Assert.True(File.Exists(path), $"not built: {path}");
        return path;
    }
}
