using Ruler.Nn.Data;

namespace Ruler.Nn.Tests;

public class DataSamplingTests
{
    [Fact]
    public void NextDoubleIsInZeroToOne()
    {
        var rng = new Rng(7);
        double sum = 0;
        for (int i = 0; i < 10_000; i++)
        {
            double u = rng.NextDouble();
            Assert.InRange(u, 0.0, 0.9999999999999999);
            sum += u;
        }
        Assert.InRange(sum / 10_000, 0.49, 0.51);
    }

    [Fact]
    public void ShuffleIsAPermutationAndEveryPositionIsReachable()
    {
        // For 4 items, each item should land in each position about 1/4 of the time.
        var rng = new Rng(3);
        var counts = new int[4, 4];
        for (int trial = 0; trial < 8_000; trial++)
        {
            int[] items = [0, 1, 2, 3];
            rng.Shuffle<int>(items);
            Assert.Equal([0, 1, 2, 3], items.Order());
            for (int pos = 0; pos < 4; pos++) counts[items[pos], pos]++;
        }
        foreach (int c in counts) Assert.InRange(c, 1_800, 2_200); // expected 2,000, σ ≈ 39
    }

    [Fact]
    public void ShuffledBatchesCoverEveryIndexOncePerEpochWithASmallerLastBatch()
    {
        var sampler = new ShuffledBatches(count: 10, batchSize: 4, seed: 1);
        Assert.Equal(3, sampler.BatchesPerEpoch);
        var epoch = sampler.NextEpoch();
        Assert.Equal([4, 4, 2], epoch.Select(b => b.Length));
        Assert.Equal(Enumerable.Range(0, 10), epoch.SelectMany(b => b.ToArray()).Order());
    }

    [Fact]
    public void ShufflingIsDeterministicPerSeedAndChangesAcrossEpochs()
    {
        static int[][] Epochs(ulong seed)
        {
            var s = new ShuffledBatches(8000, 32, seed);
            return [.. Enumerable.Range(0, 3).Select(_ => s.NextEpoch().SelectMany(b => b.ToArray()).ToArray())];
        }
        int[][] a = Epochs(123), b = Epochs(123), c = Epochs(124);
        for (int e = 0; e < 3; e++) Assert.Equal(a[e], b[e]);
        Assert.NotEqual(a[0], c[0]);
        Assert.NotEqual(a[0], a[1]);
        Assert.NotEqual(Enumerable.Range(0, 8000), a[0]);
    }

    [Fact]
    public void WindowsAreContiguousWithNextTokenTargetsAndReachTheLastOffset()
    {
        int[] tokens = Enumerable.Range(0, 12).ToArray(); // token value = position
        const int B = 4, T = 5;
        var sampler = new TokenWindowSampler(tokens, B, T, seed: 9);
        var inputs = new int[B * T];
        var targets = new int[B * T];
        var offsets = new HashSet<int>();
        for (int batch = 0; batch < 50; batch++)
        {
            sampler.Next(inputs, targets);
            for (int b = 0; b < B; b++)
            {
                int o = inputs[b * T];
                offsets.Add(o);
                for (int t = 0; t < T; t++)
                {
                    Assert.Equal(o + t, inputs[b * T + t]);
                    Assert.Equal(o + t + 1, targets[b * T + t]);
                }
            }
        }
        Assert.Equal(Enumerable.Range(0, 12 - T), offsets.Order()); // offsets 0..6: the last target is token 11
    }

    [Fact]
    public void WindowSamplingIsDeterministicPerSeed()
    {
        int[] tokens = Enumerable.Range(0, 1000).Select(i => i % 65).ToArray();
        int[] Draw(ulong seed)
        {
            var s = new TokenWindowSampler(tokens, 8, 16, seed);
            var x = new int[128];
            var y = new int[128];
            s.Next(x, y);
            s.Next(x, y);
            return x;
        }
        int[] first = Draw(5), again = Draw(5);
        Assert.Equal(first, again);
        Assert.NotEqual(Draw(5), Draw(6));
    }

    [Fact]
    public void WindowSamplerRefusesShortStreamsAndWrongBuffers()
    {
        Assert.Throws<ArgumentException>(() => new TokenWindowSampler([1, 2, 3], 1, 3, 0));
        var s = new TokenWindowSampler([1, 2, 3, 4], 2, 3, 0);
        Assert.Throws<ArgumentException>(() => s.Next(new int[5], new int[6]));
    }
}
