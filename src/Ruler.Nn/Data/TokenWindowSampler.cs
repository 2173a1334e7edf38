namespace Ruler.Nn.Data;

/// <summary>
/// Samples language-model batches: B windows of T tokens at seeded uniform random offsets, each with its
/// next-token targets (the same window shifted by one).
/// </summary>
public sealed class TokenWindowSampler
{
    private readonly int[] _tokens;
    private readonly Rng _rng;

    /// <summary>Creates the sampler.</summary>
    /// <param name="tokens">The token stream (at least <paramref name="context"/> + 1 long).</param>
    /// <param name="batchSize">Windows per batch B (&gt; 0).</param>
    /// <param name="context">Tokens per window T (&gt; 0).</param>
    /// <param name="seed">Seed of the offsets.</param>
    public TokenWindowSampler(int[] tokens, int batchSize, int context, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(context);
        if (tokens.Length <= context)
            throw new ArgumentException($"tokens: expected more than context ({context}) tokens, got {tokens.Length}.", nameof(tokens));
        _tokens = tokens;
        BatchSize = batchSize;
        Context = context;
        _rng = new Rng(seed);
    }

    /// <summary>Windows per batch B.</summary>
    public int BatchSize { get; }

    /// <summary>Tokens per window T.</summary>
    public int Context { get; }

    /// <summary>Fills the next batch: inputs[b, t] = x[o_b + t] and targets[b, t] = x[o_b + t + 1], both B × T row-major.</summary>
    /// <param name="inputs">Destination of length B·T.</param>
    /// <param name="targets">Destination of length B·T.</param>
    public void Next(Span<int> inputs, Span<int> targets)
    {
        int n = BatchSize * Context;
        if (inputs.Length != n) throw new ArgumentException($"inputs: expected length {n}, got {inputs.Length}.", nameof(inputs));
        if (targets.Length != n) throw new ArgumentException($"targets: expected length {n}, got {targets.Length}.", nameof(targets));
        for (int b = 0; b < BatchSize; b++)
        {
            int offset = _rng.NextInt(_tokens.Length - Context);
            _tokens.AsSpan(offset, Context).CopyTo(inputs.Slice(b * Context, Context));
            _tokens.AsSpan(offset + 1, Context).CopyTo(targets.Slice(b * Context, Context));
        }
    }
}
