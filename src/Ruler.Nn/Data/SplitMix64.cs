namespace Ruler.Nn.Data;

/// <summary>
/// SplitMix64 (Steele, Lea &amp; Flood 2014): a 64-bit counter advanced by the golden-ratio increment and passed
/// through a bijective mixer. Small, fast, fully determined by its seed; used here for shuffling and sampling.
/// </summary>
/// <param name="seed">Initial state; equal seeds give equal sequences.</param>
public sealed class SplitMix64(ulong seed)
{
    private ulong _state = seed;

    /// <summary>The next 64 uniformly distributed bits.</summary>
    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>), without modulo bias (Lemire's multiply-and-reject).</summary>
    /// <param name="bound">Exclusive upper bound, &gt; 0.</param>
    public int NextInt(int bound)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bound);
        ulong n = (ulong)bound;
        // The high 32 bits of a 32×32-bit product map [0, 2³²) onto [0, n); rejecting the lowest
        // 2³² mod n low-word values makes every output equally likely.
        ulong product = (NextUInt64() >> 32) * n;
        if ((uint)product < n)
        {
            uint threshold = (uint)((0x1_0000_0000UL - n) % n);
            while ((uint)product < threshold) product = (NextUInt64() >> 32) * n;
        }
        return (int)(product >> 32);
    }

    /// <summary>A uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Shuffles <paramref name="items"/> in place with Fisher–Yates: every permutation equally likely.</summary>
    /// <param name="items">The items to permute.</param>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }
}
