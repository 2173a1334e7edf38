using System.Reflection;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Ruler.Cli.Bench;

/// <summary>The machine and build a run was measured on (printed with every table, written into BENCHMARKS.md).</summary>
internal sealed record BenchEnvironment(string Cpu, int LogicalCores, long L3Bytes, string L3Source, string Runtime, string Os,
    string Simd, string Commit, string OnnxRuntime, long AvailableMemoryBytes, DateTime StartedUtc)
{
    /// <summary>Where Linux reports the last-level cache of CPU 0.</summary>
    public const string L3Path = "/sys/devices/system/cpu/cpu0/cache/index3/size";

    /// <summary>The L3 size assumed when <see cref="L3Path"/> is absent (and no override is given).</summary>
    public const long FallbackL3Bytes = 32L << 20;

    public static BenchEnvironment Detect(long? l3Override = null)
    {
        var (l3, source) = l3Override is long o ? (o, "--l3-mib") : ReadL3();
        string simd = Avx512F.IsSupported ? "AVX-512" : Avx2.IsSupported ? "AVX2" : System.Numerics.Vector.IsHardwareAccelerated ? $"{System.Numerics.Vector<byte>.Count * 8}-bit vectors" : "scalar";
        return new BenchEnvironment(CpuName(), Environment.ProcessorCount, l3, source, RuntimeInformation.FrameworkDescription,
            RuntimeInformation.OSDescription, simd, ReadCommit(), OnnxVersion(), GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, DateTime.UtcNow);
    }

    public string L3Text => $"{L3Bytes / (1024.0 * 1024):0.#} MiB ({L3Source})";

    private static (long Bytes, string Source) ReadL3()
    {
        try
        {
            if (File.Exists(L3Path))
            {
                string text = File.ReadAllText(L3Path).Trim();
                long unit = text.EndsWith('K') ? 1024 : text.EndsWith('M') ? 1024 * 1024 : 1;
                if (long.TryParse(text.TrimEnd('K', 'M'), out long value) && value > 0) return (value * unit, L3Path);
            }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return (FallbackL3Bytes, "fallback: no " + L3Path);
    }

    private static string CpuName()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (var line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    /// <summary>The commit the CLI was built from (the SDK appends it to the informational version), or "unknown".</summary>
    private static string ReadCommit()
    {
        string? version = typeof(BenchEnvironment).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        int plus = version?.IndexOf('+') ?? -1;
        return plus >= 0 ? version![(plus + 1)..] : "unknown";
    }

    private static string OnnxVersion()
    {
        try { return OnnxRuntimePeer.Version; }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or Microsoft.ML.OnnxRuntime.OnnxRuntimeException) { return "unavailable"; }
    }
}
