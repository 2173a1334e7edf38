using System.Runtime.Intrinsics;
using Ruler;
using Ruler.Tests;

// Runs the fast-vs-reference comparisons with whatever instruction sets this process was started with (the test
// FastPathSimdMatrixTests starts it with AVX-512 and AVX2 turned off), reports which vector widths were
// accelerated, and exits 1 on any mismatch.
Console.WriteLine($"accelerated: Vector512={Vector512.IsHardwareAccelerated} Vector256={Vector256.IsHardwareAccelerated} Vector128={Vector128.IsHardwareAccelerated}");
int[] sizes = [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 129, 257];
var failures = new List<string>();
foreach (int n in sizes)
{
    foreach (var c in FastPathComparison.Layouts(n))
    {
        failures.AddRange(FastPathComparison.Compare<float>(CpuBackend.Instance, c, n));
        failures.AddRange(FastPathComparison.Compare<double>(CpuBackend.Instance, c, n));
    }
}
foreach (var c in FastPathComparison.LargeLayouts()) failures.AddRange(FastPathComparison.CompareThreads<float>(CpuBackend.Instance, c, 5));
// Again with every output large enough to stream (non-temporal stores where a kernel uses them: the peeled head runs
// on the narrower widths this process has, so each width's head is checked against the reference too).
Ruler.Internal.Streaming.MinBytes = 0;
foreach (int n in sizes)
    foreach (var c in FastPathComparison.Layouts(n))
    {
        failures.AddRange(FastPathComparison.Compare<float>(CpuBackend.Instance, c, n).Select(f => "streamed: " + f));
        failures.AddRange(FastPathComparison.Compare<double>(CpuBackend.Instance, c, n).Select(f => "streamed: " + f));
    }
foreach (string f in failures.Take(20)) Console.WriteLine(f);
foreach (var layout in failures.GroupBy(f => f.Split(" [")[0])) Console.WriteLine($"{layout.Key}: {layout.Count()} mismatches");
Console.WriteLine($"mismatches: {failures.Count}");
return failures.Count == 0 ? 0 : 1;
