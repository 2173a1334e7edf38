namespace Ruler.Nn;

/// <summary>The position-wise feed-forward sublayer: fc (dim → hidden), activation, proj (hidden → dim), then dropout.</summary>
/// <typeparam name="T">Element type.</typeparam>
public sealed class Mlp<T> : Sublayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Parameter<T>[] _parameters;

    /// <summary>Creates fc ("name.fc") and proj ("name.proj") with PyTorch's default init.</summary>
    public Mlp(string name, int dim, int hidden, ActivationKind activation, Rng rng, bool bias = true, double dropout = 0, ulong dropoutSeed = 0)
    {
        Fc = new Linear<T>(name + ".fc", dim, hidden, rng, bias);
        Act = Activation<T>.Create(activation);
        Proj = new Linear<T>(name + ".proj", hidden, dim, rng, bias);
        UseDropout(dropout, dropoutSeed);
        _parameters = [.. Fc.Parameters, .. Proj.Parameters];
    }

    /// <summary>dim → hidden.</summary>
    public Linear<T> Fc { get; }

    /// <summary>The nonlinearity.</summary>
    public Activation<T> Act { get; }

    /// <summary>hidden → dim (W2 in Xiong et al.'s notation).</summary>
    public Linear<T> Proj { get; }

    /// <inheritdoc />
    public override int Dim => Fc.InFeatures;

    /// <inheritdoc />
    public override IReadOnlyList<Parameter<T>> Parameters => _parameters;

    /// <inheritdoc />
    public override T[] Forward(T[] x, int batch, int time)
    {
        int rows = batch * time;
        var y = Proj.Forward(Act.Forward(Fc.Forward(x, rows)), rows);
        return DropoutForward(y);
    }

    /// <inheritdoc />
    public override T[] Backward(T[] dy)
    {
        dy = DropoutBackward(dy);
        return Fc.Backward(Act.Backward(Proj.Backward(dy)));
    }
}
