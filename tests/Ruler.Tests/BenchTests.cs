using System.Text.Json;
using Ruler.Cli;
using Ruler.Cli.Bench;
using Ruler.Internal;

namespace Ruler.Tests;

/// <summary>
/// The bench's own parts: the copy baseline, the timer, and the TensorPrimitives peer against Ruler's float64
/// reference (<see cref="ReferenceKernels"/> on the same inputs widened to double).
/// </summary>
public class BenchTests
{
    /// <summary>
    /// The peer computes in float32 (statistics per row/group in float32, per-channel sums in float64): y and dx within
    /// 2e-4·(1 + |reference|), dγ and dβ (sums over up to a few hundred terms) within 2e-4·(1 + Σ|terms|) — the sum
    /// of |dy·x̂| or |dy| over the reduced axes, from the reference.
    /// </summary>
    private const double Tolerance = 2e-4;

    [Theory]
    [InlineData(1, 1), InlineData(2, 1000), InlineData(2, 300_007), InlineData(3, 200_003)]
    public void CopyBaselineCopiesEveryByteWithAnyThreadCount(int threads, int length)
    {
        var source = Enumerable.Range(0, length).Select(i => (float)i).ToArray();
        var destination = new float[length];
        CopyBaseline.Copy(source, destination, threads);
        Assert.Equal(source, destination);
    }

    [Fact]
    public void TimerReportsOneTimingPerImplementationOrderedMinMedianMax()
    {
        int calls = 0;
        var timings = BenchTimer.Measure([() => calls++, () => Thread.SpinWait(2000)], budgetSeconds: 0.01);
        Assert.Equal(2, timings.Length);
        Assert.True(calls >= 5 + 3, $"each implementation runs warm-up and at least 5 rounds, ran {calls}");
        Assert.True(timings[1].CallsPerSample < timings[0].CallsPerSample,
            $"the shorter call is timed in larger batches: {timings[0].CallsPerSample} calls of {timings[0].MedianMs} ms, {timings[1].CallsPerSample} of {timings[1].MedianMs} ms");
        foreach (var t in timings) Assert.True(t.MinMs <= t.MedianMs && t.MedianMs <= t.MaxMs);
    }

    [Fact]
    public void TimerCountsTheCallingThreadsAllocationsPerCall()
    {
        var timings = BenchTimer.Measure([() => GC.KeepAlive(new byte[1000]), () => { }], budgetSeconds: 0.01);
        Assert.InRange(timings[0].AllocatedBytesPerCall, 1000, 1100);
        Assert.Equal(0, timings[1].AllocatedBytesPerCall);
    }

    // ---- the TensorPrimitives peer against the float64 reference ----

    private static double[] Wide(float[] a) => Array.ConvertAll(a, v => (double)v);

    private sealed record Reference(double[] Y, double[] Mean, double[] Rstd);

    private static Reference Forward(RulerSpec ruler, int[] shape, float[] x, float[] gamma, float[] beta)
    {
        var layout = ruler.Resolve(shape);
        var xd = Wide(x);
        var moments = new GroupMoments[layout.GroupCount];
        ReferenceKernels.Moments(layout, xd, moments);
        var mean = new double[layout.GroupCount];
        var rstd = new double[layout.GroupCount];
        RulerOps.Statistics(ruler, moments, mean, rstd);
        var y = new double[x.Length];
        ReferenceKernels.Normalize<double>(layout, xd, mean, rstd, Wide(gamma), Wide(beta), y);
        return new Reference(y, mean, rstd);
    }

    /// <summary>Reference dx, dγ, dβ, and the scales Σ|dy·x̂|, Σ|dy| per affine element for the tolerance of dγ, dβ.</summary>
    private static (double[] Dx, double[] Dgamma, double[] Dbeta, double[] GammaScale, double[] BetaScale) Backward(
        RulerSpec ruler, int[] shape, float[] x, Reference forward, float[] gamma, float[] dy, bool center)
    {
        var layout = ruler.Resolve(shape);
        var dx = new double[x.Length];
        var dgamma = new double[layout.AffineSize];
        var dbeta = new double[layout.AffineSize];
        ReferenceKernels.Backward<double>(layout, Wide(x), forward.Mean, forward.Rstd, Wide(gamma), Wide(dy), dx, dgamma, center ? dbeta : default, true);
        // Σ|dy·x̂| and Σ|dy| per affine element: the reference's own dγ, dβ of |dy| on |x̂|.
        var (group, affine) = layout.IndexMaps();
        var gammaScale = new double[layout.AffineSize];
        var betaScale = new double[layout.AffineSize];
        for (int i = 0; i < x.Length; i++)
        {
            double xhat = (x[i] - forward.Mean[group[i]]) * forward.Rstd[group[i]];
            gammaScale[affine[i]] += Math.Abs(dy[i] * xhat);
            betaScale[affine[i]] += Math.Abs(dy[i]);
        }
        return (dx, dgamma, dbeta, gammaScale, betaScale);
    }

