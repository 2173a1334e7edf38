namespace Ruler.Nn;

/// <summary>Shape and choices of a <see cref="CharTransformer{T}"/>.</summary>
/// <param name="VocabSize">Number of token ids.</param>
/// <param name="Context">Longest sequence (rows of the positional table).</param>
/// <param name="Layers">Transformer layers (each is an attention block and an MLP block).</param>
/// <param name="Dim">Width of the residual stream.</param>
/// <param name="Heads">Attention heads (must divide <paramref name="Dim"/>).</param>
public sealed record TransformerConfig(int VocabSize, int Context, int Layers, int Dim, int Heads)
{
    /// <summary>MLP hidden width; 0 means 4·Dim.</summary>
    public int MlpHidden { get; init; }

    /// <summary>What fills every norm slot (the final norm too, in Pre placement).</summary>
    public NormKind Norm { get; init; } = NormKind.LayerNorm;

    /// <summary>Pre-norm (with a final norm before the head) or Post-norm (no final norm: the last block ends with one).</summary>
    public NormPlacement Placement { get; init; } = NormPlacement.Pre;

    /// <summary>Group count when <see cref="Norm"/> is GroupNorm.</summary>
    public int NormGroups { get; init; } = 1;

    /// <summary>MLP nonlinearity.</summary>
    public ActivationKind Activation { get; init; } = ActivationKind.Gelu;

    /// <summary>Biases in the Linear layers.</summary>
    public bool Bias { get; init; } = true;

    /// <summary>Dropout after attention and after the MLP (0: none).</summary>
    public double Dropout { get; init; }

    /// <summary>Start attention with W_Q = W_K = 0 (uniform causal attention at initialization).</summary>
    public bool UniformAttention { get; init; }
}
