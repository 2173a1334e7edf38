using System.Text.Json;
using Ruler.Cli.Bench;

namespace Ruler.Tests;

public class BenchTests
{
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
    public void JsonRowsHaveTheDocumentedKeys()
    {
        var rows = new[]
        {
            new BenchResult("LayerNorm.forward", "8x8", "float32", 2, "ruler", 1.5, 1.0, 2.0, 3.0, 256, 0) { RatioToCopy = 1.1, SpeedupOverOnnxRuntime = 2 },
        };
        var row = JsonDocument.Parse(BenchRunner.Json(rows)).RootElement.EnumerateArray().Single();
        Assert.Equal("LayerNorm.forward", row.GetProperty("op").GetString());
        Assert.Equal("8x8", row.GetProperty("shape").GetString());
        Assert.Equal("float32", row.GetProperty("dtype").GetString());
        Assert.Equal(2, row.GetProperty("threads").GetInt32());
        Assert.Equal("ruler", row.GetProperty("impl").GetString());
        Assert.Equal(1.5, row.GetProperty("median_ms").GetDouble());
        Assert.Equal(3.0, row.GetProperty("gbps").GetDouble());
    }

    [Fact]
    public void TimerReportsOneTimingPerImplementationOrderedMinMedianMax()
    {
        int calls = 0;
        var timings = BenchTimer.Measure([() => calls++, () => Thread.SpinWait(2000)], budgetSeconds: 0.01);
        Assert.Equal(2, timings.Length);
        Assert.True(calls >= 5 + 3, $"each implementation runs warm-up and at least 5 rounds, ran {calls}");
        foreach (var t in timings) Assert.True(t.MinMs <= t.MedianMs && t.MedianMs <= t.MaxMs);
    }
}
