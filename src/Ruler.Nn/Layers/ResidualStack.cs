namespace Ruler.Nn;

/// <summary>
/// Runs residual blocks in order, fusing each Pre-norm block's add with the norm that reads its output: in a
/// Pre-LN stack x_{l+1} = x_l + F_l(LN_l(x_l)), and LN_{l+1}(x_{l+1}) is computed in the same pass as the add
/// (<see cref="ResidualBlock{T}.ForwardFused"/>, one <see cref="RulerOps.AddForward{T}(RulerSpec, ReadOnlySpan{T}, ReadOnlySpan{T}, ReadOnlySpan{int}, ReadOnlySpan{T}, ReadOnlySpan{T}, Span{T}, Span{T}, Span{double}, Span{double})"/> per block for LayerNorm
/// and RMSNorm). Post-norm blocks run as they are. Backward needs no helper: each block's
/// <see cref="ResidualBlock{T}.Backward"/> fuses its own norm's backward with the residual add.
/// </summary>
public static class ResidualStack
{
    /// <summary>
    /// The stream after the last block, and <paramref name="final"/> applied to it (the stream itself when
    /// <paramref name="final"/> is null). Records what each block's <see cref="ResidualBlock{T}.Recorder"/> asks for,
    /// the same values as running the blocks one by one.
    /// </summary>
    /// <param name="blocks">The blocks, in order.</param>
    /// <param name="x">The stream entering the first block, (batch, time, dim).</param>
    /// <param name="final">The norm after the last block (a Pre-norm model's final norm), or null for none.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="time">Sequence length.</param>
    /// <typeparam name="T">Element type.</typeparam>
    public static (T[] Stream, T[] Normalized) Forward<T>(IReadOnlyList<ResidualBlock<T>> blocks, T[] x, NormSlot<T>? final, int batch, int time)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        ArgumentNullException.ThrowIfNull(blocks);
        T[]? normalized = null; // the next block's Norm(x), when the previous fused step computed it
        for (int i = 0; i < blocks.Count; i++)
        {
            var block = blocks[i];
            NormSlot<T>? next = i + 1 < blocks.Count ? (blocks[i + 1].Placement == NormPlacement.Pre ? blocks[i + 1].Norm : null) : final;
            if (block.Placement == NormPlacement.Pre && next is not null) (x, normalized) = block.ForwardFused(x, normalized, next, batch, time);
            else
            {
                x = block.Forward(x, batch, time);
                normalized = null;
            }
        }
        if (final is null) return (x, x);
        return (x, normalized ?? final.Forward(x, [batch * time, x.Length / (batch * time)]));
    }
}