    private static void Near(string what, double[] expected, float[] actual, double[]? scale = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double tol = Tolerance * (1 + (scale?[i] ?? Math.Abs(expected[i])));
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tol, $"{what}[{i}]: expected {expected[i]} ± {tol:G3}, got {actual[i]}");
        }
    }

    private static float[] Values(int count, int seed, float offset = 0) => BenchSuite.Random(count, seed, offset);

    public static TheoryData<int, int, int, bool> RowCases => new()
    {
        { 1, 7, 37, true }, { 2, 7, 37, true }, { 3, 5, 300, true }, { 1, 7, 37, false }, { 2, 4, 1031, false }, { 3, 3, 64, false },
    };

    [Theory]
    [MemberData(nameof(RowCases))]
    public void TensorPrimitivesRowsMatchTheFloat64Reference(int threads, int rows, int d, bool center)
    {
        var ruler = center ? RulerSpec.LayerNorm() : RulerSpec.RmsNorm(1, 1e-5);
        int[] shape = [rows, d];
        var x = Values(rows * d, 1, 0.5f);
        var gamma = Values(d, 2, 1);
        var beta = center ? Values(d, 3) : [];
        var dy = Values(rows * d, 4);
        var peer = new TensorPrimitivesPeer(threads, d);

        var y = new float[x.Length];
        var mean = new float[rows];
        var rstd = new float[rows];
        peer.RowForward(x, rows, d, gamma, beta, y, mean, rstd, center, 1e-5f);
        var expected = Forward(ruler, shape, x, gamma, beta);
        Near("y", expected.Y, y);
        Near("mean", expected.Mean, mean);
        Near("rstd", expected.Rstd, rstd);

        var dx = new float[x.Length];
        var dgamma = new float[d];
        var dbeta = center ? new float[d] : [];
        peer.RowBackward(x, rows, d, mean, rstd, gamma, dy, dx, dgamma, dbeta, center);
        var (edx, edg, edb, gs, bs) = Backward(ruler, shape, x, expected, gamma, dy, center);
        Near("dx", edx, dx);
        Near("dgamma", edg, dgamma, gs);
        if (center) Near("dbeta", edb, dbeta, bs);

        // add + norm: h = x + u, then the same forward on h
        var u = Values(rows * d, 5);
        var h = new float[x.Length];
        peer.AddRowForward(x, u, rows, d, gamma, beta, h, y, mean, rstd, center, 1e-5f);
        Assert.Equal(x.Zip(u, (a, b) => a + b), h);
        Near("y of x + u", Forward(ruler, shape, h, gamma, beta).Y, y);
    }

    [Theory]
    [InlineData(1, false), InlineData(2, false), InlineData(3, false), InlineData(1, true), InlineData(2, true), InlineData(3, true)]
    public void TensorPrimitivesBatchNormMatchesTheFloat64Reference(int threads, bool channelsLast)
    {
        int n = 3, c = 5, hgt = 4, wid = 6, s = hgt * wid;
        int[] shape = channelsLast ? [n, hgt, wid, c] : [n, c, hgt, wid];
        var ruler = RulerSpec.BatchNorm(4, channelsLast ? ChannelLayout.ChannelsLast : ChannelLayout.ChannelsFirst);
        var x = Values(n * c * s, 1, 0.5f);
        var gamma = Values(c, 2, 1);
        var beta = Values(c, 3);
        var dy = Values(x.Length, 4);
        var peer = new TensorPrimitivesPeer(threads, 64);
        var y = new float[x.Length];
        var mean = new float[c];
        var rstd = new float[c];
        if (channelsLast) peer.BatchForwardNhwc(x, n * s, c, gamma, beta, y, mean, rstd, 1e-5f);
        else peer.BatchForwardNchw(x, n, c, s, gamma, beta, y, mean, rstd, 1e-5f);
        var expected = Forward(ruler, shape, x, gamma, beta);
        Near("y", expected.Y, y);
        Near("mean", expected.Mean, mean);
        Near("rstd", expected.Rstd, rstd);

        var dx = new float[x.Length];
        var dgamma = new float[c];
        var dbeta = new float[c];
        if (channelsLast) peer.BatchBackwardNhwc(x, n * s, c, mean, rstd, gamma, dy, dx, dgamma, dbeta);
        else peer.BatchBackwardNchw(x, n, c, s, mean, rstd, gamma, dy, dx, dgamma, dbeta);
        var (edx, edg, edb, gs, bs) = Backward(ruler, shape, x, expected, gamma, dy, center: true);
        Near("dx", edx, dx);
        Near("dgamma", edg, dgamma, gs);
        Near("dbeta", edb, dbeta, bs);
    }

    [Theory]
    [InlineData(1, 4), InlineData(2, 4), InlineData(3, 2), InlineData(1, 8), InlineData(2, 8)]
    public void TensorPrimitivesGroupAndInstanceNormMatchTheFloat64Reference(int threads, int groups)
    {
        int n = 3, c = 8, s = 5 * 7;
        int[] nchw = [n, c, 5, 7];
        bool instance = groups == c;
        var ruler = instance ? RulerSpec.InstanceNorm(4) : RulerSpec.GroupNorm();
        int[] shape = instance ? nchw : RulerSpec.GroupNormView(nchw, groups);
        var x = Values(n * c * s, 1, 0.5f);
        var gamma = Values(c, 2, 1);
        var beta = Values(c, 3);
        var dy = Values(x.Length, 4);
        var peer = new TensorPrimitivesPeer(threads, 64);
        var y = new float[x.Length];
        var mean = new float[n * groups];
        var rstd = new float[n * groups];
        peer.GroupForward(x, n, c, s, groups, gamma, beta, y, mean, rstd, 1e-5f);
        var expected = Forward(ruler, shape, x, gamma, beta);
        Near("y", expected.Y, y);
        Near("mean", expected.Mean, mean);

        var dx = new float[x.Length];
        var dgamma = new float[c];
        var dbeta = new float[c];
        peer.GroupBackward(x, n, c, s, groups, mean, rstd, gamma, dy, dx, dgamma, dbeta);
        var (edx, edg, edb, gs, bs) = Backward(ruler, shape, x, expected, gamma, dy, center: true);
        Near("dx", edx, dx);
        Near("dgamma", edg, dgamma, gs);
        Near("dbeta", edb, dbeta, bs);
    }

    [Fact]
    public void DotProductGemmBaselineMatchesPlainLoops()
    {
        int size = 19;
        var a = Values(size * size, 1);
        var b = Values(size * size, 2);
        var bt = new float[size * size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
                bt[j * size + i] = b[i * size + j];
        var c = new float[size * size];
        EngineBench.DotGemm(a, bt, c, size, threads: 2);
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
            {
                double sum = 0;
                for (int k = 0; k < size; k++) sum += (double)a[i * size + k] * b[k * size + j];
                Assert.True(Math.Abs(c[i * size + j] - sum) <= 1e-5 * (1 + Math.Abs(sum)), $"C[{i},{j}]: expected {sum}, got {c[i * size + j]}");
            }
    }

    // ---- the verdicts ----

    [Fact]
    public void EveryNormalizerOfTheLibrarysListHasAFloatForwardAndBackwardCase()
    {
        // The bench reads its coverage against Normalizers.All: a normalizer added to the list and not to the bench fails here.
        var sizes = BenchSuite.BenchSizes.For(BenchProfile.Tiny, 1 << 20, 1L << 30);
        var covered = new HashSet<(string, bool)>();
        var quick = new HashSet<string>();
        foreach (var entry in BenchSuite.All)
        {
            using var c = entry.Create(sizes);
            if (c is null || c.Dtype != "float32") continue;
            Assert.Contains(Normalizers.All, n => n.Name == c.Normalizer);
            covered.Add((c.Normalizer, c.IsBackward));
            if (entry.Quick) quick.Add(c.Normalizer);
        }
        foreach (var n in Normalizers.All)
        {
            Assert.True(covered.Contains((n.Name, false)), $"no float32 forward case for {n.Name}");
            Assert.True(covered.Contains((n.Name, true)), $"no float32 backward case for {n.Name}");
        }
        Assert.Contains("GroupNorm", quick);
    }

    [Fact]
    public void SecondCoreCheckWarnsWhenTheTwoThreadCopyIsNotFaster()
    {
        var c = new BenchCase { Section = BenchSuite.Rows, Op = "op", Shape = "s", Bytes = 1 << 24, CopyBytes = 1 << 24, Ruler = () => { }, Copy = _ => { } };
        BenchRow Row(int threads, double copyMs) => new(c, threads,
        [
            new BenchResult(c.Section, c.Op, c.Shape, c.Dtype, threads, "copy", copyMs, copyMs, copyMs, 1, c.CopyBytes, 0),
            new BenchResult(c.Section, c.Op, c.Shape, c.Dtype, threads, "ruler", 1, 1, 1, 1, c.Bytes, 0) { RatioToCopy = 1 },
        ]);
        var (good, _) = BenchRunner.CheckSecondCore([Row(1, 2.0), Row(2, 1.1)]);
        Assert.Empty(good);
        var (bad, summary) = BenchRunner.CheckSecondCore([Row(1, 2.0), Row(2, 2.1)]);
        Assert.StartsWith("warning: op s float32: the 2-thread copy", Assert.Single(bad));
        Assert.Contains("0 of 1", summary);
    }

    [Fact]
    public void VerdictsFollowTheTargets()
    {
        var c = new BenchCase
        {
            Section = BenchSuite.Rows, Op = "LayerNorm.forward", Shape = "8x8", Bytes = 100, CopyBytes = 100, Ruler = () => { }, Copy = _ => { },
            CopyTarget = 1.15,
        };
        c.Peers.Add(("tensorprimitives", _ => () => { }));
        c.Peers.Add(("onnxruntime", _ => () => { }));
        BenchResult R(string impl, double ms, double? ratio) => new(c.Section, c.Op, c.Shape, c.Dtype, 1, impl, ms, ms, ms, 1, 100, 0) { RatioToCopy = ratio };
        // ruler at 1.1x copy, faster than TP; ORT at 1.3x copy (so Ruler must be 1.5x faster than it) but only 1.18x slower
        var row = new BenchRow(c, 1, [R("copy", 1.0, null), R("ruler", 1.1, 1.1), R("tensorprimitives", 1.2, 1.2), R("onnxruntime", 1.3, 1.3)]);
        BenchRunner.Judge(row, [row]);
        Assert.Equal([("<= 1.15x copy", true), (">= 1.0x TP", true), (">= 1.5x ORT (ORT > 1.2x copy)", false)], row.Verdicts);
        Assert.Equal("MISSED >= 1.5x ORT (ORT > 1.2x copy)", BenchRunner.Verdict(row));
    }

    [Fact]
    public void EveryRendererWritesEveryTableOfARun()
    {
        var c = new BenchCase
        {
            Section = BenchSuite.Channels, Op = "GroupNorm32.forward", Shape = "NCHW 2x64x6x6", Bytes = 100, CopyBytes = 100, Ruler = () => { }, Copy = _ => { },
            CopyTarget = 1.3, OnnxNote = "GroupNormalization-21 [contrib]",
        };
        c.Peers.Add(("onnxruntime", _ => () => { }));
        BenchResult R(string impl, double ms, double? ratio) => new(c.Section, c.Op, c.Shape, c.Dtype, 1, impl, ms, ms, ms, 1, 100, 0) { RatioToCopy = ratio };
        var row = new BenchRow(c, 1, [R("copy", 1.0, null), R("ruler", 1.5, 1.5), R("onnxruntime", 3, 3)]);
        BenchRunner.Judge(row, [row]);
        var engine = new EngineRow("GEMM float32 8x8x8 (A·B)", 1, "GFLOP/s", 10, "TensorPrimitives.Dot per element", 2);
        var run = new BenchRun(BenchProfile.Tiny, [1], BenchEnvironment.Detect(), [row], [engine], ["warning: [x] spun"], "second-core check: not run");

        string plain = BenchReport.Plain(run);
        string markdown = BenchReport.Markdown(run, "ruler bench --tiny", "test");
        var spectre = new StringWriter();
        var console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings
        {
            Ansi = Spectre.Console.AnsiSupport.No, Out = new Spectre.Console.AnsiConsoleOutput(spectre),
        });
        console.Profile.Width = 400;   // no wrapping inside cells
        BenchReport.Write(run, console);
        foreach (string text in new[] { plain, markdown, spectre.ToString() })
        {
            Assert.Contains(BenchSuite.Channels, text);
            Assert.Contains("MISSED <= 1.3x copy", text);
            Assert.Contains("Engine", text);
            Assert.Contains("5.00x", text);
            Assert.Contains("warning: [x] spun", text);
        }
        var json = JsonDocument.Parse(BenchReport.Json(run)).RootElement;
        Assert.Equal("GroupNorm32.forward", json.GetProperty("rows")[0].GetProperty("op").GetString());
        Assert.Equal(1.5, json.GetProperty("rows")[0].GetProperty("results")[1].GetProperty("ratio_to_copy").GetDouble());
    }
}

