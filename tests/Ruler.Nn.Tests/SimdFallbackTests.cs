using System.Diagnostics;

namespace Ruler.Nn.Tests;

/// <summary>
/// The SIMD paths below the machine's best one (AVX2 without AVX-512, scalar without any) are exercised by re-running
/// the kernel tests in a child process with the runtime's instruction sets switched off, as ImageSharp does.
/// On .NET 10, AVX512=0 leaves Vector256 (the AVX2 GEMM kernel), AVX2=0 leaves Vector128 only (the scalar GEMM
/// kernel and scalar exp), HWIntrinsic=0 leaves nothing accelerated (Vector&lt;T&gt; loops fall to their scalar tails).
/// </summary>
public class SimdFallbackTests
{
    private const string KernelTests =
        "FullyQualifiedName~MatMulTests|FullyQualifiedName~VectorExpTests|FullyQualifiedName~VectorOpsTests|FullyQualifiedName~Gelu|FullyQualifiedName~FloatAttention|FullyQualifiedName~Causality|FullyQualifiedName~Activations";

    [Theory]
    [InlineData("DOTNET_EnableAVX512")]
    [InlineData("DOTNET_EnableAVX2")]
    [InlineData("DOTNET_EnableHWIntrinsic")]
    public async Task KernelTestsPassWithAnInstructionSetDisabled(string switchOff)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[] { "test", typeof(SimdFallbackTests).Assembly.Location, "--filter", KernelTests }) start.ArgumentList.Add(arg);
        start.Environment["DOTNET_EnableAVX512"] = "0"; // every case at least drops AVX-512 (.NET 10 spelling)
        start.Environment[switchOff] = "0";
        using var child = Process.Start(start)!;
        var stdout = child.StandardOutput.ReadToEndAsync();
        var stderr = child.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await child.WaitForExitAsync(timeout.Token);
        string output = await stdout + await stderr;
        Assert.True(child.ExitCode == 0, $"{switchOff}=0: child test run failed:\n{output}");
        Assert.Contains("Passed!", output);
    }
}
