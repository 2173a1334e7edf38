namespace Ruler.Nn;

/// <summary>
/// Base of the engine's layers (llm.c style): each layer's forward keeps what its backward needs and returns an
/// output buffer it owns (reused across calls of the same size, so steady-state training allocates nothing);
/// backward returns the input gradient in a buffer it owns and accumulates into <see cref="Parameter{T}.Grad"/>.
/// The buffer a layer returns stays valid until its next call.
/// </summary>
/// <typeparam name="T">float for training speed, double for gradient checks.</typeparam>
public abstract class Layer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>The learnable parameters, in a fixed order (empty when there are none).</summary>
    public virtual IReadOnlyList<Parameter<T>> Parameters => [];

    /// <summary>The parameters with names unique within the layer (and within a model), e.g. "h.0.attn.qkv.weight".</summary>
    public virtual IReadOnlyList<NamedParameter<T>> NamedParameters => [.. Parameters.Select(p => new NamedParameter<T>(p.Name, p))];

    /// <summary>Training mode (dropout active, batch statistics) or eval mode. Default true, like PyTorch.</summary>
    public virtual bool Training { get; set; } = true;

    /// <summary>Zeroes every parameter gradient.</summary>
    public void ZeroGrad()
    {
        foreach (var p in Parameters) p.ZeroGrad();
    }

    /// <summary>Returns <paramref name="buffer"/> when it has exactly <paramref name="length"/> elements, else a new array stored in it.</summary>
    private protected static T[] Ensure(ref T[]? buffer, int length)
    {
        if (buffer is null || buffer.Length != length) buffer = new T[length];
        return buffer;
    }

    private protected static T Const(double v) => T.CreateTruncating(v);

    /// <summary>Refuses a gradient whose length is not that of the last forward's output (one message shape for every layer).</summary>
    /// <param name="layer">The layer's name in the message, e.g. "MaxPool2d".</param>
    /// <param name="dy">The gradient handed to Backward.</param>
    /// <param name="expected">The length of the last forward's output.</param>
    private protected static void CheckGradient(string layer, T[] dy, int expected)
    {
        ArgumentNullException.ThrowIfNull(dy);
        if (dy.Length != expected) throw new ArgumentException($"{layer}.Backward: dy needs {expected} elements (the last forward's output), got {dy.Length}.", nameof(dy));
    }
}

/// <summary>A parameter and its name in a model (Ruler's normalizers name theirs just "weight"/"bias"; the model adds the path).</summary>
/// <typeparam name="T">Element type.</typeparam>
/// <param name="Name">Unique name, e.g. "h.3.mlp.proj.weight" or "h.3.ln2.weight".</param>
/// <param name="Parameter">The parameter.</param>
public readonly record struct NamedParameter<T>(string Name, Parameter<T> Parameter) where T : unmanaged;

/// <summary>A non-learnable tensor a model must save with its parameters (BatchNorm's running statistics).</summary>
/// <typeparam name="T">Element type.</typeparam>
/// <param name="Name">Unique name, e.g. "norm.2.running_mean".</param>
/// <param name="Values">The values, updated in place by the layer.</param>
public readonly record struct NamedBuffer<T>(string Name, T[] Values) where T : unmanaged;
