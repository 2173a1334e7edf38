namespace Ruler.Nn;

/// <summary>Where a residual block puts its norm.</summary>
public enum NormPlacement
{
    /// <summary>x + F(norm(x)): the stream itself is never normalized (GPT-2, Pre-LN).</summary>
    Pre,
    /// <summary>norm(x + F(x)): the stream is renormalized after every block (the original Transformer, Post-LN).</summary>
    Post,
}

/// <summary>
/// One residual block around a sublayer F (attention or MLP) with a norm slot in Pre or Post placement.
/// Pre: y = x + F(n), n = norm(x); backward dx = dy + normᵀ(Fᵀ(dy)). Post: y = norm(h), h = x + F(x);
/// backward dh = normᵀ(dy), dx = dh + Fᵀ(dh).
/// <para>
/// In a Pre-norm stack the add of block l and the norm of block l + 1 read and write the same stream, so they run
/// as one step (<see cref="ForwardFused"/>, chained by <see cref="ResidualStack"/>); backward mirrors it inside
/// each block, the norm's backward and the residual add being one step too.
/// </para>
/// </summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class ResidualBlock<T> : Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;
    private T[]? _sum, _dx;

    /// <summary>Creates the block; the norm slot must be a token slot of F's width.</summary>
    public ResidualBlock(NormPlacement placement, NormSlot<T> norm, Sublayer<T> f)
    {
        Placement = placement;
        Norm = norm;
        F = f;
        _parameters = [.. norm.Parameters, .. f.Parameters];
    }

    /// <summary>Pre or Post.</summary>
    public NormPlacement Placement { get; }

    /// <summary>The norm slot.</summary>
    public NormSlot<T> Norm { get; }

    /// <summary>The residual branch.</summary>
    public Sublayer<T> F { get; }

    /// <summary>Receives <see cref="Recorder.StreamRms"/> (of the output), <see cref="Recorder.UpdateRatio"/>, <see cref="Recorder.BranchRms"/> and (Post) <see cref="Recorder.SumRms"/> when set.</summary>
    public Recorder? Recorder { get; set; }

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc />
    public override IReadOnlyList<NamedParameter<T>> NamedParameters => [.. Norm.NamedParameters, .. F.NamedParameters];

    /// <inheritdoc />
    public override bool Training
    {
        get => base.Training;
        set
        {
            base.Training = value;
            Norm.Training = value;
            F.Training = value;
        }
    }

    /// <summary>The block's output for x of shape (batch, time, dim).</summary>
    public T[] Forward(T[] x, int batch, int time)
    {
        int[] shape = [batch * time, F.Dim];
        var sum = Ensure(ref _sum, x.Length);
        var f = Placement == NormPlacement.Pre ? F.Forward(Norm.Forward(x, shape), batch, time) : F.Forward(x, batch, time);
        VectorOps.Add<T>(x, f, sum);
        var y = Placement == NormPlacement.Pre ? sum : Norm.Forward(sum, shape);
        Record(x, f, sum, y);
        return y;
    }

    /// <summary>
    /// A Pre-norm block fused with the norm that follows it in a stack (the next block's norm, or the model's final
    /// norm): h = x + F(n), and next(h) in the same pass (<see cref="NormSlot{T}.AddForward"/>: one kernel for
    /// LayerNorm and RMSNorm). Returns h, the block's output (what <see cref="Forward(T[], int, int)"/> returns),
    /// and next(h), which the next block passes back as its <paramref name="normalized"/>.
    /// Backward is <see cref="Backward"/> as usual; <paramref name="next"/>'s owner runs next's backward.
    /// </summary>
    /// <param name="x">The stream entering the block, (batch, time, dim).</param>
    /// <param name="normalized">Norm(x), when the previous fused step already computed it (the Normalized it returned), or null to compute it here.</param>
    /// <param name="next">The norm applied to this block's output next.</param>
    /// <param name="batch">Batch size.</param>
    /// <param name="time">Sequence length.</param>
    public (T[] Output, T[] Normalized) ForwardFused(T[] x, T[]? normalized, NormSlot<T> next, int batch, int time)
    {
        ArgumentNullException.ThrowIfNull(next);
        if (Placement != NormPlacement.Pre) throw new InvalidOperationException("ResidualBlock.ForwardFused: only a Pre-norm block's add feeds the next norm.");
        if (ReferenceEquals(next, Norm)) throw new ArgumentException("ResidualBlock.ForwardFused: next must be another block's norm (or a final norm), not this block's own.", nameof(next));
        int[] shape = [batch * time, F.Dim];
        if (normalized is null) normalized = Norm.Forward(x, shape);
        else if (!Norm.Produced(x, normalized))
            throw new ArgumentException("ResidualBlock.ForwardFused: normalized must be this block's norm of x, as returned by the previous block's ForwardFused.", nameof(normalized));
        var f = F.Forward(normalized, batch, time);
        var (h, y) = next.AddForward(x, f, shape);
        Record(x, f, h, h);
        return (h, y);
    }

    private void Record(T[] x, T[] f, T[] sum, T[] y)
    {
        if (Recorder is not { } r) return;
        double xNorm = Recorder.Norm<T>(x);
        double fNorm = Recorder.Norm<T>(f);
        r.Add(Recorder.UpdateRatio, xNorm > 0 ? fNorm / xNorm : double.PositiveInfinity);
        r.Add(Recorder.BranchRms, fNorm / Math.Sqrt(f.Length));
        if (Placement == NormPlacement.Post) r.Add(Recorder.SumRms, Recorder.Rms<T>(sum));
        r.Add(Recorder.StreamRms, Recorder.Rms<T>(y));
    }

    /// <summary>
    /// dx from dy; accumulates the gradients of the norm's and F's parameters. In Pre placement the norm's backward
    /// and the residual add are one step (<see cref="NormSlot{T}.AddBackward"/>: dx = dy + normᵀ(Fᵀ(dy)), one
    /// kernel for LayerNorm and RMSNorm), after <see cref="Forward(T[], int, int)"/> or <see cref="ForwardFused"/> alike.
    /// </summary>
    public T[] Backward(T[] dy)
    {
        if (Placement == NormPlacement.Pre)
        {
            if (!Norm.HasInput) throw new InvalidOperationException("ResidualBlock.Backward before Forward.");
            return Norm.AddBackward(F.Backward(dy), dy);
        }
        if (_sum is null) throw new InvalidOperationException("ResidualBlock.Backward before Forward.");
        var dx = Ensure(ref _dx, dy.Length);
        var dh = Norm.Backward(dy);
        var df = F.Backward(dh);
        VectorOps.Add<T>(dh, df, dx);
        return dx;
    }
}
