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
        if (Recorder is { } r)
        {
            double xNorm = Recorder.Norm<T>(x);
            double fNorm = Recorder.Norm<T>(f);
            r.Add(Recorder.UpdateRatio, xNorm > 0 ? fNorm / xNorm : double.PositiveInfinity);
            r.Add(Recorder.BranchRms, fNorm / Math.Sqrt(f.Length));
            if (Placement == NormPlacement.Post) r.Add(Recorder.SumRms, Recorder.Rms<T>(sum));
            r.Add(Recorder.StreamRms, Recorder.Rms<T>(y));
        }
        return y;
    }

    /// <summary>dx from dy; accumulates the gradients of the norm's and F's parameters.</summary>
    public T[] Backward(T[] dy)
    {
        if (_sum is null) throw new InvalidOperationException("ResidualBlock.Backward before Forward.");
        var dx = Ensure(ref _dx, dy.Length);
        if (Placement == NormPlacement.Pre)
        {
            var dn = Norm.Backward(F.Backward(dy));
            VectorOps.Add<T>(dy, dn, dx);
        }
        else
        {
            var dh = Norm.Backward(dy);
            var df = F.Backward(dh);
            VectorOps.Add<T>(dh, df, dx);
        }
        return dx;
    }
}