/// <summary>
/// `ruler bench` end to end at toy sizes (<c>--tiny</c>): every section and the target verdicts are printed, the
/// Markdown is written between its markers, and bad values are usage errors. Serial: the bench sets the process-wide
/// thread count while it runs.
/// </summary>
[Collection(SerialCollection.Name)]
public class BenchCommandTests
{
    private static (int Code, string Output, string Error) Run(params string[] args) =>
        Support.InProcessCli.Run(TimeSpan.FromMinutes(3), args);

    [Fact]
    public void TinyRunPrintsEverySectionAndVerdictAndWritesTheMarkdown()
    {
        string dir = Directory.CreateTempSubdirectory("ruler-bench-").FullName;
        try
        {
            string path = Path.Combine(dir, "BENCH.md");
            File.WriteAllText(path, $"# Title\n\nhand-written intro\n\n{BenchReport.MarkdownBegin}\nold\n{BenchReport.MarkdownEnd}\n\nhand-written notes\n");
            var (code, output, error) = Run("bench", "--tiny", "--markdown", path, "--conditions", "test run");
            Assert.True(code == 0, error);
            foreach (string section in new[] { BenchSuite.Rows, BenchSuite.Latency, BenchSuite.Channels, BenchSuite.Narrow, "Engine:", "Targets (issue 9)" })
                Assert.Contains(section, output);
            foreach (string op in new[] { "LayerNorm.backward", "RMSNorm.backward", "AddLayerNorm.backward", "BatchNorm.train.backward", "GroupNorm32.backward",
                "InstanceNorm.backward", "float16", "bfloat16", "GEMM", "tokens/s", "1x4096" })
                Assert.Contains(op, output);
            foreach (string target in new[] { "<= 1.15x copy", "<= 1.33x copy", "<= 2x copy", "<= 1 us per call", "<= 1.6x copy", "<= 1.3x copy",
                "<= 0.6x float32 time", "<= 0.7x float32 time", ">= 1.0x TP", "0 bytes allocated per Ruler call", "second-core check" })
                Assert.Contains(target, output);
            Assert.Matches(@"\b(met|MISSED)\b", output);

            string md = File.ReadAllText(path);
            Assert.StartsWith("# Title\n\nhand-written intro\n\n" + BenchReport.MarkdownBegin, md);
            Assert.EndsWith(BenchReport.MarkdownEnd + "\n\nhand-written notes\n", md);
            Assert.DoesNotContain("\nold\n", md);
            Assert.Contains($"dotnet run --project src/Ruler.Cli -c Release -- bench --tiny --markdown {path} --conditions \"test run\"", md);
            Assert.Contains("| L3 |", md);
            Assert.Contains("| conditions | test run |", md);
            Assert.Contains("### Targets (issue 9)", md);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void JsonHasEveryRowWithItsResultsAndTargets()
    {
        var (code, output, error) = Run("bench", "--tiny", "--threads", "1", "--json");
        Assert.True(code == 0, error);
        var doc = JsonDocument.Parse(output).RootElement;
        var rows = doc.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(BenchSuite.All.Count, rows.Count);
        var first = rows[0];
        Assert.Equal("LayerNorm.forward", first.GetProperty("op").GetString());
        var impls = first.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("impl").GetString()).ToList();
        Assert.Equal(["copy", "ruler", "tensorprimitives", "onnxruntime"], impls);
        Assert.True(first.GetProperty("targets").GetArrayLength() >= 2);
        Assert.NotEmpty(doc.GetProperty("engine").EnumerateArray());
    }

    [Theory]
    [InlineData("bench", "--threads", "-1")]
    [InlineData("bench", "--l3-mib", "0")]
    [InlineData("bench", "--l3-mib", "1000000")]
    [InlineData("bench", "--l3-mib", "abc")]
    [InlineData("bench", "--quick", "--tiny")]
    [InlineData("bench", "--markdown", "/no/such/folder/BENCH.md")]
    public void BadValuesExitTwoWithOneLine(params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}:\n{error}");
        Assert.StartsWith("ruler: ", lines[0]);
    }
}
